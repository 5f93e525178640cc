"""Schedule families: maximum-tolerated-dose, dose-dense, weekly and metronomic regimens.

Each family is a function that returns a one-agent :class:`Regimen`; combine
them with ``+``. Times are in days from the simulation origin, doses in the
unit given (``mg/kg``, ``mg/m2``, ... per administration; a per-day rate unit
such as ``mg/kg/day`` for continuous metronomic dosing). Typical mouse and
human schedules are in MODEL_SPEC §2.1::

    >>> from chemohost.regimen import mtd, weekly, equal_cumulative_dose
    >>> [e.time for e in mtd("paclitaxel", 25, "mg/kg", cycles=4).dose_events(until=100, body_weight=0.02)]
    [0.0, 21.0, 42.0, 63.0]
    >>> same = equal_cumulative_dose(mtd("paclitaxel", 25, "mg/kg", cycles=4), "weekly", until=84)
    >>> str(same)
    'paclitaxel 8.333333333333334 mg/kg iv bolus q7d'

:func:`equal_cumulative_dose` rescales a family so that it gives, per agent,
the same total drug [mg] as a reference regimen before a given day — the
comparison of MTD against metronomic or dose-dense schedules at equal
cumulative dose.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from .._errors import unknown
from ._errors import RegimenError
from ._objects import AgentSchedule
from ._regimen import Regimen
from ._units import UNITS

__all__ = ["FAMILIES", "dose_dense", "equal_cumulative_dose", "metronomic", "metronomic_daily", "mtd", "weekly"]


def _repeated(
    agent: str,
    dose: float,
    unit: str,
    every: float,
    cycles: int | None,
    start: float,
    end: float | None,
    route: str,
    duration: float | None,
) -> Regimen:
    if duration is None:
        schedule = AgentSchedule.bolus(agent, dose, unit, every=every, count=cycles, start=start, end=end, route=route)
    else:
        if route != "iv_bolus":
            raise RegimenError(
                f"{agent}: an infusion (duration={duration!r} [day]) is given iv, got route={route!r}; "
                "leave route out when giving a duration"
            )
        schedule = AgentSchedule.infusion(agent, dose, unit, duration, every=every, count=cycles, start=start, end=end)
    return Regimen((schedule,))


def mtd(
    agent: str,
    dose: float,
    unit: str,
    every: float = 21.0,
    cycles: int | None = None,
    start: float = 0.0,
    end: float | None = None,
    route: str = "iv_bolus",
    duration: float | None = None,
) -> Regimen:
    """Maximum-tolerated-dose schedule: ``dose`` once per ``every``-day cycle (q3w by default).

    Parameters
    ----------
    agent:
        Canonical agent name, e.g. ``"paclitaxel"``.
    dose:
        Dose per administration in ``unit`` (e.g. 25 ``mg/kg``; 175 ``mg/m2``).
    unit:
        Amount unit: ``mg``, ``g``, ``ug``, ``ng``, ``mg/kg``, ``ug/kg``, ``g/kg``, ``mg/m2``, ``ug/m2``.
    every:
        Cycle length [day].
    cycles:
        Number of doses; ``None`` repeats until ``end`` or the end of the simulation.
    start:
        First dose [day].
    end:
        No dose at or after this day [day] (exclusive).
    route:
        ``"iv_bolus"``, ``"oral"``, ``"ip"`` or ``"sc"``.
    duration:
        Give each dose as an iv infusion over this many days [day] (e.g. 3 h = 0.125).

    Examples
    --------
    >>> str(mtd("paclitaxel", 25, "mg/kg", cycles=4, start=10))
    'paclitaxel 25 mg/kg iv bolus q21d x4 from day 10'
    """
    return _repeated(agent, dose, unit, every, cycles, start, end, route, duration)


def dose_dense(
    agent: str,
    dose: float,
    unit: str,
    every: float = 14.0,
    cycles: int | None = None,
    start: float = 0.0,
    end: float | None = None,
    route: str = "iv_bolus",
    duration: float | None = None,
) -> Regimen:
    """Dose-dense schedule: the MTD-like ``dose`` every ``every`` days (q2w by default).

    Arguments and units as in :func:`mtd`.

    Examples
    --------
    >>> str(dose_dense("doxorubicin", 60, "mg/m2", cycles=4))
    'doxorubicin 60 mg/m2 iv bolus q14d x4'
    """
    return _repeated(agent, dose, unit, every, cycles, start, end, route, duration)


def weekly(
    agent: str,
    dose: float,
    unit: str,
    every: float = 7.0,
    cycles: int | None = None,
    start: float = 0.0,
    end: float | None = None,
    route: str = "iv_bolus",
    duration: float | None = None,
) -> Regimen:
    """Weekly schedule: ``dose`` every ``every`` days (q1w by default), e.g. paclitaxel 80 mg/m2 weekly.

    Arguments and units as in :func:`mtd`; ``cycles`` is the number of weekly doses.

    Examples
    --------
    >>> str(weekly("paclitaxel", 80, "mg/m2", cycles=12))
    'paclitaxel 80 mg/m2 iv bolus q7d x12'
    """
    return _repeated(agent, dose, unit, every, cycles, start, end, route, duration)


def metronomic(
    agent: str,
    rate: float,
    unit: str,
    start: float = 0.0,
    end: float | None = None,
    route: str = "oral",
) -> Regimen:
    """Continuous low-dose (metronomic) dosing: zero-order input at ``rate`` from ``start`` to ``end``.

    Parameters
    ----------
    agent:
        Canonical agent name, e.g. ``"cyclophosphamide"``.
    rate:
        Dose rate in ``unit`` (e.g. 20 ``mg/kg/day`` of cyclophosphamide in drinking water).
    unit:
        Rate unit: ``mg/kg/day``, ``mg/m2/day``, ``mg/day`` or ``ug/day``.
    start, end:
        Span of dosing [day]; ``end`` is exclusive, ``None`` doses to the end of the simulation.
    route:
        ``"oral"`` (drinking water), ``"iv_infusion"``, ``"sc"`` or ``"ip"`` (pumps).

    Examples
    --------
    >>> str(metronomic("cyclophosphamide", 20, "mg/kg/day", start=10, end=40))
    'cyclophosphamide 20 mg/kg/day oral continuous from day 10 to day 40'
    """
    return Regimen((AgentSchedule.continuous(agent, rate, unit, start=start, end=end, route=route),))


def metronomic_daily(
    agent: str,
    dose: float,
    unit: str,
    start: float = 0.0,
    end: float | None = None,
    route: str = "oral",
) -> Regimen:
    """Metronomic dosing as one low ``dose`` a day (oral gavage by default) from ``start`` to ``end``.

    Parameters
    ----------
    agent:
        Canonical agent name.
    dose:
        Dose per daily administration in an amount unit (e.g. 6 ``mg/kg``).
    unit:
        Amount unit, as in :func:`mtd`.
    start, end:
        First dose and exclusive end [day]; ``None`` doses to the end of the simulation.
    route:
        ``"oral"``, ``"iv_bolus"``, ``"ip"`` or ``"sc"``.

    Examples
    --------
    >>> [e.time for e in metronomic_daily("gemcitabine", 6, "mg", start=2, end=5).dose_events(until=30)]
    [2.0, 3.0, 4.0]
    """
    return Regimen((AgentSchedule.bolus(agent, dose, unit, every=1.0, start=start, end=end, route=route),))


#: The schedule families by name: ``name -> (function, whether its dose is a rate)``.
FAMILIES: dict[str, tuple[Callable[..., Regimen], bool]] = {
    "mtd": (mtd, False),
    "dose_dense": (dose_dense, False),
    "weekly": (weekly, False),
    "metronomic": (metronomic, True),
    "metronomic_daily": (metronomic_daily, False),
}


def _default_unit(reference_unit: str, rate: bool, agent: str, family: str) -> str:
    """The family's unit matching the reference's: ``mg/kg`` <-> ``mg/kg/day``."""
    base = reference_unit.removesuffix("/day")
    unit = f"{base}/day" if rate else base
    if unit not in UNITS or UNITS[unit].per_day != rate:
        kind = "rate" if rate else "amount"
        raise RegimenError(
            f"{agent}: no {kind} unit matches the reference unit {reference_unit!r} for family {family!r}; "
            f"pass unit=..., accepted: {', '.join(n for n, u in UNITS.items() if u.per_day == rate)}"
        )
    return unit


def _covariates(
    agent: str, units: set[str], body_weight: float | None, body_surface_area: float | None
) -> tuple[float | None, float | None]:
    """Body size for the cumulative doses of one agent.

    When the reference and family doses of an agent share one basis (all per kg,
    all per m2 or all absolute), the ratio of their totals does not depend on
    the body size, and a missing covariate is set to 1.
    """
    bases = {UNITS[unit].basis for unit in units}
    if len(bases) == 1:
        return (1.0 if body_weight is None else body_weight), (
            1.0 if body_surface_area is None else body_surface_area
        )
    if "kg" in bases and body_weight is None or "m2" in bases and body_surface_area is None:
        raise RegimenError(
            f"{agent}: the reference and family mix dose units {sorted(units)}; pass body_weight [kg] "
            "and/or body_surface_area [m2] so that the totals in mg can be compared"
        )
    return body_weight, body_surface_area


def equal_cumulative_dose(
    reference: Regimen,
    family: str,
    until: float,
    *,
    body_weight: float | None = None,
    body_surface_area: float | None = None,
    **kwargs: object,
) -> Regimen:
    """The ``family`` schedule whose cumulative dose before ``until`` equals the reference's, per agent.

    For every agent of ``reference`` the family is built with the timing in
    ``kwargs`` and its dose (or rate) chosen so that ::

        Σ bolus amounts + Σ rate × duration  (dose events before ``until``) [mg]

    is the same for both regimens (``Regimen.cumulative_dose(until)``).

    Parameters
    ----------
    reference:
        The regimen to match, e.g. ``mtd("cyclophosphamide", 150, "mg/kg", cycles=3)``.
    family:
        ``"mtd"``, ``"dose_dense"``, ``"weekly"``, ``"metronomic"`` or ``"metronomic_daily"``.
    until:
        End of the comparison window [day] (exclusive, as in ``dose_events``).
    body_weight, body_surface_area:
        Subject size [kg], [m2]; needed only when an agent's reference and
        family doses have different bases (e.g. ``mg/kg`` against ``mg/m2``).
    **kwargs:
        The family's other arguments (``every``, ``cycles``, ``start``,
        ``end``, ``route``, ``duration``, ``unit``), the same for every agent.
        Without ``unit`` the reference's unit is used (``mg/kg`` becomes
        ``mg/kg/day`` for ``"metronomic"``).

    Returns
    -------
    Regimen
        One family schedule per reference agent, in the reference's agent order.

    Raises
    ------
    RegimenError
        For an unknown family, a ``dose``/``rate``/``agent`` keyword, an empty
        reference, or an agent with no drug before ``until`` in either regimen.
    """
    if not isinstance(reference, Regimen):
        raise RegimenError(
            f"reference must be a Regimen, got {type(reference).__name__}; "
            "build one with Regimen.parse(...) or a family such as mtd(...)"
        )
    if family not in FAMILIES:
        raise RegimenError(unknown("schedule family", str(family), FAMILIES))
    for name in ("agent", "dose", "rate"):
        if name in kwargs:
            raise RegimenError(
                f"equal_cumulative_dose sets {name} itself; remove {name}={kwargs[name]!r} "
                "(the agents come from the reference, the dose is rescaled)"
            )
    if not reference.schedules:
        raise RegimenError("reference regimen gives no drug (vehicle); give a treated regimen to match")
    build, rate = FAMILIES[family]
    allowed = [name for name in inspect.signature(build).parameters if name not in ("agent", "dose", "rate")]
    for name in kwargs:
        if name not in allowed:
            raise RegimenError(unknown(f"argument of family {family!r}", name, allowed))
    unit = kwargs.pop("unit", None)
    out = Regimen()
    for agent in reference.agents:
        own = [s for s in reference.schedules if s.agent == agent]
        agent_unit = unit if unit is not None else _default_unit(own[0].dose_unit, rate, agent, family)
        if agent_unit not in UNITS:
            raise RegimenError(unknown("dose unit", str(agent_unit), UNITS))
        size = _covariates(agent, {s.dose_unit for s in own} | {agent_unit}, body_weight, body_surface_area)
        target = reference.cumulative_dose(until, *size)[agent]
        if not target > 0:
            raise RegimenError(
                f"{agent}: the reference gives no drug before day {until:g}; move until later than its first dose"
            )
        unit_regimen = build(agent, 1.0, agent_unit, **kwargs)
        per_unit = unit_regimen.cumulative_dose(until, *size)[agent]
        if not per_unit > 0:
            raise RegimenError(
                f"{agent}: family {family!r} with {kwargs} gives no drug before day {until:g}; "
                "start it earlier or move until later"
            )
        scale = target / per_unit
        if not math.isfinite(scale):
            raise RegimenError(f"{agent}: cannot rescale family {family!r} (dose factor {scale!r})")
        out = out + build(agent, scale, agent_unit, **kwargs)
    return out
