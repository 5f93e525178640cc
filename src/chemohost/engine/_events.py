"""Translate a regimen, procedures and a model's timed inputs into the kernel's explicit events.

Each dose becomes one event (a bolus added to a state) or two (an input rate
raised at the start of an infusion and lowered at its end). Events carry
per-patient values, so doses by body weight or body-surface area scale with
each patient's covariates. Procedures such as resections and inoculations
(built by :mod:`chemohost.procedures`) give the engine's state events,
:class:`ScaleState` and :class:`AddToState`; a model's own
timed inputs (e.g. metastasis cohort windows) switch inputs at fixed times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .._errors import ChemohostError
from ..drugs import blocker_names
from ..model import Model
from ..regimen import Regimen

BOLUS_ROUTES = ("iv_bolus", "oral", "ip", "sc")
ADD_STATE, ADD_INPUT, SCALE_STATE = 0, 1, 2


@dataclass(frozen=True)
class StateEvent:
    """An instantaneous change, at ``time`` [day], of the state named ``state``; it is its own procedure."""

    time: float
    state: str

    def events(self, model: Model) -> tuple[StateEvent]:
        return (self,)


@dataclass(frozen=True)
class ScaleState(StateEvent):
    """Multiply the state by ``factor`` (a resection leaves the fraction ``factor`` behind)."""

    factor: float


@dataclass(frozen=True)
class AddToState(StateEvent):
    """Add ``amount``, in the state's unit, to the state (an inoculation of cells)."""

    amount: float


def procedure_list(procedures) -> tuple:
    """``procedures`` as a tuple of objects whose ``events(model)`` gives :class:`ScaleState` and :class:`AddToState`."""
    if procedures is None:
        return ()
    items = (procedures,) if hasattr(procedures, "events") or isinstance(procedures, (str, Mapping)) else tuple(procedures)
    for item in items:
        if not callable(getattr(item, "events", None)):
            raise ChemohostError(f"procedure {str(item)[:200]!r} is not a procedure object; build procedures from "
                                 "text with chemohost.procedures.parse_procedures(['resection on day 21'])")
    return items


@dataclass(frozen=True)
class EventTable:
    """Events for a batch: shared kinds and targets, per-patient times and values.

    ``dose`` numbers the doses (both edges of an infusion share one number; -1
    for events that are not doses) and ``agents`` names each dose's agent, so a
    dosing rule can scale or delay a whole dose.
    """

    time: np.ndarray  # (P, E)
    kind: np.ndarray  # (E,) ADD_STATE, ADD_INPUT or SCALE_STATE
    index: np.ndarray  # (E,) state or input index
    value: np.ndarray  # (P, E) amount [mg], rate change [mg/day] or factor
    scale: np.ndarray  # (E,) parameter index multiplying the value, or -1
    dose: np.ndarray | None = None  # (E,) dose number or -1
    agents: tuple[str, ...] = ()  # agent of each dose number

    @classmethod
    def empty(cls, n_patients: int) -> EventTable:
        return cls(np.zeros((n_patients, 0)), np.zeros(0, np.int64), np.zeros(0, np.int64),
                   np.zeros((n_patients, 0)), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def rows(self, sl: slice) -> tuple[np.ndarray, ...]:
        """Kernel arrays for patients ``sl``: times, kinds, indices, values, scales, each ``(P, E)``."""
        time = np.ascontiguousarray(self.time[sl])
        m, e = time.shape

        def tile(a):
            return np.ascontiguousarray(np.broadcast_to(a, (m, e)))

        return time, tile(self.kind), tile(self.index), np.ascontiguousarray(self.value[sl]), tile(self.scale)


def _covariate_factor(unit: str, covariates: dict[str, np.ndarray], n: int, where: str) -> np.ndarray:
    if "/kg" in unit:
        key = "Body weight [kg]"
    elif "/m2" in unit:
        key = "Body surface area [m2]"
    else:
        return np.ones(n)
    if key not in covariates:
        raise ChemohostError(f"{where}: dose in {unit} needs the covariate '{key}'")
    return np.broadcast_to(np.asarray(covariates[key], float), (n,))


def _dose_target(model: Model, ev, where: str):
    continuous = ev.rate > 0 and ev.route != "iv_infusion"
    route = ev.route if not continuous else ("iv_infusion" if ev.route == "iv_bolus" else f"{ev.route}_continuous")
    target = model.dose_targets.get((ev.agent, route))
    if target is not None:
        return target
    routes = sorted(r for (a, r) in model.dose_targets if a == ev.agent)
    if not routes:
        if ev.agent in blocker_names():
            raise ChemohostError(
                f"{where}: '{ev.agent}' is an adjuvant blocker; blockers act through the host-response "
                "mechanisms, which this model does not include"
            )
        raise ChemohostError(f"{where}: the model has no '{ev.agent}'; add it to the model options under 'drugs'")
    hint = " (add it to the drug's 'extravascular' routes)" if route.split("_")[0] in ("oral", "ip", "sc") else ""
    raise ChemohostError(f"{where}: route '{route}' is not modelled for {ev.agent}{hint}; modelled routes: {', '.join(routes)}")


def build_events(model: Model, regimen, until: float, covariates: dict[str, np.ndarray], n: int,
                 procedures=()) -> EventTable:
    """Events of ``regimen``, ``procedures`` and the model's timed inputs up to ``until`` [day] for ``n`` patients."""
    states, inputs, params = model.state_names, model.input_names, model.parameter_names
    rows: list[tuple[float, int, int, np.ndarray, int, int]] = []
    agents: list[str] = []
    if regimen is not None and len(regimen):
        for schedule in regimen:
            where = f"regimen '{schedule}'"
            factor = None
            for ev in Regimen((schedule,)).dose_events(until, body_weight=1.0, body_surface_area=1.0):
                target = _dose_target(model, ev, where)
                scale = params.index(target.scale) if target.scale else -1
                if factor is None:
                    factor = _covariate_factor(schedule.dose_unit, covariates, n, where)
                dose = len(agents)
                agents.append(ev.agent)
                if target.kind == "state":
                    rows.append((ev.time, ADD_STATE, states.index(target.target), ev.amount * factor, scale, dose))
                else:
                    idx = inputs.index(target.target)
                    rows.append((ev.time, ADD_INPUT, idx, ev.rate * factor, scale, dose))
                    rows.append((ev.time + ev.duration, ADD_INPUT, idx, -ev.rate * factor, scale, dose))
    for procedure in procedures:
        for event in procedure.events(model):
            if event.time <= until:
                kind, value = (SCALE_STATE, event.factor) if isinstance(event, ScaleState) else (ADD_STATE, event.amount)
                rows.append((float(event.time), kind, states.index(event.state), np.full(n, float(value)), -1, -1))
    for timed in model.timed_inputs:
        if timed.time <= until:
            rows.append((timed.time, ADD_INPUT, inputs.index(timed.input), np.full(n, timed.change), -1, -1))
    if not rows:  # nothing before the end of the simulation
        return EventTable.empty(n)
    rows.sort(key=lambda r: r[0])  # stable: same-time events keep regimen, procedure, model order
    return EventTable(
        time=np.tile(np.array([r[0] for r in rows], float), (n, 1)),
        kind=np.array([r[1] for r in rows], np.int64),
        index=np.array([r[2] for r in rows], np.int64),
        value=np.ascontiguousarray(np.stack([np.broadcast_to(r[3], (n,)) for r in rows], axis=1)),
        scale=np.array([r[4] for r in rows], np.int64),
        dose=np.array([r[5] for r in rows], np.int64),
        agents=tuple(agents),
    )
