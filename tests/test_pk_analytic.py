"""Pharmacokinetics against closed forms (MODEL_SPEC §2).

Linear PK is checked by superposition of single-dose closed forms derived
here (amounts A [mg], C = 1000·A/V [ng/mL] with V in L), including the exact
dose times, where the engine reports the state after the dose, and times inside
infusions. Saturable elimination is checked against its exact Lambert-W
solution and its low-concentration linear limit. Parameters are given per
patient (three patients, one call); the models are shared (``conftest``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import lambertw

import chemohost as ch

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
PTX = "Plasma paclitaxel [ng/mL]"
A1 = "Paclitaxel central amount [mg]"
DEPOT = "Paclitaxel depot amount [mg]"
V = "Paclitaxel central volume [L]"
CL = "Paclitaxel clearance [L/day]"
KA = "Paclitaxel absorption rate [1/day]"
F = "Paclitaxel oral bioavailability [-]"

# three patients: k = CL/V = 0.5, 0.4, 0.8 /day; ka ≠ k for all
PK = {V: np.array([2.0, 5.0, 1.0]), CL: np.array([1.0, 2.0, 0.8]),
      KA: np.array([3.0, 1.5, 6.0]), F: np.array([0.6, 0.9, 0.3])}
DOSE_TIMES = np.array([0.0, 2.0, 4.0])
DOSE = 10.0  # mg


def _col(x):
    return np.asarray(x, float)[:, None]


def _times(*extra, end=8.0):
    grid = np.linspace(0.0, end, 97)
    return np.unique(np.concatenate([grid, *[np.atleast_1d(e) for e in extra]]))


def _close(sim, exact, rel=1e-6):
    np.testing.assert_allclose(sim, exact, rtol=rel, atol=0)


def _bolus_amount(t, dose_times, dose, k):
    """Σ_i D·e^{−k(t − t_i)} over doses at or before t (the state after a dose includes it)."""
    tau = t[None, :] - dose_times[:, None]  # (dose, time)
    return dose * np.sum(np.where(tau >= 0, np.exp(-k[:, None, None] * np.maximum(tau, 0)), 0.0), axis=1)


@pytest.fixture(scope="module")
def oral_model(shared_model):
    return shared_model("paclitaxel_oral")


def test_iv_bolus_multidose(oral_model):
    """(a) i.v. bolus q2d ×3: A(t) = Σ D·e^{−k(t−t_i)}, C = 1000·A/V, at the dose times and just before."""
    before = DOSE_TIMES[1:] - 1e-7
    times = _times(DOSE_TIMES, before)
    ds = ch.simulate(oral_model, f"paclitaxel {DOSE} mg iv q2d x3", PK, times, **TIGHT)
    k = PK[CL] / PK[V]
    exact = _bolus_amount(times, DOSE_TIMES, DOSE, k)
    _close(ds[A1].values, exact)
    _close(ds[PTX].values, 1000 * exact / _col(PK[V]))
    at = np.searchsorted(times, DOSE_TIMES)
    jump = ds[A1].values[:, at[1:]] - ds[A1].values[:, np.searchsorted(times, before)]
    np.testing.assert_allclose(jump, DOSE, rtol=1e-5)  # the full dose is in the state at the dose time
    assert np.all(ds[DEPOT].values == 0)


def test_zero_order_infusion_multidose(oral_model):
    """(b) 10 mg over 6 h q2d ×3 from day 0.5: R = 40 mg/day; during an infusion A = R/k·(1 − e^{−kτ})."""
    starts = DOSE_TIMES + 0.5
    duration = 0.25
    rate = DOSE / duration
    inside = np.concatenate([starts + 0.1, starts + 0.125, starts + 0.2])
    times = _times(starts, starts + duration, inside)
    ds = ch.simulate(oral_model, f"paclitaxel {DOSE} mg iv over 6 h q2d x3 from day 0.5", PK, times, **TIGHT)
    k = _col(PK[CL] / PK[V])
    exact = np.zeros((3, times.size))
    for t0 in starts:
        tau = times[None, :] - t0
        during = rate / k * (1 - np.exp(-k * np.clip(tau, 0, duration)))
        exact += np.where(tau > 0, during * np.exp(-k * np.clip(tau - duration, 0, None)), 0.0)
    sim = ds[A1].values
    nonzero = exact > 0
    _close(sim[nonzero], exact[nonzero])
    assert np.all(np.abs(sim[~nonzero]) < 1e-12)  # nothing before the first infusion
    # inside an infusion the amount rises, after it falls
    i, j = np.searchsorted(times, [starts[0] + 0.1, starts[0] + 0.2])
    assert np.all(sim[:, j] > sim[:, i])
    # the infused total equals the dose: AUC·CL = 3·D (trapezoid on a fine grid, tail added)
    fine = np.linspace(0, 60, 60001)
    long = ch.simulate(oral_model, f"paclitaxel {DOSE} mg iv over 6 h q2d x3 from day 0.5", PK, fine, **TIGHT)
    auc = np.trapezoid(long[PTX].values, fine, axis=1) / 1000  # mg·day/L
    np.testing.assert_allclose(auc * PK[CL], 3 * DOSE, rtol=1e-5)


def test_oral_first_order_absorption_multidose(oral_model):
    """(c) oral q2d ×3: A1 = Σ F·D·ka/(ka − k)·(e^{−kτ} − e^{−ka·τ}), depot Σ F·D·e^{−ka·τ}.

    The depot of the fastest absorber falls to 1e-10 mg by day 8, so atol is
    lowered to keep the error control relative there too.
    """
    times = _times(DOSE_TIMES, DOSE_TIMES + 0.05)
    ds = ch.simulate(oral_model, f"paclitaxel {DOSE} mg oral q2d x3", PK, times, rtol=1e-10, atol=1e-18)
    k, ka, f = _col(PK[CL] / PK[V]), _col(PK[KA]), _col(PK[F])
    central = np.zeros((3, times.size))
    depot = np.zeros((3, times.size))
    for t0 in DOSE_TIMES:
        tau = np.clip(times[None, :] - t0, 0, None)
        given = times[None, :] >= t0
        central += np.where(given, f * DOSE * ka / (ka - k) * (np.exp(-k * tau) - np.exp(-ka * tau)), 0.0)
        depot += np.where(given, f * DOSE * np.exp(-ka * tau), 0.0)
    _close(ds[DEPOT].values, depot)
    positive = central > 0
    _close(ds[A1].values[positive], central[positive])
    _close(ds[PTX].values[positive], (1000 * central / _col(PK[V]))[positive])
    # at a dose time the depot holds the new dose (times F) on top of what is left
    at = np.searchsorted(times, DOSE_TIMES[1])
    np.testing.assert_allclose(ds[DEPOT].values[:, at], depot[:, at], rtol=1e-6)
    assert np.all(depot[:, at] > f[:, 0] * DOSE)


def test_continuous_oral_reaches_steady_state(oral_model):
    """``mg/kg/day oral continuous``: Css = F·R/CL, with the build-up
    A1 = F·R/k·[1 − (ka·e^{−kt} − k·e^{−ka·t})/(ka − k)]."""
    bw = 0.02
    rate = 2.5 * bw  # mg/day
    times = np.linspace(0.0, 40.0, 161)
    ds = ch.simulate(oral_model, "paclitaxel 2.5 mg/kg/day oral continuous", PK, times,
                     covariates={"Body weight [kg]": bw}, **TIGHT)
    k, ka, f, v = _col(PK[CL] / PK[V]), _col(PK[KA]), _col(PK[F]), _col(PK[V])
    build_up = f * rate / k * (1 - (ka * np.exp(-k * times) - k * np.exp(-ka * times)) / (ka - k))
    _close(ds[A1].values[:, 1:], build_up[:, 1:])
    css = 1000 * PK[F] * rate / PK[CL]  # ng/mL
    np.testing.assert_allclose(ds[PTX].values[:, -1], css, rtol=1e-6)
    np.testing.assert_allclose(ds[PTX].values[:, -1], 1000 * build_up[:, -1] / v[:, 0], rtol=1e-6)


def test_two_compartment_bolus_biexponential(shared_model):
    """C = D/V1·(A·e^{−αt} + B·e^{−βt}); α, β roots of s² − (k10 + k12 + k21)s + k10·k21,
    A = (α − k21)/(α − β), B = (k21 − β)/(α − β); peripheral A2 = D·k12/(α − β)·(e^{−βt} − e^{−αt})."""
    model = shared_model("gemcitabine_2cpt")
    v1, v2 = np.array([1.0, 0.5, 2.0]), np.array([0.3, 1.5, 2.0])
    cl, q = np.array([2.0, 1.0, 3.0]), np.array([0.5, 2.0, 1.0])
    params = {"Gemcitabine central volume [L]": v1, "Gemcitabine peripheral volume [L]": v2,
              "Gemcitabine clearance [L/day]": cl, "Gemcitabine intercompartmental clearance [L/day]": q}
    times = np.linspace(0.0, 10.0, 201)
    ds = ch.simulate(model, "gemcitabine 5 mg iv", params, times, **TIGHT)
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s, p = k10 + k12 + k21, k10 * k21
    alpha, beta = (s + np.sqrt(s**2 - 4 * p)) / 2, (s - np.sqrt(s**2 - 4 * p)) / 2
    a, b = (alpha - k21) / (alpha - beta), (k21 - beta) / (alpha - beta)
    t = times[None, :]
    conc = 1000 * 5.0 / _col(v1) * (_col(a) * np.exp(-_col(alpha) * t) + _col(b) * np.exp(-_col(beta) * t))
    _close(ds["Plasma gemcitabine [ng/mL]"].values, conc)
    peripheral = 5.0 * _col(k12 / (alpha - beta)) * (np.exp(-_col(beta) * t) - np.exp(-_col(alpha) * t))
    _close(ds["Gemcitabine peripheral amount [mg]"].values[:, 1:], peripheral[:, 1:])
    # µM output: (ng/mL)/MW with the library's molecular weight
    mw = model.parameter("Gemcitabine molecular weight [g/mol]").default
    _close(ds["Plasma gemcitabine [uM]"].values, conc / mw)


def test_dose_per_body_surface_area_scales_exactly(shared_model):
    """175 mg/m² with BSA 1.5/1.8/2.1 m²: the amount given is 175·BSA mg and, with the same PK
    parameters, the whole concentration curve scales with BSA (linear PK)."""
    model = shared_model("paclitaxel")
    bsa = np.array([1.5, 1.8, 2.1])
    times = np.array([0.0, 0.5, 1.0, 3.0])
    params = {V: 300.0, CL: 250.0}
    ds = ch.simulate(model, "paclitaxel 175 mg/m2 iv", params, times,
                     covariates={"Body surface area [m2]": bsa}, **TIGHT)
    np.testing.assert_allclose(ds[A1].values[:, 0], 175 * bsa, rtol=1e-14)
    _close(ds[PTX].values / ds[PTX].values[1], np.broadcast_to(_col(bsa / 1.8), (3, times.size)), rel=1e-9)
    # the covariate is required for a per-m2 dose
    with pytest.raises(ch.ChemohostError, match="Body surface area"):
        ch.simulate(model, "paclitaxel 175 mg/m2 iv", params, times)


class TestSaturableElimination:
    """E(C) = Vmax·C/(Km + C) [mg/day], C = 1000·A/V [ng/mL].

    In concentration: dC/dt = −k'·C/(Km + C) with k' = 1000·Vmax/V [ng/mL/day].
    Separating variables, Km·ln(C/C0) + C − C0 = −k'·t, so
    C(t) = Km·W((C0/Km)·exp((C0 − k'·t)/Km)) (principal Lambert W).
    For C ≪ Km, dC/dt → −(k'/Km)·C: linear elimination with
    k = 1000·Vmax/(Km·V), i.e. CL = k·V = 1000·Vmax/Km [L/day] (Km in ng/mL);
    the relative rate error is C/(Km + C), so ln C deviates by at most
    ∫k·C/Km dt = C0/Km from the linear curve.
    """

    VOL, VMAX, KM = 2.0, 5.0, 1000.0  # L, mg/day, ng/mL -> linear-limit CL = 5 L/day, k = 2.5 /day

    def _run(self, model, dose_mg, times, regimen="iv"):
        params = {V: self.VOL, "Paclitaxel maximal elimination rate [mg/day]": self.VMAX,
                  "Paclitaxel Michaelis constant [ng/mL]": self.KM}
        ds = ch.simulate(model, f"paclitaxel {dose_mg:g} mg {regimen}", params, times, rtol=1e-10,
                         atol=1e-14 * dose_mg)
        return ds[PTX].values[0]

    def _lambert(self, c0, t):
        kp = 1000 * self.VMAX / self.VOL
        return self.KM * lambertw(c0 / self.KM * np.exp((c0 - kp * t) / self.KM)).real

    def test_low_dose_is_linear_with_cl_1000_vmax_over_km(self, shared_model):
        model = shared_model("paclitaxel_saturable")
        times = np.linspace(0.0, 4.0, 81)
        dose = 1e-6  # mg: C0 = 5e-4 ng/mL = 5e-7·Km
        conc = self._run(model, dose, times)
        c0 = 1000 * dose / self.VOL
        k = 1000 * self.VMAX / (self.KM * self.VOL)
        linear = c0 * np.exp(-k * times)
        bound = c0 / self.KM  # 5e-7
        assert np.max(np.abs(conc / linear - 1)) < 2 * bound
        # the fitted log-slope is the linear-limit rate k = CL/V with CL = 1000·Vmax/Km
        slope = -np.polyfit(times, np.log(conc), 1)[0]
        assert slope == pytest.approx(k, rel=1e-6)

    def test_high_dose_matches_lambert_w_and_is_not_linear(self, shared_model):
        model = shared_model("paclitaxel_saturable")
        times = np.linspace(0.0, 10.0, 201)
        dose = 20.0  # mg: C0 = 10,000 ng/mL = 10·Km
        conc = self._run(model, dose, times)
        exact = self._lambert(1000 * dose / self.VOL, times)
        _close(conc, exact)
        k = 1000 * self.VMAX / (self.KM * self.VOL)
        linear = 1000 * dose / self.VOL * np.exp(-k * times)
        assert conc[40] > 3 * linear[40]  # saturation: much slower early decline than linear
        # near zero-order while C ≫ Km: the first 0.1 day removes ≈ Vmax·0.1·C/(Km + C) mg
        assert (conc[0] - conc[2]) * self.VOL / 1000 == pytest.approx(self.VMAX * 0.1, rel=0.1)

    def test_multidose_piecewise_lambert_w(self, shared_model):
        """Three doses q1d: between doses the Lambert-W solution restarts from C(t_i⁺) = C(t_i⁻) + 1000·D/V."""
        model = shared_model("paclitaxel_saturable")
        times = _times(np.arange(3.0), end=5.0)
        dose = 6.0
        conc = self._run(model, dose, times, regimen="iv q1d x3")
        exact = np.empty_like(times)
        c_before, c_start, t_last = 0.0, 0.0, 0.0
        for i, t0 in enumerate([0.0, 1.0, 2.0, np.inf]):
            if i:
                seg = (times >= t_last) & (times < t0)
                exact[seg] = self._lambert(c_start, times[seg] - t_last)
                if np.isfinite(t0):
                    c_before = self._lambert(c_start, t0 - t_last)
            if np.isfinite(t0):
                c_start, t_last = c_before + 1000 * dose / self.VOL, t0
        _close(conc, exact)
