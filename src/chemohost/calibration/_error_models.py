r"""Observables and measurement-error models: the negative log-likelihood of data given a prediction.

An observation y of a model quantity q is compared on the observable's scale:
f = T(scale·q + offset) and y' = T(y), with T the identity, ln or log10. The
error model gives the standard deviation σ(f) of y' around f, and each point
adds to the negative log-likelihood (NLL)

    uncensored:  ln σ + ½·ln 2π + ½·z²,     z = (y' − f)/σ
    left:        −ln Φ(z)                   (y is a lower limit of quantification; the value lies below it)
    right:       −ln(1 − Φ(z))              (y is an upper limit; the value lies above it)

with Φ the standard normal distribution function — the M3 method of Beal
(2001) for data below the quantification limit. The log-normal model is the
exception: it works on ln y and ln f itself and adds the Jacobian ln y, so that
its NLL is the density of y on the original scale. Likelihoods of observables
with different transforms are therefore not comparable by AIC.

Error parameters are named alike everywhere: ``sigma_add`` (in the
observable's unit), ``sigma_prop`` [-], ``sigma`` and ``alpha`` (power and
log-normal). A value given to the constructor is held fixed; ``None`` means
"estimate it".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
from scipy import stats

from .._errors import unknown
from ..core import unit_of
from ._errors import CalibrationError

__all__ = [
    "Observable", "ErrorModel", "AdditiveError", "ProportionalError", "CombinedError", "PowerError",
    "LogNormalError", "ERROR_MODELS", "error_model", "CENSORING_CODES",
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


@dataclass(frozen=True)
class ErrorModel:
    """Base class: ``sd`` gives σ(f); ``nll`` the per-point negative log-likelihood (see the module docstring)."""

    name: ClassVar[str] = ""
    equation: ClassVar[str] = ""

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of this model's error parameters (fixed or estimated)."""
        return tuple(f.name for f in fields(self) if f.name != "form")

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

    def sd(self, f: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def nll(self, y: np.ndarray, f: np.ndarray, p: Mapping[str, np.ndarray], censoring: np.ndarray) -> np.ndarray:
        """Per-point NLL of transformed data ``y`` around predictions ``f``; ``censoring`` holds the codes 0/1/2."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _gaussian_nll(y - f, self.sd(f, p), censoring)

    def standardized(self, y: np.ndarray, f: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
        """(y − f)/σ: the standardized residual on the comparison scale."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (y - f) / self.sd(f, p)

    def interval(self, f: np.ndarray, p: Mapping[str, np.ndarray], z: float) -> tuple[np.ndarray, np.ndarray]:
        """f ∓ z·σ: the prediction interval on the comparison scale."""
        sd = self.sd(f, p)
        return f - z * sd, f + z * sd

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


def _gaussian_nll(residual: np.ndarray, sd: np.ndarray, censoring: np.ndarray) -> np.ndarray:
    z = residual / sd
    out = np.log(sd) + HALF_LOG_2PI + 0.5 * z * z
    left, right = censoring == CENSORING_CODES["left"], censoring == CENSORING_CODES["right"]
    if left.any():
        out = np.where(left, -stats.norm.logcdf(z), out)
    if right.any():
        out = np.where(right, -stats.norm.logsf(z), out)
    return out


@dataclass(frozen=True)
class AdditiveError(ErrorModel):
    """σ = sigma_add (constant, in the observable's unit on its comparison scale)."""

    sigma_add: float | None = None
    name: ClassVar[str] = "additive"
    equation: ClassVar[str] = "σ = σ_add"

    def sd(self, f, p):
        return np.broadcast_to(p["sigma_add"], np.shape(f))


@dataclass(frozen=True)
class ProportionalError(ErrorModel):
    """σ = sigma_prop·|f| (constant coefficient of variation)."""

    sigma_prop: float | None = None
    name: ClassVar[str] = "proportional"
    equation: ClassVar[str] = "σ = σ_prop·|f|"

    def sd(self, f, p):
        return p["sigma_prop"] * np.abs(f)


@dataclass(frozen=True)
class CombinedError(ErrorModel):
    """σ = sigma_add + sigma_prop·|f| (``form="sum"``, Monolix "combined1"), or
    σ = √(sigma_add² + sigma_prop²·f²) (``form="sqrt"``, Monolix "combined2"; the usual NONMEM form)."""

    sigma_add: float | None = None
    sigma_prop: float | None = None
    form: str = "sum"
    name: ClassVar[str] = "combined"
    equation: ClassVar[str] = "σ = σ_add + σ_prop·|f|  (form 'sqrt': σ = √(σ_add² + σ_prop²·f²))"

    def __post_init__(self) -> None:
        if self.form not in ("sum", "sqrt"):
            raise CalibrationError("combined error model: " + unknown("form", str(self.form), ("sum", "sqrt")))
        super().__post_init__()

    def sd(self, f, p):
        a, b = p["sigma_add"], p["sigma_prop"] * np.abs(f)
        return a + b if self.form == "sum" else np.hypot(a, b)


@dataclass(frozen=True)
class PowerError(ErrorModel):
    """σ = sigma·|f|^alpha: alpha = 0 is additive, 1 proportional; Benzekry et al. 2014 found tumour-volume
    errors sub-proportional (alpha ≈ 0.84 [U], MODEL_SPEC §1.1)."""

    sigma: float | None = None
    alpha: float | None = None
    name: ClassVar[str] = "power"
    equation: ClassVar[str] = "σ = σ·|f|^α"

    def sd(self, f, p):
        return p["sigma"] * np.abs(f) ** p["alpha"]


@dataclass(frozen=True)
class LogNormalError(ErrorModel):
    """ln y ~ N(ln f, sigma²): multiplicative error; the NLL includes the Jacobian ln y (density of y)."""

    sigma: float | None = None
    name: ClassVar[str] = "lognormal"
    equation: ClassVar[str] = "ln y = ln f + ε, ε ~ N(0, σ²)"

    def sd(self, f, p):
        return np.broadcast_to(p["sigma"], np.shape(f))

    def nll(self, y, f, p, censoring):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_y = np.log(y)
            out = _gaussian_nll(log_y - np.log(f), self.sd(f, p), censoring)
            return np.where(censoring == 0, out + log_y, out)

    def standardized(self, y, f, p):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log(y) - np.log(f)) / self.sd(f, p)

    def interval(self, f, p, z):
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = self.sd(f, p)
            return f * np.exp(-z * sd), f * np.exp(z * sd)


ERROR_MODELS: dict[str, type[ErrorModel]] = {
    cls.name: cls for cls in (AdditiveError, ProportionalError, CombinedError, PowerError, LogNormalError)
}


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
