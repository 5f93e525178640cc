"""Population fits (PopulationFitter): JAX laws, priors, recovery, interval coverage, the LLC mice, cohorts.

Recovery tests simulate cohorts from known population parameters with fixed
seeds. The coverage tests (slow) refit many simulated data sets and count how
often the 90% intervals contain the truth. The Benzekry 2014 LLC data are read
from the shared data folder and those tests skip cleanly when it is absent.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("jax")
pytest.importorskip("optimistix")

from chemohost.calibration import (  # noqa: E402
    CLOSED_FORMS,
    CalibrationError,
    DataFileError,
    PopulationFitter,
    load_benzekry2014,
)
from chemohost.calibration._jax_laws import jax_log_volume  # noqa: E402
from chemohost.calibration._jax_population import _corr_cholesky, _cpc_concentrations  # noqa: E402
from chemohost.calibration._laws import get_growth_law, growth_law_names  # noqa: E402
from chemohost.parameters import LogNormalVariability  # noqa: E402

ALPHA0 = "Gompertz initial growth rate [1/day]"
BETA = "Gompertz deceleration rate [1/day]"
VOLUME = "Tumour volume [mm3]"
TRUTH = {"typical": {ALPHA0: 0.7, BETA: 0.08}, "omega": {ALPHA0: 0.25, BETA: 0.4}, "corr": 0.6, "sigma": 0.15}
TIMES = np.arange(4.0, 25.0, 2.0)


def simulate_gompertz(n_subjects: int, seed: int, truth=TRUTH, times=TIMES, groups=None) -> pd.DataFrame:
    """A tidy Gompertz cohort: log-normal (α0, β) with correlation, log-normal residual error, V(0) = 1 mm3."""
    rng = np.random.default_rng(seed)
    sd = np.array([truth["omega"][ALPHA0], truth["omega"][BETA]])
    cov = np.outer(sd, sd) * np.array([[1, truth["corr"]], [truth["corr"], 1]])
    eta = rng.multivariate_normal(np.zeros(2), cov, size=n_subjects)
    theta = np.array([truth["typical"][ALPHA0], truth["typical"][BETA]]) * np.exp(eta)
    if groups is not None:
        theta[:, 0] *= groups["factor"] ** (np.arange(n_subjects) % 2)
        theta[:, 1] *= (groups["weight"] / 0.02) ** groups["kappa"]
    log_v = CLOSED_FORMS["gompertz"].evaluate(times, theta)
    y = np.exp(log_v + truth["sigma"] * rng.standard_normal(log_v.shape))
    frame = pd.DataFrame({"subject": np.repeat([f"m{i:02d}" for i in range(n_subjects)], times.size),
                          "time": np.tile(times, n_subjects), "observable": VOLUME, "value": y.ravel()})
    if groups is not None:
        frame["group"] = np.repeat(np.where(np.arange(n_subjects) % 2, "treated", "control"), times.size)
        frame["weight"] = np.repeat(groups["weight"], times.size)
    return frame


def _lung():
    try:
        return load_benzekry2014("lung")
    except DataFileError as exc:
        pytest.skip(f"shared data not available: {exc}")


# ----------------------------------------------------------------------------- building blocks
@pytest.mark.parametrize("name", [n for n in growth_law_names() if hasattr(get_growth_law(n), "log_volume")])
def test_jax_law_is_the_numpy_law(name):
    """The JAX closed form runs the same code as the NumPy one and agrees to rounding, with finite gradients."""
    import jax
    import jax.numpy as jnp

    law = get_growth_law(name)
    times = np.array([0.0, 0.5, 3.0, 10.0, 24.0])
    params = np.array([g for g in law.initial_guesses if all(v > 0 for v in g)][0])
    expected = law.evaluate(times, params[None], 2.0, 0.0)[0]
    fn = jax_log_volume(law)
    fixed = law.fixed_keywords()

    def f(p):
        return fn(jnp.asarray(times), 2.0, *p, **fixed)

    np.testing.assert_allclose(np.asarray(f(jnp.asarray(params))), expected, rtol=1e-12, atol=1e-12)
    grad = jax.jacfwd(f)(jnp.asarray(params))
    assert np.all(np.isfinite(np.asarray(grad)))


def test_lkj_prior_matches_numpyro():
    """The C-vine Beta partial correlations and tanh Jacobian give NumPyro's LKJCholesky(3, 2) density."""
    pytest.importorskip("numpyro")
    import jax
    import jax.numpy as jnp
    from jax.scipy.stats import beta
    from numpyro.distributions import LKJCholesky
    from numpyro.distributions.transforms import CorrCholeskyTransform

    d, a = 3, _cpc_concentrations(3)

    @jax.jit
    def both(z):
        w = jnp.tanh(z)
        chol = _corr_cholesky(w, d, jnp)
        mine = jnp.sum(beta.logpdf((w + 1) / 2, a, a) + jnp.log1p(-w**2))
        theirs = LKJCholesky(d, 2.0).log_prob(chol) + CorrCholeskyTransform().log_abs_det_jacobian(z, chol)
        return chol, CorrCholeskyTransform()(z), mine, theirs

    out = [both(jnp.asarray(z)) for z in np.random.default_rng(0).normal(0, 0.8, size=(3, 3))]
    for chol, reference, _, _ in out:
        np.testing.assert_allclose(chol, reference, atol=1e-12)
    np.testing.assert_allclose(np.diff([o[2] for o in out]), np.diff([o[3] for o in out]), atol=1e-9)


# ----------------------------------------------------------------------------- recovery
@pytest.fixture(scope="module")
def cohort():
    return simulate_gompertz(30, seed=11)


@pytest.fixture(scope="module")
def laplace_fit(cohort):
    return PopulationFitter("gompertz", method="laplace", n_draws=1000, seed=3).fit(cohort)


def _check_recovery(fit):
    for name, value in TRUTH["typical"].items():
        assert fit.population_[name] == pytest.approx(value, rel=0.1)
    for name, value in TRUTH["omega"].items():
        assert fit.omega_[name] == pytest.approx(value, rel=0.4)
    assert fit.correlation_.loc[ALPHA0, BETA] == pytest.approx(TRUTH["corr"], abs=0.35)
    assert fit.sigma_["sigma"] == pytest.approx(TRUTH["sigma"], rel=0.15)
    rows = fit.summary.loc["typical value"]
    assert np.all(rows["5.0%"] < pd.Series(TRUTH["typical"])) and np.all(pd.Series(TRUTH["typical"]) < rows["95.0%"])


def test_laplace_recovers_the_population(laplace_fit):
    assert laplace_fit.converged_
    _check_recovery(laplace_fit)
    fit = laplace_fit
    assert fit.individual_.shape == (30, 2) and np.all(fit.individual_ > 0)
    assert list(fit.summary.columns) == ["estimate", "sd", "5.0%", "95.0%"]
    assert set(fit.summary.index.get_level_values("quantity")) == {"typical value", "omega", "correlation",
                                                                  "residual error"}
    assert fit.posterior_["typical value"].dims == ("chain", "draw", "parameter")
    assert fit.posterior_.sizes["draw"] == 1000 and fit.posterior_.attrs["seed"] == 3
    assert set(fit.inference_data_.children) == {"posterior", "observed_data"}
    assert fit.divergences_ is None and fit.rhat_ is None
    assert list(fit.covariance_.index[-2:]) == [f"mu[{ALPHA0}]", f"mu[{BETA}]"]
    assert np.all(np.linalg.eigvalsh(fit.covariance_) > 0)
    assert {"Tierney1986", "Lewandowski2009", "Benzekry2014"} <= set(fit.citations)
    # the estimator base every fitter shares
    assert math.isfinite(fit.AIC_) and fit.BIC_ > fit.AIC_
    assert list(fit.confidence_intervals_.columns) == ["5.0%", "95.0%"]
    np.testing.assert_allclose(fit.predict([4.0, 24.0], subject="m00"),
                               fit.structure_.predict(fit.individual_.loc["m00"].to_numpy(), [4.0, 24.0])[0])


def test_map_gives_the_laplace_mode_without_intervals(cohort, laplace_fit):
    fit = PopulationFitter("gompertz", method="map").fit(cohort)
    pd.testing.assert_series_equal(fit.population_, laplace_fit.population_, rtol=1e-8)
    assert fit.posterior_ is None and fit.summary["5.0%"].isna().all()


@pytest.mark.slow
def test_nuts_recovers_the_population_with_diagnostics(cohort, laplace_fit):
    """Default chains (4 × 1,000 warm-up + 1,000 draws): every summary quantity mixes — rank-normalised
    R-hat < 1.01 and bulk ESS > 400 (Vehtari et al. 2021's thresholds for four chains)."""
    fit = PopulationFitter("gompertz", method="nuts", seed=1).fit(cohort)
    _check_recovery(fit)
    assert isinstance(fit.divergences_, int) and fit.divergences_ <= 8
    assert fit.rhat_.max() < 1.01, fit.rhat_
    assert fit.ess_.min() > 400, fit.ess_
    assert fit.converged_
    assert fit.posterior_.sizes == {"chain": 4, "draw": 1000, "parameter": 2, "random_effect": 2,
                                    "random_effect_2": 2, "effect": 0, "error_parameter": 1, "subject": 30}
    assert fit.inference_data_["sample_stats"]["diverging"].dims == ("chain", "draw")
    assert {"r_hat", "ess"} <= set(fit.summary.columns)
    # the two approximations of the same posterior agree on the typical values
    np.testing.assert_allclose(fit.population_, laplace_fit.population_, rtol=0.05)


def test_rank_diagnostics_flag_chains_that_disagree():
    """Independent normal chains: R-hat ≈ 1 and bulk ESS ≈ the number of draws; shifted chains: R-hat ≫ 1."""
    pytest.importorskip("numpyro")
    from chemohost.calibration._population import bulk_ess, rank_rhat

    draws = np.random.default_rng(0).standard_normal((4, 1000))
    assert rank_rhat(draws) < 1.01 and 3000 < bulk_ess(draws) < 5000
    shifted = draws + np.array([0.0, 0.0, 0.0, 3.0])[:, None]
    assert rank_rhat(shifted) > 1.1


@pytest.mark.parametrize("name", ["additive", "proportional", "combined", "power", "lognormal"])
def test_one_error_model_log_likelihood_in_numpy_and_jax(name):
    """The population fitter evaluates the same ErrorModel.loglik in JAX that the individual fitter does in
    NumPy: both agree, censored points included."""
    import jax.numpy as jnp

    from chemohost.calibration import ERROR_MODELS

    model = ERROR_MODELS[name]()
    params = {"sigma_add": 2.0, "sigma_prop": 0.2, "sigma": 0.3, "alpha": 0.84}
    params = {k: v for k, v in params.items() if k in model.parameter_names}
    y, f = np.array([10.0, 30.0, 55.0, 5.0, 80.0]), np.array([12.0, 25.0, 50.0, 9.0, 70.0])
    censoring = np.array([0, 0, 0, 1, 2])
    expected = model.loglik(y, f, params, censoring)
    got = model.loglik(jnp.asarray(y), jnp.asarray(f), {k: jnp.asarray(v) for k, v in params.items()},
                       jnp.asarray(censoring), xp=jnp)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def test_covariates_categorical_and_power_are_recovered():
    weights = np.random.default_rng(5).uniform(0.015, 0.03, 40)
    data = simulate_gompertz(40, seed=7, groups={"factor": 0.6, "weight": weights, "kappa": 1.0},
                             truth={**TRUTH, "omega": {ALPHA0: 0.15, BETA: 0.15}})
    fit = PopulationFitter("gompertz", method="laplace", correlated=False, n_draws=1000,
                           covariates={ALPHA0: "group", BETA: "weight"}).fit(data)
    effects = fit.summary.loc["covariate effect"]
    group = effects.loc[f"{ALPHA0} ~ group=treated"]
    assert group["estimate"] == pytest.approx(math.log(0.6), abs=0.15)
    assert group["5.0%"] < math.log(0.6) < group["95.0%"]
    (power_name,) = [n for n in effects.index if n.startswith(BETA)]
    assert effects.loc[power_name, "5.0%"] < 1.0 < effects.loc[power_name, "95.0%"]
    typical, _ = fit.cohort_distribution(at={"group": "treated"})
    assert typical[ALPHA0] == pytest.approx(fit.population_[ALPHA0] * math.exp(group["estimate"]))


# ----------------------------------------------------------------------------- cohorts, plots
def test_to_cohort_feeds_sample_cohort_and_simulate(laplace_fit, shared_model):
    import chemohost as ch

    typical, variability = laplace_fit.cohort_distribution()
    assert isinstance(variability, LogNormalVariability)
    assert typical["Initial tumour volume [mm3]"] == typical["Gompertz reference volume [mm3]"] == 1.0
    sd = np.sqrt(np.diag(variability.covariance()))
    np.testing.assert_allclose(sd, laplace_fit.omega_.to_numpy())
    assert {v.tag for v in variability.omega.values()} == {"C"}
    cohort = laplace_fit.to_cohort(4000, seed=2)
    assert cohort.shape[0] == 4000 and set(laplace_fit.names_) <= set(cohort.columns)
    assert np.log(cohort[ALPHA0]).std() == pytest.approx(laplace_fit.omega_[ALPHA0], rel=0.05)
    assert np.corrcoef(np.log(cohort[ALPHA0]), np.log(cohort[BETA]))[0, 1] == pytest.approx(
        laplace_fit.correlation_.loc[ALPHA0, BETA], abs=0.03)
    ds = ch.simulate(shared_model("paclitaxel"), None, cohort.iloc[:200], [0.0, 20.0])
    median = float(ds[VOLUME].isel(time=1).median())
    expected = float(laplace_fit.structure_.predict(laplace_fit.population_.to_numpy(), [20.0])[0, 0])
    assert median == pytest.approx(expected, rel=0.1)


def test_plots_return_axes(laplace_fit):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = laplace_fit.plot()
    assert axes.shape == (6, 5) and axes[0, 0].lines
    ax = laplace_fit.plot("vpc", n_replicates=30)
    assert ax.get_yscale() == "log" and ax.collections
    plt.close("all")


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "hmc"}, r"unknown method 'hmc'.*laplace"),
    ({"error_model": "proportionall"}, r"did you mean 'proportional'"),
    ({"estimate": ["Gompertz growth rate [1/day]"]}, r"did you mean 'Gompertz initial growth rate"),
    ({"covariates": {ALPHA0: "arm"}}, r"covariate column 'arm' is not in the data"),
    ({"priors": {"Logistic growth rate [1/day]": (0.5, 1.0)}}, r"priors: unknown estimated parameter"),
    ({"interval": 1.2}, r"interval = 1.2"),
])
def test_bad_input_names_the_problem(cohort, kwargs, match):
    with pytest.raises(CalibrationError, match=match):
        PopulationFitter("gompertz", **{"method": "map", **kwargs}).fit(cohort)


def test_bad_data_names_the_problem(cohort):
    with pytest.raises(CalibrationError, match="at least 2 subjects"):
        PopulationFitter("gompertz", method="map").fit(cohort[cohort["subject"] == "m00"])
    varying = cohort.assign(group=np.where(cohort.index % 2, "a", "b"))
    with pytest.raises(CalibrationError, match="varies within subject"):
        PopulationFitter("gompertz", method="map", covariates={ALPHA0: "group"}).fit(varying)
    with pytest.raises(CalibrationError, match="data need columns"):
        PopulationFitter("gompertz", method="map").fit(cohort.rename(columns={"value": "volume"}))
    with pytest.raises(CalibrationError, match="not fitted yet"):
        PopulationFitter().to_cohort(10)


# ----------------------------------------------------------------------------- LLC mice (V9 style)
@pytest.mark.data
def test_gompertz_population_of_the_llc_mice():
    """20 LLC mice: typical values near the per-mouse medians of VALIDATION V9, strong α0–β correlation."""
    fit = PopulationFitter("gompertz", method="laplace", n_draws=500).fit(_lung())
    assert fit.converged_ and len(fit.subjects_) == 20
    assert fit.population_[ALPHA0] == pytest.approx(0.728, rel=0.05)  # V9 per-mouse median 0.728 /day
    assert fit.population_[BETA] == pytest.approx(0.0809, rel=0.1)  # V9 per-mouse median 0.0809 /day
    assert 0.1 < fit.omega_[ALPHA0] < 0.35  # V9 SD of ln α0 across per-mouse fits: 0.241
    assert 0.2 < fit.omega_[BETA] < 0.6  # V9: 0.543 (per-mouse fits add estimation noise)
    assert fit.correlation_.loc[ALPHA0, BETA] > 0.85  # V9: 0.938
    assert 0.15 < fit.sigma_["sigma"] < 0.4


@pytest.mark.slow
@pytest.mark.data
def test_nuts_on_the_llc_mice_agrees_with_laplace():
    lung = _lung()
    nuts = PopulationFitter("gompertz", method="nuts", num_chains=2, num_warmup=500, num_samples=500).fit(lung)
    laplace = PopulationFitter("gompertz", method="laplace", n_draws=500).fit(lung)
    np.testing.assert_allclose(nuts.population_, laplace.population_, rtol=0.05)
    assert nuts.rhat_.max() < 1.05 and nuts.divergences_ <= 10


# ----------------------------------------------------------------------------- coverage (slow)
def _coverage(method: str, n_sets: int, n_subjects: int, **kwargs) -> tuple[float, dict]:
    truth = {("typical value", ALPHA0): TRUTH["typical"][ALPHA0], ("typical value", BETA): TRUTH["typical"][BETA],
             ("omega", ALPHA0): TRUTH["omega"][ALPHA0], ("omega", BETA): TRUTH["omega"][BETA],
             ("residual error", "sigma"): TRUTH["sigma"]}
    hits = {k: 0 for k in truth}
    for s in range(n_sets):
        data = simulate_gompertz(n_subjects, seed=1000 + s, truth={**TRUTH, "corr": 0.0})
        fit = PopulationFitter("gompertz", method=method, correlated=False, seed=s, **kwargs).fit(data)
        for key, value in truth.items():
            row = fit.summary.loc[key]
            hits[key] += bool(row["5.0%"] <= value <= row["95.0%"])
    return sum(hits.values()) / (n_sets * len(truth)), {k: v / n_sets for k, v in hits.items()}


@pytest.mark.slow
def test_laplace_intervals_cover_the_truth_at_the_nominal_rate():
    """60 data sets × 5 quantities = 300 intervals; binomial SD of the rate at 0.9 is 0.017."""
    rate, per_quantity = _coverage("laplace", 60, 20, n_draws=1000)
    print(f"Laplace 90% interval coverage: {rate:.3f}", per_quantity)
    assert 0.84 <= rate <= 0.96
    assert min(per_quantity.values()) >= 0.7


@pytest.mark.slow
def test_nuts_intervals_cover_the_truth_at_the_nominal_rate():
    """10 data sets × 5 quantities = 50 intervals; binomial SD of the rate at 0.9 is 0.04."""
    rate, per_quantity = _coverage("nuts", 10, 20, num_chains=2, num_warmup=400, num_samples=300)
    print(f"NUTS 90% interval coverage: {rate:.3f}", per_quantity)
    assert 0.78 <= rate <= 0.99


# ----------------------------------------------------------------------------- a chemohost Model (slow)
@pytest.mark.slow
def test_model_path_matches_the_closed_form():
    """The same exponential population fitted through the integrated model (diffrax) and the closed form."""
    import chemohost as ch

    rng = np.random.default_rng(1)
    times = np.arange(2.0, 21.0, 3.0)
    a = 0.3 * np.exp(0.2 * rng.standard_normal(12))
    y = np.exp(a[:, None] * times + 0.1 * rng.standard_normal((12, times.size)))
    data = pd.DataFrame({"subject": np.repeat(np.arange(12), times.size), "time": np.tile(times, 12),
                         "observable": VOLUME, "value": y.ravel()})
    law = PopulationFitter("exponential", method="map").fit(data)
    model = PopulationFitter(ch.Model({"growth": "exponential"}), ["Exponential growth rate [1/day]"], method="map",
                             max_steps=64, rtol=1e-6).fit(data)
    np.testing.assert_allclose(model.population_, law.population_, rtol=1e-4)
    np.testing.assert_allclose(model.omega_, law.omega_, rtol=1e-3)
