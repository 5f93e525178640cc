"""Treatment regimens: readable dosing strings, schedule objects and dose events.

A regimen string is parsed once into immutable objects; ``str()`` gives the
canonical string back::

    >>> from chemohost.regimen import Regimen
    >>> arm = Regimen.parse("paclitaxel 25 mg/kg iv q7d x3 from day 10 + DC101 800 ug ip q3d from day 10")
    >>> arm.agents
    ('paclitaxel', 'dc101')
    >>> [(e.time, e.agent, e.amount) for e in arm.dose_events(until=14, body_weight=0.02)]
    [(10.0, 'paclitaxel', 0.5), (10.0, 'dc101', 0.8), (13.0, 'dc101', 0.8)]

Grammar (case-insensitive; any whitespace between words)::

    regimen  := "" | "vehicle" | "none" | "untreated" | "control"
              | clause ((";" | "+") clause)*
    clause   := AGENT DOSE UNIT ROUTE [SCHEDULE]
    ROUTE    := ("iv" | "oral" | "po" | "ip" | "sc") ["continuous"] | "iv bolus"
              | "iv" ["infusion"] "over" N ("min" | "h" | "hour(s)" | "day(s)")
    SCHEDULE := any of, each at most once, in any order:
                "qNd" | "qNw" | "qod" | "qd" | "daily" | "weekly"     dosing interval / cycle length
                "xN"                                                 doses, or cycles with "on days"
                "from day T"                                         first dose (default 0)
                "to day T" | "until day T"                           end, exclusive
                "on day D" | "at day D" | "once" ["at day D"]        a single dose
                "on days 1,8,15" | "on days 1-5"                     days of a cycle

AGENT is a name of letters, digits, ``-`` and ``_`` looked up (case-insensitive)
in the alias table; DOSE a positive number (``25``, ``2.5``, ``1e3``); UNIT an
amount (``mg g ug ng mg/kg ug/kg g/kg mg/m2 ug/m2``; ``µg``/``mcg`` and
``m^2``/``m²`` spellings accepted) or, with ``continuous`` only, a rate
(``mg/kg/day mg/m2/day mg/day ug/day``, ``/d`` accepted). A number may touch its
unit (``25mg/kg``, ``30min``). Routes may also be written ``i.v.``,
``intravenous``, ``p.o.``, ``i.p.``, ``intraperitoneal``, ``s.c.``,
``subcutaneous``; ``iv continuous`` is one zero-order infusion over the whole
span. A ``vehicle`` (or ``none``, ...) clause inside a combination adds nothing:
``"vehicle + DC101 800 ug ip q3d"`` is DC101 alone.

Day convention (times in days from the simulation origin):

- ``from day T``: first dose at time T; ``qNd`` then repeats every N days.
  Without a schedule a clause is one dose at time 0 (or at ``from day T``).
- ``on day D`` / ``at day D`` without a cycle length: one dose at time D.
- ``on days 1,8,15``: days within a cycle, 1-based: day 1 is the cycle start,
  so starting at 0 the doses are at 0, 7, 14. A following ``qNd`` is the cycle
  length and ``xN`` the number of cycles; cycle k (from 0) adds k·N days.
  ``on day D`` followed by ``qNd`` is the single cycle day D.
- ``to day T`` is exclusive: no dose at or after T; infusions and continuous
  dosing stop at T.
- With neither ``xN`` nor ``to day``, repeating and continuous dosing go on to
  the end of the simulation given at expansion (``Regimen.dose_events(until)``).

Dose events carry amounts in mg and rates in mg/day: per-kg units are scaled by
``body_weight`` [kg] and per-m² units by ``body_surface_area`` [m2], which
``Regimen.dose_events`` requires only when a schedule needs them.
"""

from ._errors import RegimenError as RegimenError
from ._objects import AgentSchedule as AgentSchedule
from ._objects import DoseEvent as DoseEvent
from ._regimen import Regimen as Regimen
from ._families import FAMILIES as FAMILIES
from ._families import dose_dense as dose_dense
from ._families import equal_cumulative_dose as equal_cumulative_dose
from ._families import metronomic as metronomic
from ._families import metronomic_daily as metronomic_daily
from ._families import mtd as mtd
from ._families import weekly as weekly
