r"""Observables and measurement-error models: the log-likelihood of data given a prediction, written once.

An observation y of a model quantity q is compared on the observable's scale:
f = T(scale·q + offset) and y' = T(y), with T the identity, ln or log10. The
error model gives the standard deviation σ(f) of y' around f, and each point
adds to the log-likelihood

    uncensored:  −ln σ − ½·ln 2π − ½·z²,   z = (y' − f)/σ
    left:        ln Φ(z)                   (y is a lower limit of quantification; the value lies below it)
    right:       ln(1 − Φ(z))              (y is an upper limit; the value lies above it)

with Φ the standard normal distribution function — the M3 method of Beal
(2001) for data below the quantification limit. The log-normal model is the
exception: it works on ln y and ln f itself and subtracts the Jacobian ln y, so
that its likelihood is the density of y on the original scale. Likelihoods of
observables with different transforms are therefore not comparable by AIC.

=============  ==========================  =====================================
model          σ(f)                        parameters
=============  ==========================  =====================================
additive       σ_add                       ``sigma_add`` (observable's unit)
proportional   σ_prop·|f|                  ``sigma_prop`` [-]
combined       √(σ_add² + σ_prop²·f²)      ``sigma_add``, ``sigma_prop``
power          σ·|f|^α                     ``sigma``, ``alpha`` [-]
lognormal      σ on ln y                   ``sigma`` [-]
laplace        scale b (σ = √2·b)          ``sigma`` (the scale b)
=============  ==========================  =====================================

The Laplace model replaces the Gaussian by the double exponential density
e^(−|y'−f|/b)/(2b) (PEtab's ``laplace`` noise distribution; censored points
use its distribution function).

"combined" is the sum of independent additive and proportional errors
(variances add: NONMEM's usual form, Monolix "combined2"); it is the only
combined form. Each model's :meth:`ErrorModel.loglik` is written once against
an array namespace ``xp`` — :mod:`numpy` or :mod:`jax.numpy` — and that one
function is what the individual (NumPy/SciPy) and population (JAX, NumPyro)
fitters evaluate. A value given to the constructor is held fixed; ``None``
means "estimate it".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
from scipy.special import log_ndtr

from .._errors import unknown
from ..core import unit_of
from ._errors import CalibrationError

__all__ = [
    "Observable", "ErrorModel", "AdditiveError", "ProportionalError", "CombinedError", "PowerError",
    "LogNormalError", "LaplaceError", "ERROR_MODELS", "error_model", "CENSORING_CODES",
]

TRANSFORMS = {"lin": lambda x: x, "log": np.log, "log10": np.log10}
"""Scales an observable is compared on (PEtab's ``observableTransformation`` values)."""

CENSORING_CODES = {"": 0, "left": 1, "right": 2}
"""Censoring labels of the tidy table and their integer codes."""

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Observable:
    r"""A measured model quantity: f = T(scale·q + offset), T ∈ {identity, ln, log10}.

    Parameters
    ----------
    quantity:
        Name of a model state or output with its unit, e.g. ``"Tumour volume [mm3]"``.
    transform:
        ``"lin"`` (default), ``"log"`` or ``"log10"``: the scale on which data
        and prediction are compared (data must then be > 0).
    scale, offset:
        Linear map from the quantity to what is measured (e.g. a calibration
        factor of a bioluminescence signal); identity by default.
    """

    quantity: str
    transform: str = "lin"
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        try:
            unit_of(self.quantity)
        except ValueError:
            raise CalibrationError(f"observable '{self.quantity}' must end with its unit in brackets, "
                                   "e.g. 'Tumour volume [mm3]'") from None
        if self.transform not in TRANSFORMS:
            raise CalibrationError(f"observable '{self.quantity}': " + unknown("transform", self.transform, TRANSFORMS))
        if not (math.isfinite(self.scale) and self.scale > 0 and math.isfinite(self.offset)):
            raise CalibrationError(f"observable '{self.quantity}': scale must be a finite number > 0 and offset "
                                   f"finite, got scale={self.scale}, offset={self.offset}")

    def measured(self, q: np.ndarray) -> np.ndarray:
        """scale·q + offset: the prediction in the data's own unit."""
        return self.scale * np.asarray(q, dtype=float) + self.offset

    def transformed(self, values: np.ndarray) -> np.ndarray:
        """T(values): data or measured predictions on the comparison scale."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return TRANSFORMS[self.transform](np.asarray(values, dtype=float))


def _log_ndtr(xp):
    """ln Φ for the namespace ``xp`` (SciPy's or JAX's ``log_ndtr``: accurate far in both tails)."""
    if xp is np:
        return log_ndtr
    from jax.scipy.special import log_ndtr as jax_log_ndtr

    return jax_log_ndtr


@dataclass(frozen=True)
class ErrorModel:
    """Base class: ``sd`` gives σ(f); ``loglik`` the per-point log-likelihood (see the module docstring).

    ``p`` maps every parameter name to a value or an array broadcasting with ``f``.
    """

    name: ClassVar[str] = ""
    equation: ClassVar[str] = ""

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of this model's error parameters (fixed or estimated)."""
        return tuple(f.name for f in fields(self))

    @property
    def fixed(self) -> dict[str, float]:
        """The error parameters held at a given value."""
        return {n: float(getattr(self, n)) for n in self.parameter_names if getattr(self, n) is not None}

    @property
    def free(self) -> tuple[str, ...]:
        """The error parameters to estimate."""
        return tuple(n for n in self.parameter_names if getattr(self, n) is None)

    def __post_init__(self) -> None:
        for name, value in self.fixed.items():
            positive = value >= 0 if name == "alpha" else value > 0
            if not (math.isfinite(value) and positive):
                bound = ">= 0" if name == "alpha" else "> 0"
                raise CalibrationError(f"{self.name} error model: {name} = {value} must be a finite number {bound}")

    def sd(self, f, p: Mapping, xp=np):
        """σ(f) on the comparison scale."""
        raise NotImplementedError

    def compared(self, y, f, xp=np):
        """``(y', f', ln-Jacobian)``: data and prediction on the scale the Gaussian applies to."""
        return y, f, 0.0

    def loglik(self, y, f, p: Mapping, censoring=None, xp=np):
        """Per-point log-likelihood of data ``y`` around predictions ``f`` (both on the observable's scale);
        ``censoring`` holds the codes 0/1/2 (None: none censored). ``xp`` is numpy or jax.numpy."""
        y, f, log_jacobian = self.compared(y, f, xp)
        sd = self.sd(f, p, xp)
        z = (y - f) / sd
        out = -xp.log(sd) - HALF_LOG_2PI - 0.5 * z * z - log_jacobian
        if censoring is None:
            return out
        log_ndtr = _log_ndtr(xp)
        out = xp.where(censoring == CENSORING_CODES["left"], log_ndtr(z), out)
        return xp.where(censoring == CENSORING_CODES["right"], log_ndtr(-z), out)

    def nll(self, y, f, p: Mapping, censoring=None):
        """−:meth:`loglik` in NumPy (non-finite values allowed through: the fitters penalise them)."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return -self.loglik(np.asarray(y, float), np.asarray(f, float), p, censoring)

    def standardized(self, y, f, p: Mapping):
        """(y' − f')/σ: the standardized residual on the comparison scale."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y, f, _ = self.compared(np.asarray(y, float), np.asarray(f, float), np)
            return (y - f) / self.sd(f, p, np)

    def interval(self, f, p: Mapping, z: float):
        """f ∓ z·σ: the prediction interval, mapped back from the comparison scale."""
        sd = self.sd(f, p, np)
        return f - z * sd, f + z * sd

    def simulate(self, f, p: Mapping, rng: np.random.Generator) -> np.ndarray:
        """Observations drawn around predictions ``f`` (uncensored)."""
        return f + self.sd(f, p, np) * rng.standard_normal(np.shape(f))

    def start(self, name: str, y: np.ndarray) -> tuple[float, tuple[float, float], bool]:
        """Starting value, bounds and log-scale flag of error parameter ``name`` for transformed data ``y``.

        chemohost choices [proposed]: standard deviations start at a tenth of the
        data's typical size (of 1 for relative ones) and range over
        10⁻⁵–10⁵ times that start, on a log scale; ``alpha`` starts at 1
        (proportional) within [0, 2], on a linear scale.
        """
        if name == "alpha":
            return 1.0, (0.0, 2.0), False
        typical = float(np.median(np.abs(y))) if np.size(y) else 1.0
        typical = typical if typical > 0 and math.isfinite(typical) else 1.0
        if name == "sigma_add":
            value = 0.1 * typical
        elif name == "sigma" and isinstance(self, PowerError):
            alpha = self.alpha if self.alpha is not None else 1.0
            value = 0.1 * typical ** (1.0 - alpha)
        else:
            value = 0.1
        return value, (value * 1e-5, value * 1e5), True


@dataclass(frozen=True)
class AdditiveError(ErrorModel):
    """σ = sigma_add (constant, in the observable's unit on its comparison scale)."""

    sigma_add: float | None = None
    name: ClassVar[str] = "additive"
    equation: ClassVar[str] = "σ = σ_add"

    def sd(self, f, p, xp=np):
        return p["sigma_add"] + 0.0 * f


@dataclass(frozen=True)
class ProportionalError(ErrorModel):
    """σ = sigma_prop·|f| (constant coefficient of variation)."""

    sigma_prop: float | None = None
    name: ClassVar[str] = "proportional"
    equation: ClassVar[str] = "σ = σ_prop·|f|"

    def sd(self, f, p, xp=np):
        return p["sigma_prop"] * xp.abs(f)


@dataclass(frozen=True)
class CombinedError(ErrorModel):
    """σ = √(sigma_add² + sigma_prop²·f²): independent additive and proportional errors (variances add)."""

    sigma_add: float | None = None
    sigma_prop: float | None = None
    name: ClassVar[str] = "combined"
    equation: ClassVar[str] = "σ = √(σ_add² + σ_prop²·f²)"

    def sd(self, f, p, xp=np):
        return xp.sqrt(p["sigma_add"] ** 2 + (p["sigma_prop"] * f) ** 2)


@dataclass(frozen=True)
class PowerError(ErrorModel):
    """σ = sigma·|f|^alpha: alpha = 0 is additive, 1 proportional; Benzekry et al. 2014 found tumour-volume
    errors sub-proportional (alpha ≈ 0.84 [U], MODEL_SPEC §1.1)."""

    sigma: float | None = None
    alpha: float | None = None
    name: ClassVar[str] = "power"
    equation: ClassVar[str] = "σ = σ·|f|^α"

    def sd(self, f, p, xp=np):
        return p["sigma"] * xp.abs(f) ** p["alpha"]


@dataclass(frozen=True)
class LogNormalError(ErrorModel):
    """ln y ~ N(ln f, sigma²): multiplicative error; the likelihood includes the Jacobian 1/y (density of y)."""

    sigma: float | None = None
    name: ClassVar[str] = "lognormal"
    equation: ClassVar[str] = "ln y = ln f + ε, ε ~ N(0, σ²)"

    def sd(self, f, p, xp=np):
        return p["sigma"] + 0.0 * f

    def compared(self, y, f, xp=np):
        log_y = xp.log(y)
        return log_y, xp.log(f), log_y

    def interval(self, f, p, z):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            sd = self.sd(f, p, np)
            return f * np.exp(-z * sd), f * np.exp(z * sd)

    def simulate(self, f, p, rng):
        return f * np.exp(self.sd(f, p, np) * rng.standard_normal(np.shape(f)))


@dataclass(frozen=True)
class LaplaceError(ErrorModel):
    """y' ~ Laplace(f, b): the double exponential error of PEtab's ``laplace`` noise, scale ``sigma`` = b
    (standard deviation √2·b)."""

    sigma: float | None = None
    name: ClassVar[str] = "laplace"
    equation: ClassVar[str] = "y = f + ε, ε ~ Laplace(0, b)"

    def sd(self, f, p, xp=np):
        return math.sqrt(2.0) * p["sigma"] + 0.0 * f

    def loglik(self, y, f, p, censoring=None, xp=np):
        b = p["sigma"] + 0.0 * f
        z = (y - f) / b
        out = -xp.log(2.0 * b) - xp.abs(z)
        if censoring is None:
            return out

        def log_cdf(u):  # ln F(u) of the standard Laplace distribution
            return xp.where(u < 0, u - math.log(2.0), xp.log1p(-0.5 * xp.exp(-xp.abs(u))))

        out = xp.where(censoring == CENSORING_CODES["left"], log_cdf(z), out)
        return xp.where(censoring == CENSORING_CODES["right"], log_cdf(-z), out)

    def simulate(self, f, p, rng):
        return f + rng.laplace(0.0, 1.0, np.shape(f)) * p["sigma"]


ERROR_MODELS: dict[str, type[ErrorModel]] = {
    cls.name: cls for cls in (AdditiveError, ProportionalError, CombinedError, PowerError, LogNormalError,
                              LaplaceError)
}
"""The error models by name: the one registry every fitter uses."""


def error_model(spec: str | Mapping | ErrorModel) -> ErrorModel:
    """An error model from a name (``"proportional"``), a mapping (``{"model": "power", "alpha": 0.84}``,
    given parameters held fixed) or an :class:`ErrorModel` (returned as is)."""
    if isinstance(spec, ErrorModel):
        return spec
    if isinstance(spec, str):
        spec = {"model": spec}
    if not isinstance(spec, Mapping) or "model" not in spec:
        raise CalibrationError(f"error model {spec!r}: give a name ({', '.join(ERROR_MODELS)}) or a mapping with "
                               "'model' and optionally fixed parameter values")
    options = dict(spec)
    name = str(options.pop("model"))
    if name not in ERROR_MODELS:
        raise CalibrationError(unknown("error model", name, ERROR_MODELS))
    cls = ERROR_MODELS[name]
    allowed = [f.name for f in fields(cls)]
    for key in options:
        if key not in allowed:
            raise CalibrationError(f"{name} error model: " + unknown("parameter", key, allowed))
    return cls(**options)
