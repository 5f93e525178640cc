"""The Hahnfeldt 1999 tumour–vasculature model as a fittable growth law.

dV/dt = −λ1·V·ln(V/K), dK/dt = b·V − d·K·V^{2/3} (λ2 = 0), from V(t0) = V0 and
K(t0) = K0. There is no closed form: each evaluation integrates the model with
:func:`chemohost.simulate` (``growth: hahnfeldt, vasculature: hahnfeldt``), one
patient per parameter vector, so a whole finite-difference Jacobian is one
batched call. The kernel compiles once (about 10 s, then cached on disk).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ..engine import simulate
from ..model import Model
from ..quantities import INITIAL_VOLUME, TUMOUR_VOLUME
from ._errors import replaced_bounds

__all__ = ["HahnfeldtLaw"]

LAMBDA1 = "Hahnfeldt tumour growth rate [1/day]"
B = "Vascular stimulation rate [1/day]"
D = "Vascular inhibition rate [1/(day*mm2)]"
K0 = "Initial vascular carrying capacity [mm3]"
LAMBDA2 = "Spontaneous vascular loss rate [1/day]"


@functools.cache
def _model():
    return Model({"growth": "hahnfeldt", "vasculature": "hahnfeldt"})


@dataclass(frozen=True)
class HahnfeldtLaw:
    """Hahnfeldt et al. 1999 V–K model fitted for λ1, b, d and K0 (λ2 fixed, 0 by default).

    ``rtol``/``atol`` are the integration tolerances; ``threads`` the numba
    threads per call (the batches are small).
    """

    name: str = "hahnfeldt"
    parameter_names: tuple[str, ...] = (LAMBDA1, B, D, K0)
    initial_guesses: tuple[tuple[float, ...], ...] = (
        (0.192, 5.85, 0.00873, 625.0),  # Hahnfeldt 1999 Table 1 (control LLC)
        (1.0, 1.0, 0.005, 10.0),
        (0.5, 0.3, 0.001, 50.0),
    )
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=lambda: {
        LAMBDA1: (1e-4, 50.0), B: (1e-5, 100.0), D: (1e-8, 1.0), K0: (1e-2, 1e5)})
    spontaneous_loss: float = 0.0
    rtol: float = 1e-10
    atol: float = 1e-10
    threads: int = 1
    fd_step: float = 1e-5
    citations: tuple[str, ...] = ("Hahnfeldt1999", "Benzekry2014")
    equation: str = "dV/dt = −λ1·V·ln(V/K); dK/dt = −λ2·K + b·V − d·K·V^(2/3); K(t0) = K0"

    @property
    def lower(self) -> np.ndarray:
        return np.array([self.bounds[n][0] for n in self.parameter_names])

    @property
    def upper(self) -> np.ndarray:
        return np.array([self.bounds[n][1] for n in self.parameter_names])

    def fixed_parameters(self, v0: float) -> dict[str, float]:
        return {INITIAL_VOLUME: float(v0), LAMBDA2: float(self.spontaneous_loss)}

    def with_bounds(self, bounds: Mapping[str, tuple[float, float]]) -> HahnfeldtLaw:
        return replace(self, bounds=replaced_bounds(self.name, self.bounds, tuple(self.bounds), bounds))

    def evaluate(self, times: np.ndarray, params: np.ndarray, v0=1.0, t0: float = 0.0) -> np.ndarray:
        """ln V at ``times`` for each row of ``params``; NaN where the solver failed.

        ``v0`` [mm3] is one initial volume or one per row of ``params``.
        """
        params = np.atleast_2d(np.asarray(params, dtype=float))
        times = np.asarray(times, dtype=float)
        grid, index = np.unique(times, return_inverse=True)
        values = {name: params[:, i] for i, name in enumerate(self.parameter_names)}
        values |= {name: np.full(len(params), v) for name, v in self.fixed_parameters(1.0).items()}
        values[INITIAL_VOLUME] = np.broadcast_to(np.asarray(v0, dtype=float), (len(params),))
        lead = 1 if grid[0] > t0 else 0  # report the start only when no observation falls on it
        ds = simulate(_model(), None, values, np.r_[[t0] * lead, grid], t0=t0, rtol=self.rtol, atol=self.atol,
                      threads=self.threads, save=[TUMOUR_VOLUME])
        volume = np.asarray(ds[TUMOUR_VOLUME].values, dtype=float)[:, lead:]
        volume[np.asarray(ds["solver_status"].values) != 0] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(volume)[:, index]
