"""One agent's schedule, and the explicit dose events it expands to.

Times are in days, doses in the schedule's own unit until expansion, amounts in
mg and rates in mg/day after it.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..limits import MAX_DAY, MAX_DOSE_EVENTS, MAX_DOSE_MG, check_count
from . import _format
from ._errors import InvalidField, RegimenError
from ._units import AMOUNT_UNITS, RATE_UNITS, UNITS

ROUTES = ("iv_bolus", "iv_infusion", "oral", "ip", "sc")
_ROUTE_TEXT = {"iv_bolus": "iv bolus", "iv_infusion": "iv", "oral": "oral", "ip": "ip", "sc": "sc"}
_AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: object) -> bool:
    return _is_real(value) and value == int(value)


@dataclass(frozen=True, slots=True)
class DoseEvent:
    """One administration, ready for a simulation to apply.

    Parameters
    ----------
    time:
        Start of the administration [day].
    agent:
        Canonical agent name.
    route:
        ``"iv_bolus"``, ``"iv_infusion"``, ``"oral"``, ``"ip"`` or ``"sc"``.
    amount:
        Amount given at once [mg]; 0 for zero-order (rate) events.
    rate:
        Zero-order input rate [mg/day] of an infusion or continuous dosing; 0 for
        a bolus.
    duration:
        How long the rate is applied [day]; 0 for a bolus.
    """

    time: float
    agent: str
    route: str
    amount: float
    rate: float
    duration: float

    @property
    def total_amount(self) -> float:
        """Drug given by this event [mg]: ``amount + rate * duration``."""
        return self.amount + self.rate * self.duration


@dataclass(frozen=True, slots=True)
class AgentSchedule:
    """How one agent is given: dose, route and timing.

    Build one with :meth:`bolus`, :meth:`infusion`, :meth:`continuous` or
    :meth:`cycles`, or read it from a string with ``Regimen.parse``;
    ``str(schedule)`` is the canonical string, which parses back to an equal
    schedule. Every inconsistency raises :class:`RegimenError`.

    Parameters
    ----------
    agent:
        Canonical agent name (letters, digits, ``-`` and ``_``).
    dose:
        Dose per administration in ``dose_unit``, or the rate for continuous
        dosing; > 0.
    dose_unit:
        Canonical unit: an amount (``mg``, ``g``, ``ug``, ``ng``, ``mg/kg``,
        ``ug/kg``, ``g/kg``, ``mg/m2``, ``ug/m2``) or, for continuous dosing
        only, a rate (``mg/kg/day``, ``mg/m2/day``, ``mg/day``, ``ug/day``).
    route:
        ``"iv_bolus"``, ``"iv_infusion"``, ``"oral"``, ``"ip"`` or ``"sc"``.
    infusion_duration:
        Length of each zero-order infusion [day]; required for
        ``"iv_infusion"`` unless continuous, ``None`` otherwise.
    is_continuous:
        Zero-order dosing at ``dose`` per day from ``start`` to ``end`` (or to
        the end of the simulation when ``end`` is None). Not an iv bolus.
    start:
        Time of the first dose, or of day 1 of the first cycle [day].
    end:
        No dose at or after this time [day]; repeating or continuous dosing only.
    interval:
        Time between doses, or the cycle length when ``cycle_days`` is given
        [day]. ``None`` gives a single dose (or a single cycle).
    count:
        Number of doses, or of cycles when ``cycle_days`` is given; needs
        ``interval``. ``None`` repeats until ``end`` or the simulation end.
    cycle_days:
        Dosing days within each cycle, 1-based (day 1 is the cycle start), e.g.
        ``(1, 8, 15)``.
    """

    agent: str
    dose: float
    dose_unit: str
    route: str
    infusion_duration: float | None = None
    is_continuous: bool = False
    start: float = 0.0
    end: float | None = None
    interval: float | None = None
    count: int | None = None
    cycle_days: tuple[int, ...] | None = None

    @classmethod
    def bolus(
        cls,
        agent: str,
        dose: float,
        unit: str,
        every: float | None = None,
        count: int | None = None,
        start: float = 0.0,
        end: float | None = None,
        route: str = "iv_bolus",
    ) -> AgentSchedule:
        """Doses given at once, every ``every`` days (a single dose when ``None``).

        ``route`` is ``"iv_bolus"``, ``"oral"``, ``"ip"`` or ``"sc"``; ``start``
        and ``end`` are in days.
        """
        return cls(agent, dose, unit, route, start=start, end=end, interval=every, count=count)

    @classmethod
    def infusion(
        cls,
        agent: str,
        dose: float,
        unit: str,
        duration: float,
        every: float | None = None,
        count: int | None = None,
        start: float = 0.0,
        end: float | None = None,
    ) -> AgentSchedule:
        """Intravenous infusions of ``dose`` over ``duration`` days each, every ``every`` days."""
        return cls(
            agent, dose, unit, "iv_infusion", duration, start=start, end=end, interval=every, count=count
        )

    @classmethod
    def continuous(
        cls,
        agent: str,
        rate: float,
        unit: str,
        start: float = 0.0,
        end: float | None = None,
        route: str = "oral",
    ) -> AgentSchedule:
        """Zero-order dosing at ``rate`` (a per-day unit such as ``mg/kg/day``) from ``start`` to ``end`` [day].

        ``route`` is ``"oral"`` (e.g. drinking water), ``"iv_infusion"``, ``"sc"``
        or ``"ip"`` (pumps). With ``end=None`` dosing lasts to the end of the
        simulation.
        """
        return cls(agent, rate, unit, route, is_continuous=True, start=start, end=end)

    @classmethod
    def cycles(
        cls,
        agent: str,
        dose: float,
        unit: str,
        days: Sequence[int] = (1, 8, 15),
        cycle_length: float | None = 28.0,
        cycles: int | None = 6,
        start: float = 0.0,
        end: float | None = None,
        route: str | None = None,
        duration: float | None = None,
    ) -> AgentSchedule:
        """Doses on ``days`` (1-based) of each ``cycle_length``-day cycle, for ``cycles`` cycles.

        Cycle k (from 0) starts at ``start + k * cycle_length`` [day]. Give
        ``duration`` [day] for infusions; ``route`` defaults to ``"iv_infusion"``
        then, and to ``"iv_bolus"`` otherwise.
        """
        if route is None:
            route = "iv_bolus" if duration is None else "iv_infusion"
        return cls(
            agent,
            dose,
            unit,
            route,
            duration,
            start=start,
            end=end,
            interval=cycle_length,
            count=cycles,
            cycle_days=days,
        )

    def __post_init__(self) -> None:
        for name in ("dose", "start", "end", "interval", "infusion_duration"):
            value = getattr(self, name)
            if _is_real(value):
                object.__setattr__(self, name, float(value))
        if isinstance(self.count, numbers.Integral) and not isinstance(self.count, bool):
            object.__setattr__(self, "count", int(self.count))
        days = self.cycle_days
        if isinstance(days, Sequence) and not isinstance(days, str) and all(map(_is_whole, days)):
            object.__setattr__(self, "cycle_days", tuple(sorted(int(day) for day in days)))
        self._check_names()
        self._check_continuous()
        self._check_timing()
        self._check_infusion()

    def _invalid(self, field: str, problem: str, hint: str) -> InvalidField:
        return InvalidField(f"AgentSchedule {self.agent!r}", field, getattr(self, field), problem, hint)

    def _check_names(self) -> None:
        if not (isinstance(self.agent, str) and _AGENT_NAME.fullmatch(self.agent)):
            raise self._invalid(
                "agent",
                "agent must be a name of letters, digits, '-' and '_', got {}",
                "pass the canonical name, e.g. 'paclitaxel'",
            )
        if not (_is_real(self.dose) and self.dose > 0):
            raise self._invalid(
                "dose", "dose must be a number greater than 0, got {}", "give a positive dose, e.g. '25 mg/kg'"
            )
        if not (isinstance(self.dose_unit, str) and self.dose_unit in UNITS):
            raise self._invalid(
                "dose_unit", "unknown dose unit {}", f"accepted: {AMOUNT_UNITS}, {RATE_UNITS}"
            )
        if not (isinstance(self.route, str) and self.route in ROUTES):
            raise self._invalid("route", "unknown route {}", f"accepted: {', '.join(ROUTES)}")
        if self.dose * UNITS[self.dose_unit].mg > MAX_DOSE_MG:
            raise self._invalid(
                "dose", f"dose {{}} is more than {MAX_DOSE_MG:g} mg (per kg, per m2 or per day as its unit says)",
                "check the number and the unit (chemohost.limits.MAX_DOSE_MG)"
            )

    def _check_continuous(self) -> None:
        if not isinstance(self.is_continuous, bool):
            raise self._invalid("is_continuous", "is_continuous must be True or False, got {}", "pass a bool")
        per_day = UNITS[self.dose_unit].per_day
        if self.is_continuous and not per_day:
            raise self._invalid(
                "dose_unit",
                "continuous dosing needs a rate unit, got {}",
                f"accepted rate units: {RATE_UNITS}",
            )
        if per_day and not self.is_continuous:
            raise self._invalid(
                "dose_unit",
                "rate unit {} is only valid with continuous dosing",
                f"write e.g. 'oral continuous', or use an amount unit: {AMOUNT_UNITS}",
            )
        if not self.is_continuous:
            return
        if self.route == "iv_bolus":
            raise self._invalid(
                "route", "continuous dosing cannot be {}", "write 'iv continuous' (route 'iv_infusion')"
            )
        for name, what in (("interval", "dosing interval"), ("count", "dose count"), ("cycle_days", "cycle days")):
            if getattr(self, name) is not None:
                raise self._invalid(
                    name,
                    f"continuous dosing takes no {what}, got {{}}",
                    "remove it; give the span with 'from day' and 'to day'",
                )

    def _check_timing(self) -> None:
        if not _is_real(self.start):
            raise self._invalid("start", "start must be a finite number of days, got {}", "e.g. 'from day 10'")
        if self.interval is not None and not (_is_real(self.interval) and self.interval > 0):
            raise self._invalid(
                "interval", "dosing interval must be more than 0 days, got {}", "e.g. 'q7d', 'q3w' or 'daily'"
            )
        for name in ("start", "end", "interval"):
            value = getattr(self, name)
            if _is_real(value) and abs(value) > MAX_DAY:
                raise self._invalid(name, f"{{}} is beyond the bound of {MAX_DAY:g} days", "check the day number "
                                    "(chemohost.limits.MAX_DAY)")
        if self.cycle_days is not None:
            self._check_cycle_days()
        if self.count is not None:
            if type(self.count) is not int or self.count < 1:
                raise self._invalid(
                    "count", "count {} is not a whole number of at least 1", "write e.g. 'x3' for three doses"
                )
            if self.interval is None:
                raise self._invalid(
                    "count",
                    "count {} needs a dosing interval",
                    "add e.g. 'q7d' (or the cycle length, 'q28d', after 'on days'), or remove the count",
                )
            if self.count * len(self.cycle_days or (1,)) > MAX_DOSE_EVENTS:
                raise self._invalid(
                    "count", f"count {{}} gives more than {MAX_DOSE_EVENTS:,} administrations",
                    "split the span into several studies (chemohost.limits.MAX_DOSE_EVENTS)"
                )
        if self.end is not None:
            if not (_is_real(self.end) and self.end > self.start):
                raise self._invalid(
                    "end",
                    f"end {{}} must be later than the start (day {_format.number(self.start)})",
                    "the end day is exclusive; give 'to day' after 'from day'",
                )
            if self.interval is None and not self.is_continuous:
                raise self._invalid(
                    "end",
                    "end {} only applies to repeating or continuous dosing",
                    "add an interval such as 'q7d', or remove the end day",
                )

    def _check_cycle_days(self) -> None:
        days = self.cycle_days
        if not (
            isinstance(days, tuple)
            and days
            and all(isinstance(day, int) and day >= 1 for day in days)
            and len(set(days)) == len(days)
        ):
            raise self._invalid(
                "cycle_days",
                "cycle days {} must be distinct whole days of at least 1",
                "day 1 is the cycle start, e.g. 'on days 1,8,15' or 'on days 1-5'",
            )
        if days[-1] > MAX_DAY or len(days) > MAX_DOSE_EVENTS:
            raise self._invalid(
                "cycle_days", f"cycle days {{}} go beyond day {MAX_DAY:g} or number more than {MAX_DOSE_EVENTS:,}",
                "check the day numbers (chemohost.limits)"
            )
        if self.interval is not None and days[-1] - 1 >= self.interval:
            raise self._invalid(
                "cycle_days",
                f"cycle day {days[-1]} in {{}} falls beyond the {_format.number(self.interval)}-day cycle",
                "lengthen the cycle (e.g. 'q28d'), or use 'from day' to move the start",
            )

    def _check_infusion(self) -> None:
        duration = self.infusion_duration
        if duration is None:
            if self.route == "iv_infusion" and not self.is_continuous:
                raise self._invalid(
                    "infusion_duration",
                    "an iv infusion needs a duration, got {}",
                    "write e.g. 'iv over 30 min', or 'iv continuous' for open-ended infusion",
                )
            return
        if self.is_continuous:
            raise self._invalid(
                "infusion_duration",
                "continuous dosing takes no infusion duration, got {}",
                "give the span with 'from day' and 'to day'",
            )
        if self.route != "iv_infusion":
            raise self._invalid(
                "infusion_duration",
                f"route {_ROUTE_TEXT[self.route]!r} takes no infusion duration, got {{}}",
                "use route 'iv' for an infusion ('iv over 30 min'), or remove the duration",
            )
        if not (_is_real(duration) and duration > 0):
            raise self._invalid(
                "infusion_duration",
                "infusion duration {} must be more than 0 days",
                "e.g. 'iv over 30 min', 'iv over 3 h'",
            )
        gap = self._shortest_gap()
        if duration > gap:
            raise self._invalid(
                "infusion_duration",
                f"infusion {{}} is longer than the {_format.number(gap)}-day gap between doses",
                "shorten the infusion or space the doses out; overlapping infusions are not accepted",
            )

    def _shortest_gap(self) -> float:
        """Shortest time between two administrations [day] (inf for a single dose)."""
        offsets = [day - 1 for day in self.cycle_days or (1,)]
        gaps = [b - a for a, b in zip(offsets, offsets[1:])]
        if self.interval is not None:
            gaps.append(self.interval - (offsets[-1] - offsets[0]))
        return min(gaps, default=math.inf)

    def __str__(self) -> str:
        words = [self.agent, _format.number(self.dose), self.dose_unit, _ROUTE_TEXT[self.route]]
        if self.is_continuous:
            words.append("continuous")
        elif self.infusion_duration is not None:
            words.append(f"over {_format.duration(self.infusion_duration)}")
        if self.cycle_days is not None:
            words.append(f"on days {_format.day_list(self.cycle_days)}")
        elif self.interval is None and not self.is_continuous:
            words.append(f"on day {_format.number(self.start)}")
        if self.interval is not None:
            words.append(f"q{_format.number(self.interval)}d")
        if self.count is not None:
            words.append(f"x{self.count}")
        if self.start != 0 and (self.interval is not None or self.is_continuous or self.cycle_days is not None):
            words.append(f"from day {_format.number(self.start)}")
        if self.end is not None:
            words.append(f"to day {_format.number(self.end)}")
        return " ".join(words)

    def administration_times(self, until: float) -> list[float]:
        """Start times of the administrations before ``until`` [day], in order.

        Continuous dosing has one administration, at ``start``. An open-ended
        schedule (no ``count``, no ``end``) repeats until ``until``.
        """
        stop = self._stop(until)
        if self.is_continuous:
            return [self.start] if self.start < stop else []
        check_count(f"regimen '{self}': administrations before day {_format.number(until)}",
                    self.count_administrations(until), MAX_DOSE_EVENTS,
                    "lengthen the dosing interval, give a dose count (xN) or split the span into several studies")
        offsets = [day - 1.0 for day in self.cycle_days or (1,)]
        if self.interval is None:
            return [self.start + offset for offset in offsets if self.start + offset < stop]
        times: list[float] = []
        cycle = 0
        while (self.count is None or cycle < self.count) and self.start + cycle * self.interval < stop:
            base = self.start + cycle * self.interval
            times.extend(base + offset for offset in offsets if base + offset < stop)
            cycle += 1
        return times

    def count_administrations(self, until: float) -> float:
        """How many administrations start before ``until`` [day], counted without building them (at most one cycle
        too many)."""
        stop = self._stop(until)
        if self.start >= stop:
            return 0
        if self.is_continuous:
            return 1
        per_cycle = len(self.cycle_days or (1,))
        if self.interval is None:
            return per_cycle
        cycles = math.ceil((stop - self.start) / self.interval)
        return per_cycle * (cycles if self.count is None else min(cycles, self.count))

    def _stop(self, until: float) -> float:
        """When dosing stops [day]: the end day, or ``until`` if earlier."""
        return until if self.end is None else min(self.end, until)

    def dose_events(
        self, until: float, body_weight: float | None = None, body_surface_area: float | None = None
    ) -> list[DoseEvent]:
        """The explicit administrations before ``until`` [day], in time order.

        Parameters
        ----------
        until:
            End of the simulation [day]: no administration starts at or after
            it, and infusions and continuous dosing are cut at it (or at
            ``end`` if earlier).
        body_weight:
            Subject's body weight [kg]; needed for per-kg units.
        body_surface_area:
            Subject's body-surface area [m2]; needed for per-m² units.

        Returns
        -------
        list of DoseEvent
            Amounts in mg, rates in mg/day.
        """
        check_expansion(until, body_weight, body_surface_area)
        mg = self._dose_mg(body_weight, body_surface_area)
        events = []
        for time in self.administration_times(until):
            if self.is_continuous:
                events.append(DoseEvent(time, self.agent, self.route, 0.0, mg, self._stop(until) - time))
            elif self.infusion_duration is not None:
                span = min(self.infusion_duration, self._stop(until) - time)
                events.append(DoseEvent(time, self.agent, self.route, 0.0, mg / self.infusion_duration, span))
            else:
                events.append(DoseEvent(time, self.agent, self.route, mg, 0.0, 0.0))
        return events

    def _dose_mg(self, body_weight: float | None, body_surface_area: float | None) -> float:
        """``dose`` in mg (or mg/day) for a subject of this size."""
        unit = UNITS[self.dose_unit]
        if unit.basis is None:
            return self.dose * unit.mg
        name, basis, example = _COVARIATES[unit.basis]
        scale = body_weight if unit.basis == "kg" else body_surface_area
        if scale is None:
            raise RegimenError(
                f"{self.agent} {_format.number(self.dose)} {self.dose_unit} is dosed {basis} but {name} "
                f"is missing; pass it to dose_events/cumulative_dose, e.g. {example}"
            )
        return self.dose * unit.mg * scale


# Dose basis -> (argument, what it means, example value).
_COVARIATES = {
    "kg": ("body_weight", "per kg of body weight", "body_weight=0.02 [kg] for a 20 g mouse"),
    "m2": ("body_surface_area", "per m2 of body-surface area", "body_surface_area=1.8 [m2] for an adult"),
}


def check_expansion(until: object, body_weight: object, body_surface_area: object) -> None:
    """Raise unless ``until`` is a finite time and each given covariate is positive."""
    if not _is_real(until):
        raise RegimenError(f"until must be a finite time [day], got {until!r}; e.g. until=60.0")
    for name, value, unit in (("body_weight", body_weight, "kg"), ("body_surface_area", body_surface_area, "m2")):
        if value is not None and not (_is_real(value) and value > 0):
            raise RegimenError(f"{name} must be a positive number [{unit}] or None, got {value!r}")
