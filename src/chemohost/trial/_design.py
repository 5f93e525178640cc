"""A trial: a virtual cohort, arms, endpoints and what to store, read from a YAML file and validated field by field.

.. code-block:: yaml

    name: nsclc
    seed: 20261207
    model: {species: human, growth: exponential, ...}
    parameter_sets: [Friberg2002, Bruno1996, TaxolLabel, RMM1Host, NSCLCTrial]
    arms: {docetaxel: docetaxel 75 mg/m2 iv over 1 h q21d x6, ...}
    rules: [{toxicity: {}}]
    covariates: {bsa: {distribution: normal, mean: 1.79, sd: 0.22, ...}, ...}
    variability: {"Exponential growth rate [1/day]": {omega: 0.7457, tag: C, source: ...}, ...}
    filters: {baseline_anc: {min: 1.5, ...}, doubling_time: {min: 30, max: 1000, ...}}
    weighting: {observable: doubling_time, target: {distribution: lognormal, median: 100, sdlog: 0.6}}
    survival: Claret2009Survival
    schedule: {treatment_window: 182, horizon: 728, scan_interval: 42, os_landmark: 49, follow_up: 1095}
    panel: {day: 1, markers: {sdf1: "SDF-1 [-]", ...}}
    store: {variables: [sld], dtype: float32}

The built-in trial ``nsclc`` is ``chemohost/data/trials/nsclc.yaml``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from .._errors import ChemohostError, unknown
from .._yaml_config import load_config
from ..model import Model
from ..parameters import get_parameter_set
from ..regimen import Regimen
from ..rules import parse_rules
from ._cohort import COVARIATES, OBSERVABLES, check_filters
from ._distributions import Distribution, _Provenance, _Strict
from ._errors import TrialError

__all__ = ["Trial", "TrialError", "load_trial", "builtin_trials", "COVARIATES", "OBSERVABLES"]

class Omega(_Provenance):
    omega: float = Field(gt=0, le=3)


class Filter(_Provenance):
    min: float = -math.inf
    max: float = math.inf

    @model_validator(mode="after")
    def _ordered(self):
        if not self.min < self.max:
            raise ValueError(f"min ({self.min:g}) must be below max ({self.max:g})")
        return self


class Weighting(_Strict):
    observable: str
    target: Distribution


class Schedule(_Strict):
    treatment_window: float = Field(182.0, gt=0, le=2000, description="days integrated by the engine; "
                                    "afterwards the drug-free tumour grows at its untreated rate")
    horizon: float = Field(728.0, gt=0, le=5000, description="last scheduled scan [day]")
    scan_interval: float = Field(42.0, gt=0, le=365, description="days between RECIST scans")
    os_landmark: float = Field(49.0, gt=0, description="day of the tumour-size change that predicts survival")
    follow_up: float = Field(1095.0, gt=0, le=10000, description="administrative censoring of survival [day]")
    cr_below: float = Field(5.0, ge=0, description="sum of diameters [mm] read as complete response")

    @model_validator(mode="after")
    def _consistent(self):
        if self.os_landmark > self.treatment_window:
            raise ValueError(f"os_landmark ({self.os_landmark:g}) must lie within treatment_window "
                             f"({self.treatment_window:g})")
        if self.scan_interval > self.horizon:
            raise ValueError(f"scan_interval ({self.scan_interval:g}) must not exceed horizon ({self.horizon:g})")
        return self


class Panel(_Strict):
    day: float = Field(1.0, gt=0)
    markers: dict[str, str] = Field(min_length=1)


class Store(_Strict):
    variables: list[Literal["sld", "anc"]] = Field(default_factory=lambda: ["sld"])
    dtype: Literal["float32", "float64"] = "float32"


class Solver(_Strict):
    rtol: float = Field(1e-5, gt=0, lt=1)
    atol: float = Field(1e-8, gt=0)


class TrialConfig(_Strict):
    """The validated content of a trial file."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    seed: int = Field(ge=0, lt=2**63)
    model: dict[str, Any]
    parameter_sets: list[str] = Field(default_factory=list)
    parameters: dict[str, float] = Field(default_factory=dict)
    arms: dict[str, str] = Field(min_length=1)
    rules: list[Any] = Field(default_factory=list)
    covariates: dict[str, Distribution]
    variability: dict[str, Omega] = Field(default_factory=dict)
    filters: dict[str, Filter] = Field(default_factory=dict)
    weighting: Weighting | None = None
    survival: str
    schedule: Schedule = Field(default_factory=Schedule)
    panel: Panel
    store: Store = Field(default_factory=Store)
    solver: Solver = Field(default_factory=Solver)

    @field_validator("covariates")
    @classmethod
    def _known_covariates(cls, value):
        for key in value:
            if key not in COVARIATES:
                raise ValueError(unknown("covariate", key, COVARIATES))
        for key in COVARIATES:
            if key not in value:
                raise ValueError(f"covariate '{key}' is missing; a trial draws {', '.join(COVARIATES)}")
        return value

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, value):
        for key in value:
            if key not in OBSERVABLES:
                raise ValueError(unknown("filter observable", key, OBSERVABLES))
        return value

    @model_validator(mode="after")
    def _weighting_observable(self):
        if self.weighting is not None and self.weighting.observable not in OBSERVABLES:
            raise ValueError("weighting: " + unknown("observable", self.weighting.observable, OBSERVABLES))
        return self


_MERGED = ("schedule", "panel", "store", "solver")


def builtin_trials() -> dict[str, Path]:
    """The trials shipped with the package, by name."""
    folder = resources.files("chemohost") / "data" / "trials"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml")}


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True, eq=False)
class Trial:
    """A validated trial; build with :func:`load_trial`. Immutable: :meth:`with_seed` and
    :meth:`with_overrides` return new trials."""

    config: TrialConfig
    source: str = field(default="<mapping>")

    # ---------------------------------------------------------------- identity
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(self.config.arms)

    @property
    def markers(self) -> tuple[str, ...]:
        return tuple(self.config.panel.markers)

    def fingerprint(self) -> str:
        """SHA-256 of the canonical configuration (seed included) and of the parameter sets it names."""
        sets = {name: {k: [v.value, v.unit] for k, v in get_parameter_set(name).values.items()}
                for name in [*self.config.parameter_sets, self.config.survival]}
        payload = _canonical({"trial": self.config.model_dump(mode="json"), "parameter_sets": sets})
        return hashlib.sha256(payload.encode()).hexdigest()

    def with_seed(self, seed: int) -> Trial:
        return self.with_overrides(seed=seed)

    def with_overrides(self, **changes) -> Trial:
        """A new trial with top-level fields replaced; the settings blocks ``schedule``, ``panel``, ``store`` and
        ``solver`` are merged (``with_overrides(schedule={"horizon": 364})`` keeps the other schedule fields)."""
        data = self.config.model_dump(mode="python")
        for key, value in changes.items():
            if key not in TrialConfig.model_fields:
                raise TrialError(unknown("trial field", key, TrialConfig.model_fields))
            if key in _MERGED and isinstance(value, dict):
                data[key] = {**data[key], **copy.deepcopy(value)}
            else:
                data[key] = copy.deepcopy(value)
        return _build(data, self.source)

    def __repr__(self) -> str:
        return f"Trial({self.name!r}, seed={self.seed}, arms={list(self.arms)})"

    # ---------------------------------------------------------------- derived objects (validated at load)
    @cached_property
    def parameter_sets(self) -> tuple:
        return tuple(get_parameter_set(name) for name in self.config.parameter_sets)

    @cached_property
    def model(self) -> Model:
        return Model(self.config.model)

    @cached_property
    def regimens(self) -> dict:
        return {arm: Regimen.parse(text) for arm, text in self.config.arms.items()}

    @cached_property
    def rules(self) -> tuple:
        return parse_rules(self.config.rules)

    @cached_property
    def survival(self) -> dict[str, float]:
        return {k: float(v) for k, v in get_parameter_set(self.config.survival).resolve().items()}

    @cached_property
    def scan_times(self) -> np.ndarray:
        s = self.config.schedule
        return np.arange(0.0, s.horizon + 1e-9, s.scan_interval)

    @property
    def store_times(self) -> np.ndarray:
        """The stored output times [day]: the scan days."""
        return self.scan_times


SURVIVAL_KEYS = {
    "intercept": "OS log-time intercept [-]",
    "change": "OS week-7 tumour-size change coefficient [-]",
    "baseline": "OS baseline tumour-size coefficient [1/mm]",
    "reference": "OS reference baseline tumour size [mm]",
    "sigma": "OS log-time residual SD [-]",
}
"""The survival parameters a trial's ``survival`` set must hold."""


def _check(trial: Trial) -> None:
    """Everything that can be checked without simulating, as one-line :class:`TrialError`\\ s."""
    c = trial.config
    try:
        model = trial.model
    except ChemohostError as exc:
        raise TrialError(f"model: {exc}") from None
    for name in c.parameter_sets + [c.survival]:
        try:
            get_parameter_set(name)
        except ChemohostError as exc:
            raise TrialError(f"parameter_sets: {exc}") from None
    missing = [v for v in SURVIVAL_KEYS.values() if v not in get_parameter_set(c.survival).values]
    if missing:
        raise TrialError(f"survival: parameter set '{c.survival}' lacks '{missing[0]}'")
    for arm, text in c.arms.items():
        try:
            regimen = Regimen.parse(text)
        except ChemohostError as exc:
            raise TrialError(f"arms: arm '{arm}': {exc}") from None
        drugs = model.options.get("drugs", {})
        for agent in regimen.agents:
            if agent not in drugs:
                raise TrialError(f"arms: arm '{arm}' gives '{agent}', which the model does not hold; "
                                 f"model drugs: {', '.join(drugs)}")
    try:
        trial.rules
    except ChemohostError as exc:
        raise TrialError(f"rules: {exc}") from None
    for name in list(c.parameters) + list(c.variability):
        if name not in model.parameter_names:
            raise TrialError("parameters/variability: " + unknown("parameter", name, model.parameter_names))
    known = set(model.state_names) | set(model.output_names)
    for key, name in c.panel.markers.items():
        if name not in known:
            raise TrialError(f"panel: marker '{key}': " + unknown("model quantity", name, sorted(known)))
    s = c.schedule
    if c.panel.day > s.treatment_window:
        raise TrialError(f"panel: day {c.panel.day:g} lies after the treatment window ({s.treatment_window:g} days)")
    if "anc" in c.store.variables and trial.store_times[-1] > s.treatment_window:
        raise TrialError(f"store: 'anc' is only simulated up to day {s.treatment_window:g}, but the stored times "
                         f"run to day {trial.store_times[-1]:g}; store 'sld' only or shorten the horizon")


def _build(data: dict, source: str) -> Trial:
    config = load_config(data, TrialConfig, TrialError, "trial", "name, seed, arms, covariates")
    trial = Trial(config, source)
    _check(trial)
    check_filters(trial)
    return trial


def load_trial(path_or_name: str | Path | dict) -> Trial:
    """Read and validate a trial: a YAML path, the name of a built-in trial (``"nsclc"``) or a mapping.

    Problems raise :class:`TrialError` with a one-line message naming the field.
    """
    if isinstance(path_or_name, dict):
        return _build(copy.deepcopy(path_or_name), "<mapping>")
    builtin = builtin_trials()
    text = str(path_or_name)
    if text in builtin and not Path(text).exists():
        path = builtin[text]
    else:
        path = Path(text)
        if not path.exists():
            raise TrialError(f"trial {text!r} is neither a file nor a built-in trial; built-in: {', '.join(builtin)}")
    config = load_config(path, TrialConfig, TrialError, "trial", "name, seed, arms, covariates")
    trial = Trial(config, str(path))
    _check(trial)
    check_filters(trial)
    return trial
