"""The one RECIST 1.1 rule (:mod:`chemohost.recist`) on hand-worked cases (Eisenhauer et al. 2009, §4.3.1).

Diameters: PR at ≥ 30 % below baseline; PD at ≥ 20 % above the nadir *and* ≥ 5 mm above it, the nadir
being the smallest sum before the assessment (baseline included); CR at or below the "gone" threshold.
Volumes: the sphere equivalents 0.7³ = 0.343 and 1.2³ = 1.728, no absolute increase. Both callers (the
study read-outs in :mod:`chemohost.outcomes` and the virtual trial) must agree with it.
"""

from __future__ import annotations

import numpy as np
import pytest

from chemohost.outcomes import recist
from chemohost.recist import RECIST_CLASSES, assess, best_overall, sphere_diameter, sphere_volume
from chemohost.trial._endpoints import recist_endpoints

NAMES = np.array(["baseline", *RECIST_CLASSES])


def classes(values, kind="diameter", complete_below=0.0):
    return list(NAMES[assess(np.array([values], float), kind, complete_below)[0]][1:])


@pytest.mark.parametrize("values, expected", [
    ([100, 70], ["PR"]),            # exactly −30 %: PR (inclusive)
    ([100, 70.1], ["SD"]),          # −29.9 %
    ([90, 63], ["PR"]),             # 0.7 × 90 is 62.99999999999999 in floating point; 63 is on the boundary
    ([50, 60], ["PD"]),             # exactly +20 % and +10 mm from the baseline (the first nadir)
    ([50, 59.9], ["SD"]),           # +19.8 %
    ([20, 24], ["SD"]),             # +20 % but only +4 mm
    ([20, 25], ["PD"]),             # +25 % and exactly +5 mm
    ([10, 15], ["PD"]),             # +50 % and exactly +5 mm
    ([10, 14.9], ["SD"]),           # +49 % but +4.9 mm
    ([100, 40, 60], ["PR", "PD"]),  # 60 is −40 % from baseline but +50 %, +20 mm from the nadir 40: PD first
    ([100, 40, 47.9], ["PR", "PR"]),  # +19.75 % from the nadir
    ([100, 60, 50, 59], ["PR", "PR", "PR"]),  # +18 % from the nadir 50 (not from 60, the value before)
    ([100, 60, 50, 60], ["PR", "PR", "PD"]),  # +20 % and +10 mm from the nadir 50
    ([100, 125, 150], ["PD", "PD"]),  # nadir stays the baseline; 150 ≥ 1.2 × 100
])
def test_diameter_boundaries(values, expected):
    assert classes(values) == expected


def test_complete_response_threshold_is_inclusive():
    assert classes([100, 5.0, 5.01, 0.0], complete_below=5.0) == ["CR", "PR", "CR"]
    assert classes([100, 0.0, 1e-12]) == ["CR", "PR"]  # threshold 0: only a vanished lesion is CR
    # below the threshold a regrowth is still CR; above it, PD from the nadir 0 needs +5 mm
    assert classes([100, 1.0, 4.0, 6.0], complete_below=5.0) == ["CR", "CR", "PD"]


def test_volumes_are_the_sphere_equivalents_of_diameters():
    """Sphere volumes of diameter curves classify as the diameters do wherever the +5 mm rule does not bind;
    exact boundaries (0.7 and 1.2 in diameter) stay on them after the cube."""
    diameters = np.array([[100, 70, 70.1, 84.0, 83.9], [50, 35, 42, 41.9, 60], [80, 56, 90, 120, 40]], float)
    volumes = sphere_volume(diameters)
    np.testing.assert_array_equal(assess(diameters, "diameter"), assess(volumes, "volume"))
    np.testing.assert_allclose(sphere_diameter(volumes), diameters, rtol=1e-14)
    assert classes([1000, 343, 1728 * 0.343 * 0.999], "volume") == ["PR", "SD"]  # +72.7 % from the nadir 343
    assert classes([1000, 343, 1728 * 0.343], "volume") == ["PR", "PD"]
    assert classes([20, 24.5], "diameter") == ["SD"]  # +4.5 mm: the volume form has no absolute rule
    assert classes(sphere_volume([20, 24.5]), "volume") == ["PD"]


def test_best_overall_response_up_to_the_first_progression():
    times = np.array([0.0, 42, 84, 126, 168])
    codes = assess(np.array([
        [100, 60, 50, 65, 70],     # PR, PR, PD (65 ≥ 1.2 × 50, +15 mm), then ignored
        [100, 125, 90, 60, 20],    # PD at once: later shrinkage does not count
        [100, 90, 95, 92, 91],     # SD throughout, no PD
        [100, 3, 2, 2, 2],         # CR with a 5 mm threshold
    ], float), "diameter", complete_below=5.0)
    best, pd_time, progressed = best_overall(times, codes)
    assert list(NAMES[best]) == ["PR", "PD", "SD", "CR"]
    np.testing.assert_array_equal(pd_time, [126, 42, np.nan, np.nan])
    np.testing.assert_array_equal(progressed, [True, True, False, False])
    # an SD before sd_min_duration days does not count: early SD then PD is PD; early SD alone is none (0)
    codes = assess(np.array([[100, 95, 130], [100, 95, 96]], float), "diameter")
    best, pd_time, _ = best_overall(np.array([0.0, 21, 42]), codes, sd_min_duration=56.0)
    assert list(NAMES[best]) == ["PD", "baseline"] and pd_time[0] == 42


def test_rows_are_independent():
    rng = np.random.default_rng(3)
    curves = rng.lognormal(np.log(60), 0.4, (50, 6))
    times = np.arange(6) * 42.0
    together = best_overall(times, assess(curves, "diameter", 5.0))
    for i in range(0, 50, 7):
        alone = best_overall(times, assess(curves[i : i + 1], "diameter", 5.0))
        for a, b in zip(together, alone):
            np.testing.assert_array_equal(a[i : i + 1], b)


def test_outcomes_and_trial_use_the_same_rule():
    """The study read-out (one curve, volume or diameter form) and the trial (scans of diameters) give the
    classes and progression times of the shared rule."""
    times = np.array([0.0, 42, 84, 126, 168])
    sld = np.array([[100, 60, 50, 65, 70], [40, 44, 46, 47, 48], [90, 63, 70, 80, 100]], float)
    best, pd_time, progressed = best_overall(times, assess(sld, "diameter", 5.0))
    t_pd, t_progressed, t_best = recist_endpoints(times, sld, cr_below=5.0)
    np.testing.assert_array_equal(t_best + 1, best)
    np.testing.assert_array_equal(t_pd, pd_time)
    np.testing.assert_array_equal(t_progressed, progressed)
    for row, b, p in zip(sld, best, pd_time):
        one = recist(times, row, kind="diameter", complete_below=5.0)
        assert one.best_overall_response == NAMES[b]
        assert one.time_to_progression == p or (np.isnan(p) and np.isnan(one.time_to_progression))
