"""RECIST 1.1 target-lesion response on arrays (Eisenhauer et al. 2009 Eur J Cancer 45:228): the one definition.

Both the study read-outs (:func:`chemohost.outcomes.recist`, :func:`chemohost.outcomes.recist_table`,
volumes) and the virtual trial (:mod:`chemohost.trial`, sums of diameters on scheduled scans) classify
with :func:`assess` and :func:`best_overall`, vectorised over patients (rows) and assessments (columns).

At each assessment after baseline, with x the sum of longest diameters (SLD) [mm] or the tumour volume
[mm3], x_0 the baseline and x_nadir the smallest value before this assessment (baseline included)::

    CR  x ≤ x_CR (lesions gone; e.g. 0, or a detection limit for simulated tumours)
    PD  diameters: x ≥ 1.2 · x_nadir and x − x_nadir ≥ 5 mm
        volumes:   x ≥ 1.728 · x_nadir               (1.2³, the volume of a sphere whose diameter grew 20 %)
    PR  diameters: x ≤ 0.7 · x_0;  volumes: x ≤ 0.343 · x_0   (0.7³)
    SD  otherwise

checked in that order (a lesion 30 % below baseline that has doubled from its nadir is PD). The
boundaries are inclusive, as in RECIST ("at least 30 % decrease", "at least 20 % increase"); a ratio
within :data:`BOUNDARY_RTOL` (relative) of a boundary counts as on it, so a sphere whose diameter is
exactly 0.7 × baseline is PR whether given as a diameter or as a volume. The +5 mm absolute increase
applies to diameters only; it makes CR and PD exclusive whenever x_CR ≤ 5 mm. A value that is NaN
(a failed solve) is SD and makes every later nadir NaN; callers that can, carry values forward.

The best overall response is the best assessment (CR > PR > SD > PD) up to and including the first PD,
unconfirmed (no 4-week confirmation of CR/PR, as RECIST 1.1 allows in randomised trials). An SD counts
towards it only at least ``sd_min_duration`` days after baseline (RECIST: "in general not less than
6–8 weeks"; 0 by default): an earlier SD followed by PD gives PD, and with neither PD nor a qualifying
response there is none (not evaluable).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["RECIST_CLASSES", "RECIST_THRESHOLDS", "BOUNDARY_RTOL", "assess", "best_overall", "sphere_volume",
           "sphere_diameter"]

RECIST_CLASSES = ("CR", "PR", "SD", "PD")
"""Response classes, best first; :func:`assess` codes them 1..4 (0 is the baseline / not evaluable)."""
RECIST_THRESHOLDS = {
    # kind: (PR bound on x/x_0, PD bound on x/x_nadir, PD absolute increase, unit)
    "diameter": (0.7, 1.2, 5.0, "mm"),
    "volume": (0.343, 1.728, 0.0, "mm3"),
}
"""Sphere equivalents: 0.343 = 0.7³ and 1.728 = 1.2³; a 5-mm-diameter lesion is π/6 · 5³ ≈ 65.4 mm³."""
BOUNDARY_RTOL = 1e-9
"""Relative distance from a boundary within which a value counts as on it (so that a diameter and its
sphere-equivalent volume classify alike)."""


def sphere_volume(diameter) -> np.ndarray:
    """Volume [mm3] of a sphere of diameter ``diameter`` [mm] (the sphere-equivalent volume of an SLD): π/6·d³."""
    return math.pi / 6 * np.asarray(diameter, float) ** 3


def sphere_diameter(volume) -> np.ndarray:
    """Diameter [mm] of a sphere of volume ``volume`` [mm3] (negative volumes read as 0): (6V/π)^(1/3)."""
    return np.cbrt(6.0 / math.pi * np.maximum(np.asarray(volume, float), 0.0))


def assess(values, kind: str, complete_below: float = 0.0) -> np.ndarray:
    """Response codes (0 baseline, 1 CR, 2 PR, 3 SD, 4 PD) of the curves ``values[m, n]``, column 0 the baseline.

    ``kind`` is ``"diameter"`` or ``"volume"`` (a key of :data:`RECIST_THRESHOLDS`); a value at or below
    ``complete_below`` [mm or mm3] is CR.
    """
    values = np.asarray(values, float)
    pr, pd_ratio, pd_abs, _ = RECIST_THRESHOLDS[kind]
    baseline = values[:, :1]
    nadir = np.minimum.accumulate(values, axis=1)
    nadir = np.concatenate([baseline, nadir[:, :-1]], axis=1)
    complete = values <= complete_below
    progression = (values >= pd_ratio * nadir * (1 - BOUNDARY_RTOL)) & (values > nadir)
    if pd_abs:
        progression &= values - nadir >= pd_abs * (1 - BOUNDARY_RTOL)
    partial = values <= pr * baseline * (1 + BOUNDARY_RTOL)
    codes = np.select([complete, progression, partial], [1, 4, 2], 3)
    codes[:, 0] = 0
    return codes


def best_overall(times, codes: np.ndarray, sd_min_duration: float = 0.0):
    """Best overall response, first PD and whether there was one, per row of ``codes`` (from :func:`assess`).

    Returns
    -------
    best, pd_time, progressed
        The best code up to and including the first PD (0: none qualifies), the time of the first PD
        (an entry of ``times``, not relative to baseline; NaN without PD) and whether a PD was seen.
    """
    times = np.asarray(times, float)
    is_pd = codes == 4
    progressed = is_pd.any(axis=1)
    first = np.where(progressed, np.argmax(is_pd, axis=1), codes.shape[1])
    early_sd = (codes == 3) & (times - times[0] < sd_min_duration)
    before = (np.arange(codes.shape[1]) <= first[:, None]) & (codes > 0) & ~early_sd
    best = np.where(before, codes, 99).min(axis=1)
    best[best == 99] = 0
    pd_time = np.where(progressed, times[np.minimum(first, codes.shape[1] - 1)], np.nan)
    return best, pd_time, progressed
