"""A regimen: the agent schedules given to one subject."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .._errors import ArgumentError, quote
from ..limits import MAX_DOSE_EVENTS, check_count
from ._agents import default_agents
from ._objects import AgentSchedule, DoseEvent, check_expansion
from ._parse import parse_regimen


@dataclass(frozen=True, slots=True, repr=False)
class Regimen:
    """What is given to a subject: zero or more agent schedules.

    Read one from text with :meth:`parse` (the grammar and day convention are
    in the ``chemohost.regimen`` docstring), or build it from
    :class:`AgentSchedule` objects. ``str(regimen)`` is the canonical string and
    ``Regimen.parse(str(regimen)) == regimen``. Regimens are equal when they hold
    the same schedules in the same order; ``+`` concatenates them.

    Parameters
    ----------
    schedules:
        The agent schedules, in order; empty for no treatment (vehicle).

    Examples
    --------
    >>> arm = Regimen.parse("paclitaxel 25 mg/kg iv q7d x3 from day 10")
    >>> [event.time for event in arm.dose_events(until=60, body_weight=0.02)]
    [10.0, 17.0, 24.0]
    >>> str(arm + Regimen.parse("DC101 800 ug ip q3d from day 10"))
    'paclitaxel 25 mg/kg iv bolus q7d x3 from day 10 + dc101 800 ug ip q3d from day 10'
    """

    schedules: tuple[AgentSchedule, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.schedules, str):
            raise TypeError(f"Regimen takes AgentSchedule objects; to read text use Regimen.parse({self.schedules!r})")
        schedules = tuple(self.schedules)
        for schedule in schedules:
            if not isinstance(schedule, AgentSchedule):
                raise TypeError(
                    f"Regimen takes AgentSchedule objects, got {type(schedule).__name__} {schedule!r}; "
                    "build them with AgentSchedule.bolus/infusion/continuous/cycles"
                )
        object.__setattr__(self, "schedules", schedules)

    @classmethod
    def parse(cls, text: str, known_agents: Mapping[str, str] | None = None) -> Regimen:
        """Read a regimen string such as ``"paclitaxel 25 mg/kg iv q7d x3 from day 10 + DC101 800 ug ip q3d"``.

        Parameters
        ----------
        text:
            Agent clauses joined by ``;`` or ``+``; ``""``, ``"vehicle"``,
            ``"none"``, ``"untreated"`` or ``"control"`` for no treatment.
        known_agents:
            Alias -> canonical agent name (matched case-insensitively). Default:
            ``chemohost.drugs.agent_aliases()``, or a built-in table of the
            agents in MODEL_SPEC while that module is absent.

        Raises
        ------
        RegimenError
            With the offending token, its position and what is accepted.
        """
        if not isinstance(text, str):
            raise ArgumentError(
                f"Regimen.parse expects a string such as 'paclitaxel 25 mg/kg iv q7d x3', got {type(text).__name__}"
            )
        return cls(parse_regimen(text, default_agents() if known_agents is None else known_agents))

    @classmethod
    def none(cls) -> Regimen:
        """No treatment (a vehicle or control arm)."""
        return cls()

    @property
    def agents(self) -> tuple[str, ...]:
        """Canonical names of the agents given, in order of first appearance."""
        return tuple(dict.fromkeys(schedule.agent for schedule in self.schedules))

    def __add__(self, other: Regimen) -> Regimen:
        if not isinstance(other, Regimen):
            return NotImplemented
        return Regimen(self.schedules + other.schedules)

    def __len__(self) -> int:
        return len(self.schedules)

    def __iter__(self) -> Iterator[AgentSchedule]:
        return iter(self.schedules)

    def __str__(self) -> str:
        return " + ".join(map(str, self.schedules)) or "none"

    def __repr__(self) -> str:
        return f"Regimen.parse({str(self)!r})"

    def dose_events(
        self, until: float, body_weight: float | None = None, body_surface_area: float | None = None
    ) -> list[DoseEvent]:
        """Every administration before ``until``, sorted by time (ties keep the regimen's order).

        Parameters
        ----------
        until:
            End of the simulation [day]: no administration starts at or after
            it, infusions and continuous dosing are cut at it, and open-ended
            schedules repeat up to it.
        body_weight:
            The subject's body weight [kg]; required by per-kg units.
        body_surface_area:
            The subject's body-surface area [m2]; required by per-m² units.

        Returns
        -------
        list of DoseEvent
            Amounts in mg, rates in mg/day, times and durations in days.
        """
        check_expansion(until, body_weight, body_surface_area)
        check_count(f"regimen {quote(str(self))}: administrations before day {until:g}", self.count_administrations(until),
                    MAX_DOSE_EVENTS, "lengthen the dosing intervals, give dose counts (xN) or split the span")
        events = [
            event
            for schedule in self.schedules
            for event in schedule.dose_events(until, body_weight, body_surface_area)
        ]
        return sorted(events, key=lambda event: event.time)

    def count_administrations(self, until: float) -> float:
        """How many administrations start before ``until`` [day], counted without building them."""
        check_expansion(until, None, None)
        return sum(schedule.count_administrations(until) for schedule in self.schedules)

    def cumulative_dose(
        self, until: float, body_weight: float | None = None, body_surface_area: float | None = None
    ) -> dict[str, float]:
        """Total drug given before ``until`` [mg] per agent (0 for an agent not yet started).

        Sums bolus amounts and rate × duration over :meth:`dose_events`, which
        takes the same arguments.
        """
        totals = dict.fromkeys(self.agents, 0.0)
        for event in self.dose_events(until, body_weight, body_surface_area):
            totals[event.agent] += event.total_amount
        return totals
