"""Host-cell and metastasis values computed from published mouse numbers (issue 12, RMM1Host / MetastasisHost).

Each upgraded value is recomputed here from the numbers printed in its source, with the
model's own equation, so a change to the value or to the arithmetic fails. The published
numbers are written out once, beside the citation they were read in.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

import chemohost as ch
from chemohost.citations import get_citation
from chemohost.drugs import get_drug
from chemohost.parameters import get_parameter_set

HOST, MET = get_parameter_set("RMM1Host").values, get_parameter_set("MetastasisHost").values
N = "Number of metastases [-]"

# Published numbers (see each value's source line)
NEUTROPHIL_LIFETIME_MOUSE = 0.75  # day, Pillay 2010 (mouse circulating lifetime)
GCSF_KNOCKOUT_NEUTROPHILS = (0.20, 0.30)  # fraction of wild type, Lieschke 1994
BRDU_7_DAYS_MONOCYTES, BRDU_7_DAYS_TAMS = (0.75, 0.95), (0.30, 0.40)  # MammaryTAM2014
GEMCITABINE_ENDOTHELIAL_IC50_NM = 3.0  # nmol/L, Laquente 2008
SURVIVING_AT_24_H = 0.01  # Fidler 1970, "about 1%"
MMP9_KNOCKOUT_COLONY_RATIOS = (1 - 0.59, 1 - 0.81)  # LLC i.v.: MMP9Deficient1999, Acuff 2006
TSAI_NODULES, TSAI_DAY, TSAI_VOLUME = 6.33, 35.0, 4265.0  # Tsai 2011: lung nodules, day, tumour mm3
B16F1_IV_EFFICIENCY, B16F11_IV_EFFICIENCY = 0.0012, 0.0074  # lung metastases per i.v. cell, MetastaticInefficiency2012
MMP9_KNOCKOUT_LUNG_BURDEN_RATIO = 1 - 0.80  # MMTV-PyVT, spontaneous lung metastasis, Martin 2008
BENZEKRY_LLC_DECELERATION = 0.0809  # 1/day, Benzekry2014LLC (VALIDATION V9)
BENZEKRY_CODE_GAMMA = 1.0  # dissemination exponent fixed in the authors' code, Benzekry2020 (model.py, simulate_f.m)
EPC_VESSEL_SHARE = (0.07, 0.10)  # share of tumour vessels from BM-derived EPCs, MMTV-PyMT (Nolan 2007, review Table 1)
EPC_SHARE_RANGE = (0.01, 0.25)  # judgement within the published <0.01% .. 100% spread
GCSF_EPC_PER_UL = (0.007, 1.9)  # CD133+/VEGFR-2+ cells before and after G-CSF, Powell 2005
GCSF_CD34_CD133_PER_UL = (1.5, 52.4)  # same cohort, Hill 2005
GCSF_DOSE_NG_PER_KG_DAY = 10_000.0  # 10 ug/kg/day s.c. for 5 days, Hill 2005
FILGRASTIM_CL_ML_MIN_KG = 0.6  # filgrastim SmPC
TOCILIZUMAB_DAY4_NEUTROPHILS = (0.683, 0.442)  # fraction of baseline in the two tocilizumab groups, Lok 2017
TOCILIZUMAB_PLACEBO_DAY4 = 1.019  # placebo group, same study
VEGF_GENE_TRANSFER_EPC_RISE = 2.19  # EPCs up 219% after VEGF165 gene transfer (culture assay), Kalka 2000
VEGF_DAY7_FOLD_IM, VEGF_DAY7_FOLD_IMYO = 1.3, 1.8  # plasma VEGF on day 7 after intramuscular / intramyocardial transfer
VEGF_MEDIAN_IM_PG_ML = (38.0, 41.0)  # median plasma VEGF before and on day 7 after intramuscular transfer, Freedman 2002

UPGRADED = {"RMM1Host": ("Myeloid response half-life [day]", "Myeloid mobilisation by G-CSF [-]",
                         "Homed myeloid turnover rate [1/day]", "Gemcitabine CEP kill EC50 [ng/mL]",
                         "EPC vasculogenic support [1/day]", "CEP mobilisation by G-CSF [-]",
                         "CEP mobilisation by VEGF-A [-]", "IL-1 angiogenic support [1/day]",
                         "Myeloid mobilisation by IL-6 [-]"),
            "MetastasisHost": ("Metastatic dissemination coefficient [cell^(-gamma)/day]",
                               "Inoculated-cell arrest rate [1/day]", "MMP-9 colonisation gain [-]",
                               "Inoculated-cell establishment probability [-]", "MMP-9 dissemination gain [-]")}


def _mid(pair):
    return 0.5 * (pair[0] + pair[1])


@pytest.mark.parametrize("set_name,name", [(s, n) for s, names in UPGRADED.items() for n in names])
def test_upgraded_values_are_computed_and_cited(set_name, name):
    value = get_parameter_set(set_name).values[name]
    assert value.tag == "C" and value.citation, name
    get_citation(value.citation)
    low, high = value.range
    assert low <= value.value <= high and value.range_rationale.strip(), name


def test_myeloid_half_life_is_the_mouse_neutrophil_lifetime():
    """First-order loss: half-life = ln 2 × mean lifetime."""
    assert HOST["Myeloid response half-life [day]"].value == pytest.approx(math.log(2) * NEUTROPHIL_LIFETIME_MOUSE,
                                                                         rel=0.01)


def test_neutrophil_transit_time_is_four_mouse_circulating_lifetimes():
    """Friberg blood neutrophils leave at k_tr = 4/MTT (dCirc/dt = k_tr·(Tr3 − Circ)), so their mean lifetime is
    MTT/4; the mouse lifetime (Pillay 2010) sets MTT. The model's own Circ equation is checked symbolically."""
    value = get_parameter_set("MouseNeutrophils").values["Neutrophil mean transit time [day]"]
    assert value.tag == "C" and value.citation == "Pillay2010"
    assert value.value == pytest.approx(4 * NEUTROPHIL_LIFETIME_MOUSE, rel=1e-12)
    assert value.range[0] < value.value < value.range[1]
    model = ch.Model({"species": "mouse", "tumour": "absent", "growth": "none", "toxicity": "friberg"})
    circ = next(s for s in model.states if s.name == "Circulating neutrophils [1e9/L]")
    mtt = next(p for p in model.parameters if p.name == "Neutrophil mean transit time [day]")
    assert sympy.simplify(sympy.diff(model.rhs[circ.name], circ.sym) + 4 / mtt.sym) == 0

def test_gcsf_mobilisation_from_the_knockout_steady_state():
    """M_c = 1 + σ_MG·(G − 1) at G = 0 equals the knockout's residual neutrophils."""
    residual = _mid(GCSF_KNOCKOUT_NEUTROPHILS)
    value = HOST["Myeloid mobilisation by G-CSF [-]"]
    assert 1 + value.value * (0 - 1) == pytest.approx(residual, abs=1e-12)
    assert value.range[0] <= 1 - GCSF_KNOCKOUT_NEUTROPHILS[1] and 1 - GCSF_KNOCKOUT_NEUTROPHILS[0] <= value.range[1]


def test_homed_myeloid_turnover_from_brdu_labelling():
    """Labelled fraction after 7 days of BrdU: f = f_mono·(1 − e^(−7·δ_M)); the range spans the printed extremes."""
    def rate(tam, mono):
        return -math.log(1 - tam / mono) / 7.0

    value = HOST["Homed myeloid turnover rate [1/day]"]
    assert value.value == pytest.approx(rate(_mid(BRDU_7_DAYS_TAMS), _mid(BRDU_7_DAYS_MONOCYTES)), rel=0.01)
    assert value.range == pytest.approx([rate(BRDU_7_DAYS_TAMS[0], BRDU_7_DAYS_MONOCYTES[1]),
                                         rate(BRDU_7_DAYS_TAMS[1], BRDU_7_DAYS_MONOCYTES[0])], rel=0.01)


def test_gemcitabine_cep_kill_ec50_is_the_endothelial_ic50():
    mw = get_drug("gemcitabine").molecular_weight.value  # g/mol
    ng_per_ml = GEMCITABINE_ENDOTHELIAL_IC50_NM * 1e-9 * mw * 1e6  # mol/L × g/mol → g/L → ng/mL
    assert HOST["Gemcitabine CEP kill EC50 [ng/mL]"].value == pytest.approx(ng_per_ml, rel=0.01)


def test_epc_vasculogenic_support_from_the_published_vessel_share():
    """Hahnfeldt capacity: angiogenic production b·V, vasculogenic b_E·B_E·K (B_E = 1 at rest). A share f of new
    vessels from EPCs at the set point V = K gives b_E = f/(1 − f)·b, with b the LLC refit's stimulation rate."""
    b = get_parameter_set("Benzekry2014LLCHahnfeldt").values["Vascular stimulation rate [1/day]"].value

    def support(f):
        return f / (1 - f) * b

    value = HOST["EPC vasculogenic support [1/day]"]
    assert value.value == pytest.approx(support(_mid(EPC_VESSEL_SHARE)), rel=0.01)
    assert value.range == pytest.approx([support(f) for f in EPC_SHARE_RANGE], rel=0.01)
    assert value.range[0] < support(EPC_VESSEL_SHARE[0]) < support(EPC_VESSEL_SHARE[1]) < value.range[1]


def test_cep_mobilisation_by_gcsf_from_the_steady_state_rise():
    """E = 1 + σ_G·(G − 1) at steady state; G is the mean filgrastim level D/(CL·τ) over the endogenous level."""
    baseline = get_parameter_set("Quartino2014").values["Baseline plasma G-CSF [pg/mL]"].value / 1000  # ng/mL
    fold = GCSF_DOSE_NG_PER_KG_DAY / (FILGRASTIM_CL_ML_MIN_KG * 1440) / baseline

    def sigma(cells, g_fold):
        return (cells[1] / cells[0] - 1) / (g_fold - 1)

    value = HOST["CEP mobilisation by G-CSF [-]"]
    assert value.value == pytest.approx(sigma(GCSF_EPC_PER_UL, fold), rel=0.01)
    assert value.range == pytest.approx([sigma(GCSF_CD34_CD133_PER_UL, fold), sigma(GCSF_EPC_PER_UL, fold / 2)],
                                        rel=0.01)


def test_arrest_rate_leaves_one_percent_after_a_day():
    k_c = MET["Inoculated-cell arrest rate [1/day]"].value
    assert math.exp(-k_c * 1.0) == pytest.approx(SURVIVING_AT_24_H, rel=0.01)


def test_mmp9_colonisation_gain_from_knockout_colony_ratios():
    """p_col ≈ p_0·e^(ε·(M_m − 1)): a host without MMP-9 (M_m = 0) keeps e^(−ε) of the colonies."""
    value = MET["MMP-9 colonisation gain [-]"]
    gains = sorted(-math.log(r) for r in MMP9_KNOCKOUT_COLONY_RATIOS)
    assert value.range == pytest.approx(gains, rel=0.01)
    geometric_mean_ratio = math.sqrt(math.prod(MMP9_KNOCKOUT_COLONY_RATIOS))
    assert value.value == pytest.approx(-math.log(geometric_mean_ratio), rel=0.03)  # two significant figures


@pytest.mark.slow  # compiles its own model (about 20 s on 2 cores); keeps make test under 10 minutes
def test_dissemination_coefficient_reproduces_the_published_nodule_count():
    """The model's cohorts, under a Gompertz LLC primary from 1 mm3 through Tsai's day-35 volume, emit Tsai's mean
    nodule count with the MetastasisHost coefficient (γ = 1); μ is rounded to two significant figures (≤ 4%)."""
    beta = BENZEKRY_LLC_DECELERATION
    alpha = beta * math.log(TSAI_VOLUME) / (1 - math.exp(-beta * TSAI_DAY))
    model = ch.Model({"growth": "gompertz", "metastasis": {"name": "cohorts", "cohorts": 20, "horizon": 1000}})
    params = {"Gompertz initial growth rate [1/day]": alpha, "Gompertz deceleration rate [1/day]": beta,
              "Gompertz reference volume [mm3]": 1.0, "Initial tumour volume [mm3]": 1.0,
              **{name: MET[name].value for name in ("Metastatic dissemination coefficient [cell^(-gamma)/day]",
                                                    "Metastatic dissemination exponent [-]")}}
    ds = ch.simulate(model, None, params, [0.0, TSAI_DAY], rtol=1e-10, atol=1e-12)
    assert float(ds["Tumour volume [mm3]"][0, -1]) == pytest.approx(TSAI_VOLUME, rel=1e-6)
    assert float(ds[N][0, -1]) == pytest.approx(TSAI_NODULES, rel=0.04)
    assert np.isclose(MET["Metastatic dissemination exponent [-]"].value, 1.0)  # the count was matched with γ = 1


def test_dissemination_exponent_is_the_authors_implementation_value():
    """γ is the exponent Benzekry's public code fixes in d = μ·V^γ (V-code); μ above was matched with that γ."""
    value = MET["Metastatic dissemination exponent [-]"]
    assert value.tag == "V-code" and value.citation == "Benzekry2020"
    assert value.value == BENZEKRY_CODE_GAMMA
    assert value.range[0] < value.value <= value.range[1]

def test_establishment_probability_is_fidlers_iv_efficiency():
    """dI/dt = −k_c·I with establishment k_c·p_col·I: colonies per injected cell = p_col = p_0 in an untreated host
    (tests/test_metastasis_host.py checks the same in the simulated vehicle arm)."""
    value = MET["Inoculated-cell establishment probability [-]"]
    assert value.value == pytest.approx(B16F1_IV_EFFICIENCY, rel=1e-9)
    assert value.range == pytest.approx([B16F1_IV_EFFICIENCY / 10, B16F11_IV_EFFICIENCY], rel=1e-9)


def test_mmp9_dissemination_gain_from_the_knockout_lung_burden():
    """At M_m = 0 spontaneous metastases fall to e^(−ε_μ − ε_Mc) (same primary): ε_μ = −ln(ratio) − ε_Mc; the range
    uses the ends of the ε_Mc range, floored at zero."""
    colonisation = MET["MMP-9 colonisation gain [-]"]
    value = MET["MMP-9 dissemination gain [-]"]
    total = -math.log(MMP9_KNOCKOUT_LUNG_BURDEN_RATIO)
    assert value.value == pytest.approx(total - colonisation.value, abs=0.005)  # two decimals
    low, high = (max(0.0, total - g) for g in reversed(colonisation.range))
    assert value.range == pytest.approx([low, high], abs=0.005)
    assert math.exp(-value.value - colonisation.value) == pytest.approx(MMP9_KNOCKOUT_LUNG_BURDEN_RATIO, rel=0.01)


def test_cep_mobilisation_by_vegf_from_gene_transfer():
    """E = 1 + σ_V·(V_g − 1) at steady state: the EPC rise after VEGF gene transfer over the plasma VEGF fold.
    The range carries the other reading of '219%' (the new level) with the intramyocardial fold, and the median fold."""
    def sigma(epc_fold, vegf_fold):
        return (epc_fold - 1) / (vegf_fold - 1)

    value = HOST["CEP mobilisation by VEGF-A [-]"]
    assert value.value == pytest.approx(sigma(1 + VEGF_GENE_TRANSFER_EPC_RISE, VEGF_DAY7_FOLD_IM), rel=0.01)
    median_fold = VEGF_MEDIAN_IM_PG_ML[1] / VEGF_MEDIAN_IM_PG_ML[0]
    assert value.range == pytest.approx([sigma(VEGF_GENE_TRANSFER_EPC_RISE, VEGF_DAY7_FOLD_IMYO),
                                         sigma(1 + VEGF_GENE_TRANSFER_EPC_RISE, median_fold)], rel=0.01)


def test_il1_angiogenic_support_removes_the_angiogenic_production_in_the_knockout():
    """dK/dt = −λ2·K + b·W − d·K·W^(2/3) + b_I·(I_1 − 1)·K: with I_1 = 0 (IL-1beta knockout, no vascularisation,
    Voronov 2003) the lost support b_I·K equals the angiogenic production b·W at the set point W = K."""
    b = get_parameter_set("Benzekry2014LLCHahnfeldt").values["Vascular stimulation rate [1/day]"].value
    value = HOST["IL-1 angiogenic support [1/day]"]
    knockout_il1, volume_over_capacity = 0.0, 1.0
    lost_support = value.value * (1 - knockout_il1)  # per unit K, 1/day
    assert lost_support == pytest.approx(b * volume_over_capacity, rel=1e-3)
    assert value.range == pytest.approx([b / 3, 2 * b], rel=0.01)


def test_il6_mobilisation_from_il6_receptor_blockade():
    """M_c = 1 + σ_M6·(I_6 − 1) at I_6 = 0 (IL-6 receptor blocked) equals the day-4 neutrophils relative to placebo;
    the range spans the two tocilizumab groups."""
    def sigma(fraction):
        return 1 - fraction / TOCILIZUMAB_PLACEBO_DAY4

    value = HOST["Myeloid mobilisation by IL-6 [-]"]
    assert 1 + value.value * (0 - 1) == pytest.approx(_mid(TOCILIZUMAB_DAY4_NEUTROPHILS) / TOCILIZUMAB_PLACEBO_DAY4,
                                                     abs=0.002)
    assert value.range == pytest.approx(sorted(sigma(f) for f in TOCILIZUMAB_DAY4_NEUTROPHILS), rel=0.01)
