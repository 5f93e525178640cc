"""A chemohost fit study and its data written as a PEtab v1 problem (``chemohost export petab``).

The fit's model becomes SBML through :func:`chemohost.sbml.to_sbml` (a growth
law as the chemohost model of its growth mechanism); each subject becomes a
condition whose columns point the model's estimated parameters to that
subject's own PEtab parameters (``<sbml id>__<subject>``); each chemohost
observable becomes a PEtab observable with its error model as a noise formula:

=============  =================================================  ===================
chemohost      PEtab noise formula (f: the observable formula)    transformation
=============  =================================================  ===================
additive       σ_add                                              lin, normal
proportional   σ_prop·f                                           lin, normal
combined       √(σ_add² + σ_prop²·f²)                             lin, normal
power          σ·f^α                                              lin, normal
lognormal      σ                                                  log, normal
=============  =================================================  ===================

with the σ's and α per subject as ``noiseParameters`` of the measurements
(estimated ones as parameters ``<name>__<observable>__<subject>``, held ones as
numbers). The parameter table holds the chemohost fit's bounds and start values
(or given estimates) on the scale chemohost optimises on (log for positive
bounds). PEtab's log-likelihood is then the same number as chemohost's:
PEtab's log-normal density carries the same Jacobian as chemohost's log-normal
error model. Not expressible in PEtab v1, and refused with a one-line error:
dosing regimens, per-group parameters, censored observations, a time origin
other than 0, and observable transforms combined with a Gaussian error model
(chemohost leaves out the transform's Jacobian that PEtab includes).
"""

from __future__ import annotations

import logging
import math
import os
import re
from pathlib import Path

import pandas as pd
import yaml

from ..calibration import FitConfig, load_fit_study, plan_fit
from ..calibration._layout import Problem
from ..calibration._laws import CLOSED_FORMS
from ..calibration._study_fit import load_fit_data
from ..model import Model
from ..sbml import sbml_ids, to_sbml
from ._errors import PetabError
from ._problem import _LintLog

__all__ = ["export_fit", "lint"]

_NOISE = {"additive": ("sigma_add",), "proportional": ("sigma_prop",), "combined": ("sigma_add", "sigma_prop"),
          "power": ("sigma", "alpha"), "lognormal": ("sigma",)}


def _noise_formula(model: str, f: str, p: list[str]) -> str:
    return {"additive": lambda: p[0], "proportional": lambda: f"{p[0]} * ({f})",
            "combined": lambda: f"sqrt({p[0]}^2 + {p[1]}^2 * ({f})^2)",
            "power": lambda: f"{p[0]} * ({f})^{p[1]}", "lognormal": lambda: p[0]}[model]()


def _pid(text: str) -> str:
    out = re.sub(r"\W", "_", str(text))
    return out if re.match(r"[A-Za-z]", out) else "s" + out


def export_fit(study: str | os.PathLike | FitConfig, data: str | os.PathLike, out: str | os.PathLike,
               estimates: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write fit study ``study`` with its ``data`` as a PEtab v1 problem in folder ``out``; returns the paths.

    ``estimates`` (a fitted :class:`~chemohost.calibration.IndividualFitter`'s
    ``params_``: subjects × parameter labels) replaces the start values as the
    nominal values, so that the problem's nominal objective is the fit's.
    """
    config = study if isinstance(study, FitConfig) else load_fit_study(study)
    plan = plan_fit(config)
    fitter = plan.fitter
    if fitter.per_group or fitter.regimens or fitter.group_parameters:
        raise PetabError(f"export petab: {config.name}: per-group parameters and dosing regimens are not "
                         "expressible in the exported PEtab v1 problem; export a study without 'groups'")
    if fitter.t0 != 0:
        raise PetabError(f"export petab: fit.t0 = {fitter.t0:g}; only a time origin of 0 is supported")
    if isinstance(fitter.model, str):
        law = CLOSED_FORMS.get(fitter.model)
        if law is None or law.extra_parameters:
            raise PetabError(f"export petab: law '{fitter.model}': only the closed-form growth laws "
                             f"({', '.join(CLOSED_FORMS)}) are exported")
        model = Model({"growth": law.mechanism or law.name})
    else:
        law, model = None, fitter.model
    table = load_fit_data(config, data, model=None if law is not None else model)
    if (table.get("censoring", pd.Series("", index=table.index)).fillna("") != "").any():
        raise PetabError("export petab: the data hold censored observations, which PEtab v1 cannot express")
    problem = Problem(fitter, table)
    ids = sbml_ids(model)
    defaults = dict(fitter.fixed)
    if law is not None:
        for name in problem.predictor.names:
            if name not in fitter.estimate and name not in defaults:
                defaults[name] = problem.predictor.typical(name)[0]
        for name, value in law.fixed.items():
            if value != "V0":
                defaults[name] = float(value)
            elif problem.predictor.names[-1] not in fitter.estimate:
                defaults[name] = defaults[problem.predictor.names[-1]]
    unknown = [n for n in defaults if n not in ids]
    defaults = {n: v for n, v in defaults.items() if n in ids}
    if unknown and law is None:
        raise PetabError(f"export petab: held value of '{unknown[0]}', which the model does not have")
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PetabError(f"cannot create the output folder '{folder}': {exc.strerror}") from None
    to_sbml(model, None, parameters=defaults, until=float(table["time"].max()), path=folder / "model.xml")

    subjects = {s: _pid(s) for s in problem.subjects}
    width = len(str(len(subjects) - 1))
    # condition ids that sort as the subjects come (c00_…, c01_…): a tool that orders conditions by id sees the
    # measurement table's order
    condition_of = {s: f"c{i:0{width}d}_{pid}" for i, (s, pid) in enumerate(subjects.items())}
    observables, conditions, parameters, noise_of = [], {}, [], {}
    for o, (observable, error) in enumerate(zip(problem.observables, problem.errors)):
        if observable.transform != "lin":
            raise PetabError(f"export petab: observable '{observable.quantity}': transform '{observable.transform}' "
                             "with a Gaussian error model has no PEtab v1 equivalent (PEtab adds its Jacobian)")
        oid = "obs_" + ids[observable.quantity]
        formula = ids[observable.quantity]
        if observable.scale != 1.0 or observable.offset != 0.0:
            formula = f"{observable.scale!r} * {formula} + {observable.offset!r}"
        names = list(_NOISE[error.name])
        noise_of[observable.quantity] = (oid, names, error)
        placeholders = [f"noiseParameter{i + 1}_{oid}" for i in range(len(names))]
        observables.append({"observableId": oid, "observableName": observable.quantity,
                            "observableFormula": formula,
                            "observableTransformation": "log" if error.name == "lognormal" else "lin",
                            "noiseFormula": _noise_formula(error.name, formula, placeholders),
                            "noiseDistribution": "normal"})
    for s, subject in enumerate(problem.subjects):
        cid = condition_of[subject]
        conditions[cid] = {"conditionName": str(subject)}
    for e in problem.entries:
        subject = problem.subjects[e.subject]
        value = e.start
        if estimates is not None:
            value = float(estimates.loc[subject, e.label])
        if e.kind == "model":
            pid = f"{ids[e.name]}__{subjects[subject]}"
            conditions[condition_of[subject]][ids[e.name]] = pid
            if law is not None and e.name == problem.predictor.names[-1]:
                for name, held in law.fixed.items():
                    if held == "V0":
                        conditions[condition_of[subject]][ids[name]] = pid
        else:
            pid = f"{e.name}__{noise_of[e.observable][0]}__{subjects[subject]}"
        scale = "log" if e.log else "lin"
        parameters.append({"parameterId": pid, "parameterName": f"{e.label} of {subject}", "parameterScale": scale,
                           "lowerBound": e.lower, "upperBound": e.upper, "nominalValue": value, "estimate": 1})
    present = {p["parameterId"] for p in parameters}
    for name in model.parameter_names:
        sid = ids[name]
        in_conditions = any(sid in c for c in conditions.values())
        if not in_conditions and sid not in present:
            value = defaults.get(name, next(p.default for p in model.parameters if p.name == name))
            parameters.append({"parameterId": sid, "parameterName": name, "parameterScale": "lin",
                               "lowerBound": value, "upperBound": value, "nominalValue": value, "estimate": 0})
    rows = []
    for _, r in problem.rows.iterrows():
        oid, names, error = noise_of[r["observable"]]
        subject = subjects[r["subject"]]
        noise = [repr(float(error.fixed[n])) if n in error.fixed else f"{n}__{oid}__{subject}" for n in names]
        rows.append({"observableId": oid, "simulationConditionId": condition_of[r["subject"]], "time": float(r["time"]),
                     "measurement": float(r["value"]), "noiseParameters": ";".join(noise)})
    paths = {"model": folder / "model.xml", "conditions": folder / "conditions.tsv",
             "measurements": folder / "measurements.tsv", "observables": folder / "observables.tsv",
             "parameters": folder / "parameters.tsv", "problem": folder / "problem.yaml"}
    condition_df = pd.DataFrame.from_dict(conditions, orient="index").rename_axis("conditionId")
    condition_df.to_csv(paths["conditions"], sep="\t")
    pd.DataFrame(rows).to_csv(paths["measurements"], sep="\t", index=False)
    pd.DataFrame(observables).to_csv(paths["observables"], sep="\t", index=False)
    parameter_df = pd.DataFrame(parameters)
    for column in ("lowerBound", "upperBound", "nominalValue"):
        parameter_df[column] = parameter_df[column].map(lambda v: repr(float(v)) if math.isfinite(v) else str(v))
    parameter_df.to_csv(paths["parameters"], sep="\t", index=False)
    paths["problem"].write_text(yaml.safe_dump({
        "format_version": 1, "parameter_file": "parameters.tsv",
        "problems": [{"sbml_files": ["model.xml"], "condition_files": ["conditions.tsv"],
                      "measurement_files": ["measurements.tsv"], "observable_files": ["observables.tsv"]}]},
        sort_keys=False))
    return paths


def lint(path: str | os.PathLike) -> list[str]:
    """``petab``'s linter on the problem at ``path``: its error messages (empty when it passes)."""
    import petab.v1 as petab

    handler = _LintLog()
    logger = logging.getLogger("petab")
    logger.addHandler(handler)
    try:
        failed = petab.lint_problem(petab.Problem.from_yaml(str(path)))
    finally:
        logger.removeHandler(handler)
    return handler.messages or (["petab lint failed"] if failed else [])

