"""Model selection and identifiability: AIC/BIC ranking (VALIDATION V8 through the new API), forward
prediction scores and profile likelihoods that flag a non-identifiable parameter."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from chemohost.calibration import (
    CLOSED_FORMS,
    CalibrationError,
    DataFileError,
    GrowthLawFitter,
    IndividualFitter,
    compare_models,
    prediction_score,
    profile_likelihood,
    tidy_benzekry2014,
)

TV = "Tumour volume [mm3]"
ALPHA0, BETA = "Gompertz initial growth rate [1/day]", "Gompertz deceleration rate [1/day]"
GROWTH = "Exponential growth rate [1/day]"
LAWS = ("power_law", "gompertz", "logistic", "exponential")


def curves(law, params, times, sigma, seed, subjects=("s0",)):
    rng = np.random.default_rng(seed)
    rows = []
    for subject, theta in zip(subjects, params):
        log_v = CLOSED_FORMS[law].evaluate(times, np.atleast_2d(theta))[0] + rng.normal(0, sigma, times.size)
        rows.append(pd.DataFrame({"subject": subject, "time": times, "observable": TV, "value": np.exp(log_v)}))
    return pd.concat(rows, ignore_index=True)


# -------------------------------------------------------------------------------------- V8 (data)
@pytest.mark.data
@pytest.mark.parametrize("name", ["lung", "breast"])
def test_v8_ranking_holds_through_compare_models(name):
    """Pooled fits (one subject whose curves are the mice) with log-normal error: 2·NLL = n·ln(SSE/n) + const,
    so AIC differences equal V8's n·ln(SSE/n) + 2p differences, and the ranking is
    power law < Gompertz < logistic < exponential on both data sets."""
    try:
        data = tidy_benzekry2014(name)
    except DataFileError as exc:
        pytest.skip(f"shared data not available: {exc}")
    pooled = data.assign(group=data["subject"], subject="all")
    table = compare_models({law: IndividualFitter(law, n_starts=2) for law in LAWS}, pooled)
    assert list(table.index) == list(LAWS)
    assert table["converged"].all()
    old = pd.Series({law: GrowthLawFitter(law).fit(data.rename(columns={"time": "time [day]", "value": "volume [mm3]"})
                                                   ).aic_ for law in LAWS})
    np.testing.assert_allclose(table["delta AIC"], (old - old.min()).reindex(table.index), atol=1e-3)


def test_compare_models_ranks_the_true_law_first_per_subject():
    data = curves("gompertz", [(0.8, 0.1), (0.7, 0.08), (0.9, 0.12)], np.arange(1.0, 31.0, 2.0), 0.05, seed=4,
                  subjects=("a", "b", "c"))
    table = compare_models([IndividualFitter("gompertz", n_starts=1), IndividualFitter("exponential", n_starts=1)],
                           data)
    assert list(table.index) == ["gompertz", "exponential"]
    assert table.loc["gompertz", "best for subjects"] == 3 and table.loc["gompertz", "rank"] == 1
    assert table.loc["exponential", "delta AIC"] > 50
    assert table.loc["gompertz", "parameters"] == 3 * 3  # α0, β and σ per subject
    assert set(table.attrs["fits"]) == {"gompertz", "exponential"}


# --------------------------------------------------------------------------------- prediction score
def test_prediction_score_prefers_the_true_model():
    """Intervals hold the measurement error only (not the parameters' uncertainty), so even the true law scores
    below the nominal 95% when forecasting 6 to 14 days ahead; the wrong laws score far lower."""
    params = [(0.75 * f, 0.09 * f) for f in np.linspace(0.8, 1.2, 8)]
    data = curves("gompertz", params, np.arange(1.0, 25.0, 1.5), 0.05, seed=8, subjects=[f"m{i}" for i in range(8)])
    score = prediction_score(IndividualFitter("gompertz", n_starts=1), data, n_fit=10, level=0.95)
    assert set(score["subject"]) == {f"m{i}" for i in range(8)} and len(score) == 8 * 6
    assert (score["horizon [day]"] > 0).all()
    assert score.attrs["score"] >= 0.4
    assert score["relative error [-]"].median() < 0.1
    for law in ("exponential", "logistic", "power_law"):
        wrong = prediction_score(IndividualFitter(law, n_starts=1), data, n_fit=10)
        assert wrong.attrs["score"] < score.attrs["score"] - 0.2
        assert wrong["relative error [-]"].median() > 0.3
    with pytest.raises(CalibrationError, match="n_fit"):
        prediction_score(IndividualFitter("gompertz"), data, n_fit=100)


# ------------------------------------------------------------------------------- profile likelihood
def test_profile_likelihood_of_a_well_determined_rate_crosses_on_both_sides():
    data = curves("exponential", [(0.3,)], np.arange(1.0, 13.0), 0.1, seed=5)
    grid = np.linspace(0.27, 0.33, 13)
    profile = profile_likelihood(IndividualFitter("exponential", n_starts=1), data, GROWTH, grid)
    lower, upper = profile.attrs["lower"], profile.attrs["upper"]
    assert profile.attrs["identifiable"] and lower < 0.3 < upper
    assert profile["profile"].min() >= -1e-6 and profile.attrs["threshold"] == pytest.approx(3.841, abs=1e-3)
    fit = IndividualFitter("exponential", n_starts=1).fit(data)
    wald = fit.summary.loc[("s0", GROWTH)]
    assert lower == pytest.approx(wald["lower 95%"], rel=0.01)  # log-linear model: profile and Wald agree
    assert upper == pytest.approx(wald["upper 95%"], rel=0.01)


def test_profile_likelihood_flags_a_deceleration_seen_only_in_the_exponential_phase():
    """Gompertz observed over the first 4 days only (β·t ≪ 1): the data cannot tell β from 0, so the profile
    stays below the χ² threshold toward small β — practically non-identifiable — while α0 stays identifiable."""
    data = curves("gompertz", [(0.75, 0.08)], np.linspace(0.5, 4.0, 8), 0.1, seed=3)
    fitter = IndividualFitter("gompertz", bounds={ALPHA0: (0.05, 5.0), BETA: (1e-5, 1.0)}, n_starts=2)
    beta = profile_likelihood(fitter, data, BETA, np.geomspace(1e-5, 1.0, 15))
    assert not beta.attrs["identifiable"]
    assert beta.attrs["lower"] is None
    assert beta["profile"][beta[BETA] < 0.01].max() < beta.attrs["threshold"]
    alpha = profile_likelihood(fitter, data, ALPHA0, np.linspace(0.3, 1.5, 13))
    assert alpha.attrs["identifiable"]


def test_profile_likelihood_refuses_what_it_cannot_profile():
    data = curves("exponential", [(0.3,), (0.2,)], np.arange(1.0, 8.0), 0.1, seed=1, subjects=("a", "b"))
    with pytest.raises(CalibrationError, match="subject="):
        profile_likelihood(IndividualFitter("exponential"), data, GROWTH)
    with pytest.raises(CalibrationError, match="estimated parameter"):
        profile_likelihood(IndividualFitter("exponential"), data, "sigma", subject="a")
    assert math.isfinite(profile_likelihood(IndividualFitter("exponential", n_starts=1), data, GROWTH,
                                            [0.25, 0.3, 0.35], subject="a")["profile"].sum())
