"""Procedures: interventions that are not drugs — resection of the primary and inoculation of cells.

A procedure becomes the engine's explicit state events between integration
segments, like a dose (:class:`chemohost.engine.ScaleState`,
:class:`chemohost.engine.AddToState`):

- :class:`Resection` multiplies the primary tumour's states (its compartments
  and damage chain) by the residual fraction left behind (0 by default), so the
  primary stops growing and disseminating while existing metastases go on;
- :class:`Inoculation` adds a number of cells to a state, e.g. an intravenous
  injection of tumour cells in an experimental-metastasis design.

Procedures are written as objects, mappings or short sentences::

    >>> parse_procedure("resection on day 21")
    Resection(day=21.0, residual=0.0)
    >>> parse_procedure({"inoculation": {"day": 1, "cells": 1e6}})
    Inoculation(day=1.0, cells=1000000.0, state='Inoculated tumour cells [cell]')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ._errors import ChemohostError, clip, quote
from .engine import AddToState, ScaleState
from .limits import MAX_DAY
from .quantities import INOCULUM

__all__ = ["Inoculation", "Resection", "parse_procedure", "parse_procedures"]


def _day(value, what: str) -> float:
    try:
        day = float(value)
    except (TypeError, ValueError):
        raise ChemohostError(f"{what}: day must be a number of days, got {quote(value)}") from None
    if not (math.isfinite(day) and abs(day) <= MAX_DAY):
        raise ChemohostError(f"{what}: day must be a finite number of days up to {MAX_DAY:g} (chemohost.limits), got "
                             f"{quote(value)}")
    return day


def _fraction(value, what: str) -> float:
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        fraction = math.nan
    if not 0.0 <= fraction < 1.0:
        raise ChemohostError(f"{what} must be a fraction in [0, 1), got {quote(value)}")
    return fraction


@dataclass(frozen=True)
class Resection:
    """Surgical removal of the primary tumour on ``day``, leaving the fraction ``residual`` of it behind."""

    day: float
    residual: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "day", _day(self.day, "resection"))
        object.__setattr__(self, "residual", _fraction(self.residual, "resection: residual"))

    def events(self, model):
        if not model.primary_states:
            raise ChemohostError("resection needs a primary tumour, but the model's tumour option is "
                                 f"'{model.options.get('tumour')}'")
        return [ScaleState(self.day, name, self.residual) for name in model.primary_states]

    def __str__(self):
        left = f" leaving {100 * self.residual:g}%" if self.residual else ""
        return f"resection on day {self.day:g}{left}"


@dataclass(frozen=True)
class Inoculation:
    """Injection of ``cells`` tumour cells on ``day`` into ``state`` (experimental metastasis)."""

    day: float
    cells: float
    state: str = INOCULUM

    def __post_init__(self):
        object.__setattr__(self, "day", _day(self.day, "inoculation"))
        try:
            cells = float(self.cells)
        except (TypeError, ValueError):
            cells = math.nan
        if not (cells > 0 and math.isfinite(cells)):
            raise ChemohostError(f"inoculation: cells must be a positive number, got {quote(self.cells)}")
        object.__setattr__(self, "cells", cells)

    def events(self, model):
        if self.state not in model.state_names:
            raise ChemohostError(f"inoculation needs a model with the state '{self.state}'; "
                                 "add a metastasis mechanism to the model options")
        return [AddToState(self.day, self.state, self.cells)]

    def __str__(self):
        return f"inoculation of {self.cells:g} cells on day {self.day:g}"


def _percent(text: str) -> float:
    try:
        return float(text) / 100
    except ValueError:
        raise ChemohostError(
            f"resection: the residual {quote(text)} must be a percentage such as 'leaving 1%'") from None


_KINDS = {"resection": Resection, "inoculation": Inoculation}
_SENTENCES = (
    (re.compile(r"^resection on day (\S+?)(?: leaving (\S+?)\s*%)?$"),
     lambda m: Resection(m[1], _percent(m[2]) if m[2] else 0.0)),
    (re.compile(r"^inoculation of (\S+) cells on day (\S+)$"), lambda m: Inoculation(m[2], m[1])),
)
_FORMS = "'resection on day 21', 'resection on day 21 leaving 1%', 'inoculation of 1e6 cells on day 1'"


def parse_procedure(spec) -> Resection | Inoculation:
    """A procedure from an object, a one-key mapping ``{kind: {fields}}`` or a sentence."""
    if isinstance(spec, (Resection, Inoculation)):
        return spec
    if isinstance(spec, str):
        text = " ".join(spec.strip().lower().split())
        for pattern, build in _SENTENCES:
            match = pattern.match(text)
            if match:
                return build(match)
        raise ChemohostError(f"procedure {quote(spec)} is not understood; write e.g. {_FORMS}")
    if isinstance(spec, Mapping) and len(spec) == 1:
        (kind, fields), = spec.items()
        if kind not in _KINDS:
            raise ChemohostError(f"unknown procedure {quote(kind)}; procedures are: {', '.join(_KINDS)}")
        if not isinstance(fields, Mapping):
            raise ChemohostError(f"procedure '{kind}' needs a mapping of fields, got {quote(fields)}")
        try:
            return _KINDS[kind](**fields)
        except TypeError as err:
            raise ChemohostError(f"procedure '{kind}': {clip(str(err))}") from None
    raise ChemohostError(f"a procedure is a sentence or a one-key mapping such as {{'resection': {{'day': 21}}}}, "
                         f"got {quote(spec)}")


def parse_procedures(specs) -> tuple[Resection | Inoculation, ...]:
    """Procedures from a list of specs (see :func:`parse_procedure`); ``None`` gives none."""
    if specs is None:
        return ()
    if isinstance(specs, (str, Mapping, Resection, Inoculation)):
        specs = [specs]
    if not isinstance(specs, (list, tuple)):
        raise ChemohostError(f"procedures are a list of sentences or mappings, got {quote(specs)}")
    return tuple(parse_procedure(s) for s in specs)
