"""Growth laws in the form the fitters need: ln V(t), parameter names, bounds, starts.

Each closed-form law is one row of :data:`CLOSED_FORMS`: the registered growth
mechanism it solves (whose declaration supplies the canonical parameter names
and default bounds, MODEL_SPEC §1), the names of the fitted parameters, the closed form
of ln V(t) from V(t0) = V0, and a few initial guesses for a multi-start fit.
The Hahnfeldt tumour–vasculature model has no closed form; see
:mod:`chemohost.calibration._hahnfeldt`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from .._errors import OptionError, unknown
from ..core import Parameter
from ..core._mechanism import get_mechanism
from ..quantities import INITIAL_VOLUME
from ._errors import CalibrationError, replaced_bounds
from ._hahnfeldt import HahnfeldtLaw

__all__ = ["ClosedFormLaw", "CLOSED_FORMS", "TREATMENT_LAWS", "get_growth_law", "growth_law_names"]

LogVolume = Callable[..., np.ndarray]
"""``f(tau, v0, *params, **fixed) -> ln V``: tau [day] since t0 (shape (1, n_t)), each parameter (n_batch, 1)."""


def _phi(c: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """(1 − e^{−c·τ})/c, continuous through c = 0 (where it is τ)."""
    ct = c * tau
    small = np.abs(ct) < 1e-8
    safe_c = np.where(c == 0, 1.0, c)
    return np.where(small, tau * (1 - 0.5 * ct), -np.expm1(-ct) / safe_c)


def _exponential(tau, v0, a):
    return np.log(v0) + a * tau


def _logistic(tau, v0, a, K):
    ratio = v0 / K
    return np.log(v0) - np.log(ratio + (1 - ratio) * np.exp(-a * tau))


def _gompertz(tau, v0, alpha0, beta):
    return np.log(v0) + alpha0 * _phi(beta, tau)


def _power_law(tau, v0, a, gamma):
    u = 1 - gamma
    x = a * tau * v0 ** (-u)
    safe_u = np.where(u == 0, 1.0, u)
    return np.log(v0) + np.where(np.abs(u * x) < 1e-12, x, np.log1p(u * x) / safe_u)


def _von_bertalanffy(tau, v0, a, b, gamma=2 / 3):
    # y = V^u with u = 1 − γ solves y' = u·a − u·b·y (exact for any γ < 1).
    u = 1 - gamma
    y = v0**u * np.exp(-u * b * tau) + u * a * _phi(u * b, tau)
    return np.log(np.maximum(y, 1e-300)) / u


@dataclass(frozen=True)
class ClosedFormLaw:
    r"""A growth law fitted through its closed-form solution from V(t0) = V0.

    Parameters
    ----------
    name:
        Name of the registered growth mechanism (``"gompertz"``, ``"power_law"``, ...).
    parameters:
        Canonical names (as the mechanism declares them) of the fitted
        parameters, in the order ``log_volume`` takes them.
    log_volume:
        ln V as a function of (τ, V0, *fitted, **fixed), vectorised over a leading
        batch dimension.
    initial_guesses:
        Starting points of the multi-start fit, one tuple per start.
    fixed:
        ``{name: value}`` held during the fit (``{"Bertalanffy exponent [-]": 2/3}``);
        the value ``"V0"`` means "the initial volume".
    bounds:
        ``{name: (lower, upper)}`` replacing the mechanism's declared bounds for the fit.
    equation:
        The closed form, for docstrings and summaries.
    mechanism:
        The registered growth mechanism whose declaration names the parameters,
        when it is not ``name`` (a law that adds a treatment effect to it).
    extra_parameters:
        Declarations of fitted parameters the mechanism does not declare.
    keywords:
        ``{name: keyword}``: the keyword argument of ``log_volume`` that takes a held value.

    Keys given as the declared LaTeX symbols (``r"\gamma"``, the form before
    names) still work for one release, with a DeprecationWarning.
    """

    name: str
    parameters: tuple[str, ...]
    log_volume: LogVolume
    initial_guesses: tuple[tuple[float, ...], ...]
    fixed: Mapping[str, float | str] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    equation: str = ""
    fd_step: float = 6e-6
    mechanism: str | None = None
    extra_parameters: tuple[Parameter, ...] = ()
    keywords: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        renamed = {}
        for what in ("parameters", "fixed", "bounds", "keywords"):
            value = getattr(self, what)
            keys = value if isinstance(value, tuple) else tuple(value)
            if all(_is_name(k) for k in keys):
                continue
            names = [self._name_of(k, renamed) for k in keys]
            object.__setattr__(self, what, tuple(names) if isinstance(value, tuple)
                               else dict(zip(names, value.values())))
            if what == "fixed":  # the old keyword of a held symbol: its LaTeX letters (\\gamma -> gamma)
                keywords = {n: k.lstrip("\\") for k, n in zip(keys, names) if value[k] != "V0"}
                object.__setattr__(self, "keywords", {**keywords, **self.keywords})
        if renamed:
            warnings.warn(f"growth law '{self.name}': parameters keyed by LaTeX symbols are deprecated and will be "
                          "refused in the next release; use their names: "
                          + ", ".join(f"{s} -> '{n}'" for s, n in renamed.items()), DeprecationWarning, stacklevel=3)

    def _name_of(self, key: str, renamed: dict) -> str:
        if _is_name(key):
            return key
        declared = self._declared()[1]
        if key not in declared:
            raise CalibrationError(f"growth law '{self.name}': " + unknown("parameter", key,
                                                                          [p.name for p in declared.values()]))
        renamed[key] = declared[key].name
        return declared[key].name

    # ---------------------------------------------------------------- declaration
    def _declared(self):
        """The mechanism class and its declared parameters (plus ``extra_parameters``) by symbol."""
        cls, declared = _declaration(self.mechanism or self.name)
        return cls, {**declared, **{p.symbol: p for p in self.extra_parameters}}

    def _declared_by_name(self) -> dict[str, Parameter]:
        return {p.name: p for p in self._declared()[1].values()}

    @property
    def citations(self) -> tuple[str, ...]:
        extra = tuple(p.citation for p in self.extra_parameters if p.citation)
        return tuple(dict.fromkeys((*self._declared()[0].citations, *extra)))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Canonical names of the fitted parameters (as the growth mechanism declares them)."""
        return tuple(self.parameters)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Deprecated: the LaTeX symbols of the fitted parameters (use :attr:`parameter_names`)."""
        warnings.warn("ClosedFormLaw.symbols is deprecated; use parameter_names", DeprecationWarning, stacklevel=2)
        declared = self._declared_by_name()
        return tuple(declared[n].symbol for n in self.parameters)

    @property
    def lower(self) -> np.ndarray:
        return np.array([self._bound(n)[0] for n in self.parameters], dtype=float)

    @property
    def upper(self) -> np.ndarray:
        return np.array([self._bound(n)[1] for n in self.parameters], dtype=float)

    def _bound(self, name: str) -> tuple[float, float]:
        if name in self.bounds:
            return self.bounds[name]
        return self._declared_by_name()[name].bounds

    def fixed_parameters(self, v0: float) -> dict[str, float]:
        """Canonical names and values of everything else a simulation of the fit needs."""
        out = {INITIAL_VOLUME: float(v0)}
        for name, value in self.fixed.items():
            out[name] = float(v0) if value == "V0" else float(value)
        return out

    def fixed_keywords(self) -> dict[str, float]:
        """The held values ``log_volume`` takes as keyword arguments (all but the initial volume's)."""
        return {self.keywords[n]: v for n, v in self.fixed.items() if v != "V0"}

    def with_bounds(self, bounds: Mapping[str, tuple[float, float]]) -> ClosedFormLaw:
        """A copy with the bounds of some fitted parameters (canonical names) replaced."""
        return replace(self, bounds=replaced_bounds(self.name, self.bounds, self.parameters, bounds))

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, times: np.ndarray, params: np.ndarray, v0=1.0, t0: float = 0.0) -> np.ndarray:
        """ln V at ``times`` [day] for a batch of parameter vectors ``params`` (n_batch, n_params).

        ``v0`` [mm3] is one initial volume or one per row of ``params``.
        """
        params = np.atleast_2d(np.asarray(params, dtype=float))
        tau = np.asarray(times, dtype=float)[None, :] - t0
        v0 = np.asarray(v0, dtype=float).reshape(-1, 1)
        fixed = self.fixed_keywords()
        cols = [params[:, i : i + 1] for i in range(params.shape[1])]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.broadcast_to(self.log_volume(tau, v0, *cols, **fixed), (params.shape[0], tau.shape[1]))


@functools.cache
def _declaration(name: str):
    """The growth mechanism registered as ``name`` and its declared parameters by symbol."""
    cls = get_mechanism("growth", name)
    return cls, {p.symbol: p for p in cls().parameters()}


def _is_name(key: str) -> bool:
    """A canonical parameter name ends with its unit in brackets; a LaTeX symbol does not."""
    return key.endswith("]")


INF = math.inf

CLOSED_FORMS: dict[str, ClosedFormLaw] = {
    law.name: law
    for law in (
        ClosedFormLaw("exponential", ("Exponential growth rate [1/day]",), _exponential, ((0.3,), (0.05,), (1.0,)),
                      equation="V = V0·exp(a·t)"),
        ClosedFormLaw("logistic", ("Logistic growth rate [1/day]", "Carrying capacity [mm3]"), _logistic,
                      ((0.5, 1e3), (0.2, 5e3), (1.0, 3e2)), bounds={"Carrying capacity [mm3]": (1e-9, INF)},
                      equation="V = K·V0/(V0 + (K − V0)·exp(−a·t))"),
        ClosedFormLaw("gompertz", ("Gompertz initial growth rate [1/day]", "Gompertz deceleration rate [1/day]"),
                      _gompertz, ((0.7, 0.08), (0.3, 0.02), (1.5, 0.2)),
                      fixed={"Gompertz reference volume [mm3]": "V0"},
                      equation="V = V0·exp((α0/β)·(1 − exp(−β·t)))"),
        ClosedFormLaw("power_law", ("Power-law growth coefficient [mm3^(1-gamma)/day]", "Power-law exponent [-]"),
                      _power_law, ((1.0, 0.7), (0.5, 0.9), (2.0, 0.5)),
                      equation="V = (V0^(1−γ) + (1−γ)·a·t)^(1/(1−γ))"),
        ClosedFormLaw("von_bertalanffy", ("Bertalanffy growth coefficient [mm3^(1-gamma)/day]",
                                          "Bertalanffy loss rate [1/day]"), _von_bertalanffy,
                      ((1.1, 0.03), (2.0, 0.3), (0.8, 0.0)), fixed={"Bertalanffy exponent [-]": 2 / 3},
                      keywords={"Bertalanffy exponent [-]": "gamma"},
                      equation="V = [a/b + (V0^(1/3) − a/b)·exp(−b·t/3)]^3 (γ = 2/3)"),
    )
}
"""The closed-form laws, by mechanism name (MODEL_SPEC §1 table)."""


def _exponential_kill(tau, v0, a, k):
    return np.log(v0) + (a - k) * tau


TREATMENT_KILL_RATE = "Treatment kill rate [1/day]"

TREATMENT_LAWS: dict[str, ClosedFormLaw] = {
    "exponential_kill": ClosedFormLaw(
        "exponential_kill", ("Exponential growth rate [1/day]", TREATMENT_KILL_RATE), _exponential_kill, ((0.1, 0.05), (0.02, 0.01), (0.3, 0.2)),
        equation="V = V0·exp((a − k)·t); k = 0 in untreated curves",
        mechanism="exponential",
        extra_parameters=(Parameter(
            TREATMENT_KILL_RATE, "k", math.nan, "no default: estimated from treated curves", "U",
            description="constant log-kill hazard while treated (Skipper's log-kill: a fixed fraction of the "
                        "cells dies per day)", citation="Skipper1964"),),
    ),
}
"""Closed-form growth laws with a treatment effect, fitted jointly to treated and untreated curves of one
subject (the kill rate held at 0 in the untreated group; see :class:`IndividualFitter`'s ``group_parameters``).
Initial guesses are chemohost choices [proposed]."""


def growth_law_names() -> tuple[str, ...]:
    return (*CLOSED_FORMS, "hahnfeldt", *TREATMENT_LAWS)


def get_growth_law(law) -> object:
    """A law object from its name (``"gompertz"``), or ``law`` itself if it is one already."""
    if not isinstance(law, str):
        if not all(hasattr(law, a) for a in ("parameter_names", "evaluate", "initial_guesses")):
            raise OptionError(f"growth law {law!r} is neither a name ({', '.join(growth_law_names())}) "
                              "nor a law object with parameter_names, evaluate and initial_guesses")
        return law
    if law in CLOSED_FORMS:
        return CLOSED_FORMS[law]
    if law in TREATMENT_LAWS:
        return TREATMENT_LAWS[law]
    if law == "hahnfeldt":
        return HahnfeldtLaw()
    raise OptionError(unknown("growth law for calibration", law, growth_law_names()))

