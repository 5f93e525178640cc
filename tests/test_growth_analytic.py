"""Growth laws against their closed forms (MODEL_SPEC §1).

Each law is integrated for a batch of patients with different parameters in one
call (per-patient parameter arrays) and compared with the closed-form solution
written out here from the ODE, not taken from the package. Models are shared
with the PK tests (``conftest.SHARED_MODELS``); no drug is dosed here, so the
drug states stay at zero and do not touch the tumour.
"""

from __future__ import annotations

import numpy as np
import pytest

import chemohost as ch

TUMOUR = "Tumour volume [mm3]"
V0 = "Initial tumour volume [mm3]"
TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def _fill_unused(model: ch.Model, params: dict) -> dict:
    """Give drug parameters that have no default a value; nothing is dosed, so they do not matter."""
    extra = {p.name: 1.0 for p in model.parameters if p.required and p.name not in params}
    assert all(not name.startswith(("Initial", "Gompertz", "Logistic", "Power", "Bertalanffy", "Exponential",
                                    "Simeoni", "Carrying")) for name in extra)
    return {**params, **extra}


def _rel_err(sim, exact):
    return np.max(np.abs(sim / exact - 1.0))


# Closed forms, written from the ODEs of MODEL_SPEC §1 (times t [day], column vectors over patients).
def exponential(t, v0, a):
    return v0 * np.exp(a * t)


def logistic(t, v0, a, k):
    return k * v0 / (v0 + (k - v0) * np.exp(-a * t))


def gompertz_a(t, v0, alpha0, beta, vref):
    # d ln(V/Vref)/dt = alpha0 - beta ln(V/Vref)  =>  ln(V/Vref) = alpha0/beta + (ln(V0/Vref) - alpha0/beta) e^{-beta t}
    return vref * np.exp(alpha0 / beta + (np.log(v0 / vref) - alpha0 / beta) * np.exp(-beta * t))


def gompertz_b(t, v0, lam, k):
    # d ln(V/K)/dt = -lam ln(V/K)  =>  V = K exp(ln(V0/K) e^{-lam t})
    return k * np.exp(np.log(v0 / k) * np.exp(-lam * t))


def power_law(t, v0, a, gamma):
    return (v0 ** (1 - gamma) + (1 - gamma) * a * t) ** (1 / (1 - gamma))


def von_bertalanffy(t, v0, a, b):
    # gamma = 2/3: u = V^{1/3} obeys du/dt = (a - b u)/3
    return (a / b + (v0 ** (1 / 3) - a / b) * np.exp(-b * t / 3)) ** 3


# (shared model, days, parameters per patient, closed form of the patients' parameters)
CASES = {
    "exponential": (
        "paclitaxel_oral", 30.0,
        {V0: [1.0, 5.0, 0.2], "Exponential growth rate [1/day]": [0.411, 0.257, 0.6]},
        lambda t, p: exponential(t, p[V0], p["Exponential growth rate [1/day]"]),
    ),
    "logistic": (
        "gemcitabine_2cpt", 60.0,
        {V0: [1.0, 50.0, 2000.0], "Logistic growth rate [1/day]": [0.525, 0.379, 0.2],
         "Carrying capacity [mm3]": [1053.0, 936.0, 800.0]},
        lambda t, p: logistic(t, p[V0], p["Logistic growth rate [1/day]"], p["Carrying capacity [mm3]"]),
    ),
    "gompertz": (  # form A started from V_ref (first two patients) and from elsewhere
        "paclitaxel", 60.0,
        {V0: [1.0, 3.0, 10.0], "Gompertz initial growth rate [1/day]": [0.813, 0.623, 0.5],
         "Gompertz deceleration rate [1/day]": [0.0977, 0.0817, 0.05],
         "Gompertz reference volume [mm3]": [1.0, 3.0, 1.0]},
        lambda t, p: gompertz_a(t, p[V0], p["Gompertz initial growth rate [1/day]"],
                                p["Gompertz deceleration rate [1/day]"], p["Gompertz reference volume [mm3]"]),
    ),
    "gompertz_capacity": (  # form B; last patient starts above K and shrinks towards it
        "gompertz_capacity", 60.0,
        {V0: [180.0, 1.0, 30000.0], "Gompertz rate [1/day]": [0.192, 0.08, 0.1],
         "Carrying capacity [mm3]": [17347.0, 4106.0, 17347.0]},
        lambda t, p: gompertz_b(t, p[V0], p["Gompertz rate [1/day]"], p["Carrying capacity [mm3]"]),
    ),
    "power_law": (
        "paclitaxel_saturable", 40.0,
        {V0: [1.0, 1.0, 20.0], "Power-law growth coefficient [mm3^(1-gamma)/day]": [1.168, 1.235, 0.8],
         "Power-law exponent [-]": [0.719, 0.607, 0.8]},
        lambda t, p: power_law(t, p[V0], p["Power-law growth coefficient [mm3^(1-gamma)/day]"],
                               p["Power-law exponent [-]"]),
    ),
    "von_bertalanffy": (  # gamma = 2/3; last patient starts above the plateau (a/b)^3
        "gemcitabine", 60.0,
        {V0: [1.0, 10.0, 50000.0], "Bertalanffy growth coefficient [mm3^(1-gamma)/day]": [1.127, 2.0, 1.127],
         "Bertalanffy loss rate [1/day]": [0.0345, 0.1, 0.0345], "Bertalanffy exponent [-]": 2.0 / 3.0},
        lambda t, p: von_bertalanffy(t, p[V0], p["Bertalanffy growth coefficient [mm3^(1-gamma)/day]"],
                                     p["Bertalanffy loss rate [1/day]"]),
    ),
}


def _run(shared_model, law, **solver):
    key, days, params, exact = CASES[law]
    model = shared_model(key)
    assert model.options["growth"] == law
    times = np.linspace(0.0, days, 241)
    ds = ch.simulate(model, None, _fill_unused(model, params), times, **solver)
    assert ds.sizes == {"patient": 3, "time": times.size, "parameter": len(model.parameters)}
    assert (ds["solver_status"] == 0).all()
    columns = {name: np.broadcast_to(np.asarray(v, float), (3,))[:, None] for name, v in params.items()}
    return ds[TUMOUR].values, exact(times[None, :], columns), ds["solver_steps"].values


@pytest.mark.parametrize("law", list(CASES))
def test_growth_law_matches_closed_form(shared_model, law):
    sim, exact, _ = _run(shared_model, law, **TIGHT)
    assert _rel_err(sim, exact) < 1e-6
    # the patients really differ: one call, three different trajectories
    assert np.all(np.max(np.abs(exact / exact[0] - 1), axis=1)[1:] > 0.05)


@pytest.mark.parametrize("law", list(CASES))
def test_growth_law_matches_closed_form_stiff(shared_model, law):
    """The stiff method (Rosenbrock 2(3), order 2) within its own error bound, and at order 2.

    It advances the order-2 solution and keeps each step's local error below
    rtol (relative to |V|), so the global relative error is at most the sum of
    the local errors, about (number of steps)·rtol: these laws either carry a
    relative error unchanged (exponential phase) or damp it (approach to a
    plateau). With local error ∝ h³ and h ∝ rtol^{1/3}, the global error scales
    as N·rtol ∝ N^{-2}: a 100× smaller rtol gives 100^{1/3} = 4.6× more steps and
    a 100^{2/3} = 21.5× smaller error. (At rtol 1e-10 the bound N·rtol is about
    1.4e-6 for the fastest patient, just above the explicit method's 1e-6.)
    """
    errors, steps = [], []
    for rtol in (1e-7, 1e-9):
        sim, exact, n_steps = _run(shared_model, law, method="stiff", rtol=rtol, atol=rtol * 1e-2)
        err = np.max(np.abs(sim / exact - 1), axis=1)
        assert np.all(err < n_steps * rtol)
        errors.append(err)
        steps.append(n_steps)
    assert np.max(errors[1]) < 2e-5
    order = np.log(errors[0] / errors[1]) / np.log(steps[1] / steps[0])
    assert np.all((order > 1.7) & (order < 2.3)), order


def test_gompertz_form_a_plateau_and_doubling_time(shared_model):
    """From V_ref the plateau is V_ref·e^{α0/β} and the initial doubling time ln 2/α0 (MODEL_SPEC §1)."""
    alpha0, beta = 0.813, 0.0977
    model = shared_model("paclitaxel")
    times = np.array([0.0, 1e-3, 400.0])
    ds = ch.simulate(model, None, {V0: 1.0, "Gompertz initial growth rate [1/day]": alpha0,
                                   "Gompertz deceleration rate [1/day]": beta,
                                   "Gompertz reference volume [mm3]": 1.0}, times, **TIGHT)
    v = ds[TUMOUR].values[0]
    assert v[2] == pytest.approx(np.exp(alpha0 / beta), rel=1e-6)
    assert np.log(v[1] / v[0]) / 1e-3 == pytest.approx(alpha0, rel=1e-3)


class TestSimeoniGrowth:
    """Simeoni 2004 growth without drug: exponential at λ0 while w ≪ λ1/λ0, then linear at λ1 (MODEL_SPEC §3.1).

    With x = λ0·w/λ1 the per-capita rate is λ0·(1 + x^ψ)^{-1/ψ}. In the exponential
    phase ln(w/(w0·e^{λ0 t})) = −∫λ0·(1 − (1 + x^ψ)^{-1/ψ}) ≥ −∫λ0·x^ψ/ψ dt = −x^ψ/ψ²
    (x grows at rate λ0), so up to x = 1/2 the relative deviation is below
    2^{-20}/400 = 2.4e-9. In the linear phase dw/dt = λ1·x·(1 + x^ψ)^{-1/ψ}, which
    differs from λ1 by less than x^{-ψ}/ψ: 4.8e-8 once x ≥ 2.
    """

    LAMBDA0, LAMBDA1, PSI = 0.273, 814.0, 20.0

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, shared_model):
        model = shared_model("simeoni")
        times = np.linspace(0.0, 60.0, 6001)
        w0 = np.array([0.5, 5.0, 50.0])
        ds = ch.simulate(model, None, {V0: w0, "Simeoni exponential growth rate [1/day]": cls.LAMBDA0,
                                       "Simeoni linear growth rate [mm3/day]": cls.LAMBDA1,
                                       "Simeoni switch exponent [-]": cls.PSI}, times, **TIGHT)
        assert (ds["solver_status"] == 0).all()
        return times, w0, ds[TUMOUR].values

    def test_exponential_phase(self, run):
        times, w0, w = run
        x = self.LAMBDA0 * w / self.LAMBDA1
        early = x <= 0.5
        assert early.sum(axis=1).min() > 500  # every patient spends days in this phase
        exact = w0[:, None] * np.exp(self.LAMBDA0 * times[None, :])
        assert np.max(np.abs(w[early] / exact[early] - 1)) < 1e-8
        # and it leaves the exponential: by x = 2 it is at least 5% below e^{λ0 t}
        late = x >= 2
        assert np.all(w[late] < 0.95 * exact[late])

    def test_linear_phase(self, run):
        times, w0, w = run
        x = self.LAMBDA0 * w / self.LAMBDA1
        slope = np.diff(w, axis=1) / np.diff(times)
        late = (x[:, :-1] >= 2)
        assert late.sum(axis=1).min() > 1000
        assert np.max(np.abs(slope[late] / self.LAMBDA1 - 1)) < 1e-6
    def test_switch_time(self, run):
        """Where the linear asymptote starts: w_s = λ1/λ0, delayed by the ψ-smoothing.

        The sharp exp–linear law reaches w_s = λ1/λ0 (2,982 mm³) at t_s = ln(w_s/w0)/λ0
        and then follows w = w_s + λ1·(t − t_s), so t_s = t − w/λ1 + 1/λ0 late on.
        The smooth law takes longer by D = (1/λ0)∫₀^∞ [(1 + x^ψ)^{1/ψ} − max(1, x)] dx/x
        (time to grow from x to x + dx is (1 + x^ψ)^{1/ψ}·dx/(λ0·x)).
        """
        from scipy.integrate import quad

        times, w0, w = run
        lam0, psi = self.LAMBDA0, self.PSI
        below = quad(lambda s: (1 + np.exp(psi * s)) ** (1 / psi) - 1, -60, 0)[0]
        above = quad(lambda s: np.exp(s) * ((1 + np.exp(-psi * s)) ** (1 / psi) - 1), 0, 60)[0]
        delay = (below + above) / lam0
        assert 0.005 < delay < 0.05
        t_switch = times[-1] - w[:, -1] / self.LAMBDA1 + 1 / lam0
        expected = np.log(self.LAMBDA1 / lam0 / w0) / lam0 + delay
        np.testing.assert_allclose(t_switch, expected, rtol=0, atol=1e-5)
