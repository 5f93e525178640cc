"""Run a study: one cohort, several arms, one labelled result."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from .._errors import ChemohostError, unknown
from ..cohort import sample_cohort
from ..drugs import default_covariates, get_drug
from ..engine import simulate
from ..model import Model
from ..parameters import LogNormalVariability, get_parameter_set
from ..procedures import parse_procedures
from ..regimen import Regimen
from ..rules import parse_rules
from ._config import StudyConfig, StudyError

__all__ = ["build_model", "parameter_table", "run_study", "StudyPlan", "plan_study"]

EXTRAVASCULAR = ("oral", "ip", "sc")


@dataclass(frozen=True)
class StudyPlan:
    """Everything a study needs before simulating: regimens, model, parameters and cohort."""

    config: StudyConfig
    regimens: dict
    procedures: dict
    rules: dict
    model: Model
    table: pd.DataFrame
    cohort: pd.DataFrame
    covariates: dict[str, float]
    citations: tuple[str, ...]


def _parse_arms(config: StudyConfig) -> tuple[dict, dict, dict]:
    """Regimens, procedures and rules of every arm."""
    regimens, procedures, rules = {}, {}, {}
    for arm, spec in config.arms.items():
        try:
            regimens[arm] = Regimen.parse(spec.regimen)
            procedures[arm] = parse_procedures(spec.procedures)
            rules[arm] = parse_rules(spec.rules)
        except ChemohostError as exc:
            raise StudyError(f"arms.{arm}: {exc}") from None
    return regimens, procedures, rules


def build_model(config: StudyConfig, regimens: dict) -> Model:
    """The study's model: its options plus a PK (and kill) for every drug any arm gives."""
    options = dict(config.model)
    drugs = {k: dict(v or {}) for k, v in dict(options.get("drugs") or {}).items()}
    for regimen in regimens.values():
        for schedule in regimen:
            drug = get_drug(schedule.agent)
            opts = drugs.setdefault(drug.key, {})
            if schedule.route in EXTRAVASCULAR:
                routes = list(opts.get("extravascular") or [])
                opts["extravascular"] = routes + [schedule.route] * (schedule.route not in routes)
            if drug.is_blocker:
                opts.setdefault("host_action", "coverage" if drug.blocks else "gcsf_support")
            elif drug.is_cytotoxic:
                opts.setdefault("kill", "none" if options.get("tumour") == "absent" else "linear")
    options["drugs"] = drugs
    try:
        return Model(options)
    except ChemohostError as exc:
        raise StudyError(f"model: {exc}") from None


def _default_covariates(config: StudyConfig, species: str) -> dict[str, float]:
    covariates = {k: v.value for k, v in default_covariates(species).items()}
    covariates.update(config.covariates)
    for name, value in covariates.items():
        if not value > 0:
            raise StudyError(f"covariates.{name}: must be positive, got {value}")
    return covariates


def parameter_table(model: Model, config: StudyConfig, covariates: dict[str, float]):
    """Typical values with unit, source, tag and citation of every model parameter, and the variability used.

    Precedence: study ``parameters`` override the parameter sets (later sets
    win), which override the mechanisms' declared defaults.
    """
    try:
        sets = [get_parameter_set(name) for name in config.parameter_sets]
    except ChemohostError as exc:
        raise StudyError(f"parameter_sets: {exc}") from None
    bw, bsa = covariates.get("Body weight [kg]"), covariates.get("Body surface area [m2]")
    resolved = [s.resolve(body_weight=bw, body_surface_area=bsa) for s in sets]
    for name in config.parameters:
        if name not in model.parameter_names:
            raise StudyError("parameters: " + unknown("parameter", name, model.parameter_names))
    rows = []
    for p in model.parameters:
        row = {"parameter": p.name, "symbol": p.symbol, "unit": p.unit, "value": p.default, "tag": p.tag,
               "source": p.source, "citations": p.citation or "", "set": "model default", "omega": 0.0}
        for pset, values in zip(sets, resolved):
            if p.name in pset.values:
                pv = pset.values[p.name]
                row.update(value=float(values[p.name]), tag=pv.tag, source=pv.source, set=pset.name,
                           citations=", ".join(pset.citations_of(p.name)))
        if p.name in config.parameters:
            row.update(value=float(config.parameters[p.name]), tag="user", source="study override", set="study",
                       citations="")
        if np.isnan(row["value"]):
            raise StudyError(f"parameter '{p.name}' has no value: add it under 'parameters' or use a parameter set "
                             "that provides it")
        rows.append(row)
    table = pd.DataFrame(rows).set_index("parameter")
    variability = None
    if config.cohort.variability:
        for pset in sets:
            if pset.variability is None:
                continue
            omega = {k: v for k, v in pset.variability.omega.items() if k in table.index}
            blocks = tuple(b for b in pset.variability.correlations if set(b.parameters) <= set(omega))
            part = LogNormalVariability(omega, blocks)
            variability = part if variability is None else variability.merged(part)
    if variability is not None:
        for name in variability.parameters:
            table.loc[name, "omega"] = variability.omega[name].value
    return table, variability


def _pad_doses(results: list[xr.Dataset]) -> list[xr.Dataset]:
    """Give every arm a dose record of the same length (arms without rules get an empty one), so arms stack."""
    with_doses = [r for r in results if "dose" in r.dims]
    if not with_doses:
        return results
    size = max(r.sizes["dose"] for r in with_doses)
    fill = {"Dose time [day]": np.nan, "Dose factor [-]": 0.0, "Dose amount [mg]": 0.0}
    padded = []
    for r in results:
        have = r.sizes.get("dose", 0)
        if have < size:
            n = r.sizes["patient"]
            pad = xr.Dataset({k: (("patient", "dose"), np.full((n, size - have), v), with_doses[0][k].attrs)
                              for k, v in fill.items()},
                             coords={"agent": ("dose", [""] * (size - have)),
                                     "planned_time": ("dose", [np.nan] * (size - have))})
            record = pad if not have else xr.concat([r[list(fill)], pad], dim="dose")
            r = r.drop_vars([*fill, "agent", "planned_time"], errors="ignore").merge(record)
        padded.append(r)
    return padded


def plan_study(config: StudyConfig) -> StudyPlan:
    """Validate a study completely (regimens, model, parameters, cohort) without simulating."""
    regimens, procedures, rules = _parse_arms(config)
    model = build_model(config, regimens)
    covariates = _default_covariates(config, model.options["species"])
    table, variability = parameter_table(model, config, covariates)
    cohort = sample_cohort(config.cohort.size, table["value"].to_dict(), variability, seed=config.cohort.seed)
    citations = list(model.citations)
    for entry in table["citations"]:
        citations.extend(c.strip() for c in entry.split(",") if c.strip())
    return StudyPlan(config, regimens, procedures, rules, model, table, cohort, covariates, tuple(dict.fromkeys(citations)))


def run_study(config: StudyConfig, *, progress: bool = False, plan: StudyPlan | None = None) -> xr.Dataset:
    """Simulate every arm of ``config`` on the same virtual cohort.

    Returns a Dataset with dims ``arm``, ``patient`` and ``time`` (see
    :func:`chemohost.simulate`), the parameter table as coordinates on
    ``parameter`` and the study's provenance in the attrs.
    """
    plan = plan or plan_study(config)
    times = np.round(np.arange(0.0, config.duration + 1e-9, config.output_interval), 10)
    if times[-1] < config.duration:
        times = np.append(times, config.duration)
    results = []
    arms = list(plan.regimens)
    iterator = arms
    if progress:
        iterator = tqdm(arms, desc="arms", unit="arm")
    for arm in iterator:
        try:
            ds = simulate(plan.model, plan.regimens[arm], plan.cohort, times, covariates=plan.covariates,
                          n_patients=config.cohort.size, method=config.solver.method, rtol=config.solver.rtol,
                          atol=config.solver.atol, save=config.outputs, procedures=plan.procedures[arm],
                          rules=plan.rules[arm])
        except ChemohostError as exc:
            raise StudyError(f"arm '{arm}': {exc}") from None
        results.append(ds.drop_attrs() if hasattr(ds, "drop_attrs") else ds)
    attrs = dict(ds.attrs)
    results = _pad_doses(results)
    combined = xr.concat([r.drop_vars("parameter_value") for r in results],
                         dim=pd.Index(np.array(arms, dtype=object), name="arm"), combine_attrs="drop_conflicts")
    combined["parameter_value"] = results[0]["parameter_value"]
    table = plan.table
    combined = combined.assign_coords(
        parameter_symbol=("parameter", table.loc[plan.model.parameter_names, "symbol"].to_numpy(str)),
        parameter_tag=("parameter", table.loc[plan.model.parameter_names, "tag"].to_numpy(str)),
        parameter_source=("parameter", table.loc[plan.model.parameter_names, "source"].to_numpy(str)),
        parameter_omega=("parameter", table.loc[plan.model.parameter_names, "omega"].to_numpy(float)),
    )
    attrs.pop("regimen", None)
    solver_citations = json.loads(attrs.get("citations", "[]"))
    attrs.update(
        study=config.name,
        study_description=config.description,
        regimens=json.dumps({arm: str(r) for arm, r in plan.regimens.items()}),
        procedures=json.dumps({arm: [str(x) for x in v] for arm, v in plan.procedures.items() if v}),
        rules=json.dumps({arm: [str(x) for x in v] for arm, v in plan.rules.items() if v}),
        parameter_sets=json.dumps(config.parameter_sets),
        covariates=json.dumps(plan.covariates),
        seed=config.cohort.seed,
        cohort_size=config.cohort.size,
        citations=json.dumps(list(dict.fromkeys([*plan.citations, *solver_citations]))),
        study_config=json.dumps(config.model_dump(), sort_keys=True),
    )
    combined.attrs = attrs
    return combined
