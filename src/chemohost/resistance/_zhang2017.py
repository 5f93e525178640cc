"""Zhang et al. 2017 three-population Lotka–Volterra discrete map (adaptive abiraterone).

Exact NumPy/Python port of the reference discrete map described in MODEL_SPEC §4.4 and
VALIDATION V10, cite ``Zhang2017`` [V-code, cunninghamjj
``Applying-evolutionary-principles-to-optimize-control-of-mcrpc``: ``Main.m``,
``ADT_ONLY.m``, ``ABI_ADT.m``].

Units: populations are in arbitrary cell units (carrying capacity 800), PSA is in the
same arbitrary units (steady state 5·Σx), and one step is one "generation"
(dimensionless; no calendar time is implied).

Per-step order (VALIDATION V10 conventions, steps numbered 1…``steps``):

1. abiraterone on/off decision from the previous step's PSA (at ``treatment_start``
   abiraterone is switched on for "continuous" and "adaptive"; "adaptive" then switches
   off when PSA < ``off_threshold`` and back on when PSA > ``on_threshold``);
2. X and K_TP from τ, the number of steps since the current switch-on (τ = 1 at each
   switch-on): X = 1.5·e^{−0.1(τ−1)}, K_TP = 800·e^{−0.05(τ−1)}; off abiraterone
   X = 1.5, K_TP = 800;
3. all G_i = r_i·(K_i − Σ_j a_ij·x_j)/K_i from the pre-step x (simultaneous), with
   K_T+ = X·x_TP;
4. x ← x + x·G;
5. floor: x_i ≤ 0.1 (including −∞) or NaN → 0.1;
6. K_T− ← 1.0001·K_T− if x_T−/Σx > 0.99;
7. PSA ← PSA + Σx − 0.2·PSA.

Step 6 after the update is equivalent to the reference code's check on the pre-step
frequency at the start of the next step.  One deliberate convention difference from the
MATLAB driver: there the adaptive arm runs one ADT-only step at step 10,000 before its
first switch-on (10,001); VALIDATION V10 fixes the first switch-on at step 10,000, which
is what this port does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Zhang2017Result", "zhang2017_map", "ZHANG2017_R", "zhang2017_competition"]

#: Per-step growth rates (T+, TP, T−) [1/generation] [V-code, Zhang2017].
ZHANG2017_R = (0.0025, 0.001, 0.0005)
_K_MAX = 800.0
_X_MAX = 1.5
_SIGMA_PSA = 0.2
_FLOOR = 0.1
_PROTOCOLS = ("adt", "continuous", "adaptive")


def _div(num: float, den: float) -> float:
    """IEEE-754 division (±inf, NaN) instead of Python's ZeroDivisionError."""
    if den != 0.0:
        return num / den
    if num != num or num == 0.0:
        return math.nan
    return math.copysign(math.inf, num) * math.copysign(1.0, den)


def zhang2017_competition(competition: str = "T+ most fit", a_tp_tminus: float = 0.598) -> np.ndarray:
    """Competition matrix a_ij (row i = effects on species i; order T+, TP, T−) [V-code, Zhang2017].

    ``a_tp_tminus`` only applies to "T+ most fit"; the reference code literally holds
    ``0598`` (= 598), 0.598 being the presumed intent.
    """
    if competition == "T+ most fit":
        return np.array([[1.0, 0.402, 0.794], [0.010, 1.0, float(a_tp_tminus)], [0.206, 0.990, 1.0]])
    if competition == "TP most fit":
        return np.array([[1.0, 0.598, 0.794], [0.010, 1.0, 0.206], [0.402, 0.990, 1.0]])
    raise ValueError(f"competition must be 'T+ most fit' or 'TP most fit', got {competition!r}")


@dataclass(frozen=True)
class Zhang2017Result:
    """Trajectory of the Zhang 2017 map; row k of each array is the state after step k + 1.

    Attributes
    ----------
    x : (steps, 3) array, populations (T+, TP, T−) [arbitrary cell units] after each step.
    psa : (steps,) array, PSA [arbitrary units] after each step.
    abiraterone_on : (steps,) bool array, abiraterone given during each step.
    takeover_step : first (1-based) step with T− > 50% of Σx, or None.
    on_fraction : fraction of steps ``treatment_start``…``steps`` on abiraterone.
    switch_on_steps : 1-based steps at which abiraterone was switched on (τ = 1).
    cycles : number of abiraterone on-periods (= len(switch_on_steps)).
    """

    protocol: str
    x: np.ndarray
    psa: np.ndarray
    abiraterone_on: np.ndarray
    takeover_step: int | None
    on_fraction: float
    switch_on_steps: tuple[int, ...]
    cycles: int

    @property
    def final(self) -> np.ndarray:
        """State (T+, TP, T−) after the last step."""
        return self.x[-1]


def zhang2017_map(protocol: str, competition: str = "T+ most fit", a_tp_tminus: float = 0.598,
                  steps: int = 30_000, treatment_start: int = 10_000, on_threshold: float = 3000.0,
                  off_threshold: float = 1500.0) -> Zhang2017Result:
    """Run the Zhang 2017 discrete map for ``protocol`` in {"adt", "continuous", "adaptive"}.

    ADT only for steps 1…``treatment_start`` − 1; from ``treatment_start`` to ``steps``:
    "adt" no abiraterone; "continuous" abiraterone every step; "adaptive" abiraterone on
    at ``treatment_start``, off once the previous step's PSA < ``off_threshold``, on again
    (τ reset to 1) once it is > ``on_threshold``. x0 = (600, 400, 0.1), PSA0 = Σx0.
    """
    if protocol not in _PROTOCOLS:
        raise ValueError(f"protocol must be one of {_PROTOCOLS}, got {protocol!r}")
    if steps < 1 or treatment_start < 1:
        raise ValueError("steps and treatment_start must be >= 1")
    a = zhang2017_competition(competition, a_tp_tminus).tolist()
    r1, r2, r3 = ZHANG2017_R
    a1, a2, a3 = a
    # Abiraterone ramps for τ = 1…steps, as in ABI_ADT.m: X_max·exp(0.1·(1 − τ)).
    tau = np.arange(1, steps + 1, dtype=float)
    x_ramp = (_X_MAX * np.exp(0.1 * (1.0 - tau))).tolist()
    k_ramp = (_K_MAX * np.exp(0.05 * (1.0 - tau))).tolist()

    x1, x2, x3 = _K_MAX * _X_MAX * 0.5, _K_MAX * 0.5, _FLOOR
    psa = x1 + x2 + x3
    k3 = _K_MAX
    xs = np.empty((steps, 3))
    psas = np.empty(steps)
    on_arr = np.zeros(steps, dtype=bool)
    switch_on: list[int] = []
    on = False
    t_idx = 0  # τ − 1
    for n in range(1, steps + 1):
        # 1. on/off decision from the previous step's PSA.
        if n >= treatment_start and protocol != "adt":
            if n == treatment_start:
                on, t_idx = True, 0
                switch_on.append(n)
            elif protocol == "adaptive":
                if on and psa < off_threshold:
                    on = False
                elif not on and psa > on_threshold:
                    on, t_idx = True, 0
                    switch_on.append(n)
        # 2. X and K_TP from τ.
        if on:
            xx, k2 = x_ramp[t_idx], k_ramp[t_idx]
            t_idx += 1
        else:
            xx, k2 = _X_MAX, _K_MAX
        k1 = x2 * xx
        # 3. simultaneous G from the pre-step x (left-to-right dot product as in MATLAB).
        # The ramps underflow to K = 0 after long on-periods: IEEE division as in MATLAB.
        g1 = r1 * _div(k1 - (a1[0] * x1 + a1[1] * x2 + a1[2] * x3), k1)
        g2 = r2 * _div(k2 - (a2[0] * x1 + a2[1] * x2 + a2[2] * x3), k2)
        g3 = r3 * _div(k3 - (a3[0] * x1 + a3[1] * x2 + a3[2] * x3), k3)
        # 4. update; 5. floor (x <= 0.1 incl. -inf, or NaN -> 0.1).
        x1 = x1 + x1 * g1
        x2 = x2 + x2 * g2
        x3 = x3 + x3 * g3
        x1 = _FLOOR if (x1 <= _FLOOR or x1 != x1) else x1
        x2 = _FLOOR if (x2 <= _FLOOR or x2 != x2) else x2
        x3 = _FLOOR if (x3 <= _FLOOR or x3 != x3) else x3
        total = x1 + x2 + x3
        # 6. T− carrying capacity creeps up in a T−-only tumour.
        if x3 / total > 0.99:
            k3 = k3 * 1.0001
        # 7. PSA.
        psa = psa + total - _SIGMA_PSA * psa
        xs[n - 1] = (x1, x2, x3)
        psas[n - 1] = psa
        on_arr[n - 1] = on

    frac = xs[:, 2] / xs.sum(axis=1)
    hit = np.flatnonzero(frac > 0.5)
    takeover = int(hit[0]) + 1 if hit.size else None
    after = on_arr[treatment_start - 1:]
    on_fraction = float(after.mean()) if after.size else 0.0
    return Zhang2017Result(protocol=protocol, x=xs, psa=psas, abiraterone_on=on_arr,
                           takeover_step=takeover, on_fraction=on_fraction,
                           switch_on_steps=tuple(switch_on), cycles=len(switch_on))
