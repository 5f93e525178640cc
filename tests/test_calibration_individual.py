"""Error models and the individual maximum-likelihood estimator.

Censored likelihoods are checked against the direct formulas; the estimator
recovers known parameters from simulated data (a closed-form law, a treated
and an untreated curve of one subject, and a chemohost Model under a dose
regimen); VALIDATION V9 (per-mouse Gompertz on the Benzekry LLC data) holds
through the new estimator.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import chemohost as ch
from chemohost.calibration import (
    CLOSED_FORMS,
    AdditiveError,
    CalibrationError,
    CombinedError,
    DataFileError,
    IndividualFitter,
    LogNormalError,
    Observable,
    PowerError,
    ProportionalError,
    error_model,
    reduced_gompertz,
    tidy_benzekry2014,
)
from chemohost.calibration._individual import UnidentifiableWarning

TV = "Tumour volume [mm3]"
ALPHA0, BETA = "Gompertz initial growth rate [1/day]", "Gompertz deceleration rate [1/day]"
GROWTH, KILL, V0 = "Exponential growth rate [1/day]", "Treatment kill rate [1/day]", "Initial tumour volume [mm3]"
LEFT, RIGHT = 1, 2


# ------------------------------------------------------------------------------------- error models
@pytest.mark.parametrize(("model", "params", "sd"), [
    (AdditiveError(), {"sigma_add": 2.0}, lambda f: np.full_like(f, 2.0)),
    (ProportionalError(), {"sigma_prop": 0.2}, lambda f: 0.2 * f),
    (CombinedError(), {"sigma_add": 2.0, "sigma_prop": 0.2}, lambda f: np.hypot(2.0, 0.2 * f)),
    (PowerError(), {"sigma": 0.5, "alpha": 0.84}, lambda f: 0.5 * f**0.84),
])
def test_gaussian_error_models_match_the_direct_censored_likelihood(model, params, sd):
    """Uncensored: −ln N(y; f, σ); left-censored at y: −ln Φ((y − f)/σ); right: −ln(1 − Φ((y − f)/σ))."""
    y = np.array([10.0, 30.0, 55.0, 5.0, 80.0])
    f = np.array([12.0, 25.0, 50.0, 9.0, 70.0])
    censoring = np.array([0, 0, 0, LEFT, RIGHT])
    s = sd(f)
    expected = np.r_[-stats.norm.logpdf(y[:3], f[:3], s[:3]),
                     -stats.norm.logcdf(y[3], f[3], s[3]), -stats.norm.logsf(y[4], f[4], s[4])]
    np.testing.assert_allclose(model.nll(y, f, params, censoring), expected, rtol=1e-12)


def test_lognormal_error_is_the_density_of_y_and_censors_on_the_log_scale():
    y, f, sigma = np.array([10.0, 30.0, 4.0, 90.0]), np.array([12.0, 25.0, 6.0, 70.0]), 0.3
    got = LogNormalError().nll(y, f, {"sigma": sigma}, np.array([0, 0, LEFT, RIGHT]))
    expected = np.r_[-stats.lognorm.logpdf(y[:2], sigma, scale=f[:2]),
                     -stats.lognorm.logcdf(y[2], sigma, scale=f[2]), -stats.lognorm.logsf(y[3], sigma, scale=f[3])]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_error_model_specs_fix_given_values_and_reject_unknown_ones():
    power = error_model({"model": "power", "alpha": 0.84})
    assert (power.free, power.fixed) == (("sigma",), {"alpha": 0.84})
    with pytest.raises(CalibrationError, match="did you mean 'lognormal'"):
        error_model("lognormla")
    with pytest.raises(CalibrationError, match="sigma_prop"):
        error_model({"model": "proportional", "sigma": 0.1})
    with pytest.raises(CalibrationError, match="> 0"):
        ProportionalError(sigma_prop=-0.1)
    with pytest.raises(CalibrationError, match="unit"):
        Observable("Tumour volume")


# ---------------------------------------------------------------------------------------- recovery
def gompertz_data(alpha0, beta, times, sigma, seed, v0=1.0):
    rng = np.random.default_rng(seed)
    law = CLOSED_FORMS["gompertz"]
    rows = []
    for i, (a, b) in enumerate(zip(alpha0, beta)):
        log_v = law.evaluate(times, np.array([[a, b]]), v0)[0] + rng.normal(0.0, sigma, times.size)
        rows.append(pd.DataFrame({"subject": f"m{i}", "time": times, "observable": TV, "value": np.exp(log_v)}))
    return pd.concat(rows, ignore_index=True)


def test_closed_form_law_recovers_known_parameters():
    alpha0, beta = np.array([0.6, 0.75, 0.9, 0.7]), np.array([0.06, 0.09, 0.11, 0.05])
    data = gompertz_data(alpha0, beta, np.arange(2.0, 31.0, 2.0), sigma=0.05, seed=11)
    fit = IndividualFitter("gompertz", error_model="lognormal", n_starts=2, seed=3).fit(data)
    np.testing.assert_allclose(fit.params_[ALPHA0], alpha0, rtol=0.05)
    np.testing.assert_allclose(fit.params_[BETA], beta, rtol=0.12)
    np.testing.assert_allclose(fit.params_["sigma"], 0.05, rtol=0.5)
    assert fit.converged_.all()
    covered = (fit.summary["lower 95%"] <= fit.summary["estimate"]) & (fit.summary["estimate"] <= fit.summary["upper 95%"])
    assert covered.all()
    table = fit.summary.xs(ALPHA0, level="parameter")
    assert ((table["lower 95%"] < alpha0) & (alpha0 < table["upper 95%"])).sum() >= 3  # 95% intervals cover


def test_standard_error_of_the_exponential_rate_is_the_regression_formula():
    """ln V = ln V0 + a·t with V0 fixed and log-normal error: SE(a) = σ̂/√Σt², σ̂² = SSE/n (the MLE)."""
    t = np.arange(1.0, 13.0)
    y = np.exp(0.3 * t + np.random.default_rng(5).normal(0, 0.1, t.size))
    data = pd.DataFrame({"subject": "a", "time": t, "observable": TV, "value": y})
    fit = IndividualFitter("exponential", n_starts=1).fit(data)
    a = (t @ np.log(y)) / (t @ t)
    sigma = math.sqrt(np.sum((np.log(y) - a * t) ** 2) / t.size)
    assert fit.params_.loc["a", GROWTH] == pytest.approx(a, rel=1e-6)
    assert fit.params_.loc["a", "sigma"] == pytest.approx(sigma, rel=1e-5)
    assert fit.standard_errors_.loc["a", GROWTH] == pytest.approx(sigma / math.sqrt(t @ t), rel=2e-3)
    nll = -np.sum(stats.lognorm.logpdf(y, sigma, scale=np.exp(a * t)))
    assert fit.loglik_["a"] == pytest.approx(-nll, rel=1e-9)
    assert fit.aic_["a"] == pytest.approx(2 * nll + 4) and fit.bic_["a"] == pytest.approx(2 * nll + 2 * math.log(12))


def test_treated_and_untreated_curves_of_one_subject_separate_growth_and_kill():
    """exponential_kill with k held at 0 in the untreated group: growth shared, V0 per group, kill from the
    difference — a left-censored (complete-response) point included."""
    t = np.arange(0.0, 29.0, 3.0)
    rng = np.random.default_rng(2)
    rows = []
    for s, (a, k, v_c, v_t) in enumerate([(0.08, 0.12, 200.0, 180.0), (0.05, 0.02, 150.0, 260.0)]):
        for group, rate, v in (("control", a, v_c), ("treated", a - k, v_t)):
            value = v * np.exp(rate * t + rng.normal(0, 0.08, t.size))
            rows.append(pd.DataFrame({"subject": f"pdx{s}", "time": t, "observable": TV, "value": value,
                                      "group": group, "censoring": ""}))
    data = pd.concat(rows, ignore_index=True)
    last = data.index[(data["subject"] == "pdx0") & (data["group"] == "treated")][-1]
    data.loc[last, ["value", "censoring"]] = [100.0, "left"]  # the truth there is 61 mm3: below a limit of 100
    fit = IndividualFitter("exponential_kill", estimate=[GROWTH, KILL, V0], per_group=[V0],
                           group_parameters={"control": {KILL: 0.0}},
                           bounds={GROWTH: (1e-3, 1.0), KILL: (1e-4, 1.0), V0: (10.0, 2000.0)}, n_starts=2).fit(data)
    np.testing.assert_allclose(fit.params_[GROWTH], [0.08, 0.05], rtol=0.15)
    np.testing.assert_allclose(fit.params_[KILL], [0.12, 0.02], rtol=0.25)
    np.testing.assert_allclose(fit.params_[f"{V0} (treated)"], [180.0, 260.0], rtol=0.15)
    assert list(fit.params_.columns) == [GROWTH, KILL, f"{V0} (control)", f"{V0} (treated)", "sigma"]
    row = fit.predictions_.loc[fit.predictions_["censoring"] == "left"].iloc[0]
    assert row["prediction"] < 100.0 and math.isnan(row["residual"])


@pytest.mark.slow
def test_chemohost_model_with_a_dose_regimen_recovers_known_parameters(shared_model):
    """Simeoni TGI model with paclitaxel PK and linear kill under q4d×3 dosing; growth rate and kill potency
    estimated per animal from noisy volumes; all animals simulated in batched calls."""
    model = shared_model("simeoni")
    regimen = "paclitaxel 30 mg/kg iv q4d x3 from day 8"
    lam, potency = "Simeoni exponential growth rate [1/day]", "Paclitaxel kill potency [mL/ng/day]"
    truth = pd.DataFrame({lam: [0.25, 0.32, 0.2], potency: [6e-4, 9e-4, 4e-4]})
    times = np.arange(0.0, 29.0, 2.0)
    fixed = {"Body weight [kg]": 0.02, V0: 40.0}
    ds = ch.simulate(model, regimen, {**fixed, **{c: truth[c].to_numpy() for c in truth}}, times, rtol=1e-10)
    noise = np.random.default_rng(7).normal(0.0, 0.05, (3, times.size))
    volume = ds[TV].values * np.exp(noise)
    data = pd.DataFrame({"subject": np.repeat(["r0", "r1", "r2"], times.size), "time": np.tile(times, 3),
                         "observable": TV, "value": volume.ravel(), "group": "paclitaxel"})
    fit = IndividualFitter(model, error_model="lognormal", estimate=[lam, potency], fixed=fixed,
                           regimens={"paclitaxel": regimen}, bounds={lam: (0.01, 2.0), potency: (1e-6, 1e-2)},
                           n_starts=2, seed=0).fit(data)
    np.testing.assert_allclose(fit.params_[lam], truth[lam], rtol=0.05)
    np.testing.assert_allclose(fit.params_[potency], truth[potency], rtol=0.15)
    assert fit.converged_.all()


# ---------------------------------------------------------------------------------- V9 (data)
@pytest.mark.data
def test_v9_per_mouse_gompertz_through_the_individual_estimator():
    """Log-normal error: the structural MLE is least squares on ln V, so the V9 targets hold."""
    try:
        lung = tidy_benzekry2014("lung")
    except DataFileError as exc:
        pytest.skip(f"shared data not available: {exc}")
    fit = IndividualFitter("gompertz", error_model="lognormal", n_starts=2).fit(lung)
    assert fit.params_[ALPHA0].median() == pytest.approx(0.728, rel=0.03)
    assert fit.params_[BETA].median() == pytest.approx(0.0809, rel=0.03)
    assert np.log(fit.params_[ALPHA0]).std(ddof=0) == pytest.approx(0.241, abs=0.02)
    assert np.log(fit.params_[BETA]).std(ddof=0) == pytest.approx(0.543, abs=0.03)
    relation = reduced_gompertz(fit.params_[[ALPHA0, BETA]])
    assert relation["Correlation of logs [-]"] == pytest.approx(0.938, abs=0.02)
    assert relation["Linear R2 [-]"] >= 0.92
    assert fit.converged_.all()


# ------------------------------------------------------------------------------------ bad inputs
@pytest.fixture(scope="module")
def small():
    return gompertz_data([0.7, 0.8], [0.08, 0.1], np.arange(2.0, 21.0, 3.0), sigma=0.05, seed=1)


@pytest.mark.parametrize(("settings", "words"), [
    ({"estimate": ["Gompertz initial growth rate [1/dy]"]}, ["did you mean", "[1/day]"]),
    ({"fixed": {ALPHA0: 0.7}}, ["both estimated and fixed"]),
    ({"per_group": [V0]}, ["not estimated"]),
    ({"bounds": {ALPHA0: (2.0, 1.0)}}, ["increasing"]),
    ({"observables": ["Plasma paclitaxel [ng/mL]"]}, ["unknown model quantity"]),
    ({"observables": [Observable(TV, transform="log")]}, ["lognormal"]),
    ({"regimens": {"x": "none"}}, ["unknown group 'x'"]),
    ({"n_starts": 0}, ["n_starts"]),
])
def test_bad_settings_raise_one_actionable_line(small, settings, words):
    with pytest.raises(CalibrationError) as info:
        IndividualFitter("gompertz", **settings).fit(small)
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_data_problems_are_named(small):
    zero = small.copy()
    zero.loc[3, "value"] = 0.0
    with pytest.raises(CalibrationError, match="log scale"):
        IndividualFitter("gompertz").fit(zero)
    with pytest.raises(CalibrationError, match="observation"):
        IndividualFitter("gompertz").fit(small.groupby("subject").head(1))
    with pytest.raises(CalibrationError, match="estimate= is required"):
        IndividualFitter(ch.Model({"growth": "exponential"})).fit(small)


def test_predict_plot_and_additive_error_on_a_log_observable(small):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit = IndividualFitter("gompertz", observables=[Observable(TV, transform="log")], error_model="additive",
                           n_starts=1).fit(small)
    assert list(fit.params_.columns) == [ALPHA0, BETA, "sigma_add"]
    rows = fit.predict(data=small, level=0.9)
    assert ((rows["lower"] < rows["prediction"]) & (rows["prediction"] < rows["upper"])).all()
    inside = rows["value"].between(rows["lower"], rows["upper"]).mean()
    assert inside >= 0.7
    curves = fit.predict(times=[0.0, 10.0, 20.0])
    assert len(curves) == 6 and set(curves.columns) == {"subject", "group", "time", "observable", "prediction"}
    for kind in ("fits", "observed", "residuals"):
        fig, ax = plt.subplots()
        assert fit.plot(kind, ax=ax) is ax
        plt.close(fig)


# ------------------------------------------------------------------------- robustness (issue 11, item 3)
def test_gompertz_with_signed_bounds_on_a_series_falling_to_zero_runs_to_completion():
    """Regression: bounds (−20, 20) × (10⁻⁴, 20), additive error, V0 estimated, 595 → 0 mm³ over 84 days
    raised 'array must not contain infs or NaNs' in the least-squares Jacobian."""
    law = CLOSED_FORMS["gompertz"].with_bounds({ALPHA0: (-20.0, 20.0), BETA: (1e-4, 20.0)})
    t = np.linspace(0.0, 84.0, 8)
    data = pd.DataFrame({"subject": "p", "time": t, "observable": TV, "value": np.linspace(595.0, 0.0, 8)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnidentifiableWarning)
        fit = IndividualFitter(law, error_model="additive", estimate=[ALPHA0, BETA, V0],
                               bounds={ALPHA0: (-20.0, 20.0), BETA: (1e-4, 20.0), V0: (1.0, 5000.0)}).fit(data)
    assert np.isfinite(fit.params_.to_numpy()).all()
    assert fit.params_.loc["p", ALPHA0] < 0  # shrinking
    assert np.isfinite(fit.predictions_["prediction"]).all()
    assert not fit.summary[["lower 95%", "upper 95%"]].isna().all(axis=None)


@pytest.mark.parametrize("law", ["gompertz", "hahnfeldt"])
def test_every_law_refuses_bad_replacement_bounds_the_same_way(law):
    """Closed-form and Hahnfeldt laws share one bounds check: unknown names and empty intervals are refused."""
    from chemohost.calibration._laws import get_growth_law

    growth = get_growth_law(law)
    name = growth.parameter_names[0]
    narrowed = growth.with_bounds({name: (1e-3, 2.0)})
    assert narrowed.lower[0] == 1e-3 and narrowed.upper[0] == 2.0 and growth.upper[0] != 2.0
    with pytest.raises(CalibrationError, match="must be below upper"):
        growth.with_bounds({name: (2.0, 2.0)})
    with pytest.raises(CalibrationError, match=f"bounds for {law}"):
        growth.with_bounds({"no such parameter": (0.0, 1.0)})


def test_an_unidentifiable_log_scale_parameter_gets_an_infinite_interval_and_a_warning():
    """Only a − k is determined by one treated curve: a and k are unidentifiable. Their Wald intervals on the
    log scale are infinite (no OverflowError), with one warning naming them."""
    t = np.arange(0.0, 22.0, 3.0)
    data = pd.DataFrame({"subject": "s", "time": t, "observable": TV, "value": 100.0 * np.exp(0.02 * t)})
    with pytest.warns(UnidentifiableWarning, match="Treatment kill rate") as record:
        fit = IndividualFitter("exponential_kill", error_model={"model": "lognormal", "sigma": 0.1},
                               estimate=[GROWTH, KILL], fixed={V0: 100.0}, n_starts=1).fit(data)
    assert len(record) == 1 and "\n" not in str(record[0].message)
    rows = fit.summary.loc["s"]
    assert np.isfinite(rows["estimate"]).all()
    assert not np.isfinite(rows[["lower 95%", "upper 95%"]].to_numpy()).all()
    assert np.isfinite(fit.predictions_["prediction"]).all()


@pytest.mark.slow
def test_hahnfeldt_with_v0_and_k0_held_on_three_points_runs_to_completion():
    """Regression: V0 and K0 fixed, log-normal error (σ held), 639, 1606, 2451 mm³ at days 0, 2, 4 raised
    OverflowError (math range error) in the log-scale interval of a parameter with a huge standard error."""
    data = pd.DataFrame({"subject": "q", "time": [0.0, 2.0, 4.0], "observable": TV,
                         "value": [639.0, 1606.0, 2451.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnidentifiableWarning)
        fit = IndividualFitter("hahnfeldt", error_model={"model": "lognormal", "sigma": 0.1},
                               estimate=["Hahnfeldt tumour growth rate [1/day]", "Vascular stimulation rate [1/day]",
                                         "Vascular inhibition rate [1/(day*mm2)]"],
                               fixed={V0: 639.0, "Initial vascular carrying capacity [mm3]": 625.0}).fit(data)
    assert np.isfinite(fit.params_.to_numpy()).all()
    assert np.isfinite(fit.predictions_["prediction"]).all()
    assert (fit.summary["upper 95%"] >= fit.summary["estimate"]).all()  # possibly infinite, never an exception


@dataclass(frozen=True)
class _Fragile:
    """The exponential law, raising for an initial volume of 13 mm³: a subject whose evaluation fails."""

    name: str = "fragile exponential"

    def __getattr__(self, item):
        return getattr(CLOSED_FORMS["exponential"], item)

    def evaluate(self, times, params, v0=1.0, t0=0.0):
        if np.any(np.asarray(v0) == 13.0):
            raise OverflowError("math range error")
        return CLOSED_FORMS["exponential"].evaluate(times, params, v0, t0)


def _exponential_cohort(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(1.0, 13.0)
    rates = rng.uniform(0.1, 0.4, n)
    return pd.concat([pd.DataFrame({"subject": f"m{i:02d}", "time": t, "observable": TV,
                                    "value": np.exp(r * t + rng.normal(0, 0.1, t.size))})
                      for i, r in enumerate(rates)], ignore_index=True), rates


def test_a_subject_that_fails_is_reported_and_the_others_are_fitted():
    data, rates = _exponential_cohort(6, seed=4)
    v0 = pd.Series(1.0, index=[f"m{i:02d}" for i in range(6)])
    v0["m03"] = 13.0
    fit = IndividualFitter(_Fragile(), estimate=[GROWTH], fixed={V0: v0}, n_starts=1).fit(data)
    status = fit.statistics["status"]
    assert status["m03"].startswith("failed") and (status.drop("m03") == "converged").all()
    assert fit.params_.loc["m03"].isna().all()
    np.testing.assert_allclose(fit.params_[GROWTH].drop("m03"), np.delete(rates, 3), rtol=0.1)
    fitted = fit.predictions_[fit.predictions_["subject"] != "m03"]
    assert np.isfinite(fitted["prediction"]).all()
    assert fit.AIC_ == pytest.approx(float(fit.aic_.drop("m03").sum()))


def test_too_few_observations_skip_one_subject_not_the_fit(small):
    data = pd.concat([small, pd.DataFrame({"subject": "lone", "time": [2.0], "observable": TV, "value": [3.0]})])
    fit = IndividualFitter("gompertz", n_starts=1).fit(data)
    assert fit.status_["lone"].startswith("skipped") and fit.params_.loc["lone"].isna().all()
    assert fit.status_.drop("lone").isin(["converged", "not converged"]).all()


def test_subjects_fitted_in_worker_processes_match_the_serial_fit(monkeypatch):
    """Worker processes (from the fork server, never a fork of this process) give the serial fit exactly. The
    threshold is lowered so that 32 subjects use two workers; by default so few stay in this process."""
    from chemohost.calibration import _optimiser

    assert _optimiser.workers_for(32, 2) == 1
    monkeypatch.setattr(_optimiser, "SUBJECTS_PER_WORKER", 16)
    assert _optimiser.workers_for(32, 2) == 2
    data, _ = _exponential_cohort(32, seed=8)
    serial = IndividualFitter("exponential", n_starts=1, n_jobs=1).fit(data)
    parallel = IndividualFitter("exponential", n_starts=1, n_jobs=2).fit(data)
    pd.testing.assert_frame_equal(serial.params_, parallel.params_)
    assert (parallel.status_ == "converged").all()


def test_every_fitter_shares_the_estimator_base(small):
    import io

    from chemohost.calibration import GrowthLawFitter, SteinFitter
    from chemohost.calibration._estimator import Estimator

    fit = IndividualFitter("gompertz", n_starts=1).fit(small)
    loglik, k, n = float(fit.loglik_.sum()), int(fit.n_params_.sum()), int(fit.n_obs_.sum())
    assert fit.AIC_ == pytest.approx(-2 * loglik + 2 * k) and fit.BIC_ == pytest.approx(-2 * loglik + k * math.log(n))
    assert list(fit.confidence_intervals_.columns) == ["lower 95%", "upper 95%"]
    out = io.StringIO()
    fit.print_summary(file=out)
    assert "AIC" in out.getvalue() and ALPHA0 in out.getvalue()
    growth = GrowthLawFitter("gompertz").fit(small.rename(columns={"time": "time [day]", "value": "volume [mm3]"}))
    assert growth.AIC_ == pytest.approx(growth.aic_)
    stein = SteinFitter().fit(small)
    for fitter in (fit, growth, stein):
        assert isinstance(fitter, Estimator) and isinstance(fitter.summary, pd.DataFrame)
    with pytest.raises(CalibrationError, match="not fitted"):
        IndividualFitter("gompertz").summary


def test_calibration_does_not_import_report_internals():
    """Issue 11, item 6: calibration → report is a layering violation; shared figure helpers live in
    chemohost.plotting."""
    import pathlib

    import chemohost.calibration as calibration

    folder = pathlib.Path(calibration.__file__).parent
    offenders = [p.name for p in folder.glob("*.py") if "..report" in p.read_text() or "chemohost.report" in
                 p.read_text()]
    assert offenders == []
