"""The host response: VALIDATION V14, V15, V17 and V20, blockers, profiles, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import chemohost as ch
from chemohost.host_profile import host_response_profile

MOUSE = {"Body weight [kg]": 0.02}
HOST = {"effectors": "indirect_response", "host_cells": "bmdc"}
CEP, SDF1 = "Circulating endothelial progenitors [-]", "SDF-1 [-]"
TIGHT = {"rtol": 1e-10, "atol": 1e-12}


@pytest.fixture(scope="module")
def host_only():
    """Tumour-free host (host-conditioning design) with the reference drugs."""
    return ch.Model({"tumour": "absent", "growth": "none", **HOST,
                     "drugs": {"paclitaxel": {}, "gemcitabine": {}, "cyclophosphamide": {}}})


@pytest.fixture(scope="module")
def bolus_course(host_only):
    times = np.arange(0.0, 5.0, 0.001)
    out = {}
    for dose in (25, 10):
        ds = ch.simulate(host_only, f"paclitaxel {dose} mg/kg iv once at day 0", MOUSE, times, **TIGHT)
        out[dose] = (ds[SDF1].values[0], ds[CEP].values[0])
    ds = ch.simulate(host_only, "gemcitabine 120 mg/kg iv once at day 0", MOUSE, times, **TIGHT)
    out["gemcitabine"] = (ds[SDF1].values[0], ds[CEP].values[0])
    return times, out


# ------------------------------------------------------------------------------------------ V14
def test_v14_paclitaxel_25_mg_per_kg(bolus_course):
    """V14: SDF-1 peak 8.71x at 3.4 h; CEP peak 4.30x at 15.0 h, 3.78x at 24 h, 1.24x at day 3."""
    t, out = bolus_course
    s, e = out[25]
    assert s.max() == pytest.approx(8.71, rel=0.02) and 24 * t[s.argmax()] == pytest.approx(3.4, abs=0.25)
    assert e.max() == pytest.approx(4.30, rel=0.02) and 24 * t[e.argmax()] == pytest.approx(15.0, abs=0.5)
    assert e[np.searchsorted(t, 1.0)] == pytest.approx(3.78, rel=0.02)
    assert e[np.searchsorted(t, 3.0)] == pytest.approx(1.24, rel=0.02)


def test_v14_paclitaxel_10_mg_per_kg(bolus_course):
    """V14: CEP peak 2.42x at 14.8 h; SDF-1 peak 4.54x."""
    t, out = bolus_course
    s, e = out[10]
    assert e.max() == pytest.approx(2.42, rel=0.02) and 24 * t[e.argmax()] == pytest.approx(14.8, abs=0.5)
    assert s.max() == pytest.approx(4.54, rel=0.02)


def test_v14_continuous_paclitaxel(host_only):
    """V14: 2.5 mg/kg/day continuously: Css 532 ng/mL; SDF-1 1.03x and CEP 0.713x at day 14."""
    ds = ch.simulate(host_only, "paclitaxel 2.5 mg/kg/day iv continuous from day 0 to day 20", MOUSE, [14.0], **TIGHT)
    assert float(ds["Plasma paclitaxel [ng/mL]"][0, 0]) == pytest.approx(532, rel=0.02)
    assert float(ds[SDF1][0, 0]) == pytest.approx(1.03, rel=0.02)
    assert float(ds[CEP][0, 0]) == pytest.approx(0.713, rel=0.02)


def test_v14_gemcitabine_never_raises_ceps(bolus_course):
    _, out = bolus_course
    s, e = out["gemcitabine"]
    assert np.all(s == 1.0) and e.max() <= 1 + 1e-9 and e.min() < 0.99


# ------------------------------------------------------------------------------------------ V15
def test_v15_paclitaxel_mobilises_ceps_and_gemcitabine_does_not(bolus_course):
    t, out = bolus_course
    e_pac, e_gem = out[25][1], out["gemcitabine"][1]
    assert e_pac[t <= 1.0].max() >= 3.0
    assert e_pac[np.searchsorted(t, 3.0)] < 1.5
    assert e_gem.max() < 1.2


@pytest.fixture(scope="module")
def tumour_host():
    return ch.Model({"growth": "gompertz", "damage": "simeoni_transit", **HOST,
                     "drugs": {d: {"kill": "linear"} for d in ("paclitaxel", "gemcitabine", "doxorubicin", "cisplatin")}
                     | {"ccr2_antagonist": {"host_action": "coverage", "extravascular": ["ip"]}}})


def test_v15_paclitaxel_raises_tumour_homing_above_vehicle(tumour_host):
    times = np.arange(0.0, 16.0, 0.25)
    vehicle = ch.simulate(tumour_host, None, MOUSE, times)
    pac = ch.simulate(tumour_host, "paclitaxel 25 mg/kg iv once at day 10", MOUSE, times)
    after = times > 10
    homed = "Homed endothelial progenitors [-]"
    assert pac[homed].values[0, after].max() > 1.5 * vehicle[homed].values[0, after].max()


# ------------------------------------------------------------------------------------------ V17
@pytest.mark.xfail(strict=True, reason=(
    "V17 (a) as written in VALIDATION ('peak 2-7 d after dosing, <= 1.1x before the next cycle', from the proposed "
    "MTT ~ 3 d) fails with the published day of peak: the cyclophosphamide delayed induction transit time is now "
    "10.2 days, calibrated to the day-8 peak of circulating progenitors after one 200 mg/kg dose in mice (Blood 1992 "
    "80:264): after each 150 mg/kg dose of a q21d course the CEPs now peak at 1.69-1.72x on days 7.8-8.0 (were 3.06x on "
    "day 3.2) and are at 1.13x just before the next dose"))
def test_v17_mtd_cyclophosphamide_rebound_after_every_cycle(host_only):
    """V17 (a): CEPs above baseline after every MTD cycle, peak 2–7 days after dosing, back to <= 1.1 before the next."""
    times = np.arange(0.0, 63.0, 0.05)
    ds = ch.simulate(host_only, "cyclophosphamide 150 mg/kg iv q21d x3", MOUSE, times)
    e = ds[CEP].values[0]
    for start in (0.0, 21.0, 42.0):
        cycle = (times >= start) & (times < start + 21)
        peak = np.argmax(np.where(cycle, e, -np.inf))
        assert e[peak] > 1.5
        assert 2.0 <= times[peak] - start <= 7.0
        assert e[np.searchsorted(times, start + 20.9)] <= 1.1


def test_v17_paclitaxel_mtd_acute_repeats(host_only):
    """V17 (a'): paclitaxel q21d peaks acutely (about 15 h) after each dose."""
    times = np.arange(0.0, 42.0, 0.01)
    e = ch.simulate(host_only, "paclitaxel 25 mg/kg iv q21d x2", MOUSE, times)[CEP].values[0]
    for start in (0.0, 21.0):
        window = (times >= start) & (times < start + 5)
        assert 10 <= 24 * (times[window][np.argmax(e[window])] - start) <= 20


def test_v17_metronomic_keeps_ceps_below_baseline(host_only):
    """V17 (b): continuous low-dose paclitaxel or daily cyclophosphamide keep CEPs below baseline."""
    for regimen in ("paclitaxel 2.5 mg/kg/day iv continuous from day 0 to day 30",
                    "cyclophosphamide 20 mg/kg/day oral continuous from day 0 to day 30"):
        model = host_only if "paclitaxel" in regimen else ch.Model(
            {"tumour": "absent", "growth": "none", **HOST,
             "drugs": {"cyclophosphamide": {"extravascular": ["oral"]}}})
        e = ch.simulate(model, regimen, MOUSE, np.arange(7.0, 28.0))[CEP].values[0]
        assert np.all(e < 1.0)


def test_v17_optimal_biologic_dose_scan():
    """V17 OBD: steady-state CEPs vs continuous paclitaxel exposure are U-shaped, minimum 0.712 near 615 ng/mL."""
    from scipy.optimize import minimize_scalar

    model = ch.Model({"tumour": "absent", "growth": "none", **HOST, "drugs": {"paclitaxel": {}}})
    clearance = 3.25e-3 * 60 * 24  # L/day/kg (Eiseman 1994)

    def cep_ss(css):
        rate = css * clearance / 1000  # mg/kg/day giving this steady state
        ds = ch.simulate(model, f"paclitaxel {rate:.6g} mg/kg/day iv continuous from day 0 to day 61", MOUSE, [60.0],
                         **TIGHT)
        return float(ds[CEP][0, 0])

    expected = {100: 0.848, 300: 0.745, 534: 0.713, 1000: 0.739, 2000: 0.980, 5000: 2.70}
    for css, e in expected.items():
        assert cep_ss(css) == pytest.approx(e, rel=0.01)
    best = minimize_scalar(cep_ss, bounds=(300, 1000), method="bounded", options={"xatol": 5})
    assert best.fun == pytest.approx(0.712, rel=0.01)
    assert best.x == pytest.approx(615, rel=0.05)


# ------------------------------------------------------------------------------------------ V20
@pytest.mark.parametrize("drug", ["doxorubicin", "cisplatin"])
def test_v20_ccr2_blockade_improves_the_response(tumour_host, drug):
    """V20: with CCR2 blockade, fewer homed myeloid cells, less protection, smaller tumours at the end of treatment."""
    times = np.arange(0.0, 25.0, 0.25)
    chemo = f"{drug} 5 mg/kg iv q7d x2 from day 10"
    blocker = "ccr2_antagonist 2 mg/kg ip q1d from day 9"
    alone = ch.simulate(tumour_host, chemo, MOUSE, times)
    blocked = ch.simulate(tumour_host, f"{chemo} + {blocker}", MOUSE, times)
    end = -1
    assert float(blocked["Homed myeloid cells [-]"][0, end]) < float(alone["Homed myeloid cells [-]"][0, end])
    assert float(blocked["Tumour protection [-]"][0, end]) < float(alone["Tumour protection [-]"][0, end])
    ratio = float(blocked["Tumour volume [mm3]"][0, end] / alone["Tumour volume [mm3]"][0, end])
    untreated = ch.simulate(tumour_host, None, MOUSE, times)
    blocker_only = ch.simulate(tumour_host, blocker, MOUSE, times)
    untreated_ratio = float(blocker_only["Tumour volume [mm3]"][0, end] / untreated["Tumour volume [mm3]"][0, end])
    assert ratio < 1.0
    assert ratio < untreated_ratio  # the benefit with the drug exceeds the blocker's own effect


@pytest.mark.xfail(strict=True, reason=(
    "known miss since DoxorubicinMouse's clearance is the label clearance scaled to the mouse (155 L/day/kg, "
    "was an assumed 34.7): a 5 mg/kg dose stays above the doxorubicin induction EC50s (RMM1Host) for a "
    "shorter time and homed myeloid cells peak at 1.04, below this test's 1.2 (a chemohost threshold, not a "
    "published number); V20 still holds; not re-tuned"))
def test_drug_raises_myeloid_homing(tumour_host):
    times = np.arange(0.0, 20.0, 0.25)
    ds = ch.simulate(tumour_host, "doxorubicin 5 mg/kg iv once at day 10", MOUSE, times)
    assert float(ds["Homed myeloid cells [-]"][0].max()) > 1.2


# ------------------------------------------------------------------------------------------ profile
def test_host_response_profile(host_only):
    times = np.arange(0.0, 30.0, 0.25)
    ds = ch.simulate(host_only, "paclitaxel 25 mg/kg iv q7d x3 from day 10", MOUSE, times)
    profile = host_response_profile(ds)
    row = profile[(profile["quantity"] == CEP) & (profile["time point"] == "24 h after first dose")]
    assert row["log2 fold change (median)"].item() == pytest.approx(np.log2(3.78), rel=0.05)
    pre = profile[profile["time point"] == "pre-treatment"]
    assert np.allclose(pre["log2 fold change (median)"], 0.0)
    assert set(profile["time point"]) == {"pre-treatment", "24 h after first dose", "day 1 of cycle 2"}
    assert float(profile[profile["time point"] == "day 1 of cycle 2"]["time [day]"].iloc[0]) == 17.0


# ------------------------------------------------------------------------------------------ bad input
def test_blocker_without_host_mechanisms_is_an_error():
    with pytest.raises(ch.ChemohostError, match="host_action: coverage of drug 'dc101' needs a 'host_cells' choice"):
        ch.Model({"drugs": {"dc101": {"host_action": "coverage"}}})


def test_unknown_blocker_name():
    with pytest.raises(ch.ChemohostError, match="did you mean 'dc101'"):
        ch.Model({**HOST, "drugs": {"dc10": {"host_action": "coverage"}}})


def test_coverage_on_a_cytotoxic_drug_is_an_error():
    with pytest.raises(ch.ChemohostError, match="blocks no host channel"):
        ch.Model({**HOST, "drugs": {"paclitaxel": {"host_action": "coverage"}}})


def test_host_cells_without_effectors_conflicts():
    with pytest.raises(ch.ChemohostError, match="host_cells: bmdc needs a 'effectors' choice"):
        ch.Model({"host_cells": "bmdc"})


def test_unknown_coupling():
    with pytest.raises(ch.ChemohostError, match="did you mean 'protection'"):
        ch.Model({**HOST, "host_cells": {"name": "bmdc", "couplings": ["protectoin"]}})


# ------------------------------------------------------------------------------------------ V16
@pytest.fixture(scope="module")
def reference_plan():
    from chemohost.study import plan_study, reference_study

    return plan_study(reference_study())


def _typical_volume(plan, regimen, day=31.0):
    typical = plan.table["value"].to_dict()
    ds = ch.simulate(plan.model, regimen, typical, [day], covariates=plan.covariates)
    return float(ds["Tumour volume [mm3]"][0, 0])


def test_v16_anti_vegfr2_helps_paclitaxel_more_than_gemcitabine(reference_plan):
    """V16 (Shaked 2008): R_x = B_x/B_vehicle with B_x = V(x)/V(x + anti-VEGFR2), 21 days after treatment start.

    R_paclitaxel > 1, R_paclitaxel − 1 ≥ 2·|R_gemcitabine − 1| and R_gemcitabine within 1 ± 0.10.
    """
    dc101 = "DC101 800 ug iv q3d from day 10"
    arms = {"vehicle": None, "paclitaxel": "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10",
            "gemcitabine": "gemcitabine 120 mg/kg iv bolus q3d x4 from day 10"}
    benefit = {}
    for arm, regimen in arms.items():
        blocked = dc101 if regimen is None else f"{regimen} + {dc101}"
        benefit[arm] = _typical_volume(reference_plan, regimen) / _typical_volume(reference_plan, blocked)
    r_pac = benefit["paclitaxel"] / benefit["vehicle"]
    r_gem = benefit["gemcitabine"] / benefit["vehicle"]
    assert r_pac > 1.0
    assert r_pac - 1 >= 2 * abs(r_gem - 1)
    assert abs(r_gem - 1) <= 0.10


def test_v16_no_epc_driven_capacity_overshoot_when_blocked(reference_plan):
    """With anti-VEGFR2 the homed-EPC support of the carrying capacity after paclitaxel is never positive."""
    typical = reference_plan.table["value"].to_dict()
    times = np.arange(10.0, 31.0, 0.25)
    regimen = "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10 + DC101 800 ug iv q3d from day 10"
    blocked = ch.simulate(reference_plan.model, regimen, typical, times, covariates=reference_plan.covariates)
    alone = ch.simulate(reference_plan.model, "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10", typical, times,
                        covariates=reference_plan.covariates)
    support = "Vasculogenic support rate [1/day]"
    assert float(alone[support].max()) > 0
    assert float(blocked[support].isel(time=slice(4, None)).max()) <= 0


def test_reference_study_cxcr4_blockade_helps_paclitaxel(reference_plan):
    pac = "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10"
    assert _typical_volume(reference_plan, f"{pac} + AMD3100 5 mg/kg sc q1d from day 10") < _typical_volume(reference_plan, pac)


# ------------------------------------------------------------------------------------------ more host features
def test_vascular_disrupting_agent_gives_an_early_and_a_larger_late_cep_peak():
    """Taylor 2012: after a VDA, an early unspecific CEP peak and a later, larger one (delayed channel)."""
    model = ch.Model({"tumour": "absent", "growth": "none", **HOST, "drugs": {"oxi4503": {}}})
    times = np.arange(0.0, 8.0, 0.01)
    e = ch.simulate(model, "OXi4503 25 mg/kg iv once at day 0", MOUSE, times)[CEP].values[0]
    early, late = e[times <= 1.0], e[(times >= 2.0)]
    assert early.max() > 1.5
    late_time = times[times >= 2.0][late.argmax()]
    assert late.max() > early.max() and 2.5 <= late_time <= 5.0
    assert e[np.searchsorted(times, 1.5)] < early.max()  # two separate peaks


def test_couplings_can_be_switched_off(tumour_host):
    options = dict(tumour_host.options)
    options["host_cells"] = {"name": "bmdc", "couplings": ["vasculogenesis"]}
    isolated = ch.Model(options)
    assert "Tumour protection [-]" not in isolated.output_names
    assert "Repopulation boost [-]" not in isolated.output_names
    assert "Tumour protection [-]" in tumour_host.output_names


def test_gcsf_support_raises_the_gcsf_signal_and_myeloid_cells():
    model = ch.Model({"tumour": "absent", "growth": "none", **HOST, "drugs": {"gcsf": {"host_action": "gcsf_support",
                                                                                          "extravascular": ["sc"]}}})
    ds = ch.simulate(model, "G-CSF 250 ug/kg sc q1d x5", MOUSE, np.arange(0.0, 6.0, 0.1))
    assert float(ds["G-CSF [-]"].max()) > 2.0
    assert float(ds["Circulating myeloid cells [-]"].max()) > 1.2


def test_reference_study_reproduces_the_host_facts():
    """V15, V16, V17 and V20 read off the reference study itself (the same table the report shows)."""
    from chemohost.study import load_study, reference_study, run_study
    from chemohost.validation import reference_checks

    config = reference_study().model_dump()
    config["cohort"] = {**config["cohort"], "size": 20}
    checks = reference_checks(run_study(load_study(config)))
    assert [c.id for c in checks] == ["V15", "V16", "V17", "V20"]
    for check in checks:
        assert check.passed, f"{check.id}: {check.values} (criterion: {check.criterion})"


def test_neutropenia_itself_raises_gcsf_and_mobilises_myeloid_cells():
    """With toxicity: quartino the G-CSF channel is Quartino's endogenous G-CSF, raised by neutropenia."""
    model = ch.Model({"species": "human", "tumour": "absent", "growth": "none", **HOST, "toxicity": "quartino",
                      "drugs": {"docetaxel": {"pk": "three_compartment", "myelosuppression": "linear"}}})
    assert "G-CSF signal [-]" not in model.state_names and "Plasma G-CSF [pg/mL]" in model.state_names
    ds = ch.simulate(model, "docetaxel 100 mg/m2 iv over 1 h on day 0",
                     {"Body surface area [m2]": 1.8, "Body weight [kg]": 70}, np.arange(0.0, 21.0, 0.25))
    nadir = int(np.argmin(ds["Circulating neutrophils [1e9/L]"].values[0]))
    peak = int(np.argmax(ds["G-CSF [-]"].values[0]))
    assert float(ds["G-CSF [-]"][0, peak]) > 3 and abs(peak - nadir) <= 8  # G-CSF peaks with the nadir (±2 days)
    assert float(ds["Circulating myeloid cells [-]"].max()) > 2
