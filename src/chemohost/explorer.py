"""The state behind ``chemohost serve``: arms a person edits, simulated on one kept cohort.

:class:`Explorer` holds a study plan (model, parameters, virtual cohort) and a
list of :class:`ArmSpec` — drug, dose, route, schedule and up to three adjuvant
blockers, or a custom regimen string. :meth:`Explorer.simulate` re-simulates
only the arms whose regimen changed (results are cached by regimen, on the
plan's compiled kernel and cohort), so editing one dose costs one arm.
:meth:`Explorer.study_yaml` writes the study that reproduces exactly the current
view with ``chemohost run``: the same model options, parameter sets, cohort
(size and seed), duration and regimens.

This module needs no web framework; :mod:`chemohost.serve` puts it in a browser.
Nothing a person types is executed: regimen strings go through the regimen
parser only, and every number is checked against the bounds below.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import xarray as xr
import yaml

from ._errors import ChemohostError
from .regimen import Regimen
from .study import StudyConfig, load_study, output_times, plan_study, reference_study, simulate_arm

__all__ = ["ArmSpec", "BlockerSpec", "Explorer", "ExplorerError", "MAX_ARMS", "MAX_BLOCKERS", "MAX_PATIENTS",
           "MAX_DURATION", "DRUGS", "BLOCKERS", "SCHEDULES", "TUMOUR_MODELS"]

MAX_ARMS = 4
MAX_BLOCKERS = 3
MAX_PATIENTS = 1000
"""Largest cohort the explorer simulates (patients per arm); larger trials belong to ``chemohost run``."""
MAX_DURATION = 180.0
"""Longest study the explorer simulates [day]."""

DRUGS = {  # cytotoxic drug -> (default dose [mg/kg], routes the reference model gives it)
    "paclitaxel": (25.0, ("iv bolus",)),
    "gemcitabine": (120.0, ("iv bolus",)),
    "cyclophosphamide": (20.0, ("oral", "iv bolus")),
    "doxorubicin": (5.0, ("iv bolus",)),
}
SCHEDULES = {  # name -> (interval [day], number of doses) for a dose given every ``interval``; None: daily continuous
    "MTD": (7.0, 3),
    "dose-dense": (3.5, 6),
    "metronomic": None,
}
BLOCKERS = {  # blocker -> (label, default dose, unit, route and schedule after the dose)
    "dc101": ("anti-VEGFR2 (DC101)", 800.0, "ug", "iv q3d"),
    "amd3100": ("CXCR4 antagonist (AMD3100)", 5.0, "mg/kg", "sc q1d"),
    "ccr2_antagonist": ("CCR2 antagonist", 2.0, "mg/kg", "ip q1d"),
    "anakinra": ("IL-1R blockade (anakinra)", 50.0, "mg/kg/day", "sc continuous"),
}
TUMOUR_MODELS = {  # label -> (growth and vasculature options, the growth parameter set replacing the reference one)
    "Hahnfeldt (vascular capacity), Benzekry 2014 LLC": ({"growth": "hahnfeldt", "vasculature": "hahnfeldt"},
                                                         "Benzekry2014LLCHahnfeldt"),
    "Gompertz, Benzekry 2014 LLC": ({"growth": "gompertz", "vasculature": "hahnfeldt"}, "Benzekry2014LLC"),
}
_GROWTH_SETS = {v[1] for v in TUMOUR_MODELS.values()}


_PLANS: dict[tuple, tuple] = {}
_RESULTS: dict[tuple, xr.Dataset] = {}
_MAX_CACHED = 64  # simulated arms kept per process (oldest dropped first)


class ExplorerError(ChemohostError):
    """A value the explorer cannot take; the message names the field and what is allowed."""


@dataclass(frozen=True)
class BlockerSpec:
    """An adjuvant blocker: agent, first day and dose (in the blocker's unit, see :data:`BLOCKERS`)."""

    agent: str
    start: float = 10.0
    dose: float | None = None

    def schedule(self, until: float) -> str:
        if self.agent not in BLOCKERS:
            raise ExplorerError(f"blocker '{self.agent}' is not offered; choose one of {', '.join(BLOCKERS)}")
        _, default, unit, rest = BLOCKERS[self.agent]
        dose = default if self.dose is None else _positive(self.dose, f"{self.agent} dose")
        start = _day(self.start, f"{self.agent} start day", until)
        tail = f" to day {until:g}" if rest.endswith("continuous") else ""
        return f"{self.agent} {dose:g} {unit} {rest} from day {start:g}{tail}"


@dataclass(frozen=True)
class ArmSpec:
    """One arm: a drug on a schedule plus blockers, or a custom regimen string (``custom`` wins when given)."""

    name: str
    drug: str | None = "paclitaxel"
    dose: float = 25.0
    route: str = "iv bolus"
    schedule: str = "MTD"
    start: float = 10.0
    blockers: tuple[BlockerSpec, ...] = ()
    custom: str = ""

    def regimen(self, until: float) -> str:
        """The arm's regimen string (``"none"`` for vehicle)."""
        if self.custom.strip():
            return self.custom.strip()
        parts = []
        if self.drug:
            if self.drug not in DRUGS:
                raise ExplorerError(f"drug '{self.drug}' is not offered; choose one of {', '.join(DRUGS)}")
            routes = DRUGS[self.drug][1]
            if self.route not in routes:
                raise ExplorerError(f"route '{self.route}' is not modelled for {self.drug}; choose {', '.join(routes)}")
            if self.schedule not in SCHEDULES:
                raise ExplorerError(f"schedule '{self.schedule}' is unknown; choose {', '.join(SCHEDULES)} or a "
                                    "custom regimen")
            dose = _positive(self.dose, "dose")
            start = _day(self.start, "start day", until)
            plan = SCHEDULES[self.schedule]
            if plan is None:
                parts.append(f"{self.drug} {dose:g} mg/kg/day {self.route.split()[0]} continuous "
                             f"from day {start:g} to day {until:g}")
            else:
                interval, count = plan
                parts.append(f"{self.drug} {dose:g} mg/kg {self.route} q{interval:g}d x{count} from day {start:g}")
        if len(self.blockers) > MAX_BLOCKERS:
            raise ExplorerError(f"an arm takes at most {MAX_BLOCKERS} blockers, got {len(self.blockers)}")
        parts.extend(b.schedule(until) for b in self.blockers)
        return " + ".join(parts) or "none"


def _positive(value, what: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ExplorerError(f"{what} must be a number, got {str(value)[:40]!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ExplorerError(f"{what} must be a positive number, got {value:g}")
    return value


def _day(value, what: str, until: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ExplorerError(f"{what} must be a number, got {str(value)[:40]!r}") from None
    if not (np.isfinite(value) and 0 <= value < until):
        raise ExplorerError(f"{what} must lie in [0, {until:g}) days, got {value:g}")
    return value


class Explorer:
    """A study plan kept in memory and the arms simulated on it.

    Parameters
    ----------
    study:
        The base study (default: the reference study); its model options gain
        every drug and blocker the explorer offers, so that one kernel serves
        every arm a person can compose.
    patients:
        Cohort size per arm (default 100, at most :data:`MAX_PATIENTS`).
    duration:
        Days simulated (default the study's, at most :data:`MAX_DURATION`).
    """

    def __init__(self, study: StudyConfig | None = None, *, patients: int = 100, duration: float | None = None,
                 tumour_model: str | None = None):
        base = study or reference_study()
        if not isinstance(patients, int) or isinstance(patients, bool) or not 1 <= patients <= MAX_PATIENTS:
            raise ExplorerError(f"patients must be a whole number from 1 to {MAX_PATIENTS} (use 'chemohost run' "
                                f"for larger cohorts), got {patients!r}")
        duration = base.duration if duration is None else float(duration)
        if not (np.isfinite(duration) and 1 <= duration <= MAX_DURATION):
            raise ExplorerError(f"duration must lie in [1, {MAX_DURATION:g}] days, got {duration:g}")
        self._base = base
        self.patients, self.duration = patients, duration
        self.set_tumour_model(tumour_model or next(iter(TUMOUR_MODELS)))

    # --- the plan: model, parameters and cohort, rebuilt only when the tumour model changes -------------
    def set_tumour_model(self, label: str) -> None:
        if label not in TUMOUR_MODELS:
            raise ExplorerError(f"tumour model '{label}' is not offered; choose one of {', '.join(TUMOUR_MODELS)}")
        key = (self._base.model_dump_json(), label, self.patients, self.duration)
        if key not in _PLANS:  # plans (model, parameters, cohort) are shared by every session of a process
            _PLANS[key] = self._plan(label)
        self.config, self.plan = _PLANS[key]
        self.tumour_model = label
        self.times = output_times(self.config)

    def _plan(self, label: str):
        options, growth_set = TUMOUR_MODELS[label]
        model = {**self._base.model, **options}
        sets = [s for s in self._base.parameter_sets if s not in _GROWTH_SETS]
        data = self._base.model_dump()
        data.update(model=model, parameter_sets=[growth_set, *sets], duration=self.duration,
                    cohort={**data["cohort"], "size": self.patients},
                    arms={"_all": " + ".join(_every_agent_once(self.duration))})
        data["outcomes"] = {**data["outcomes"], "reference_arm": None}
        plan = plan_study(load_study(data))
        # every arm runs on this model: freeze its resolved options (all drugs and routes) into the config
        data.update(model=plan.model.options, arms={"vehicle": "none"})
        config = load_study(data)
        return config, dataclasses.replace(plan, config=config, regimens={}, procedures={}, rules={})

    @property
    def placeholders(self) -> list[str]:
        """Parameters behind the view whose values are unverified placeholders (tag U or proposed)."""
        table = self.plan.table
        return sorted(table.index[table["tag"].isin(["U", "proposed"])])

    # --- arms ----------------------------------------------------------------------------------------
    def regimen(self, arm: ArmSpec) -> str:
        """The arm's regimen string, parsed and checked against the model (an :class:`ExplorerError` if not)."""
        text = arm.regimen(self.duration)
        try:
            regimen = Regimen.parse(text)
        except ChemohostError as exc:
            raise ExplorerError(str(exc)) from None
        for schedule in regimen:
            if not any(agent == schedule.agent for agent, _ in self.plan.model.dose_targets):
                raise ExplorerError(f"'{schedule.agent}' is not in this model; agents: "
                                    f"{', '.join(sorted({a for a, _ in self.plan.model.dose_targets}))}")
        return text

    def simulate(self, arms: list[ArmSpec]) -> xr.Dataset:
        """Results of ``arms`` (dims ``arm``, ``patient``, ``time``); only arms not simulated before are run."""
        if not 1 <= len(arms) <= MAX_ARMS:
            raise ExplorerError(f"compare 1 to {MAX_ARMS} arms, got {len(arms)}")
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise ExplorerError(f"arm names must differ, got {names}")
        results = []
        for arm in arms:
            text = self.regimen(arm)
            key = (id(self.plan), text)
            if key not in _RESULTS:
                plan = dataclasses.replace(self.plan, regimens={arm.name: Regimen.parse(text)},
                                           procedures={arm.name: ()}, rules={arm.name: ()})
                if len(_RESULTS) >= _MAX_CACHED:
                    _RESULTS.pop(next(iter(_RESULTS)))
                _RESULTS[key] = simulate_arm(plan, arm.name, self.times).drop_vars("parameter_value")
            results.append(_RESULTS[key].assign_coords(arm=arm.name))
        ds = xr.concat(results, dim="arm", combine_attrs="drop_conflicts")
        ds.attrs["regimens"] = yaml.safe_dump({a.name: self.regimen(a) for a in arms}, sort_keys=False)
        return ds

    def study_yaml(self, arms: list[ArmSpec]) -> str:
        """The study file that reproduces this view exactly with ``chemohost run``."""
        data = self.config.model_dump(exclude_defaults=True)
        data["arms"] = {a.name: self.regimen(a) for a in arms}
        data["cohort"] = {"size": self.patients, "seed": self.config.cohort.seed}
        header = ("# Written by 'chemohost serve': the explorer's view as a study. The model lists every drug\n"
                  "# the explorer offers, so that 'chemohost run' uses the very same equations.\n")
        return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)


def _every_agent_once(until: float) -> list[str]:
    """A dose of every drug (each modelled route) and blocker: the arm that makes the model hold them all."""
    parts = []
    for drug, (dose, routes) in DRUGS.items():
        parts += [f"{drug} {dose:g} mg/kg {route} on days 1" for route in routes]
    parts += [BlockerSpec(agent, 1.0).schedule(until) for agent in BLOCKERS]
    return parts


