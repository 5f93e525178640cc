"""The ranges a sensitivity or robustness analysis samples, in the model's units.

A range comes from one of three places, in this order of precedence:

1. given in the call (``ranges=`` in Python, ``--range "NAME=LOW:HIGH"`` on the
   command line), in the unit in brackets of the parameter's name;
2. declared in the parameter set that provides the study's value
   (``range: [low, high]`` with a ``range_rationale``), in the value's own unit
   and converted to the model's unit by the same path as the value (per body
   weight or body-surface area at the study's covariates);
3. assumed, only when asked for (``spread=F``): ``[value / F, value · F]`` for a
   placeholder without a declared range, clipped to the parameter's bounds and
   labelled as assumed.

A range whose ``high / low`` exceeds 10 (with ``low > 0``) is sampled
log-uniformly, any other uniformly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from .._errors import ChemohostError, unknown
from ..parameters import ParameterSet, get_parameter_set

__all__ = ["PLACEHOLDER_TAGS", "LOG_UNIFORM_RATIO", "Range", "SensitivityError", "parameter_ranges",
           "placeholder_names"]

PLACEHOLDER_TAGS = ("U", "proposed")
"""Provenance tags of placeholder values (science/MODEL_SPEC.md §0.1)."""

LOG_UNIFORM_RATIO = 10.0
"""A range with ``high / low`` above this is sampled uniformly in log space."""


class SensitivityError(ChemohostError):
    """Bad input to a sensitivity or robustness analysis (parameter, range, read-out, sample count)."""


@dataclass(frozen=True)
class Range:
    """Where one sampled parameter may lie, in the unit in brackets of its name.

    ``origin`` says where the range comes from: ``"given"``, ``"assumed ×/÷F"``
    or the name of the parameter set that declares it; ``rationale`` is that
    set's one-line reason (empty otherwise).
    """

    name: str
    low: float
    high: float
    origin: str
    rationale: str = ""

    @property
    def log(self) -> bool:
        """Whether the range is sampled log-uniformly (``low > 0`` and ``high / low > 10``)."""
        return self.low > 0 and self.high / self.low > LOG_UNIFORM_RATIO

    def scale(self, unit: np.ndarray) -> np.ndarray:
        """Map points of [0, 1] onto the range: linearly, or linearly in log space for a log-uniform range."""
        unit = np.asarray(unit, float)
        if self.log:
            return np.exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        return self.low + unit * (self.high - self.low)


def _checked(name: str, low: float, high: float, bounds: tuple[float, float], origin: str, rationale: str = "") -> Range:
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise SensitivityError(f"range of '{name}': need finite low < high, got [{low:g}, {high:g}]")
    lo, hi = bounds
    if low < lo or high > hi:
        raise SensitivityError(f"range of '{name}': [{low:g}, {high:g}] leaves the parameter's bounds [{lo:g}, {hi:g}]")
    return Range(name, low, high, origin, rationale)


def _declared(plan) -> dict[str, Range]:
    """Ranges declared in the parameter set that provides each value (the last set holding it, as in the study)."""
    providers: dict[str, object] = {}
    for set_name in plan.config.parameter_sets:
        pset = get_parameter_set(set_name)
        for name in pset.values:
            providers[name] = pset
    bw, bsa = plan.covariates.get("Body weight [kg]"), plan.covariates.get("Body surface area [m2]")
    bounds = {p.name: p.bounds for p in plan.model.parameters}
    out = {}
    for name, pset in providers.items():
        pv = pset.values[name]
        if pv.range is None or name not in bounds or name in plan.config.parameters:
            continue
        ends = [ParameterSet(pset.name, pset.description, {name: replace(pv, value=end, range=None, range_rationale=None)})
                .resolve(body_weight=bw, body_surface_area=bsa)[name] for end in pv.range]
        low, high = sorted(float(np.asarray(e)) for e in ends)
        out[name] = _checked(name, low, high, bounds[name], pset.name, pv.range_rationale or "")
    return out


def placeholder_names(plan) -> list[str]:
    """The model parameters whose study value is a placeholder (tag U or proposed), in model order."""
    tags = plan.table["tag"]
    return [name for name in plan.model.parameter_names if tags[name] in PLACEHOLDER_TAGS]


def parameter_ranges(
    plan,
    parameters: Iterable[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    spread: float | None = None,
) -> dict[str, Range]:
    """The ranges to sample for a study plan, keyed by parameter name in model order.

    Parameters
    ----------
    plan:
        A :class:`~chemohost.study.StudyPlan`.
    parameters:
        Names to sample; each needs a range. Default: every placeholder with a
        range, plus every parameter given a range in ``ranges``.
    ranges:
        Parameter name → ``(low, high)`` in the unit in brackets of the name; wins
        over a declared range.
    spread:
        If given (> 1), a placeholder without a declared range gets the assumed
        range ``[value / spread, value · spread]`` (clipped to its bounds).
    """
    model_names = plan.model.parameter_names
    bounds = {p.name: p.bounds for p in plan.model.parameters}
    values = plan.table["value"]
    if spread is not None and not (math.isfinite(spread) and spread > 1):
        raise SensitivityError(f"spread must be a number > 1 (the assumed range is value/spread to value·spread), "
                               f"got {spread}")
    found = _declared(plan)
    if spread is not None:
        for name in placeholder_names(plan):
            value = float(values[name])
            if name not in found and value > 0:
                lo, hi = bounds[name]
                found[name] = _checked(name, max(value / spread, lo), min(value * spread, hi), bounds[name],
                                       f"assumed ×/÷{spread:g}", "no declared range: an assumed spread around the value")
    for name, given in (ranges or {}).items():
        if name not in bounds:
            raise SensitivityError("ranges: " + unknown("parameter", name, model_names))
        try:
            low, high = given
        except (TypeError, ValueError):
            raise SensitivityError(f"range of '{name}': give two numbers (low, high), got {given!r}") from None
        found[name] = _checked(name, low, high, bounds[name], "given")
    if parameters is None:
        chosen = set(placeholder_names(plan)) | set(ranges or ())
        return {name: found[name] for name in model_names if name in chosen and name in found}
    out = {}
    for name in parameters:
        if name not in bounds:
            raise SensitivityError("parameters: " + unknown("parameter", name, model_names))
        if name not in found:
            raise SensitivityError(f"parameter '{name}' has no range: declare 'range' in its parameter set or give "
                                   f"--range \"{name}=LOW:HIGH\"")
        out[name] = found[name]
    if not out:
        raise SensitivityError("no parameters to sample: name some with --parameters")
    return out
