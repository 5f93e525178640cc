"""Adjuvant-agent values computed from published numbers (issue 12, AdjuvantAgentsMouse).

Each upgraded value is recomputed from the numbers printed in its source, so a change to the
value or to the arithmetic fails. The published numbers are written out once, beside the
citation they were read in.
"""

from __future__ import annotations

import math

import pytest
from scipy.optimize import brentq

from chemohost.citations import get_citation
from chemohost.drugs import get_drug
from chemohost.parameters import get_parameter_set

AGENTS = get_parameter_set("AdjuvantAgentsMouse").values

# Published numbers (see each value's source line)
IL1RA_KD_MURINE_IL1R = 150e-12  # mol/L, EL4 cells, Dripps 1991
IL1RA_EXCESS_FOR_HALF_BLOCK = 100.0  # "up to 100-fold in excess" of IL-1, Arend 1990
SB3CT_FORMULA = {"C": 15, "H": 14, "O": 3, "S": 2}  # C15H14O3S2, SB3CTVendor
SB3CT_MMP9_KI_NM = (120.0, 600.0)  # nmol/L, SB3CTVendor
ATOMIC_MASS = {"C": 12.011, "H": 1.008, "O": 15.999, "S": 32.06}  # g/mol, standard atomic weights
# WHI-P131 (Uckun 1999, abstract), the small-molecule class value for i.p. dosing in mice and rats
WHIP131_IP_TMAX_MIN = {"mouse": 10.0, "rat": 24.8}  # min
WHIP131_IP_HALF_LIFE_MIN = {"mouse": 123.6, "rat": 51.8}  # min, terminal half-life after i.p. dosing
WHIP131_IP_BIOAVAILABILITY = 0.95  # "95% for rats, as well as for mice"
JP11646_AUC_NG_H_ML = {"iv": 11065.0, "ip": 11024.0}  # CD-1 mice, JP11646AACR2014
JP11646_DOSE_MG_KG = {"iv": 20.0, "ip": 25.0}
INCB3344_ORAL_BIOAVAILABILITY = 0.47  # Brodmerkel 2005, as quoted
INCB3344_IV_HALF_LIFE_H = 1.0  # Brodmerkel 2005, as quoted
MIN_PER_DAY = 1440.0
P1C11_SCFV_KDR_KD = (2.1e-9, 5.9e-9)  # mol/L, BIAcore, the two VEGF-blocking anti-KDR scFv of Zhu 1998

UPGRADED = ("Anakinra coverage IC50 [ng/mL]", "MMP-9 inhibitor coverage IC50 [ng/mL]",
            "MMP-9 inhibitor molecular weight [g/mol]", "CCR2 antagonist absorption rate [1/day]",
            "DC101 coverage IC50 [ng/mL]")


def _ng_per_ml(molar, mw):
    return molar * mw * 1e6  # mol/L × g/mol = g/L; × 1e6 → ng/mL


@pytest.mark.parametrize("name", UPGRADED)
def test_upgraded_values_are_computed_and_cited(name):
    value = AGENTS[name]
    assert value.tag == "C" and value.citation, name
    get_citation(value.citation)
    if value.range is not None:
        low, high = value.range
        assert low <= value.value <= high and value.range_rationale.strip(), name


def test_anakinra_ic50_is_the_excess_needed_over_il1_at_its_kd():
    mw = AGENTS["Anakinra molecular weight [g/mol]"].value
    value = AGENTS["Anakinra coverage IC50 [ng/mL]"]
    assert value.value == pytest.approx(_ng_per_ml(IL1RA_EXCESS_FOR_HALF_BLOCK * IL1RA_KD_MURINE_IL1R, mw), rel=0.01)
    assert value.range == pytest.approx([_ng_per_ml(k * IL1RA_KD_MURINE_IL1R, mw) for k in (10, 1000)], rel=0.01)
    get_citation("Dripps1991")


def test_dc101_ic50_is_the_sibling_anti_kdr_affinity_in_the_sets_igg_mass_units():
    # coverage C/(C + IC50) is the occupancy of a competitive blocker, so IC50 = Kd; the weaker
    # of the two published affinities, converted with the set's own DC101 molecular weight
    mw = AGENTS["DC101 molecular weight [g/mol]"].value
    value = AGENTS["DC101 coverage IC50 [ng/mL]"]
    assert value.value == pytest.approx(_ng_per_ml(max(P1C11_SCFV_KDR_KD), mw), rel=0.002)
    assert value.range[0] == pytest.approx(_ng_per_ml(min(P1C11_SCFV_KDR_KD), mw), rel=0.002)
    assert value.citation == "Zhu1998"
    # 800 ug q3d (the reference schedule) still covers VEGFR2 at the trough: dose/V decays with CL/V
    v = AGENTS["DC101 central volume [L]"].value * 0.02  # L, 20 g mouse
    k = AGENTS["DC101 clearance [L/day]"].value / AGENTS["DC101 central volume [L]"].value
    c_first_trough = 0.8e6 / (v * 1000) * math.exp(-3 * k)  # ng/mL after the first dose
    assert c_first_trough / (c_first_trough + value.value) > 0.99


def test_mmp9_inhibitor_is_sb3ct_throughout():
    """Molecular weight from the formula, in the PK set and the drug library alike; IC50 = Ki × MW."""
    mw = sum(n * ATOMIC_MASS[el] for el, n in SB3CT_FORMULA.items())
    set_mw = AGENTS["MMP-9 inhibitor molecular weight [g/mol]"].value
    assert set_mw == pytest.approx(mw, rel=1e-3)
    assert get_drug("mmp9_inhibitor").molecular_weight.value == set_mw
    ic50 = AGENTS["MMP-9 inhibitor coverage IC50 [ng/mL]"]
    ki = math.sqrt(math.prod(SB3CT_MMP9_KI_NM)) * 1e-9
    assert ic50.value == pytest.approx(_ng_per_ml(ki, set_mw), rel=0.01)
    assert ic50.range == pytest.approx([_ng_per_ml(k * 1e-9, set_mw) for k in SB3CT_MMP9_KI_NM], rel=0.01)


def _tmax(ka, k):
    """Time of the peak of a one-compartment first-order absorption model."""
    return math.log(ka / k) / (ka - k)


def _ka_from_tmax(tmax, half_life):
    """The absorption rate whose one-compartment peak comes at ``tmax`` (same time unit), ka > k."""
    k = math.log(2) / half_life
    return brentq(lambda ka: _tmax(ka, k) - tmax, k * (1 + 1e-9), 1e3 / tmax)


def test_ccr2_antagonist_ip_absorption_is_the_whi_p131_class_value():
    """ka solves the published mouse i.p. Tmax; its range starts at the rat numbers of the same paper."""
    value = AGENTS["CCR2 antagonist absorption rate [1/day]"]
    mouse = _ka_from_tmax(WHIP131_IP_TMAX_MIN["mouse"], WHIP131_IP_HALF_LIFE_MIN["mouse"]) * MIN_PER_DAY
    rat = _ka_from_tmax(WHIP131_IP_TMAX_MIN["rat"], WHIP131_IP_HALF_LIFE_MIN["rat"]) * MIN_PER_DAY
    assert value.value == pytest.approx(mouse, rel=0.01)
    assert value.range == pytest.approx([rat, 2 * mouse], rel=0.01)
    get_citation("Uckun1999")
    # with INCB3344's own elimination (t1/2 1 h) the model's i.p. peak comes within minutes (8.5 min)
    k = math.log(2) / INCB3344_IV_HALF_LIFE_H * 24.0
    assert _tmax(value.value, k) * MIN_PER_DAY == pytest.approx(8.5, abs=0.1)


def test_ccr2_antagonist_ip_bioavailability_is_the_whi_p131_value_inside_the_published_spread():
    value = AGENTS["CCR2 antagonist ip bioavailability [-]"]
    assert value.tag == "V" and value.value == WHIP131_IP_BIOAVAILABILITY
    assert value.citation == "Uckun1999"
    jp = (JP11646_AUC_NG_H_ML["ip"] / JP11646_DOSE_MG_KG["ip"]) / (JP11646_AUC_NG_H_ML["iv"] / JP11646_DOSE_MG_KG["iv"])
    assert jp == pytest.approx(0.80, abs=0.005)
    low, high = value.range
    assert low == INCB3344_ORAL_BIOAVAILABILITY and high == 1.0
    assert low <= jp <= value.value <= high
    get_citation("JP11646AACR2014")
