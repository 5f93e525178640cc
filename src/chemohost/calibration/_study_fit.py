"""Fit studies: a small YAML file naming what to fit to which data, validated with pydantic, run into a report.

A fit study names a closed-form growth law (``law:``) or chemohost model
options (``model:``), the observables with their error models, the parameters
to estimate with their bounds, the arms (``groups:``: a regimen and held
parameter values per group), how to read the data (``data:``), the fitter's
settings (``fit:``) and alternative models to rank against it (``compare:``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._errors import ChemohostError, unknown as unknown_message
from .._yaml_config import load_config
from ..quantities import TUMOUR_VOLUME
from ..study import StudyConfig, plan_study
from ._error_models import Observable, error_model
from ._errors import CalibrationError, DataFileError
from ._fit_report import write_fit_report
from ._import import read_nonmem, read_petab_measurements, read_tidy, tidy_benzekry2014, tidy_pdxe
from ._individual import IndividualFitter
from ._laws import get_growth_law
from ._selection import compare_models

__all__ = ["FitConfig", "FitPlan", "load_fit_study", "plan_fit", "load_fit_data", "run_fit"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorSpec(_Strict):
    """An error model; a value given to a parameter holds it fixed."""

    model: Literal["additive", "proportional", "combined", "power", "lognormal"] = "lognormal"
    sigma_add: float | None = Field(None, gt=0)
    sigma_prop: float | None = Field(None, gt=0)
    sigma: float | None = Field(None, gt=0)
    alpha: float | None = Field(None, ge=0)


class ObservableSpec(_Strict):
    """A measured model quantity: f = transform(scale·q + offset), compared under ``error``."""

    quantity: str = TUMOUR_VOLUME
    transform: Literal["lin", "log", "log10"] = "lin"
    scale: float = Field(1.0, gt=0)
    offset: float = 0.0
    error: ErrorSpec = ErrorSpec()


class EstimateSpec(_Strict):
    """How one parameter is estimated: its bounds, and whether each group gets its own value."""

    bounds: tuple[float, float] | None = None
    per_group: bool = False


class GroupSpec(_Strict):
    """One arm: its regimen (models only) and parameter values held in it."""

    regimen: str = "none"
    parameters: dict[str, float] = Field(default_factory=dict)


class DataSpec(_Strict):
    """How to read the data file given on the command line."""

    format: Literal["tidy", "nonmem", "petab", "benzekry2014", "pdxe"] = "tidy"
    time_unit: str | None = Field(None, description="nonmem (required) and petab: unit of TIME/time")
    observables: dict[str, str] | str | None = Field(
        None, description="nonmem: the quantity every DV measures or {CMT: quantity}; petab: {observableId: quantity}")
    agents: dict[int, str] = Field(default_factory=dict, description="nonmem: {CMT: agent}")
    amount_unit: str = Field("mg", description="nonmem: unit of AMT")
    routes: dict[int, str] = Field(default_factory=dict, description="nonmem: {CMT: route}")
    group_column: str | None = Field(None, description="nonmem: column holding the arm")
    subject_column: str = Field("simulationConditionId", description="petab: column naming the individual")
    arms: dict[str, str] | list[str] | None = Field(None, description="pdxe: arm labels, or {label: group}")
    tumour_type: str | None = Field(None, description="pdxe: keep one tumour type")
    require_all_arms: bool = Field(False, description="pdxe: keep subjects seen in every arm")
    lloq: float | None = Field(None, gt=0, description="pdxe, benzekry2014: zero volumes left-censored here [mm3]")
    max_time: float | None = Field(None, description="drop observations after this day")
    min_observations: int = Field(1, ge=1, description="drop subjects with fewer observations")


class FitSettings(_Strict):
    n_starts: int = Field(5, ge=1, description="optimiser starts per subject")
    seed: int = Field(0, ge=0, description="seed of the start draws")
    t0: float = Field(0.0, description="time origin [day]: V(t0) = V0, initial state of a model")
    rtol: float = Field(1e-8, gt=0)
    atol: float = Field(1e-10, gt=0)


class CandidateSpec(_Strict):
    """An alternative to rank against the main fit: another law or model, other estimates or held values."""

    name: str
    law: str | None = None
    model: dict[str, Any] | None = None
    estimate: dict[str, EstimateSpec] | None = None
    parameters: dict[str, float] = Field(default_factory=dict)


class FitConfig(_Strict):
    """A fit study (see the module docstring); exactly one of ``law`` and ``model``."""

    name: str
    description: str = ""
    law: str | None = None
    model: dict[str, Any] | None = None
    parameter_sets: list[str] = Field(default_factory=list, description="model only: sets for held values")
    parameters: dict[str, float] = Field(default_factory=dict, description="held values (tag user)")
    covariates: dict[str, float] = Field(default_factory=dict, description="model only")
    observables: list[ObservableSpec] = Field(default_factory=lambda: [ObservableSpec()])
    estimate: dict[str, EstimateSpec]
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    data: DataSpec = DataSpec()
    fit: FitSettings = FitSettings()
    compare: list[CandidateSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_model(self) -> FitConfig:
        if (self.law is None) == (self.model is None):
            raise ValueError("give exactly one of 'law' (a growth law name) and 'model' (chemohost model options)")
        if self.law is not None and (self.parameter_sets or self.covariates):
            raise ValueError("'parameter_sets' and 'covariates' apply to a 'model' only")
        if not self.estimate:
            raise ValueError("'estimate' needs at least one parameter")
        return self


def load_fit_study(source: str | os.PathLike | dict) -> FitConfig:
    """Read and validate a fit study from a YAML path or a mapping; errors name the file and field."""
    return load_config(source, FitConfig, CalibrationError, "fit study", "name, law, estimate")


@dataclass(frozen=True)
class FitPlan:
    """A fit study made concrete: the fitter, the held values with their sources, and the candidates."""

    config: FitConfig
    fitter: IndividualFitter
    held: pd.DataFrame
    candidates: dict[str, IndividualFitter]
    citations: tuple[str, ...]


def _fitter(config: FitConfig, law: str | None, options: dict | None, estimate: dict[str, EstimateSpec],
            parameters: dict[str, float], where: str) -> tuple[IndividualFitter, pd.DataFrame, tuple[str, ...]]:
    """An IndividualFitter for one (main or candidate) specification, its held values and its citations."""
    observables = [Observable(o.quantity, o.transform, o.scale, o.offset) for o in config.observables]
    errors = {o.quantity: error_model(o.error.model_dump(exclude_none=True)) for o in config.observables}
    held_groups = {g: dict(spec.parameters) for g, spec in config.groups.items() if spec.parameters}
    bounds = {name: spec.bounds for name, spec in estimate.items() if spec.bounds is not None}
    per_group = [name for name, spec in estimate.items() if spec.per_group]
    settings = config.fit.model_dump()
    if law is not None:
        given = [g for g, spec in config.groups.items() if spec.regimen.strip().lower() not in ("none", "")]
        if given:
            raise CalibrationError(f"{where}: groups.{given[0]}.regimen: a growth law takes no doses; give the "
                                   "treatment effect as held parameters, or fit a 'model'")
        try:
            citations = tuple(get_growth_law(law).citations)
        except ChemohostError as exc:
            raise CalibrationError(f"{where}: law: {exc}") from None
        held = pd.DataFrame({"value": pd.Series(parameters, dtype=float), "tag": "user",
                             "source": "fit study parameters"})
        fitter = IndividualFitter(law, observables, errors, estimate=list(estimate), fixed=dict(parameters),
                                  bounds=bounds, per_group=per_group, group_parameters=held_groups, **settings)
        return fitter, held, citations
    arms = {g: spec.regimen for g, spec in config.groups.items()} or {"data": "none"}
    study = StudyConfig(name=config.name, model=options, parameter_sets=config.parameter_sets,
                        parameters=parameters, covariates=config.covariates,
                        cohort={"size": 1, "seed": 0, "variability": False}, arms=arms, duration=1.0)
    try:
        plan = plan_study(study)
    except ChemohostError as exc:
        raise CalibrationError(f"{where}: {exc}") from None
    table = plan.table
    unknown = [n for n in estimate if n not in table.index]
    if unknown:
        raise CalibrationError(f"{where}: estimate: " + unknown_message("parameter", unknown[0], table.index))
    held = table.loc[[n for n in table.index if n not in estimate], ["value", "tag", "source"]]
    covariates = pd.DataFrame({"value": pd.Series(plan.covariates, dtype=float), "tag": "user",
                               "source": "covariate (fit study or species default)"})
    held = pd.concat([held, covariates])
    fixed = held["value"].to_dict()
    for values in held_groups.values():
        for name in values:
            fixed.pop(name, None)
    fitter = IndividualFitter(plan.model, observables, errors, estimate=list(estimate), fixed=fixed, bounds=bounds,
                              per_group=per_group, regimens={g: r for g, r in plan.regimens.items() if g != "data"}
                              or None, group_parameters=held_groups, **settings)
    return fitter, held, tuple(plan.citations)


def plan_fit(config: FitConfig) -> FitPlan:
    """Build the fitter of a fit study and of each of its candidates (no data needed)."""
    fitter, held, citations = _fitter(config, config.law, config.model, config.estimate, config.parameters, "fit")
    candidates = {}
    for i, spec in enumerate(config.compare):
        if spec.name in candidates:
            raise CalibrationError(f"compare.{i}.name: '{spec.name}' is used twice; give each candidate its own name")
        law, options = spec.law, spec.model
        if law is None and options is None:
            law, options = config.law, config.model
        params = {**config.parameters, **spec.parameters}
        estimate = spec.estimate if spec.estimate is not None else config.estimate
        candidates[spec.name], _, more = _fitter(config, law, options, estimate, params, f"compare.{i}")
        citations += more
    if config.name in candidates:
        raise CalibrationError(f"compare: candidate name '{config.name}' is the study's own name; rename it")
    if candidates:
        candidates = {config.name: fitter, **candidates}
    return FitPlan(config, fitter, held, candidates, tuple(dict.fromkeys(citations)))


def load_fit_data(config: FitConfig, path: str | os.PathLike, *, model=None) -> pd.DataFrame:
    """Read the data file of a fit study in its ``data.format`` and apply ``max_time`` and ``min_observations``."""
    spec = config.data
    path = Path(path)
    if spec.format == "tidy":
        data = read_tidy(path, model=model)
    elif spec.format == "nonmem":
        if spec.time_unit is None or spec.observables is None:
            raise CalibrationError("data: a nonmem file needs data.time_unit (its TIME unit, e.g. 'h') and "
                                   "data.observables (what DV measures)")
        data = read_nonmem(path, time_unit=spec.time_unit, observables=spec.observables, agents=spec.agents,
                           amount_unit=spec.amount_unit, routes=spec.routes, group=spec.group_column, model=model)
    elif spec.format == "petab":
        if not isinstance(spec.observables, dict):
            raise CalibrationError("data: a PEtab table needs data.observables = {observableId: model quantity}")
        data = read_petab_measurements(path, observables=spec.observables, subject=spec.subject_column,
                                       time_unit=spec.time_unit or "day", model=model)
    elif spec.format == "benzekry2014":
        data = tidy_benzekry2014(path=path, lloq=spec.lloq)
    else:
        data = tidy_pdxe(path, arms=spec.arms, tumour_type=spec.tumour_type, require_all_arms=spec.require_all_arms,
                         lloq=spec.lloq)
    source = data.attrs.get("source", str(path))
    if spec.max_time is not None:
        data = data[data["time"] <= spec.max_time]
    is_obs = data["observable"] != ""
    counts = data[is_obs].groupby("subject")["time"].size()
    keep = counts.index[counts >= spec.min_observations]
    data = data[data["subject"].isin(keep)].reset_index(drop=True)
    if not (data["observable"] != "").any():
        raise DataFileError(f"{path}: no observations left after data.max_time = {spec.max_time} and "
                            f"data.min_observations = {spec.min_observations}")
    data.attrs.update(source=source, dropped_subjects=int(counts.size - keep.size))
    return data


def run_fit(config: FitConfig, data_path: str | os.PathLike, out: str | os.PathLike, *, plan: FitPlan | None = None):
    """Fit a study to its data, rank its candidates, and write the report and tables into ``out``.

    Returns the fitted :class:`IndividualFitter`, the ranking (or None) and the report's path.
    """
    plan = plan or plan_fit(config)
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CalibrationError(f"cannot create the output folder '{folder}': {exc.strerror}") from None
    model = plan.fitter.model if not isinstance(plan.fitter.model, str) else None
    data = load_fit_data(config, data_path, model=model)
    if plan.candidates:
        ranking = compare_models(plan.candidates, data)
        fitted = ranking.attrs["fits"][config.name]
    else:
        ranking, fitted = None, plan.fitter.clone().fit(data)
    report = write_fit_report(fitted, plan, data, folder, ranking=ranking)
    return fitted, ranking, report
