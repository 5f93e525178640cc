"""Translate a regimen into the kernel's explicit dosing events.

Each dose becomes one event (a bolus added to a state) or two (an input rate
raised at the start of an infusion and lowered at its end). Events carry
per-patient values, so doses by body weight or body-surface area scale with
each patient's covariates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import ChemohostError
from ..core import Model

BOLUS_ROUTES = ("iv_bolus", "oral", "ip", "sc")


@dataclass(frozen=True)
class EventTable:
    """Dosing events for a batch: shared kinds and targets, per-patient times and values."""

    time: np.ndarray  # (P, E)
    kind: np.ndarray  # (E,) 0 = add to state, 1 = add to input rate
    index: np.ndarray  # (E,) state or input index
    value: np.ndarray  # (P, E) amount [mg] or rate change [mg/day]
    scale: np.ndarray  # (E,) parameter index multiplying the value, or -1

    @classmethod
    def empty(cls, n_patients: int) -> EventTable:
        return cls(np.zeros((n_patients, 0)), np.zeros(0, np.int64), np.zeros(0, np.int64),
                   np.zeros((n_patients, 0)), np.zeros(0, np.int64))


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


def build_events(model: Model, regimen, until: float, covariates: dict[str, np.ndarray], n: int) -> EventTable:
    """Events of ``regimen`` up to ``until`` [day] for ``n`` patients of ``model``."""
    if regimen is None or len(regimen) == 0:
        return EventTable.empty(n)
    from ..regimen import Regimen

    states, inputs, params = model.state_names, model.input_names, model.parameter_names
    rows: list[tuple[float, int, int, np.ndarray, int]] = []
    for schedule in regimen:
        where = f"regimen '{schedule}'"
        factor = None
        for ev in Regimen((schedule,)).dose_events(until, body_weight=1.0, body_surface_area=1.0):
            continuous = ev.rate > 0 and ev.route != "iv_infusion"
            route = ev.route if not continuous else ("iv_infusion" if ev.route == "iv_bolus" else f"{ev.route}_continuous")
            target = model.dose_targets.get((ev.agent, route))
            if target is None:
                routes = sorted(r for (a, r) in model.dose_targets if a == ev.agent)
                if not routes:
                    from ..drugs import blocker_names

                    if ev.agent in blocker_names():
                        raise ChemohostError(
                            f"{where}: '{ev.agent}' is an adjuvant blocker; blockers act through the host-response "
                            "mechanisms, which this model does not include"
                        )
                    raise ChemohostError(
                        f"{where}: the model has no '{ev.agent}'; add it to the model options under 'drugs'"
                    )
                hint = " (add it to the drug's 'extravascular' routes)" if route.split("_")[0] in ("oral", "ip", "sc") else ""
                raise ChemohostError(
                    f"{where}: route '{route}' is not modelled for {ev.agent}{hint}; modelled routes: {', '.join(routes)}"
                )
            scale = params.index(target.scale) if target.scale else -1
            if factor is None:
                factor = _covariate_factor(schedule.dose_unit, covariates, n, where)
            if target.kind == "state":
                rows.append((ev.time, 0, states.index(target.target), ev.amount * factor, scale))
            else:
                idx = inputs.index(target.target)
                rows.append((ev.time, 1, idx, ev.rate * factor, scale))
                rows.append((ev.time + ev.duration, 1, idx, -ev.rate * factor, scale))
    if not rows:  # no dose before the end of the simulation
        return EventTable.empty(n)
    rows.sort(key=lambda r: r[0])
    return EventTable(
        time=np.tile(np.array([r[0] for r in rows], float), (n, 1)),
        kind=np.array([r[1] for r in rows], np.int64),
        index=np.array([r[2] for r in rows], np.int64),
        value=np.ascontiguousarray(np.stack([r[3] for r in rows], axis=1)),
        scale=np.array([r[4] for r in rows], np.int64),
    )
