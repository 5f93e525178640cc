"""Chemotherapy-induced effector sizes (issue 12, RMM1Host): what the published evidence fixes and what it leaves open.

The induction Emax and EC50 of paclitaxel (IL-1β, IL-6, MMP-9, EV niche signal), gemcitabine
(MMP-9) and doxorubicin (EV niche signal) were searched for; no fold change at a stated
exposure was found (each source line says what was searched). The one printed exposure that
bears on them, the drug concentrations over which Wang 2017 saw tumour-cell exosome release
rise, is recomputed here in the parameters' units, with the model's own hyperbola.
"""

from __future__ import annotations

import math

import pytest

from chemohost.citations import get_citation
from chemohost.parameters import get_parameter_set

HOST = get_parameter_set("RMM1Host").values

# Published numbers (Wang 2017, J Control Release 268:147, abstract)
PACLITAXEL_NM, DOXORUBICIN_NM = (2.0, 1000.0), (20.0, 1000.0)  # tested concentrations, nmol/L
PACLITAXEL_MW, DOXORUBICIN_MW = 853.9, 543.5  # g/mol (free bases)
EARLIER_PACLITAXEL_EV_EC50 = 20_000.0  # ng/mL, the placeholder (kept)
EISEMAN_V, EISEMAN_K = 0.324, 14.5  # L/kg and 1/day, Eiseman1994 mouse paclitaxel PK (MODEL_SPEC §5.3)

INDUCTION = [f"{drug} {channel} induction {what}" for drug, channel in (
    ("Paclitaxel", "IL-1beta"), ("Paclitaxel", "IL-6"), ("Paclitaxel", "MMP-9"), ("Paclitaxel", "EV niche signal"),
    ("Gemcitabine", "MMP-9"), ("Doxorubicin", "EV niche signal")) for what in ("Emax [-]", "EC50 [ng/mL]")]


def _ng_per_ml(nmol_per_l, mw):
    return tuple(c * mw / 1000.0 for c in nmol_per_l)


@pytest.mark.parametrize("name", INDUCTION)
def test_every_induction_value_states_its_search_and_range(name):
    value = HOST[name]
    assert value.tag in ("proposed", "U"), name  # no fold change at a stated exposure was found
    assert "searched" in value.source.lower() or "consistent with" in value.source, name
    low, high = value.range
    assert low <= value.value <= high and value.range_rationale.strip(), name
    if value.citation:
        get_citation(value.citation)


def test_paclitaxel_ev_ec50_range_reaches_the_top_concentration_at_which_exosome_release_rose():
    """Kept at the placeholder (at 854 ng/mL V18 fails, see the source line); the bound is the range's low end."""
    value = HOST["Paclitaxel EV niche signal induction EC50 [ng/mL]"]
    high = _ng_per_ml(PACLITAXEL_NM, PACLITAXEL_MW)[1]
    assert value.value == EARLIER_PACLITAXEL_EV_EC50
    assert value.range[0] == pytest.approx(high, abs=0.15)  # rounded to 1 ng/mL
    assert value.citation == "Wang2017Exosomes" and "V18 then fails" in value.source


def test_the_placeholder_would_hardly_respond_at_the_tested_concentrations():
    """Fraction of Emax, C/(EC50 + C), at the top tested concentration: 4% with the placeholder, 50% at the bound."""
    low, top = _ng_per_ml(PACLITAXEL_NM, PACLITAXEL_MW)
    hill = HOST["EV niche signal induction Hill coefficient [-]"].value
    assert hill == 1.0  # the source line's arithmetic uses the hyperbola

    def fraction(ec50):
        return top / (ec50 + top)

    assert fraction(HOST["Paclitaxel EV niche signal induction EC50 [ng/mL]"].value) == pytest.approx(0.04, abs=0.005)
    assert fraction(HOST["Paclitaxel EV niche signal induction EC50 [ng/mL]"].range[0]) == pytest.approx(0.5, abs=1e-3)


def test_time_above_the_ev_ec50_after_a_25_mg_per_kg_bolus():
    """One-compartment Eiseman PK: C0 = dose/V, time above EC50 = ln(C0/EC50)/k (0.09 day; 0.31 at the bound)."""
    c0 = 25.0 / EISEMAN_V * 1000.0  # mg/kg / (L/kg) = mg/L = 1000 ng/mL
    assert c0 == pytest.approx(77_000, rel=0.01)
    value = HOST["Paclitaxel EV niche signal induction EC50 [ng/mL]"]
    assert math.log(c0 / value.value) / EISEMAN_K == pytest.approx(0.09, abs=0.005)
    assert math.log(c0 / value.range[0]) / EISEMAN_K == pytest.approx(0.31, abs=0.005)


def test_doxorubicin_ev_ec50_lies_in_the_concentrations_at_which_exosome_release_rose():
    value = HOST["Doxorubicin EV niche signal induction EC50 [ng/mL]"]
    low, high = _ng_per_ml(DOXORUBICIN_NM, DOXORUBICIN_MW)
    assert value.range == pytest.approx((low, high), abs=0.6)  # rounded to 0.1 and 1 ng/mL
    assert low <= value.value <= high and value.citation == "Wang2017Exosomes"
