"""Effector kinetics computed from published numbers (issue 12, RMM1Host).

Each upgraded value is recomputed here from the numbers printed in its source, with the
model's own equation, so a change to the value or to the arithmetic fails. The published
numbers are written out once, beside the paper they were read in.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from chemohost.citations import get_citation
from chemohost.parameters import get_parameter_set

HOST = get_parameter_set("RMM1Host").values

# Published numbers (see each value's source line)
RAT_GCSF_IV_MRT_H = 1.341  # h, Tanaka 1991: rhG-CSF 5 ug/kg i.v., male Sprague-Dawley rats
HUMAN_GCSF_HALF_LIFE_H = (1.3, 4.2)  # h, Layton 1989
TUMOUR_ENDOTHELIUM_TPOT_D = (2.4, 13.0)  # days, Hobson & Denekamp 1984, five mouse tumours
DOXORUBICIN_UG_ML = (2.0, 6.0)  # Sinitskaya 2024: 24 h on coronary artery endothelial cells
IL1B_FOLD = (1.25, 3.44)  # IL1B expression at those concentrations
IL6_FOLD = (2.30, 2.66)  # IL6 expression at those concentrations

# Stated assumptions of the source lines
RAT_WEIGHT_KG, MOUSE_WEIGHT_KG, HUMAN_WEIGHT_KG, EXPONENT = 0.25, 0.02, 70.0, 0.25

UPGRADED = ("G-CSF response half-life [day]", "Homed EPC turnover rate [1/day]", "IL-1beta induction Hill coefficient [-]")


def _steady_state(c, emax, ec50, h):
    """X at dX/dt = 0 of the indirect response at constant C (mechanisms.host.effectors)."""
    return 1 + emax * c**h / (ec50**h + c**h)


def _rise_ratio(folds):
    return (folds[1] - 1) / (folds[0] - 1)


@pytest.mark.parametrize("name", UPGRADED)
def test_upgraded_values_are_computed_and_cited(name):
    value = HOST[name]
    assert value.tag == "C" and value.citation, name
    get_citation(value.citation)
    low, high = value.range
    assert low <= value.value <= high and value.range_rationale.strip(), name


def test_gcsf_half_life_is_the_rat_protein_half_life_scaled_to_a_mouse():
    rat = math.log(2) * RAT_GCSF_IV_MRT_H
    mouse_day = rat * (MOUSE_WEIGHT_KG / RAT_WEIGHT_KG) ** EXPONENT / 24
    value = HOST["G-CSF response half-life [day]"]
    assert value.value == pytest.approx(mouse_day, rel=0.01)
    # range: shortest human half-life scaled to a mouse, up to the unscaled rat value
    human_low = HUMAN_GCSF_HALF_LIFE_H[0] * (MOUSE_WEIGHT_KG / HUMAN_WEIGHT_KG) ** EXPONENT / 24
    assert value.range == pytest.approx([human_low, rat / 24], rel=0.01)


def test_homed_epc_turnover_is_the_tumour_endothelial_production_rate():
    tpot = math.sqrt(TUMOUR_ENDOTHELIUM_TPOT_D[0] * TUMOUR_ENDOTHELIUM_TPOT_D[1])
    value = HOST["Homed EPC turnover rate [1/day]"]
    assert value.value == pytest.approx(math.log(2) / tpot, rel=0.01)
    assert value.range == pytest.approx([math.log(2) / TUMOUR_ENDOTHELIUM_TPOT_D[1],
                                         math.log(2) / TUMOUR_ENDOTHELIUM_TPOT_D[0]], rel=0.01)


def test_il1b_hill_coefficient_is_the_least_steep_one_the_rise_allows():
    """The rise ratio for a tripling of C is below 3^h for every EC50, so h ≥ ln(ratio)/ln 3."""
    ratio = _rise_ratio(IL1B_FOLD)
    h_min = math.log(ratio) / math.log(DOXORUBICIN_UG_ML[1] / DOXORUBICIN_UG_ML[0])
    h = HOST["IL-1beta induction Hill coefficient [-]"].value
    assert h == pytest.approx(h_min, abs=0.01)
    ec50 = np.logspace(-2, 4, 200)  # ug/mL; Emax cancels in the ratio
    for hill in (1.0, h_min - 0.05):  # hyperbolic, or a little less steep than the bound: the rise is out of reach
        reached = (_steady_state(6.0, 1.0, ec50, hill) - 1) / (_steady_state(2.0, 1.0, ec50, hill) - 1)
        assert reached.max() < ratio
    # steeper than the bound: some EC50 reproduces the published ratio
    reached = (_steady_state(6.0, 1.0, ec50, h_min + 0.5) - 1) / (_steady_state(2.0, 1.0, ec50, h_min + 0.5) - 1)
    assert reached.min() < ratio < reached.max()


def test_il6_rise_does_not_determine_its_hill_coefficient():
    """Both h = 1 (kept) and steeper induction reproduce the IL-6 rise: the numbers do not pin h down."""
    ratio = _rise_ratio(IL6_FOLD)
    ec50 = np.logspace(-2, 4, 400)
    for hill in (HOST["IL-6 induction Hill coefficient [-]"].value, 3.0):
        reached = (_steady_state(6.0, 1.0, ec50, hill) - 1) / (_steady_state(2.0, 1.0, ec50, hill) - 1)
        assert reached.min() < ratio < reached.max()
    assert HOST["IL-6 induction Hill coefficient [-]"].tag == "proposed"
