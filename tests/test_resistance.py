"""Tumour resistance mechanisms: sensitive/resistant clones (Goldie–Coldman) and drug-tolerant persisters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

import chemohost as ch

MOUSE = {"Body weight [kg]": 0.02}
TIGHT = {"rtol": 1e-9, "atol": 1e-15}
S, RES, FRAC = "Sensitive tumour volume [mm3]", "Resistant tumour volume [mm3]", "Resistant fraction [-]"
FR, MU, RHO = ("Initial resistant fraction [-]", "Resistance mutation probability [-]",
               "Resistant relative drug sensitivity [-]")
MU_H = "Drug-induced mutation probability per kill hazard [day]"
RATE, FLUX, HAZARD, VIABLE = ("Tumour per-capita growth rate [1/day]", "Tumour kill flux [mm3/day]",
                              "Tumour kill hazard [1/day]", "Viable tumour volume [mm3]")
WEEKLY = "paclitaxel 25 mg/kg iv q7d x4 from day 5"


@pytest.fixture(scope="module")
def sr_model():
    return ch.Model({"tumour": "sensitive_resistant", "growth": "gompertz", "damage": "simeoni_transit",
                     "drugs": {"paclitaxel": {"kill": "linear"}}})


@pytest.fixture(scope="module")
def persister_model():
    return ch.Model({"tumour": "persisters", "growth": "gompertz", "damage": "simeoni_transit",
                     "drugs": {"paclitaxel": {"kill": "linear"}}})


def test_defaults_are_placeholders_with_sources(sr_model, persister_model):
    for model in (sr_model, persister_model):
        for p in model.parameters:
            if p.source.startswith("Resistance:"):
                assert p.tag in ("U", "proposed") and p.source
    params = {p.name: p for p in sr_model.parameters}
    assert params[MU].default == 1e-6 and 1e-7 <= params[MU].default <= 1e-5
    assert params[FR].default == 1e-6 and params[RHO].default == 0.0
    assert params[MU_H].default == 0.0 and params[MU_H].tag == "proposed"  # drug-induced mutagenesis off


def test_without_drug_and_mutation_the_resistant_fraction_stays_put(sr_model):
    """Both clones grow at the same per-capita rate r(W): the shares do not change."""
    times = np.linspace(0.0, 40.0, 41)
    ds = ch.simulate(sr_model, None, {**MOUSE, FR: [1e-6, 0.01, 0.3], MU: 0.0}, times, **TIGHT)
    frac = ds[FRAC].values
    np.testing.assert_allclose(frac, np.array([[1e-6], [0.01], [0.3]]) * np.ones_like(times), rtol=1e-7)
    assert ds["Tumour volume [mm3]"].values[:, -1].min() > 100.0  # the tumour did grow


def test_repeated_dosing_selects_the_resistant_clone(sr_model):
    times = np.linspace(0.0, 60.0, 241)
    ds = ch.simulate(sr_model, WEEKLY, {**MOUSE, FR: 1e-3, RHO: 0.0}, times, **TIGHT)
    frac, sens, res = ds[FRAC].values[0], ds[S].values[0], ds[RES].values[0]
    viable = ds[VIABLE].values[0]
    dosing = times >= 5.0
    assert np.all(np.diff(frac[dosing]) > -1e-12)  # never falls under treatment
    assert frac[-1] > 0.99  # the resistant clone takes over (from 1e-3)
    s5 = sens[times == 5.0][0]
    assert sens[dosing].min() < 0.1 * s5 and sens[-1] < s5  # sensitive cells are killed, then crowded out
    assert np.all(np.diff(res) > 0)  # ρ = 0: resistant cells only grow
    nadir = np.argmin(viable)
    assert 5.0 < times[nadir] < 40.0 and viable[-1] > 10 * viable[nadir]  # the tumour regrows


def test_mutation_flux_matches_the_expected_resistant_volume(sr_model):
    """With f_R = 0 and ρ = 0, R(t) = ∫ μ·r·S(s)·exp(∫_s^t r du) ds, computed here by quadrature."""
    times = np.linspace(0.0, 30.0, 3001)
    mu = 1e-5
    ds = ch.simulate(sr_model, WEEKLY, {**MOUSE, FR: 0.0, MU: mu, RHO: 0.0}, times, **TIGHT)
    r, sens, res = ds[RATE].values[0], ds[S].values[0], ds[RES].values[0]
    growth = cumulative_trapezoid(r, times, initial=0.0)
    expected = np.exp(growth) * cumulative_trapezoid(mu * r * sens * np.exp(-growth), times, initial=0.0)
    np.testing.assert_allclose(res[100:], expected[100:], rtol=1e-3)
    assert res[-1] > mu * sens[0]  # not trivially small
    # ρ = 0: resistant cells are never killed, so R is at least the volume that mutated, μ·∫ r·S dt
    mutated = mu * cumulative_trapezoid(r * sens, times, initial=0.0)
    assert np.all(res[1:] >= mutated[1:] * (1 - 1e-6))


def test_drug_induced_mutation_is_inert_without_drug(sr_model):
    """No drug, h = 0: μ = μ_0 whatever μ_h, and S = (1 − f_R)·V_0·(W/V_0)^{1−μ_0}.

    So the resistant fraction is f_res = 1 − (1 − f_R)·(W/V_0)^{−μ_0}.
    """
    times = np.linspace(0.0, 40.0, 41)
    fr, mu = 1e-3, 1e-4
    ds = ch.simulate(sr_model, None, {**MOUSE, FR: fr, MU: mu, MU_H: [0.0, 1e-3]}, times, **TIGHT)
    np.testing.assert_array_equal(ds[FRAC].values[0], ds[FRAC].values[1])
    w = ds["Tumour volume [mm3]"].values[0]
    np.testing.assert_allclose(ds[FRAC].values[0], 1 - (1 - fr) * (w / w[0]) ** -mu, rtol=1e-7)


def test_drug_induced_mutation_raises_acquired_resistance(sr_model):
    """μ(t) = μ_0 + μ_h·h(t): with f_R = 0, ρ = 0, R(t) = ∫ μ(s)·r·S(s)·exp(∫_s^t r du) ds (quadrature).

    Treatment then leaves a larger resistant fraction than with μ_h = 0 (same kill hazard).
    """
    # resolve the kill hazard of each bolus (half-life ~1 h), with a point just before each dose
    times = np.sort(np.concatenate([np.linspace(0.0, 30.0, 12001), np.array([5.0, 12.0, 19.0, 26.0]) - 1e-7]))
    mu0, mu_h = 1e-6, np.array([0.0, 1e-6])
    ds = ch.simulate(sr_model, WEEKLY, {**MOUSE, FR: 0.0, MU: mu0, MU_H: mu_h, RHO: 0.0}, times, **TIGHT)
    h, r, sens, res = (ds[n].values for n in (HAZARD, RATE, S, RES))
    np.testing.assert_allclose(h[0], h[1], rtol=1e-6, atol=1e-9)  # the kill does not depend on the mutation
    growth = cumulative_trapezoid(r, times, initial=0.0)
    mu = mu0 + mu_h[:, None] * h
    expected = np.exp(growth) * cumulative_trapezoid(mu * r * sens * np.exp(-growth), times, initial=0.0)
    np.testing.assert_allclose(res[:, 400:], expected[:, 400:], rtol=1e-3)
    after = times > 5.0  # from the first dose on
    assert np.all(res[1, after] > res[0, after]) and np.all(ds[FRAC].values[1, after] > ds[FRAC].values[0, after])
    assert np.all(res[1, times >= 6.0] > 1.1 * res[0, times >= 6.0])  # μ_h = 1e-6 day adds ~15% resistant cells


def test_kill_flux_and_mass_balance(sr_model):
    rho, fr = 0.1, 0.05
    times = 10.0 + np.concatenate([[0.0], np.geomspace(1e-5, 15.0, 4000)])  # fine where the bolus decays
    ds = ch.simulate(sr_model, "paclitaxel 25 mg/kg iv once at day 10", {**MOUSE, FR: fr, RHO: rho}, times,
                     t0=0.0, **TIGHT)
    h, sens, res, flux = ds[HAZARD].values[0], ds[S].values[0], ds[RES].values[0], ds[FLUX].values[0]
    np.testing.assert_allclose(flux, h * (sens + rho * res), rtol=1e-12)
    assert flux.max() > 1.0
    viable = ds[VIABLE].values[0]
    np.testing.assert_allclose(viable, sens + res, rtol=1e-14)
    change = cumulative_trapezoid(ds[RATE].values[0] * viable - flux, times, initial=0.0)
    np.testing.assert_allclose(viable - viable[0], change, atol=1e-5 * np.abs(change).max())


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_relative_sensitivity_out_of_bounds_is_rejected(sr_model, value):
    with pytest.raises(ch.ChemohostError, match=r"Resistant relative drug sensitivity \[-\]"):
        ch.simulate(sr_model, None, {RHO: value}, [0.0, 1.0])


def test_persisters_survive_lethal_exposure_and_regrow(persister_model):
    """A 9-day lethal continuous exposure (kill hazard ~4/day) kills all but a persister reservoir.

    The surviving fraction (viable volume at the end of exposure / at its start) lies in
    3e-4 to 1e-2 around the ~0.3% of Sharma et al. 2010; without switching (s0 = 0) the
    same exposure leaves ~1e-13 of the cells, and the tumour regrows far more slowly.
    """
    times = np.linspace(0.0, 60.0, 241)
    ds = ch.simulate(persister_model, "paclitaxel 30 mg/kg/day iv continuous from day 5 to day 14",
                     {**MOUSE, "Maximal persister switching rate [1/day]": [0.01, 0.0]}, times, **TIGHT)
    viable, pers, h = ds[VIABLE].values, ds["Persister tumour volume [mm3]"].values, ds[HAZARD].values
    start, stop = np.searchsorted(times, 5.0), np.searchsorted(times, 14.0)
    assert h[0, start + 1: stop].min() > 1.0  # lethal: far above the growth rate
    surviving = viable[:, stop] / viable[:, start]
    assert 3e-4 < surviving[0] < 1e-2
    assert pers[0, stop] / viable[0, stop] > 0.5  # survivors are mostly persisters
    assert surviving[1] < 1e-9 and np.all(pers[1] == 0.0)
    # the persisters return to the cycle and regrow the tumour once the drug is gone
    assert viable[0, -1] > viable[0, start] and viable[0, -1] > 1e4 * viable[0, stop]
    assert viable[0, stop + 60] > 100 * viable[1, stop + 60]
    assert np.all(np.diff(pers[0, stop + 4:]) < 0)  # the reservoir drains into the cycle
    assert np.all(ds["Persister fraction [-]"].values[0, :start] == 0.0)  # no drug, no switching
