"""Clinical tumour-size models: VALIDATION V11 (Claret 2009) and Stein 2008 model selection.

Every V11 number is computed by the model code from the ``Claret2009``
parameter set and the exposure convention of VALIDATION V11 (E given in week
t_k held on [t_k, t_k + 1), dose week = first week of each 4-week cycle).
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest

import chemohost.calibration._clinical as clinical
from chemohost.calibration import CalibrationError, ClaretFitter, ClaretModel, PiecewiseExposure, SteinFitter
from chemohost.calibration._clinical import CLARET_KD0, CLARET_KL, CLARET_LAMBDA, CLARET_TS0, stein_curve
from chemohost.drugs import default_covariates
from chemohost.parameters import get_parameter_set

WEEK = 7.0  # days


def test_module_doctests():
    assert doctest.testmod(clinical, raise_on_error=True).failed == 0


# ----------------------------------------------------------------------------- V11
@pytest.fixture(scope="module")
def claret():
    return ClaretModel.from_parameter_set(get_parameter_set("Claret2009"))


@pytest.fixture(scope="module")
def fu_exposure():
    """5-FU 425 mg/m2 on days 1-5 every 4 weeks, BSA 1.8 m2: E = 425·1.8·5/1000 = 3.825 g in week 4k, k = 0…9."""
    bsa = default_covariates("human")["Body surface area [m2]"].value
    assert bsa == 1.8
    dose_g = 425 * bsa * 5 / 1000
    assert dose_g == pytest.approx(3.825)
    return PiecewiseExposure.cycles(dose_g, 4 * WEEK, 10, dose_duration=WEEK)


def test_v11_untreated(claret, fu_exposure):
    assert claret.doubling_time / WEEK == pytest.approx(46.2, rel=1e-3)
    untreated = ClaretModel(claret.kl, 0.0, claret.lam, claret.ts0)
    assert float(untreated.tumour_size(39 * WEEK, fu_exposure)) == pytest.approx(179.5, rel=1e-3)


@pytest.mark.parametrize(("week", "size"), [(1, 81.69), (4, 85.45), (8, 75.51), (12, 68.65), (20, 60.75),
                                            (30, 55.52), (39, 57.23)])
def test_v11_trajectory(claret, fu_exposure, week, size):
    assert float(claret.tumour_size(week * WEEK, fu_exposure)) == pytest.approx(size, rel=1e-3)


def test_v11_nadir(claret, fu_exposure):
    time, size = claret.nadir(fu_exposure, 39 * WEEK)
    assert size == pytest.approx(54.69, rel=1e-3)
    assert time / WEEK == pytest.approx(29.0, abs=0.1)


def test_v11_first_regrowth_cycle(claret, fu_exposure):
    change = claret.cycle_log_change(np.arange(10) * 4 * WEEK, 4 * WEEK, fu_exposure)
    assert int(np.argmax(change > 0)) == 8 and np.all(change[:8] < 0)
    # the VALIDATION criterion 4·KL > KD0·E·e^{−4λk}(1 − e^{−λ})/λ, per week
    kl, kd0, lam, e = claret.kl * WEEK, claret.kd0 * WEEK, claret.lam * WEEK, 3.825
    criterion = [4 * kl > kd0 * e * math.exp(-4 * lam * k) * (1 - math.exp(-lam)) / lam for k in range(10)]
    assert criterion.index(True) == 8


def test_exposure_integral_is_exact(fu_exposure):
    """The piecewise closed form agrees with quadrature of E(s)·e^{−λs}."""
    from scipy.integrate import quad

    lam = 0.006
    for t in (3.0, 7.0, 30.5, 200.0):
        breaks = [s for s in fu_exposure.starts if s < t]

        def integrand(s):
            k = np.searchsorted(fu_exposure.starts, s, side="right") - 1
            return fu_exposure.values[k] * math.exp(-lam * s)

        expected = sum(quad(integrand, a, b)[0] for a, b in zip(breaks, [*breaks[1:], t]))
        assert float(fu_exposure.integral(t, lam)) == pytest.approx(expected, rel=1e-10)


def test_claret_parameter_set_units_and_variability():
    pset = get_parameter_set("Claret2009")
    values = pset.to_dict()
    assert values[CLARET_KL] * WEEK == pytest.approx(0.015)
    assert values[CLARET_KD0] * WEEK == pytest.approx(0.058)
    assert values[CLARET_LAMBDA] * WEEK == pytest.approx(0.042)
    assert values[CLARET_TS0] == 100
    variances = np.diag(pset.variability.covariance())
    np.testing.assert_allclose(variances, [0.556, 0.540, 0.450], rtol=1e-3)


def test_claret_fit_recovers_a_patient(claret, fu_exposure):
    t = np.arange(0, 40) * WEEK
    true = ClaretModel(claret.kl * 1.3, claret.kd0 * 0.8, claret.lam * 1.2, 120.0)
    rng = np.random.default_rng(2)
    y = true.tumour_size(t, fu_exposure) + rng.normal(0, 1.0, t.size)
    data = pd.DataFrame({"subject": "p1", "time": t, "observable": "Sum of diameters [mm]", "value": y})
    fit = ClaretFitter(fu_exposure).fit(data).individual_.loc["p1"]
    assert fit["converged"]
    for name, value in ((CLARET_KL, true.kl), (CLARET_KD0, true.kd0), (CLARET_LAMBDA, true.lam), (CLARET_TS0, 120)):
        assert fit[name] == pytest.approx(value, rel=0.1)


# ----------------------------------------------------------------------------- Stein 2008
def _series(model: str, params, seed: int, times=np.arange(0, 337, 28.0), sd=0.02, baseline=80.0):
    rng = np.random.default_rng(seed)
    f = stein_curve(model, times, params) * (1 + sd * rng.standard_normal(times.size))
    return pd.DataFrame({"subject": f"{model}-{seed}", "time": times + 10, "observable": "Sum of diameters [mm]",
                         "value": baseline * f / f[0]})


TRUE_MODELS = {
    "gd": {"g": 0.004, "d": 0.02},
    "dx": {"d": 0.006},
    "gx": {"g": 0.003},
    "gdphi": {"phi": 0.6, "g": 0.005, "d": 0.03},
}


def test_stein_curves_start_at_one():
    for model, params in TRUE_MODELS.items():
        assert stein_curve(model, [0.0], params)[0] == pytest.approx(1.0)


def test_stein_selection_picks_the_generating_model():
    """Five noisy series from each model (2% multiplicative noise, 13 monthly scans): the simulated model wins
    for at least 90% of the series and 4 of 5 of each model."""
    data = pd.concat([_series(m, p, seed) for m, p in TRUE_MODELS.items() for seed in range(5)])
    fit = SteinFitter().fit(data)
    chosen = fit.individual_["model"]
    truth = chosen.index.str.split("-").str[0]
    assert (chosen == truth).mean() >= 0.9, chosen[chosen != truth]
    for model in TRUE_MODELS:
        assert (chosen[truth == model] == model).sum() >= 4, chosen[truth == model]
    gd = fit.individual_[(truth == "gd") & (chosen == "gd")]
    assert gd["g"].median() == pytest.approx(0.004, rel=0.2) and gd["d"].median() == pytest.approx(0.02, rel=0.2)
    assert fit.summary.loc["gd", "subjects"] >= 5
    assert fit.fits_.loc[("gd-0", "gd"), "eligible"]
    assert fit.fits_.loc[("gd-0", "gd"), "p g"] < 0.10


def test_stein_not_fit_and_too_few_points():
    flat = pd.DataFrame({"subject": "flat", "time": [0, 30, 60, 90], "observable": "SLD [mm]",
                         "value": [50.0, 50.5, 49.6, 50.2]})
    fit = SteinFitter().fit(flat)
    assert fit.individual_.loc["flat", "model"] == "not fit"
    one = flat.iloc[:1]
    assert SteinFitter().fit(one).fits_["converged"].sum() == 0


def test_stein_errors():
    data = _series("gd", TRUE_MODELS["gd"], 0)
    with pytest.raises(CalibrationError, match="did you mean 'gdphi'"):
        SteinFitter(models=("gdphy",)).fit(data)
    with pytest.raises(CalibrationError, match="alpha"):
        SteinFitter(alpha=1.5).fit(data)
    two = pd.concat([data, data.assign(observable="CEA [ng/mL]")])
    with pytest.raises(CalibrationError, match="several observables"):
        SteinFitter().fit(two)
