"""Trial read-outs on a stand-in endpoint Dataset with known laws: survival, hazard ratios, rates, power."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("lifelines")

from trial_standin import endpoints  # noqa: E402

from chemohost import ChemohostError  # noqa: E402
from chemohost.trial._readouts import (  # noqa: E402
    TrialReadoutError,
    hazard_ratios,
    kaplan_meier_by_arm,
    power_curve,
    proportion_interval,
    response_rates,
    weighted_median,
)

RATE = 1 / 300  # [1/day], overall survival in the reference arm


@pytest.fixture(scope="module")
def cohort():
    return endpoints(3000, seed=1, rate=RATE, hr_other=0.7, follow_up=600.0)


def test_km_median_and_hazard_ratio_recover_the_generating_law(cohort):
    medians = kaplan_meier_by_arm(cohort, "os").attrs["median survival [day]"]
    assert medians["chemo"] == pytest.approx(np.log(2) / RATE, rel=0.06)
    assert medians["other"] == pytest.approx(np.log(2) / (0.7 * RATE), rel=0.06)
    table = hazard_ratios(cohort, "os", reference_arm="chemo")
    assert list(table.index) == ["chemo", "chemo + blocker", "other"]
    assert table.loc["chemo", "hazard ratio"] == 1.0
    assert table.loc["other", "lower CI"] < 0.7 < table.loc["other", "upper CI"]
    assert table.loc["other", "hazard ratio"] == pytest.approx(0.7, rel=0.05)
    assert table.loc["other", "log-rank p"] < 1e-6
    assert table.loc["chemo", "events"] == pytest.approx(3000 * (1 - np.exp(-RATE * 600)), rel=0.05)


def test_weights_count_as_repeated_patients():
    """A patient of weight 2 counts twice: the weighted median equals that of the cohort with the patient doubled."""
    w = np.where(np.arange(400) % 3 == 0, 2.0, 1.0)
    weighted = endpoints(400, seed=2, follow_up=500.0, weights=w)
    doubled = weighted.isel(patient=np.repeat(np.arange(400), w.astype(int))).assign(weight=lambda d: d["weight"] * 0 + 1)
    km_w = kaplan_meier_by_arm(weighted, "ttp").attrs["median survival [day]"]
    km_d = kaplan_meier_by_arm(doubled, "ttp").attrs["median survival [day]"]
    assert km_w == pytest.approx(km_d)
    rates_w, rates_d = response_rates(weighted), response_rates(doubled)
    np.testing.assert_allclose(rates_w["ORR"], rates_d["ORR"])
    assert rates_w["effective n"].iloc[0] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert weighted_median([3.0, 1.0, 2.0], [1.0, 1.0, 5.0]) == 2.0
    assert weighted_median([1.0, 2.0, np.nan]) == 1.0


def test_response_rates_cover_the_generating_probabilities():
    truth = {"chemo": (0.1, 0.2, 0.4, 0.3), "chemo + blocker": (0.0, 0.5, 0.2, 0.3), "other": (0.3, 0.3, 0.2, 0.2)}
    toxicity = {"chemo": 0.45, "chemo + blocker": 0.3, "other": 0.1}
    rates = response_rates(endpoints(2000, seed=3, response=truth, grade4=toxicity), method="clopper-pearson")
    for arm, p in truth.items():
        for name, value in (("ORR", p[0] + p[1]), ("DCR", p[0] + p[1] + p[2]), ("grade-4 neutropenia", toxicity[arm])):
            assert rates.loc[arm, f"{name} lower"] < value < rates.loc[arm, f"{name} upper"], (arm, name)
    assert 0.7 < rates.loc["chemo", "median dose intensity"] < 1.0


def test_interval_limits_are_analytic():
    """0 of n and n of n: Clopper–Pearson bounds 1 − (α/2)^(1/n) and (α/2)^(1/n); Wilson's upper z²/(n + z²)."""
    n, z = 10, stats.norm.ppf(0.975)
    lower, upper = proportion_interval([0, n], [n, n], method="clopper-pearson")
    np.testing.assert_allclose(upper[0], 1 - 0.025 ** (1 / n))
    np.testing.assert_allclose(lower[1], 0.025 ** (1 / n))
    lower, upper = proportion_interval(0, n)
    assert lower == 0 and upper == pytest.approx(z**2 / (n + z**2))
    for method in ("wilson", "clopper-pearson"):  # x of n and n − x of n mirror each other about 1/2
        lower, upper = proportion_interval([7, 13], [20, 20], method=method)
        assert lower[0] == pytest.approx(1 - upper[1]) and lower[0] < 7 / 20 < upper[0]


def test_power_curve_matches_schoenfeld():
    """No censoring and HR 0.7: power ≈ Φ(|log HR|·√d / 2 − z_0.975) with d = n events (Schoenfeld 1981)."""
    cohort = endpoints(4000, seed=4, hr_other=0.7)
    sizes = [60, 200]
    curve = power_curve(cohort, "chemo", "other", sizes, resamples=300, seed=7)
    for n in sizes:
        expected = stats.norm.cdf(abs(np.log(0.7)) * np.sqrt(n) / 2 - stats.norm.ppf(0.975))
        assert curve.loc[n, "power"] == pytest.approx(expected, abs=0.08), n
        assert curve.loc[n, "events"] == n
    alone = power_curve(cohort, "chemo", "other", [200], resamples=300, seed=7)
    assert alone.loc[200, "power"] == curve.loc[200, "power"]  # a size's draws do not depend on the others
    null = endpoints(4000, seed=5, hr_other=1.0)
    assert power_curve(null, "chemo", "other", [200], resamples=300, seed=8).loc[200, "lower"] < 0.05


@pytest.mark.parametrize(("call", "match"), [
    (lambda ds: hazard_ratios(ds, "pfs"), "unknown endpoint 'pfs'"),
    (lambda ds: hazard_ratios(ds, "os", reference_arm="placebo"), "unknown arm 'placebo'"),
    (lambda ds: response_rates(ds.drop_vars("best_response")), "no variable 'best_response'"),
    (lambda ds: response_rates(ds, method="exact"), "unknown interval method"),
    (lambda ds: power_curve(ds, "chemo", "chemo", [100]), "two different arms"),
    (lambda ds: power_curve(ds, "chemo", "other", [0]), "≥ 4 patients"),
    (lambda ds: kaplan_meier_by_arm(ds.assign(weight=ds["weight"] * 0)), "weight"),
    (lambda ds: hazard_ratios(ds.to_dataframe()), "xarray Dataset"),
])
def test_bad_input_one_line_errors(call, match):
    with pytest.raises(TrialReadoutError, match=match) as error:
        call(endpoints(50, seed=6))
    assert isinstance(error.value, ChemohostError) and "\n" not in str(error.value)
