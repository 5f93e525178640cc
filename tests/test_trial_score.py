"""The host-response score: AUC against Mann–Whitney, DeLong's error against the bootstrap, and the score on
stand-in cohorts whose benefit depends on the panel (known generating model) or does not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from trial_standin import endpoints

from chemohost.trial._readouts import TrialReadoutError
from chemohost.trial._score import (
    auc_delong,
    calibration_table,
    counterfactual_benefit,
    fit_logistic,
    host_response_score,
    roc_curve,
)


def random_scores(seed: int, n: int = 300, shift: float = 0.6, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.uniform(size=n) < 0.4
    score = rng.normal(size=n) + shift * y
    return y, (np.round(score, 1) if ties else score)


@pytest.mark.parametrize(("seed", "ties"), [(1, False), (2, True), (3, True)])
def test_auc_equals_mann_whitney_and_the_roc_area(seed, ties):
    y, score = random_scores(seed, ties=ties)
    result = auc_delong(y, score)
    u = stats.mannwhitneyu(score[y], score[~y]).statistic
    assert result.auc == pytest.approx(u / (y.sum() * (~y).sum()), rel=1e-12)
    roc = roc_curve(y, score)
    assert np.trapezoid(roc["true positive rate"], roc["false positive rate"]) == pytest.approx(result.auc, rel=1e-12)
    assert result.lower < result.auc < result.upper


def test_delong_standard_error_matches_the_bootstrap():
    y, score = random_scores(4, n=400)
    rng = np.random.default_rng(5)
    boot = []
    for _ in range(400):
        i = rng.integers(0, y.size, y.size)
        boot.append(auc_delong(y[i], score[i]).auc)
    assert auc_delong(y, score).se == pytest.approx(np.std(boot), rel=0.15)


def test_logistic_fit_recovers_known_coefficients():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4000, 2))
    y = rng.uniform(size=4000) < 1 / (1 + np.exp(-(-0.5 + 1.5 * x[:, 0] - 1.0 * x[:, 1])))
    model = fit_logistic(x, y, l2=0.0)
    np.testing.assert_allclose(model.coef / model.scale, [1.5, -1.0], atol=0.15)
    probability = model.probability(x)
    table = calibration_table(y, probability, bins=5)
    assert (table["lower"] < table["mean predicted"]).all() and (table["mean predicted"] < table["upper"]).all()


def test_score_beats_a_random_score_when_the_benefit_depends_on_the_panel():
    cohort = endpoints(1000, seed=7, panel_effect=True, follow_up=2000.0)
    result = host_response_score(cohort, "chemo + blocker", "chemo", seed=1)
    assert result.auc.lower > 0.75
    held = result.held_out
    random = auc_delong(held["benefits"], np.random.default_rng(2).uniform(size=len(held)))
    assert result.auc.lower > random.upper
    assert result.coefficients.loc["IL-6", "coefficient (per SD)"] > 0 > result.coefficients.loc["VEGF-A",
                                                                                                "coefficient (per SD)"]
    assert result.train_patients == 500 and len(held) == 500


def test_score_is_near_one_half_when_the_benefit_ignores_the_panel():
    cohort = endpoints(1000, seed=8, panel_effect=False, follow_up=2000.0)
    result = host_response_score(cohort, "chemo + blocker", "chemo", seed=1)
    assert result.auc.lower < 0.5 < result.auc.upper


def test_benefit_is_the_counterfactual_gain():
    cohort = endpoints(20, seed=9)
    table = counterfactual_benefit(cohort, "chemo + blocker", "chemo", margin=10.0)
    gain = (cohort["os"].sel(arm="chemo + blocker") - cohort["os"].sel(arm="chemo")).values
    np.testing.assert_array_equal(table["gain [day]"], gain)
    np.testing.assert_array_equal(table["benefits"], gain > 10.0)


@pytest.mark.parametrize(("call", "match"), [
    (lambda ds: host_response_score(ds, "chemo + blocker", "chemo", margin=1e9), "needs both classes"),
    (lambda ds: host_response_score(ds, "chemo", "chemo"), "must differ"),
    (lambda ds: host_response_score(ds, "blocker", "chemo"), "unknown arm 'blocker'"),
    (lambda ds: host_response_score(ds.drop_vars("panel"), "chemo + blocker", "chemo"), "no variable 'panel'"),
    (lambda ds: host_response_score(ds, "chemo + blocker", "chemo", train_fraction=1.0), "train_fraction"),
    (lambda ds: auc_delong([1, 1], [0.2, 0.3]), "both classes"),
])
def test_bad_input_one_line_errors(call, match):
    with pytest.raises(TrialReadoutError, match=match) as error:
        call(endpoints(60, seed=10))
    assert "\n" not in str(error.value)
