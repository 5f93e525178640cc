"""tumour: lotka_volterra — the continuous Zhang et al. 2017 competition model (MODEL_SPEC §4.4, VALIDATION V10)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

import chemohost as ch
from chemohost.resistance import zhang2017_map

MOUSE = {"Body weight [kg]": 0.02}
TIGHT = {"rtol": 1e-10, "atol": 1e-12}
XP, XQ, XM = "T+ tumour volume [mm3]", "TP tumour volume [mm3]", "T- tumour volume [mm3]"
X0 = {key: f"Initial {key} volume [mm3]" for key in ("T+", "TP", "T-")}
DEFAULTS = {"a12": 0.402, "a13": 0.794, "a21": 0.010, "a23": 0.598, "a31": 0.206, "a32": 0.990, "X": 1.5,
            "K2": 800.0, "K3": 800.0, "r2": 0.001, "r3": 0.0005}


@pytest.fixture(scope="module")
def model():
    return ch.Model({"growth": "none", "tumour": "lotka_volterra", "drugs": {"paclitaxel": {"kill": "linear"}}})


def test_defaults_come_from_zhang2017_with_tags(model):
    params = {p.name: p for p in model.parameters}
    assert params["Competition of T- on TP [-]"].default == 0.598  # MODEL_SPEC §11: not the literal 598
    assert params["T+ capacity per TP volume [-]"].default == 1.5
    assert [params[f"{k} growth rate [1/day]"].default for k in ("T+", "TP", "T-")] == [0.0025, 0.001, 0.0005]
    for name, p in params.items():
        if p.source.startswith("Zhang2017:"):
            assert p.tag == ("proposed" if "sensitivity" in name else "V-code"), name
    assert params["T- relative drug sensitivity [-]"].default == 0.0
    assert "Zhang2017" in model.citations


def test_needs_growth_none_and_a_kill_law_without_growth_rate():
    with pytest.raises(ch.ChemohostError, match="lotka_volterra conflicts with growth: gompertz; it needs growth: none"):
        ch.Model({"tumour": "lotka_volterra"})
    with pytest.raises(ch.ChemohostError, match="norton_simon"):
        ch.Model({"growth": "none", "tumour": "lotka_volterra", "drugs": {"paclitaxel": {"kill": "norton_simon"}}})


def test_tp_alone_is_logistic(model):
    """With no T+ and no T−, dx_TP/dt = r·x·(1 − x/K): x = K·x0/(x0 + (K − x0)·e^{−r·t})."""
    times = np.linspace(0.0, 8000.0, 81)
    ds = ch.simulate(model, None, {**MOUSE, X0["T+"]: 0.0, X0["TP"]: 10.0, X0["T-"]: 0.0}, times, **TIGHT)
    r, k = DEFAULTS["r2"], DEFAULTS["K2"]
    np.testing.assert_allclose(ds[XQ].values[0], k * 10.0 / (10.0 + (k - 10.0) * np.exp(-r * times)), rtol=1e-7)
    assert np.all(ds[XP].values == 0) and np.all(ds[XM].values == 0)
    np.testing.assert_allclose(ds["Tumour volume [mm3]"].values[0], ds[XQ].values[0], rtol=1e-14)


def test_tp_and_t_minus_settle_at_their_coexistence_point(model):
    """Without T+: the fixed point solves x_TP + a23·x_T− = K_TP, a32·x_TP + x_T− = K_T− (stable as a23·a32 < 1).

    The point does not depend on the growth rates, raised here 100-fold to reach it sooner.
    """
    d = DEFAULTS
    fixed = np.linalg.solve([[1.0, d["a23"]], [d["a32"], 1.0]], [d["K2"], d["K3"]])
    assert np.all(fixed > 0) and d["a23"] * d["a32"] < 1
    fast = {"TP growth rate [1/day]": 0.1, "T- growth rate [1/day]": 0.05}
    ds = ch.simulate(model, None, {**MOUSE, **fast, X0["T+"]: 0.0, X0["TP"]: 100.0, X0["T-"]: 100.0},
                     [0.0, 20_000.0], **TIGHT)
    np.testing.assert_allclose([ds[XQ].values[0, -1], ds[XM].values[0, -1]], fixed, rtol=1e-4)


def test_untreated_tumour_settles_at_the_t_plus_tp_point_of_the_map(model):
    """All three: T+ = (X − a12)·x_TP, x_TP = K_TP − a21·x_T+ (≈ (869, 791), the ADT-only state of V10), T− dies out.

    The 3×3 interior point has x_T− < 0, and at (869, 791) T−'s growth 1 − (a31·x_T+ + a32·x_TP)/K_T− < 0.
    """
    d = DEFAULTS
    interior = np.linalg.solve([[1.0, d["a12"] - d["X"], d["a13"]], [d["a21"], 1.0, d["a23"]],
                                [d["a31"], d["a32"], 1.0]], [0.0, d["K2"], d["K3"]])
    assert interior[2] < 0
    xq = d["K2"] / (1 + d["a21"] * (d["X"] - d["a12"]))
    xp = (d["X"] - d["a12"]) * xq
    assert 1 - (d["a31"] * xp + d["a32"] * xq) / d["K3"] < 0
    assert (round(xp), round(xq)) == (869, 791)
    ds = ch.simulate(model, None, MOUSE, [0.0, 50_000.0, 60_000.0], **TIGHT)
    np.testing.assert_allclose([ds[XP].values[0, -1], ds[XQ].values[0, -1]], [xp, xq], rtol=1e-6)
    # T− then decays at its invasion rate r_T−·(1 − (a31·x_T+ + a32·x_TP)/K_T−)
    invasion = d["r3"] * (1 - (d["a31"] * xp + d["a32"] * xq) / d["K3"])
    xm = ds[XM].values[0]
    assert math.log(xm[2] / xm[1]) / 10_000.0 == pytest.approx(invasion, rel=1e-3)


def test_the_discrete_map_is_the_forward_euler_step(model):
    """zhang2017_map (ADT only) is x ← x + x·G with a step of 1; the ODE follows it to within 0.1% over 9,999 steps.

    T− is left out: the map floors it at 0.1 where the ODE lets it decay.
    """
    steps = np.array([100, 1000, 2000, 5000, 9999])
    ds = ch.simulate(model, None, MOUSE, np.concatenate([[0.0], steps.astype(float)]), **TIGHT)
    ref = zhang2017_map("adt", steps=9999, treatment_start=10_000).x[steps - 1]
    np.testing.assert_allclose(ds[XP].values[0, 1:], ref[:, 0], rtol=1e-3)
    np.testing.assert_allclose(ds[XQ].values[0, 1:], ref[:, 1], rtol=1e-3)


def _run(model, regimen, horizon=6000.0):
    times = np.linspace(0.0, horizon, int(horizon) // 10 + 1)
    return ch.simulate(model, regimen, MOUSE, times, rtol=1e-8, atol=1e-10)


def test_intermittent_treatment_holds_t_minus_back_longer_than_continuous(model):
    """V10-like, continuous form: a drug killing T+ and TP (kill hazard 0.01/day, T− spared).

    Continuous treatment removes T−'s competitors: T− exceeds half the tumour at ~920 days.
    Treating 70 days in every 1,000 (each period about halves the tumour, which then regrows
    to ~60% of its start) keeps T− under 1% of the tumour for 6,000 days, with less T− at
    every time and 7% of the drug.
    """
    dose = "paclitaxel 0.075 mg/kg/day iv continuous"
    continuous = _run(model, f"{dose} from day 0 to day 6000")
    intermittent = _run(model, "; ".join(f"{dose} from day {s} to day {s + 70}" for s in range(0, 6000, 1000)))
    times = continuous["time"].values
    h = continuous["Tumour kill hazard [1/day]"].values[0]
    assert 0.009 < h[1:].min() and h.max() < 0.011
    takeover = times[np.argmax(continuous["Resistant fraction [-]"].values[0] > 0.5)]
    assert 500.0 < takeover < 1500.0
    frac = intermittent["Resistant fraction [-]"].values[0]
    assert frac.max() < 0.01  # no takeover within 6000 days (> 4x the continuous takeover time)
    assert np.all(intermittent[XM].values[0] <= continuous[XM].values[0])
    later = times >= 100.0
    assert np.all(intermittent[XM].values[0, later] < continuous[XM].values[0, later])
    assert intermittent[XM].values[0, -1] < 0.5 * continuous[XM].values[0, -1]
    w = intermittent["Tumour volume [mm3]"].values[0]
    assert 0.25 * w[0] < w.min() and w.max() <= w[0] * (1 + 1e-9)  # the burden stays between bounds
    drug = [cumulative_trapezoid(ds["Plasma paclitaxel [ng/mL]"].values[0], times)[-1]
            for ds in (continuous, intermittent)]
    assert drug[1] == pytest.approx(0.07 * drug[0], rel=0.02)


def test_kill_flux_and_tp_support(model):
    """Flux h·(1 − P)·Σσ_i·x_i; the tumour volume is Σx_i; killing TP lowers T+'s capacity X·x_TP."""
    times = np.linspace(0.0, 300.0, 301)
    params = {**MOUSE, "T- relative drug sensitivity [-]": 0.3, "T+ relative drug sensitivity [-]": 0.0}
    ds = ch.simulate(model, "paclitaxel 0.5 mg/kg/day iv continuous from day 10 to day 200", params, times, **TIGHT)
    h = ds["Tumour kill hazard [1/day]"].values[0]
    xp, xq, xm = (ds[n].values[0] for n in (XP, XQ, XM))
    np.testing.assert_allclose(ds["Tumour kill flux [mm3/day]"].values[0], h * (xq + 0.3 * xm), rtol=1e-12)
    np.testing.assert_allclose(ds["Tumour volume [mm3]"].values[0], xp + xq + xm, rtol=1e-14)
    # T+ is spared by the drug yet declines, because its capacity falls with TP
    assert xp[200] < 0.5 * xp[10] and xq[200] < 0.1 * xq[10]


def test_host_protection_acts_on_the_populations():
    """With host cells, homed myeloid protection P lowers every population's kill: flux = h·(1 − P)·Σσ_i·x_i."""
    options = {"growth": "none", "tumour": "lotka_volterra", "damage": "simeoni_transit",
               "drugs": {"paclitaxel": {"kill": "linear"}}, "effectors": "indirect_response", "host_cells": "bmdc"}
    host = ch.Model(options)
    for name in (XP, XQ, XM):  # the resolved equations read the homed myeloid cells (through P)
        assert "Homed myeloid cells [-]" in {s.name for s in host.rhs[name].free_symbols}
    times = np.linspace(0.0, 40.0, 401)
    pmax = "Maximal myeloid protection [-]"
    ds = ch.simulate(host, "paclitaxel 2 mg/kg iv q7d x4 from day 5", {**MOUSE, pmax: [0.0, 0.9]}, times,
                     rtol=1e-9, atol=1e-12)
    prot = ds["Tumour protection [-]"].values
    assert np.all(prot[0] == 0) and prot[1].max() > 1e-3
    h = ds["Tumour kill hazard [1/day]"].values
    np.testing.assert_allclose(ds["Tumour kill flux [mm3/day]"].values,
                               h * (1 - prot) * (ds[XP].values + ds[XQ].values), rtol=1e-10, atol=1e-12)
    assert ds[XP].values[1, -1] > ds[XP].values[0, -1]  # protected T+ cells survive better
    assert math.isclose(ds[XM].values[0, -1], ds[XM].values[1, -1], rel_tol=1e-2)  # T− is not killed anyway
