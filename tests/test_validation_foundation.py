"""Published and computed targets of science/VALIDATION.md for the foundation: V3, V5, V6, V7.

Every read-out is taken from simulated trajectories (concentrations integrated,
log-slopes fitted), not from the parameter values, so a wrong unit conversion,
dose scaling or equation shows up here. Targets and tolerances are those of
VALIDATION.md.
"""

from __future__ import annotations

import numpy as np
import pytest

import chemohost as ch
from chemohost.drugs import default_covariates
from chemohost.parameters import get_parameter_set

TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def _covariates(species: str) -> dict[str, float]:
    return {name: v.value for name, v in default_covariates(species).items()}


def _auc(times, conc):
    """Trapezoid AUC over the grid plus the log-linear tail C(T)/λz from the last two points."""
    lam_z = np.log(conc[..., -2] / conc[..., -1]) / (times[-1] - times[-2])
    return np.trapezoid(conc, times, axis=-1) + conc[..., -1] / lam_z


def _log_slope(times, conc, t1, t2):
    i, j = np.searchsorted(times, [t1, t2])
    return np.log(conc[..., i] / conc[..., j]) / (times[j] - times[i])


# ----------------------------------------------------------------------------- V3
class TestV3SimeoniThreshold:
    """V3 — Simeoni 2004 eradication threshold C_T = λ0/k2 under a constant concentration.

    The concentration is held exactly constant by giving the drug no clearance
    (CL = 0): a bolus at t = 0 then sets C = 1000·D/V for the whole run, and each
    patient's V is chosen for its C = f·C_T. The table is in tumour weight (g ≈ cm³);
    as the V3 note says, in mm³ w0 = 50, λ1 = 814 mm³/day and the w and x1
    targets are ×1,000.
    """

    LAMBDA0, LAMBDA1, PSI, K1, K2 = 0.273, 814.0, 20.0, 0.968, 6.29e-4
    W0 = 50.0
    C_T = LAMBDA0 / K2  # unrounded, 434.0223 ng/mL
    FACTORS = np.array([0.9, 1.0, 1.1])
    DOSE = 1.0  # mg

    @classmethod
    def params(cls):
        return {
            "Simeoni exponential growth rate [1/day]": cls.LAMBDA0,
            "Simeoni linear growth rate [mm3/day]": cls.LAMBDA1,
            "Simeoni switch exponent [-]": cls.PSI,
            "Damaged-cell transit rate [1/day]": cls.K1,
            "Paclitaxel kill potency [mL/ng/day]": cls.K2,
            "Initial tumour volume [mm3]": cls.W0,
            "Paclitaxel clearance [L/day]": 0.0,
            "Paclitaxel central volume [L]": 1000 * cls.DOSE / (cls.FACTORS * cls.C_T),
        }

    @pytest.fixture(scope="class")
    @classmethod
    def runs(cls, shared_model):
        model = shared_model("simeoni")
        times = np.linspace(0.0, 60.0, 1201)
        treated = ch.simulate(model, f"paclitaxel {cls.DOSE:g} mg iv", cls.params(), times, **TIGHT)
        untreated = ch.simulate(model, None, cls.params(), times, **TIGHT)
        for ds in (treated, untreated):
            assert (ds["solver_status"] == 0).all()
        return times, treated, untreated

    def test_v3_derived_constants_from_parameter_set(self):
        """V3: C_T = λ0/k2 = 434.0 ng/mL (0.1%) and 3/k1 = 3.10 days (0.1%) from the Simeoni2004 set."""
        values = get_parameter_set("Simeoni2004").resolve()
        lam0 = values["Simeoni exponential growth rate [1/day]"]
        k2 = values["Paclitaxel kill potency [mL/ng/day]"]
        k1 = values["Damaged-cell transit rate [1/day]"]
        assert (lam0, values["Simeoni linear growth rate [mm3/day]"], values["Simeoni switch exponent [-]"], k1, k2) \
            == (self.LAMBDA0, self.LAMBDA1, self.PSI, self.K1, self.K2)
        assert lam0 / k2 == pytest.approx(434.0, rel=1e-3)
        assert 3 / k1 == pytest.approx(3.10, rel=1e-3)

    def test_v3_concentration_is_constant(self, runs):
        _, treated, _ = runs
        conc = treated["Plasma paclitaxel [ng/mL]"].values
        np.testing.assert_allclose(conc, np.broadcast_to((self.FACTORS * self.C_T)[:, None], conc.shape), rtol=1e-12)

    def test_v3_at_threshold_x1_constant_and_w_plateau(self, runs):
        """V3, f = 1: x1 constant = w0 (1e-6) and w(60) = w0·(1 + 3λ0/k1) = 92.3 mm³ (0.5%).

        With k2·C = λ0 the damage chain has the constant input λ0·w0, so
        x2 + x3 + x4 = (λ0·w0/k1)·[3 − e^{−k1 t}·(3 + 2·k1 t + (k1 t)²/2)].
        """
        times, treated, _ = runs
        x1 = treated["Proliferating tumour volume [mm3]"].values[1]
        w = treated["Tumour volume [mm3]"].values[1]
        assert np.max(np.abs(x1 / self.W0 - 1)) < 1e-6
        assert w[-1] == pytest.approx(92.3, rel=5e-3)
        assert w[-1] == pytest.approx(self.W0 * (1 + 3 * self.LAMBDA0 / self.K1), rel=1e-6)
        kt = self.K1 * times
        damaged = self.LAMBDA0 * self.W0 / self.K1 * (3 - np.exp(-kt) * (3 + 2 * kt + kt**2 / 2))
        np.testing.assert_allclose(w, self.W0 + damaged, rtol=1e-6)

    def test_v3_below_threshold_grows(self, runs):
        """V3, f = 0.9: x1(60) = 257 and w(60) = 443 mm³ (1%); x1 grows throughout."""
        _, treated, _ = runs
        x1 = treated["Proliferating tumour volume [mm3]"].values[0]
        w = treated["Tumour volume [mm3]"].values[0]
        assert x1[-1] == pytest.approx(257, rel=0.01)
        assert w[-1] == pytest.approx(443, rel=0.01)
        assert np.all(np.diff(x1) > 0)

    def test_v3_above_threshold_shrinks(self, runs):
        """V3, f = 1.1: x1(60) = 9.72 and w(60) = 19.3 mm³, w peaks at 83.5 mm³ (1%); x1 decays throughout."""
        _, treated, _ = runs
        x1 = treated["Proliferating tumour volume [mm3]"].values[2]
        w = treated["Tumour volume [mm3]"].values[2]
        assert x1[-1] == pytest.approx(9.72, rel=0.01)
        assert w[-1] == pytest.approx(19.3, rel=0.01)
        assert w.max() == pytest.approx(83.5, rel=0.01)
        assert np.all(np.diff(x1) < 0)

    def test_v3_untreated(self, runs):
        """V3, f = 0: w(60) = 39,600 mm³ (1%)."""
        _, _, untreated = runs
        assert untreated["Tumour volume [mm3]"].values[0, -1] == pytest.approx(39_600, rel=0.01)


# ----------------------------------------------------------------------------- V5
V5_REGIMEN = "paclitaxel 175 mg/m2 iv over 3 h"


def _v5_auc_ng_h_per_ml(model, bsa):
    times = np.unique(np.concatenate([np.linspace(0, 0.125, 126), np.linspace(0.125, 30, 30001)]))
    ds = ch.simulate(model, V5_REGIMEN, None, times, covariates={"Body surface area [m2]": bsa}, **TIGHT)
    conc = ds["Plasma paclitaxel [ng/mL]"].values
    return 24 * _auc(times, conc), times, conc  # ng·day/mL -> ng·h/mL


def test_v5_paclitaxel_human_auc_taxol_label(shared_model):
    """V5: 175 mg/m² over 3 h with TaxolLabel (linear, CL 12.2 L/h/m²): AUC = dose/CL = 14,344 ng·h/mL
    (0.1%), within 10% of the label's 15,007 (4.4% low); terminal t½ 20.2 h (±20%)."""
    model = shared_model("paclitaxel", species="human")
    bsa = _covariates("human")["Body surface area [m2]"]
    auc, times, conc = _v5_auc_ng_h_per_ml(model, bsa)
    auc = auc[0]
    assert auc == pytest.approx(14_344, rel=1e-3)
    assert auc == pytest.approx(175 / 12.2 * 1000, rel=1e-3)
    assert abs(auc / 15_007 - 1) < 0.10
    assert auc < 15_007
    half_life_h = 24 * np.log(2) / _log_slope(times, conc[0], 2.0, 4.0)
    assert half_life_h == pytest.approx(20.2, rel=0.2)


def test_v5_auc_independent_of_body_surface_area(shared_model):
    """V5 at other body sizes: with CL per m² and the dose per m², AUC = 14,344 ng·h/mL for every BSA."""
    model = shared_model("paclitaxel", species="human")
    auc, _, _ = _v5_auc_ng_h_per_ml(model, np.array([1.6, 2.0]))
    np.testing.assert_allclose(auc, 14_344, rtol=1e-3)


# ----------------------------------------------------------------------------- V6
class TestV6PaclitaxelMouse:
    """V6 — Eiseman 1994 paclitaxel in male CD2F1 mice, 1-compartment equivalent (Eiseman1994 defaults)."""

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, shared_model):
        return shared_model("paclitaxel", species="mouse")

    @pytest.fixture(scope="class")
    @classmethod
    def bolus(cls, model):
        """25 mg/kg i.v. bolus at t = 0."""
        times = np.linspace(0.0, 1.0, 1001)
        ds = ch.simulate(model, "paclitaxel 25 mg/kg iv", None, times, covariates=_covariates("mouse"), **TIGHT)
        return times, ds["Plasma paclitaxel [ng/mL]"].values[0]

    def test_v6_elimination_rate(self, bolus):
        """V6: k = 14.47 /day (0.603 /h) from the simulated log-slope (0.5%)."""
        times, conc = bolus
        k = _log_slope(times, conc, 0.1, 0.5)
        assert k == pytest.approx(14.47, rel=5e-3)
        assert k / 24 == pytest.approx(0.603, rel=5e-3)

    def test_v6_volume_and_c0(self, bolus):
        """V6: C0 = 77.3 µg/mL after 25 mg/kg (1%); V = dose/C0 = 0.3235 L/kg (0.5%)."""
        _, conc = bolus
        c0 = conc[0] / 1000  # µg/mL = mg/L
        assert c0 == pytest.approx(77.3, rel=0.01)
        assert 25 / c0 == pytest.approx(0.3235, rel=5e-3)

    def test_v6_c0_independent_of_body_weight(self, model):
        """V6 at other body weights: V is per kg and the dose per kg, so C0 = 77.3 µg/mL for 15–30 g mice."""
        ds = ch.simulate(model, "paclitaxel 25 mg/kg iv", None, [0.0, 0.1],
                         covariates={"Body weight [kg]": np.array([0.015, 0.02, 0.03])}, **TIGHT)
        conc = ds["Plasma paclitaxel [ng/mL]"].values / 1000
        np.testing.assert_allclose(conc[:, 0], 77.3, rtol=0.01)
        np.testing.assert_allclose(conc, np.broadcast_to(conc[1], conc.shape), rtol=1e-9)

    def test_v6_auc(self, model):
        """V6: AUC after 22.5 mg/kg = 115.4 µg·h/mL (1%)."""
        times = np.linspace(0.0, 3.0, 6001)
        ds = ch.simulate(model, "paclitaxel 22.5 mg/kg iv", None, times, covariates=_covariates("mouse"), **TIGHT)
        auc = _auc(times, ds["Plasma paclitaxel [ng/mL]"].values[0]) * 24 / 1000  # µg·h/mL
        assert auc == pytest.approx(115.4, rel=0.01)

    def test_v6_continuous_steady_state(self, model):
        """V6: Css for 2.5 mg/kg/day continuous = 532–534 ng/mL (1%)."""
        times = np.linspace(0.0, 3.0, 31)
        ds = ch.simulate(model, "paclitaxel 2.5 mg/kg/day iv continuous", None, times,
                         covariates=_covariates("mouse"), **TIGHT)
        conc = ds["Plasma paclitaxel [ng/mL]"].values[0]
        assert conc[-1] == pytest.approx(conc[-5], rel=1e-9)  # at steady state
        assert 532 * 0.99 <= conc[-1] <= 534 * 1.01


# ----------------------------------------------------------------------------- V7
def _gemcitabine_dose_mg_per_kg(model):
    """76 nmol/g in mg/kg with the model's molecular weight (263.2 g/mol: 20.0 mg/kg)."""
    mw = model.parameter("Gemcitabine molecular weight [g/mol]").default
    return 76e-9 * mw * 1e6  # nmol/g · g/mol -> g/g = 1e6 mg/kg


def _gemcitabine_run(model, params, times):
    dose = _gemcitabine_dose_mg_per_kg(model)
    ds = ch.simulate(model, f"gemcitabine {dose:.12g} mg/kg iv", params, times, covariates=_covariates("mouse"),
                     rtol=1e-10, atol=1e-16)
    assert (ds["solver_status"] == 0).all()
    return ds["Plasma gemcitabine [uM]"].values[0]


class TestV7GemcitabineMouse:
    """V7 — gemcitabine in mice after 76 nmol/g i.v.; concentrations in µM from the "[uM]" output."""

    TIMES = np.linspace(0.0, 2.0, 40001)  # day; 0.072 min steps, 2 days ≫ 10 terminal half-lives

    @pytest.fixture(scope="class")
    @classmethod
    def two_compartment(cls, shared_model):
        model = shared_model("gemcitabine_2cpt")
        bw = _covariates("mouse")["Body weight [kg]"]
        values = get_parameter_set("Gemcitabine2020Mouse2Cpt").resolve(body_weight=bw)
        params = {name: value for name, value in values.items() if name in model.parameter_names}
        assert len(params) == 5  # V1, V2, CL, Q, MW
        return _gemcitabine_run(model, params, cls.TIMES)

    @pytest.fixture(scope="class")
    @classmethod
    def one_compartment(cls, shared_model):
        model = shared_model("gemcitabine")
        assert model.parameter("Gemcitabine central volume [L]").source.startswith("Gemcitabine2020Mouse:")
        return _gemcitabine_run(model, None, cls.TIMES)

    @pytest.mark.parametrize("which", ["one_compartment", "two_compartment"])
    def test_v7_auc_any_linear_model(self, request, which):
        """V7: AUC = dose/CL = 27.1 µM·h for any linear model with CL 2.8 mL/h/g (0.5%)."""
        conc = request.getfixturevalue(which)
        auc = 24 * _auc(self.TIMES, conc)
        assert auc == pytest.approx(27.1, rel=5e-3)
        assert auc == pytest.approx(76 / 2.8, rel=1e-4)

    def test_v7_two_compartment_c0_half_lives_vss(self, two_compartment):
        """V7, Gemcitabine2020Mouse2Cpt: C0 67.2 µM, terminal t½ 42.5 min, t½α 14.2 min, Vss 1.40 mL/g (1%).

        β from the late log-slope; α by the method of residuals (C − B·e^{−βt}
        is the pure α-phase); Vss = dose·AUMC/AUC² (non-compartmental, i.v. bolus).
        """
        t, conc = self.TIMES, two_compartment
        minutes = 24 * 60
        assert conc[0] == pytest.approx(67.2, rel=0.01)
        beta = _log_slope(t, conc, 0.3, 0.4)
        assert np.log(2) / beta * minutes == pytest.approx(42.5, rel=0.01)
        b = conc[np.searchsorted(t, 0.3)] * np.exp(beta * 0.3)
        residual = conc - b * np.exp(-beta * t)
        alpha = _log_slope(t, residual, 0.0, 0.02)
        assert np.log(2) / alpha * minutes == pytest.approx(14.2, rel=0.01)
        auc = _auc(t, conc)
        aumc = np.trapezoid(t * conc, t) + conc[-1] * (t[-1] / beta + 1 / beta**2)
        vss = 76 * aumc / auc**2  # (nmol/g)/µM = (nmol/g)/(nmol/mL) = mL/g
        assert vss == pytest.approx(1.40, rel=0.01)

    def test_v7_one_compartment_c0_half_life(self, one_compartment):
        """V7, Gemcitabine2020Mouse (1-compartment, CL 2.8 mL/h/g, V 1.4 mL/g): C0 54.3 µM, t½ 20.8 min (0.5%)."""
        t, conc = self.TIMES, one_compartment
        assert conc[0] == pytest.approx(54.3, rel=5e-3)
        half_life_min = np.log(2) / _log_slope(t, conc, 0.0, 0.2) * 24 * 60
        assert half_life_min == pytest.approx(20.8, rel=5e-3)
