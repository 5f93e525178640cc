"""The vocabulary a mechanism is declared in: states, parameters, inputs.

Every quantity has a *name* that is a sentence ending in its unit in brackets
(``"Total tumour volume [mm3]"``), a LaTeX *symbol* for equation listings, and
a SymPy symbol through which equations refer to it. Mechanisms never refer to
each other's quantities by index, only by name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import sympy

from ..parameters._value import TAGS

__all__ = ["Input", "Parameter", "ResultStack", "State", "TIME", "Q", "unit_of"]

_BRACKET = re.compile(r"\[([^\[\]]*)\]\s*$")


def unit_of(name: str) -> str:
    """The unit written in brackets at the end of ``name`` (``"-"`` if dimensionless)."""
    match = _BRACKET.search(name)
    if match is None:
        raise ValueError(f"quantity name '{name}' must end with its unit in brackets, e.g. '[mm3]'")
    return match.group(1)


def Q(name: str) -> sympy.Symbol:
    """The symbol standing for the named quantity ``name`` in an equation.

    Mechanisms write equations with these placeholders; the model replaces each
    one by the state, parameter, input or variable of that name when it is built.
    """
    unit_of(name)
    return sympy.Symbol(name, real=True)


TIME = Q("Time [day]")


class _Named:
    """A quantity named by a sentence that ends with its unit in brackets."""

    name: str

    @property
    def unit(self) -> str:
        return unit_of(self.name)

    @property
    def sym(self) -> sympy.Symbol:
        """The placeholder symbol equations use for this quantity."""
        return Q(self.name)


@dataclass(frozen=True)
class Parameter(_Named):
    """A declared model parameter.

    Parameters
    ----------
    name:
        Sentence ending with the unit, e.g. ``"Gompertz deceleration rate [1/day]"``.
    symbol:
        LaTeX symbol used in equation listings, e.g. ``r"\\beta"``.
    default:
        Default value in the bracketed unit; ``nan`` when the literature gives
        none, in which case a parameter set or the user must supply it.
    source:
        Where the default comes from (paper, table, implementation).
    tag:
        Provenance of the default: ``V`` (seen in the paper), ``V-code`` (seen in a
        public implementation), ``C`` (computed), ``U`` (unverified placeholder) or
        ``proposed`` (a chemohost choice with no literature value).
    bounds:
        Closed interval of admissible values (used by validation and calibration).
    description:
        One sentence on how to read the parameter.
    citation:
        Key of the reference behind the default, if any.
    per, per_value:
        For a default written per body size (a clearance in L/h/m2), the covariate
        (``"Body surface area [m2]"``) and the value it was resolved at; the
        engine rescales the default to each patient's covariate.
    """

    name: str
    symbol: str
    default: float
    source: str
    tag: str
    bounds: tuple[float, float] = (0.0, math.inf)
    description: str = ""
    citation: str | None = None
    per: str | None = None
    per_value: float = math.nan

    def __post_init__(self) -> None:
        unit_of(self.name)
        if self.tag not in TAGS:
            raise ValueError(f"parameter '{self.name}': tag '{self.tag}' is not one of {TAGS}")
        lo, hi = self.bounds
        if not math.isnan(self.default) and not lo <= self.default <= hi:
            raise ValueError(f"parameter '{self.name}': default {self.default} outside bounds {self.bounds}")

    @property
    def is_placeholder(self) -> bool:
        """True for values nobody has verified (tags ``U`` and ``proposed``)."""
        return self.tag in ("U", "proposed")

    def default_for(self, covariates: dict):
        """The default for patients with ``covariates`` (scaled when written per body size)."""
        if self.per is not None and self.per in covariates:
            return self.default * covariates[self.per] / self.per_value
        return self.default

    @property
    def required(self) -> bool:
        """True when there is no default and a value must be given."""
        return math.isnan(self.default)


@dataclass(frozen=True)
class State(_Named):
    """A declared state variable.

    ``initial`` is an expression in parameter symbols (or a number) giving the
    value at the start of a simulation.
    """

    name: str
    symbol: str
    initial: sympy.Expr | float = 0.0
    description: str = ""
    nonnegative: bool = True

    def __post_init__(self) -> None:
        unit_of(self.name)
        object.__setattr__(self, "initial", sympy.sympify(self.initial))


@dataclass(frozen=True)
class Input(_Named):
    """A piecewise-constant input rate set by dosing events (infusions, continuous dosing).

    The engine holds inputs constant between events, so rate laws never test the
    time: a zero-order infusion is an event that raises the input and a later
    event that lowers it again.
    """

    name: str
    symbol: str
    description: str = ""

    def __post_init__(self) -> None:
        unit_of(self.name)


@dataclass(frozen=True)
class DoseTarget:
    """Where a dose by a given route goes.

    Dose targets are keyed by ``(agent, route)`` where route is one of
    ``iv_bolus``, ``iv_infusion``, ``oral``, ``oral_continuous``, ``ip``, ``sc``.
    ``kind`` is ``"state"`` (a bolus added to a state amount) or ``"input"`` (a
    rate added to an input). ``scale`` optionally names a parameter the amount is
    multiplied by (bioavailability).
    """

    kind: str
    target: str
    scale: str | None = None


@dataclass(frozen=True)
class TimedInput:
    """A change of an input at a fixed time [day] that is part of the model itself (not of a regimen),
    e.g. a time window opening. The engine applies it as an event, so the solver steps to it exactly."""

    input: str
    time: float
    change: float


@dataclass(frozen=True)
class ResultStack:
    """Like states saved as one labelled variable along a dimension of their own.

    A mechanism that declares many states of one kind (the metastases of each
    emission cohort, say) lists them in ``members``; results then hold a single
    variable ``name`` with dimension ``dim`` (coordinate ``labels``, one per
    member) instead of one variable per state. ``coords`` adds coordinates along
    ``dim`` as ``(name, values, attrs)``.
    """

    name: str
    dim: str
    members: tuple[str, ...]
    labels: tuple
    coords: tuple[tuple[str, tuple, dict], ...] = ()
    description: str = ""

    def apply(self, ds):
        """``ds`` (an :class:`xarray.Dataset`) with the members it holds replaced by the stacked variable,
        ``dim`` last; unchanged when it holds none."""
        present = [i for i, m in enumerate(self.members) if m in ds.data_vars]
        if not present:
            return ds
        names = [self.members[i] for i in present]
        stacked = ds[names].to_dataarray(dim=self.dim).transpose(..., self.dim)
        stacked = stacked.assign_coords({self.dim: (self.dim, [self.labels[i] for i in present],
                                                    {"units": "1"})})
        stacked = stacked.assign_coords({c: (self.dim, [values[i] for i in present], attrs)
                                         for c, values, attrs in self.coords})
        stacked.attrs = {"units": unit_of(self.name), "kind": "state", "description": self.description}
        return ds.drop_vars(names).assign({self.name: stacked})


@dataclass
class Declaration:
    """Everything a mechanism contributes to a model (collected by :class:`Model`)."""

    states: list[State] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    variables: dict[str, sympy.Expr] = field(default_factory=dict)
    summands: dict[str, sympy.Expr] = field(default_factory=dict)
    rhs: dict[str, sympy.Expr] = field(default_factory=dict)
    dose_targets: dict[tuple[str, str], DoseTarget] = field(default_factory=dict)
    timed_inputs: list[TimedInput] = field(default_factory=list)
    symbols: dict[str, str] = field(default_factory=dict)
    """LaTeX symbols of the variables and summands this mechanism defines."""


@dataclass(frozen=True)
class StateEvent:
    """A discontinuity fired when a condition on the states turns true (an SBML event).

    ``trigger`` is a SymPy condition in states, parameters and time; when it
    changes from false to true during the integration, the engine locates the
    time on the step and sets each state named in ``assignments`` to its
    expression, all expressions evaluated with the values just before the event.
    ``initial_value`` is the trigger's value assumed just before the start (an
    event whose trigger is true at the start fires then if ``initial_value`` is
    false). ``persistent`` and ``use_values_from_trigger_time`` are kept for
    exchange; without delays they do not change the result.
    """

    name: str
    trigger: sympy.Basic
    assignments: tuple[tuple[str, sympy.Expr], ...]
    initial_value: bool = True
    persistent: bool = True
    use_values_from_trigger_time: bool = True
