"""One parameter value with its unit, provenance tag and source."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._errors import ParameterError, did_you_mean

__all__ = ["ParameterValue", "TAGS", "USER_TAG", "OVERRIDE_SOURCE"]

TAGS = ("V", "V-code", "C", "U", "proposed")
"""Provenance tags (science/MODEL_SPEC.md §0.1): ``V`` seen in the primary source;
``V-code`` seen in a public implementation citing it; ``C`` computed from verified
equations or data; ``U`` unverified placeholder; ``proposed`` a chemohost choice."""

USER_TAG = "user"
OVERRIDE_SOURCE = "study override"


@dataclass(frozen=True)
class ParameterValue:
    """A number as written in its source, with where it comes from.

    Parameters
    ----------
    value:
        The number, in :attr:`unit`.
    unit:
        The unit the value is written in (``"mL/min/kg"``); it must convert to the
        unit in brackets of the parameter's name, possibly per body weight or per
        body-surface area. ``"-"`` means dimensionless.
    tag:
        Provenance: one of :data:`TAGS`. The tag ``"user"`` is reserved for values
        set with :meth:`ParameterSet.with_overrides` (source ``"study override"``).
    source:
        Human-readable origin: paper and table, label section, or the arithmetic
        for a computed value.
    citation:
        Key in :mod:`chemohost.citations`, if the value has its own reference.
    note:
        Caveats: unit conversions, approximations, what is unverified.
    range:
        Plausible ``(low, high)`` in :attr:`unit`, required of a placeholder (tag ``U``
        or ``proposed``) that a sensitivity or robustness analysis samples; ``low < value``
        is not required, only ``low < high``.
    range_rationale:
        One line saying where the range comes from.
    """

    value: float
    unit: str
    tag: str
    source: str
    citation: str | None = None
    note: str | None = None
    range: tuple[float, float] | None = None
    range_rationale: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or not math.isfinite(self.value):
            raise ParameterError(f"parameter value must be a finite number, got {self.value!r}")
        object.__setattr__(self, "value", float(self.value))
        if self.tag == USER_TAG and self.source != OVERRIDE_SOURCE:
            raise ParameterError(
                f"tag '{USER_TAG}' is reserved for values set with ParameterSet.with_overrides(); "
                f"use one of {', '.join(TAGS)}"
            )
        if self.tag not in TAGS and self.tag != USER_TAG:
            raise ParameterError(
                f"unknown provenance tag '{self.tag}'{did_you_mean(self.tag, TAGS)}; accepted: {', '.join(TAGS)}"
            )
        if not self.unit.strip():
            raise ParameterError("parameter value needs a unit ('-' for dimensionless)")
        if not self.source.strip():
            raise ParameterError("parameter value needs a non-empty source (paper and table, or the arithmetic)")
        if self.range is not None:
            low, high = (float(x) for x in self.range)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ParameterError(f"range must be two finite numbers [low, high] with low < high, got {list(self.range)}")
            if not (self.range_rationale or "").strip():
                raise ParameterError("a range needs a one-line range_rationale saying where it comes from")
            object.__setattr__(self, "range", (low, high))
        elif self.range_rationale is not None:
            raise ParameterError("range_rationale given without a range")
