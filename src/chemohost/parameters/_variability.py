"""Log-normal inter-individual variability of parameters in a set.

An individual's value is ``typical * exp(eta)`` with ``eta ~ N(0, Omega)``:
``omega`` holds the standard deviation of ``eta`` (SD of the log value) per
parameter, and correlation blocks give the correlation between the ``eta`` of
listed parameters (uncorrelated otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .._errors import ParameterError
from ._value import ParameterValue

__all__ = ["Correlation", "LogNormalVariability"]


@dataclass(frozen=True)
class Correlation:
    """Correlation matrix between the log values of ``parameters`` (in that order)."""

    parameters: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]
    tag: str
    source: str
    citation: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", tuple(self.parameters))
        object.__setattr__(self, "matrix", tuple(tuple(float(x) for x in row) for row in self.matrix))
        # validates tag and source the same way as a value
        ParameterValue(1.0, "-", self.tag, self.source, self.citation)
        n = len(self.parameters)
        if n < 2 or len(set(self.parameters)) != n:
            raise ParameterError(f"correlation block needs at least two distinct parameters, got {list(self.parameters)}")
        r = np.asarray(self.matrix)
        if r.shape != (n, n):
            raise ParameterError(f"correlation matrix for {list(self.parameters)} must be {n}x{n}, got shape {r.shape}")
        if not np.allclose(r, r.T) or not np.allclose(np.diag(r), 1.0) or np.any(np.abs(r) > 1.0):
            raise ParameterError(
                f"correlation matrix for {list(self.parameters)} must be symmetric, "
                "with unit diagonal and entries in [-1, 1]"
            )
        if np.linalg.eigvalsh(r).min() < -1e-10:
            raise ParameterError(f"correlation matrix for {list(self.parameters)} is not positive semi-definite")


@dataclass(frozen=True)
class LogNormalVariability:
    """Inter-individual variability: SD of the log value per parameter, and correlations.

    Parameters
    ----------
    omega:
        Parameter name → :class:`ParameterValue` with the SD of the log value
        (unit ``"-"``), with its own tag and source.
    correlations:
        Correlation blocks between parameters listed in ``omega``.
    """

    omega: Mapping[str, ParameterValue]
    correlations: tuple[Correlation, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "omega", MappingProxyType(dict(self.omega)))
        object.__setattr__(self, "correlations", tuple(self.correlations))
        for name, sd in self.omega.items():
            if sd.unit != "-" or sd.value < 0:
                raise ParameterError(f"omega of '{name}' must be a non-negative SD of the log value with unit '-'")
        seen: set[str] = set()
        for block in self.correlations:
            missing = [p for p in block.parameters if p not in self.omega]
            if missing:
                raise ParameterError(f"correlated parameters {missing} have no omega (SD of the log value)")
            if seen & set(block.parameters):
                raise ParameterError(f"parameters {sorted(seen & set(block.parameters))} appear in two correlation blocks")
            seen |= set(block.parameters)

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the variable parameters, in the order of :meth:`covariance`."""
        return tuple(self.omega)

    def covariance(self) -> np.ndarray:
        """Covariance matrix of the log values, rows and columns in :attr:`parameters` order."""
        names = self.parameters
        sd = np.array([self.omega[n].value for n in names])
        corr = np.eye(len(names))
        index = {n: i for i, n in enumerate(names)}
        for block in self.correlations:
            idx = [index[p] for p in block.parameters]
            corr[np.ix_(idx, idx)] = np.asarray(block.matrix)
        return corr * np.outer(sd, sd)

    def merged(self, later: LogNormalVariability) -> LogNormalVariability:
        """This variability updated by ``later``: later omegas win, and a block of
        ``later`` replaces every earlier block sharing a parameter with it."""
        taken = {p for block in later.correlations for p in block.parameters}
        kept = tuple(b for b in self.correlations if not taken & set(b.parameters))
        return LogNormalVariability({**self.omega, **later.omega}, kept + later.correlations)
