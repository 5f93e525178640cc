"""Canonical text for the numbers, durations and day lists of a schedule.

Every function returns text that the parser reads back to exactly the same
float, so that ``Regimen.parse(str(regimen)) == regimen``.
"""

from __future__ import annotations

from collections.abc import Sequence

# Duration units the parser accepts, in the order tried when writing one [per day].
DURATION_UNITS: dict[str, float] = {"day": 1.0, "h": 24.0, "min": 1440.0}


def number(value: float) -> str:
    """Shortest text of ``value`` that reads back exactly (``25.0`` -> ``"25"``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def duration(days: float) -> str:
    """An infusion duration [day] in the largest whole unit: ``"3 h"``, ``"30 min"``, ``"2 days"``."""
    for unit, per_day in DURATION_UNITS.items():
        count = round(days * per_day)
        if count > 0 and count / per_day == days:
            return f"{count} {unit}" + ("s" if unit == "day" and count != 1 else "")
    return f"{number(days)} days"


def day_list(days: Sequence[int]) -> str:
    """Cycle days with runs of three or more as ranges: ``(1, 2, 3, 4, 5, 8)`` -> ``"1-5,8"``."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        f"{run[0]}-{run[-1]}" if len(run) >= 3 else ",".join(map(str, run)) for run in runs
    )
