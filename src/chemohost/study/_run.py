"""Run a study: one cohort, several arms, one labelled result."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from .._errors import ChemohostError, clip, quote, unknown
from ..cohort import sample_cohort
from ..drugs import default_covariates, get_drug
from ..engine import simulate
from ..limits import MAX_DOSE_EVENTS, MAX_OUTPUT_TIMES, check_count, check_result_size
from ..model import Model
from ..parameters import LogNormalVariability, get_parameter_set
from ..procedures import parse_procedures
from ..regimen import Regimen
from ..rules import parse_rules
from ..sbml import study_model
from ._config import StudyConfig, StudyError

__all__ = ["build_model", "output_times", "parameter_table", "run_study", "simulate_arm", "StudyPlan", "plan_study"]

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
        for part, parse, value, into in (("", Regimen.parse, spec.regimen, regimens),
                                         (".procedures", parse_procedures, spec.procedures, procedures),
                                         (".rules", parse_rules, spec.rules, rules)):
            try:
                into[arm] = parse(value)
            except ChemohostError as exc:
                raise StudyError(f"arms.{clip(arm)}{part}: {exc}") from None
    return regimens, procedures, rules


def output_times(config: StudyConfig) -> np.ndarray:
    """The saved times [day]: every ``output_interval`` from 0, and the end of the study."""
    times = np.round(np.arange(0.0, config.duration + 1e-9, config.output_interval), 10)
    return times if times[-1] >= config.duration else np.append(times, config.duration)


def _check_sizes(config: StudyConfig, regimens: dict, rules: dict, model: Model) -> None:
    """Refuse a study past the documented bounds (:mod:`chemohost.limits`) before anything of its size exists."""
    duration = config.duration
    n_times = math.floor(duration / config.output_interval) + 2
    check_count(f"output_interval {config.output_interval:g}: saved times over {duration:g} days", n_times,
                MAX_OUTPUT_TIMES, "use a longer output_interval")
    check_count(f"outcomes.assessment_interval {config.outcomes.assessment_interval:g}: assessments over "
                f"{duration:g} days", duration / config.outcomes.assessment_interval, MAX_OUTPUT_TIMES,
                "use a longer assessment_interval")
    for arm, regimen in regimens.items():
        check_count(f"arms.{clip(arm)}: regimen {quote(config.arms[arm].regimen)}: administrations before day {duration:g}",
                    regimen.count_administrations(duration + 1e-9), MAX_DOSE_EVENTS,
                    "lengthen the dosing intervals, give dose counts (xN) or split the span into several studies")
        for rule in rules[arm]:
            if getattr(rule, "every", None):
                check_count(f"arms.{clip(arm)}: visits of the rule every {rule.every:g} days", duration / rule.every,
                            MAX_OUTPUT_TIMES, "monitor less often")
    outputs = len(config.outputs) if config.outputs is not None else len(model.state_names) + len(model.output_names)
    check_result_size("study", config.cohort.size, n_times, outputs, arms=len(regimens))


def build_model(config: StudyConfig, regimens: dict) -> Model:
    """The study's model: its options plus a PK (and kill) for every drug any arm gives."""
    if "sbml" in config.model:  # an imported SBML model; its regimens dose the states named in model.doses
        try:
            return study_model(config.model)
        except ChemohostError as exc:
            raise StudyError(f"model: {exc}") from None
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
    _check_sizes(config, regimens, rules, model)
    for arm, arm_procedures in procedures.items():
        for procedure in arm_procedures:
            try:
                procedure.events(model)
            except ChemohostError as exc:
                raise StudyError(f"arms.{clip(arm)}.procedures: {exc}") from None
    covariates = _default_covariates(config, model.options["species"])
    table, variability = parameter_table(model, config, covariates)
    cohort = sample_cohort(config.cohort.size, table["value"].to_dict(), variability, seed=config.cohort.seed)
    citations = list(model.citations)
    for entry in table["citations"]:
        citations.extend(c.strip() for c in entry.split(",") if c.strip())
    return StudyPlan(config, regimens, procedures, rules, model, table, cohort, covariates, tuple(dict.fromkeys(citations)))


def simulate_arm(plan: StudyPlan, arm: str, times: np.ndarray) -> xr.Dataset:
    """Arm ``arm`` of ``plan`` on the plan's cohort, as :func:`run_study` simulates it."""
    config = plan.config
    try:
        return simulate(plan.model, plan.regimens[arm], plan.cohort, times, covariates=plan.covariates,
                        n_patients=config.cohort.size, method=config.solver.method, rtol=config.solver.rtol,
                        atol=config.solver.atol, save=config.outputs, procedures=plan.procedures[arm],
                        rules=plan.rules[arm], backend=config.backend)
    except ChemohostError as exc:
        raise StudyError(f"arm {clip(arm)!r}: {exc}") from None


def run_study(config: StudyConfig, *, progress: bool = False, plan: StudyPlan | None = None) -> xr.Dataset:
    """Simulate every arm of ``config`` on the same virtual cohort.

    Returns a Dataset with dims ``arm``, ``patient`` and ``time`` (see
    :func:`chemohost.simulate`), the parameter table as coordinates on
    ``parameter`` and the study's provenance in the attrs.
    """
    plan = plan or plan_study(config)
    times = output_times(config)
    results = []
    arms = list(plan.regimens)
    iterator = arms
    if progress:
        iterator = tqdm(arms, desc="arms", unit="arm")
    for arm in iterator:
        ds = simulate_arm(plan, arm, times)
        results.append(ds.drop_attrs(deep=False) if hasattr(ds, "drop_attrs") else ds)  # keep units
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
        parameter_omega=("parameter", table.loc[plan.model.parameter_names, "omega"].to_numpy(float),
                         {"units": "1", "description": "inter-individual SD of the log-value"}),
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
