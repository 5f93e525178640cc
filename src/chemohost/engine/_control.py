"""Per-patient dosing decisions inside a batch (:mod:`chemohost.rules`).

The batch is integrated from visit to visit. A visit is a time at which a
dose of some patient is due or a rule monitors; at each visit the rules see
every patient's states and outputs and decide the doses due then (a factor
and a delay per patient). Between visits the compiled kernel integrates all
patients with their own events, so each patient's trajectory is exactly the
one it has when simulated alone.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from .._errors import ChemohostError, unknown
from ..drugs import blocker_names
from ._codegen import run_kernel
from ._events import ADD_STATE, SCALE_STATE


def _controlled_agents(rule, agents: tuple[str, ...]) -> set[str]:
    if rule.agents is not None:
        missing = set(rule.agents) - set(agents)
        if missing:
            raise ChemohostError(f"rule '{rule}' controls {sorted(missing)}, which the regimen does not give; "
                                 f"its agents are: {', '.join(sorted(set(agents))) or 'none'}")
        return set(rule.agents)
    return {a for a in agents if a not in blocker_names()}


def simulate_controlled(model, kernel, method, batch, y0, sel, rules, rtol, atol, max_step, max_steps, threads,
                        progress=False):
    """Outputs ``(P, T, S)``, solver status and steps, and the dose record of a batch under ``rules``."""
    times, params, ev = batch.times, batch.parameters, batch.events
    n, t_end = params.shape[0], float(times[-1])
    observables = [*model.state_names, *model.output_names]
    for rule in rules:
        for name in rule.observables:
            if name not in observables:
                raise ChemohostError(f"rule '{rule}': " + unknown("model quantity", name, observables))
    watched = sorted({observables.index(name) for rule in rules for name in rule.observables})
    sel_all = np.array([*sel, *watched], np.int64)
    watch_cols = {observables[j]: sel.size + k for k, j in enumerate(watched)}

    dose = ev.dose if ev.dose is not None else np.full(ev.kind.size, -1)
    n_doses = len(ev.agents)
    agents = np.array(ev.agents, dtype=object)
    first_col = np.array([np.flatnonzero(dose == d)[0] for d in range(n_doses)], np.int64)
    planned_start = ev.time[:, first_col] if n_doses else np.zeros((n, 0))
    planned_amount = np.zeros((n, n_doses))
    for e in range(dose.size):  # bolus amount, or infusion rate x duration (start edge + end edge)
        if dose[e] >= 0:
            value = ev.value[:, e] * (params[:, ev.scale[e]] if ev.scale[e] >= 0 else 1.0)
            planned_amount[:, dose[e]] += value if ev.kind[e] == ADD_STATE else -value * ev.time[:, e]
    controls = [np.isin(agents, list(_controlled_agents(r, ev.agents))) if n_doses else np.zeros(0, bool)
                for r in rules]
    memory = [rule.start(n) for rule in rules]
    visits = np.unique(np.concatenate([rule.visits(batch.t0, t_end) for rule in rules]))

    shift = np.zeros((n, n_doses))
    factor = np.ones((n, n_doses))
    decided = np.zeros((n, n_doses), bool)
    live = np.arange(n_doses)  # doses some patient has not had decided yet
    out = np.empty((n, times.size, sel.size))  # every output time falls in one segment
    status = np.zeros(n, np.int64)
    steps = np.zeros(n, np.int64)
    events = _Events(ev, dose, shift, factor)

    y, u = np.ascontiguousarray(y0), None
    t = float(batch.t0)
    # observe the initial states
    obs = _segment(kernel, method, t, np.array([t]), y, u, params, None, sel_all, status, steps, rtol, atol,
                   max_step, max_steps, threads)[0][:, -1]
    bar = None
    if progress:
        bar = tqdm(total=round(t_end - t, 6), unit="day", desc="simulating visit to visit", leave=False)
    while True:
        view = {name: obs[:, col] for name, col in watch_cols.items()}
        if np.isin(t, visits):
            for rule, mem in zip(rules, memory):
                for kind, _, values in rule.monitor(t, view, mem) or ():
                    if kind != "resect":
                        raise ChemohostError(f"rule '{rule}' returned an unknown action '{kind}'")
                    for name in model.primary_states:
                        events.extra.append((t, SCALE_STATE, model.state_names.index(name),
                                             np.asarray(values, float)))
        start = planned_start[:, live] + shift[:, live]
        open_ = ~decided[:, live]
        due_now = open_ & (start <= t + 1e-12)
        for rule, mem, ctrl in zip(rules, memory, controls):
            ctrl = ctrl[live]
            patients = (due_now & ctrl).any(axis=1)
            if not patients.any():
                continue
            f, delay = rule.decide(t, view, mem, patients)
            late = patients & (delay > 0)
            if late.any():  # postpone this and every later undecided dose of the rule's agents
                move = late[:, None] & open_ & ctrl[None, :]
                i, j = np.nonzero(move)
                shift[i, live[j]] += delay[i]
                start[i, j] += delay[i]
                events.latest = max(events.latest, float(shift[i, live[j]].max()))
                due_now &= ~move
            i, j = np.nonzero(due_now & ctrl)
            factor[i, live[j]] *= f[i]
        i, j = np.nonzero(due_now)
        decided[i, live[j]] = True
        open_ &= ~due_now
        pending = np.where(open_, start, np.inf)
        live = live[open_.any(axis=0)]
        t_next = min(float(pending.min(initial=np.inf)), float(visits[visits > t + 1e-12].min(initial=np.inf)), t_end)
        inside = (times >= t) & (times < t_next) if t_next > t else (times == t)
        seg_times = np.append(times[inside], t_next) if t_next > t else times[inside]
        rec, y, u = _segment(kernel, method, t, seg_times, y, u, params, events, sel_all, status, steps, rtol, atol,
                             max_step, max_steps, threads)
        n_in = int(inside.sum())
        out[:, inside] = rec[:, :n_in, :sel.size]
        if t_next <= t:  # the final output time, recorded after its events
            break
        obs = rec[:, -1]
        if bar is not None:
            bar.update(round(t_next - t, 6))
        t = t_next
    if bar is not None:
        bar.close()
    given = decided & (factor > 0) & (planned_start + shift <= t_end)
    log = xr.Dataset(
        {
            "Dose time [day]": (("patient", "dose"), np.where(given, planned_start + shift, np.nan),
                                {"units": "day", "description": "time each dose was given (NaN: held)"}),
            "Dose factor [-]": (("patient", "dose"), np.where(given, factor, 0.0),
                                {"units": "-", "description": "given / planned amount"}),
            "Dose amount [mg]": (("patient", "dose"), np.where(given, factor * planned_amount, 0.0),
                                 {"units": "mg", "description": "amount given"}),
        },
        coords={"agent": ("dose", list(ev.agents)),
                "planned_time": ("dose", planned_start[0] if n else [], {"units": "day"})},
    )
    return out, status, steps, log


class _Events:
    """The batch's events as decisions move and scale the doses, plus events decided at visits (resections).

    The bounds of each event column over patients are kept, so that a segment
    looks only at the columns that can fall inside it.
    """

    def __init__(self, ev, dose, shift, factor):
        self.ev, self.dose, self.shift, self.factor = ev, dose, shift, factor
        self.is_dose = dose >= 0
        self.column = np.where(self.is_dose, dose, 0)
        self.first = ev.time.min(axis=0, initial=np.inf)
        self.last = ev.time.max(axis=0, initial=-np.inf)
        self.latest = 0.0  # the largest delay of any dose so far [day]
        self.extra: list[tuple[float, int, int, np.ndarray]] = []

    def rows(self, t: float, stop: float, n: int) -> tuple[np.ndarray, ...]:
        """Kernel event arrays ``(P, E)`` of the events in [t, stop) (at ``t`` only when ``stop == t``),
        sorted per patient."""
        ev, upper = self.ev, (lambda x: x < stop) if stop > t else (lambda x: x <= stop)
        cols = np.flatnonzero(upper(self.first) & (self.last + self.latest * self.is_dose >= t))
        ev_t, ev_v = ev.time[:, cols], ev.value[:, cols]
        if self.shift.shape[1]:  # doses move and scale with their decisions; other events stay as they are
            d, is_dose = self.column[cols], self.is_dose[cols]
            ev_t = ev_t + np.where(is_dose, self.shift[:, d], 0.0)
            ev_v = ev_v * np.where(is_dose, self.factor[:, d], 1.0)
        kind, index, scale = ev.kind[cols], ev.index[cols], ev.scale[cols]
        extra = [x for x in self.extra if x[0] >= t and upper(x[0])]
        if extra:
            ev_t = np.hstack([ev_t, np.tile([x[0] for x in extra], (n, 1))])
            ev_v = np.hstack([ev_v, np.stack([x[3] for x in extra], axis=1)])
            kind = np.concatenate([kind, [x[1] for x in extra]])
            index = np.concatenate([index, [x[2] for x in extra]])
            scale = np.concatenate([scale, np.full(len(extra), -1)])
        window = (ev_t >= t) & upper(ev_t)
        keep = np.flatnonzero(window.any(axis=0))
        window, ev_t, ev_v = window[:, keep], ev_t[:, keep], ev_v[:, keep]
        order = np.argsort(np.where(window, ev_t, np.inf), axis=1, kind="stable")

        def take(a):
            a = np.asarray(a)
            a = np.broadcast_to(a[keep], (n, keep.size)) if a.ndim == 1 else a
            return np.ascontiguousarray(np.take_along_axis(a, order, axis=1))

        return (np.where(take(window), take(ev_t), np.inf), take(kind).astype(np.int64),
                take(index).astype(np.int64), take(ev_v), take(scale).astype(np.int64))


def _segment(kernel, method, t, seg_times, y, u, params, events, sel_all, status, steps, rtol, atol, max_step,
             max_steps, threads):
    """Integrate every patient from ``t`` over ``seg_times`` with the events in [t, seg_times[-1]);
    the last output time's own events are left to the next segment unless it equals ``t``
    (``events=None``: none, to observe the states as they are)."""
    n = params.shape[0]
    if events is None:
        rows = (np.full((n, 0), np.inf), *(np.zeros((n, 0), np.int64),) * 2, np.zeros((n, 0)),
                np.zeros((n, 0), np.int64))
    else:
        rows = events.rows(t, seg_times[-1], n)
    rec = np.full((n, seg_times.size, sel_all.size), np.nan)
    y_end, u_end = np.full_like(y, np.nan), (np.zeros((n, max(1, kernel.module.NINPUT))) if u is None else u.copy())
    idx = np.flatnonzero(status == 0)
    if idx.size:
        sub = slice(None) if idx.size == n else idx
        r = np.empty((idx.size, seg_times.size, sel_all.size))
        st, sp = np.zeros(idx.size, np.int64), np.zeros(idx.size, np.int64)
        ye, ue = run_kernel(kernel, method, t, np.ascontiguousarray(seg_times), y[sub], None if u is None else u[sub],
                            params[sub], tuple(np.ascontiguousarray(a[sub]) for a in rows), sel_all, r, st, sp,
                            rtol, atol, max_step, max_steps, threads)
        rec[sub], y_end[sub], u_end[sub] = r, ye, ue
        status[sub] = st
        steps[sub] += sp
    return rec, y_end, u_end
