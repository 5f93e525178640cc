"""Effector response half-lives read from the decay of an induced plasma level (issue 12, RMM1Host).

k_X = ln2/t1/2,X is the rate at which the excess X - 1 of an indirect response returns to baseline
once its stimulus has gone (mechanisms.host.effectors). A published time course read at the peak
and once after it gives t1/2 = dt x ln2 / ln(excess_peak / excess_later). Each upgraded value is
recomputed here from the numbers its source line prints, with that equation and the stated scaling.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from chemohost.citations import get_citation
from chemohost.parameters import get_parameter_set

HOST = get_parameter_set("RMM1Host").values

# Mekaouche 1996 (abstract): plasma IL-1beta after 25 ug/kg LPS i.a. in rats, fold over baseline
IL1B_PEAK_FOLD, IL1B_PEAK_MIN = 13.0, 120.0
IL1B_LATER_FOLD, IL1B_LATER_MIN = (7.0, 9.0), 480.0

# VEGF mRNA half-lives [min] once the hypoxic stimulus has gone (normoxia), and under hypoxia
VEGF_MRNA_NORMOXIA_MIN = {"Shima1995VEGF": (30.0, 45.0), "Levy1996VEGF": (43.0, 43.0)}
VEGF_MRNA_HYPOXIA_MAX_H = 8.0  # Shima 1995: 6-8 h

# Stated assumptions of the source lines (as for the G-CSF half-life, tests/test_evidence_kinetics.py)
RAT_WEIGHT_KG, MOUSE_WEIGHT_KG, EXPONENT = 0.25, 0.02, 0.25
RAT_TO_MOUSE = (MOUSE_WEIGHT_KG / RAT_WEIGHT_KG) ** EXPONENT


def decay_half_life(peak_fold: float, later_fold: float, dt: float) -> float:
    """Half-life of the excess over baseline from two readings of a first-order return to 1."""
    if not (peak_fold > later_fold > 1.0 and dt > 0):
        raise ValueError("need peak > later > baseline 1 and dt > 0")
    return dt * math.log(2) / math.log((peak_fold - 1.0) / (later_fold - 1.0))


def test_decay_half_life_recovers_a_simulated_indirect_response():
    """The formula is the model's own: simulate dX/dt = k(1 + s(t)) - kX with a stimulus that stops."""
    t_half = 0.3  # day
    k = math.log(2) / t_half
    sol = solve_ivp(lambda t, x: k * (1 + (8.0 if t < 0.5 else 0.0)) - k * x, (0, 2.0), [1.0],
                    dense_output=True, rtol=1e-10, atol=1e-12, max_step=0.01)
    x1, x2 = sol.sol(0.6)[0], sol.sol(1.1)[0]
    assert decay_half_life(x1, x2, 0.5) == pytest.approx(t_half, rel=1e-5)


@pytest.mark.parametrize("bad", [(5.0, 6.0, 1.0), (5.0, 1.0, 1.0), (5.0, 3.0, 0.0)])
def test_decay_half_life_rejects_readings_that_do_not_decay(bad):
    with pytest.raises(ValueError):
        decay_half_life(*bad)


def test_il1b_half_life_is_the_rat_lps_decay_scaled_to_a_mouse():
    value = HOST["IL-1beta response half-life [day]"]
    assert value.tag == "C" and value.unit == "day"
    assert get_citation(value.citation).year == 1996
    dt_h = (IL1B_LATER_MIN - IL1B_PEAK_MIN) / 60.0
    rat_h = decay_half_life(IL1B_PEAK_FOLD, float(np.mean(IL1B_LATER_FOLD)), dt_h)
    assert rat_h == pytest.approx(7.72, abs=0.01)  # the number printed in the source line
    assert value.value == pytest.approx(rat_h * RAT_TO_MOUSE / 24.0, rel=0.01)
    # range: the 7-fold reading scaled to a mouse, up to the 9-fold reading unscaled
    low = decay_half_life(IL1B_PEAK_FOLD, IL1B_LATER_FOLD[0], dt_h) * RAT_TO_MOUSE / 24.0
    high = decay_half_life(IL1B_PEAK_FOLD, IL1B_LATER_FOLD[1], dt_h) / 24.0
    assert value.range == pytest.approx([low, high], rel=0.01)
    assert low < value.value < high and value.range_rationale.strip()


def test_vegf_half_life_is_the_mean_normoxic_mrna_half_life():
    """Plasma VEGF follows its production within minutes, so the excess falls as fast as its mRNA decays."""
    value = HOST["VEGF-A response half-life [day]"]
    assert value.tag == "C" and value.unit == "day" and value.citation in VEGF_MRNA_NORMOXIA_MIN
    midpoints = [np.mean(r) for r in VEGF_MRNA_NORMOXIA_MIN.values()]
    assert value.value == pytest.approx(np.mean(midpoints) / 1440.0, rel=0.01)
    low = min(r[0] for r in VEGF_MRNA_NORMOXIA_MIN.values()) / 1440.0
    assert value.range == pytest.approx([low, VEGF_MRNA_HYPOXIA_MAX_H / 24.0], rel=0.01)
    # the protein itself is far faster: rhVEGF165 33.7 min in patients (Eppler 2002), scaled to a mouse
    protein_mouse_day = 33.7 * (MOUSE_WEIGHT_KG / 70.0) ** EXPONENT / 1440.0
    assert protein_mouse_day < value.value / 5
    # the rate stays below the fastest host state already in the model (G-CSF), so no new stiffness
    k_gcsf = math.log(2) / HOST["G-CSF response half-life [day]"].value
    assert math.log(2) / value.value < k_gcsf
    for key in VEGF_MRNA_NORMOXIA_MIN:
        get_citation(key)
