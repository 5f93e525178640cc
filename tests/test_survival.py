"""Survival read-outs: Kaplan–Meier, log-rank and Cox hazard ratios on time-to-endpoint tables."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

pytest.importorskip("lifelines")

from chemohost import ChemohostError  # noqa: E402
from chemohost.outcomes import (  # noqa: E402
    OutcomeError,
    cox_arrays,
    cox_hazard_ratios,
    kaplan_meier,
    logrank,
    logrank_arrays,
    median_survival,
    time_to_endpoint,
)


def exponential_table(rates: dict[str, float], n: int, seed: int, follow_up: float = np.inf) -> pd.DataFrame:
    """Event times ~ Exp(rate [1/day]) per arm, censored at ``follow_up`` [day], as time_to_endpoint lays them out."""
    rng = np.random.default_rng(seed)
    frames = []
    for arm, rate in rates.items():
        t = rng.exponential(1.0 / rate, n)
        event = t < follow_up
        duration = np.minimum(t, follow_up)
        frames.append(pd.DataFrame({
            "arm": arm, "patient": np.arange(n), "time [day]": np.where(event, duration, np.nan),
            "duration [day]": duration, "event": event,
        }))
    return pd.concat(frames, ignore_index=True)


def test_km_median_exponential():
    rate = 0.1
    table = exponential_table({"vehicle": rate}, n=1000, seed=1, follow_up=40.0)
    curves = kaplan_meier(table)
    assert list(curves.columns) == [
        "arm", "time [day]", "survival", "survival lower", "survival upper", "at risk", "events"
    ]
    median = curves.attrs["median survival [day]"]["vehicle"]
    assert median == pytest.approx(np.log(2) / rate, rel=0.08)
    s = curves["survival"].to_numpy()
    assert s[0] == 1.0 and np.all(np.diff(s) <= 0)
    assert np.all(curves["survival lower"] <= s + 1e-12) and np.all(s <= curves["survival upper"] + 1e-12)
    assert median_survival(table)["vehicle"] == median


def test_km_median_not_reached_is_inf_and_single_group():
    table = exponential_table({"a": 0.01}, n=200, seed=2, follow_up=10.0)
    assert kaplan_meier(table).attrs["median survival [day]"]["a"] == np.inf
    curves = kaplan_meier(table.drop(columns="arm"), group=None)
    assert set(curves["group"]) == {"all"}


def test_logrank_different_and_identical():
    different = exponential_table({"vehicle": 0.2, "treated": 0.05}, n=100, seed=3)
    statistic, p = logrank(different, "vehicle", "treated")
    assert statistic > 20 and p < 1e-6
    same = exponential_table({"a": 0.1}, n=400, seed=4)
    same["arm"] = np.where(np.arange(len(same)) % 2 == 0, "a", "b")
    assert logrank(same, "a", "b").p > 0.05


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_logrank_arrays_equals_lifelines(seed):
    """The array log-rank equals lifelines' on tied, censored data (whole days, follow-up cut at 20)."""
    table = exponential_table({"a": 0.1, "b": 0.07}, n=60 + seed, seed=seed, follow_up=20.0)
    table["duration [day]"] = np.ceil(table["duration [day]"])  # ties
    table.loc[table.index % 7 == 0, "event"] = False              # censoring before the end
    fast = logrank_arrays(table["duration [day]"], table["event"], table["arm"] == "b")
    reference = logrank(table, "a", "b")
    assert fast.statistic == pytest.approx(reference.statistic, rel=1e-10)
    assert fast.p == pytest.approx(reference.p, rel=1e-8)
    assert logrank_arrays([1.0, 2.0], [False, False], [False, True]) == (0.0, 1.0)


def test_cox_recovers_hazard_ratio():
    table = exponential_table({"vehicle": 0.1, "worse": 0.2, "better": 0.05}, n=2000, seed=5, follow_up=30.0)
    hr = cox_hazard_ratios(table, reference_arm="vehicle")
    assert list(hr.index) == ["worse", "better"]
    assert list(hr.columns) == ["hazard ratio", "lower 95% CI", "upper 95% CI", "p"]
    assert hr.loc["worse", "hazard ratio"] == pytest.approx(2.0, rel=0.2)
    assert hr.loc["better", "hazard ratio"] == pytest.approx(0.5, rel=0.2)
    assert (hr["lower 95% CI"] < hr["hazard ratio"]).all() and (hr["hazard ratio"] < hr["upper 95% CI"]).all()
    assert hr.loc["worse", "lower 95% CI"] < 2.0 < hr.loc["worse", "upper 95% CI"]


def test_integer_weights_equal_repeated_rows():
    """A weight of k is k copies of the row: KM, medians, log-rank and the Cox HR agree with the expanded table."""
    table = exponential_table({"a": 0.1, "b": 0.05}, n=150, seed=9, follow_up=25.0)
    table["w"] = np.random.default_rng(10).integers(1, 4, len(table)).astype(float)
    expanded = table.loc[table.index.repeat(table["w"].astype(int))].reset_index(drop=True)
    weighted, plain = kaplan_meier(table, weights="w"), kaplan_meier(expanded)
    np.testing.assert_allclose(weighted["survival"], plain["survival"], rtol=1e-12)
    np.testing.assert_allclose(weighted["at risk"], plain["at risk"], rtol=1e-12)
    assert median_survival(table, weights="w").equals(median_survival(expanded))
    assert logrank(table, "a", "b", weights="w").statistic == pytest.approx(logrank(expanded, "a", "b").statistic)
    hr_w = cox_hazard_ratios(table, "a", weights="w").loc["b", "hazard ratio"]
    # not exact: lifelines' Efron correction treats the k copies as k tied events, a weight as one event of weight k
    assert hr_w == pytest.approx(cox_hazard_ratios(expanded, "a").loc["b", "hazard ratio"], rel=1e-2)
    clustered = cox_hazard_ratios(table.assign(subject=table["patient"]), "a", cluster="subject")
    assert clustered.loc["b", "hazard ratio"] == pytest.approx(cox_hazard_ratios(table, "a").loc["b", "hazard ratio"])
    with pytest.raises(OutcomeError, match="weights > 0"):
        kaplan_meier(table.assign(w=0.0), weights="w")


def test_time_to_endpoint_cohort_index():
    """A (arm, patient)-indexed time_to_endpoint table: the arm is read from the index level."""
    t = np.arange(0.0, 61.0)
    growth = np.array([[0.10, 0.11, 0.12, 0.09], [0.04, 0.05, 0.035, 0.045]])  # [1/day]
    volume = xr.DataArray(100 * np.exp(growth[:, :, None] * t), dims=("arm", "patient", "time"),
                          coords={"arm": ["vehicle", "treated"], "patient": range(4), "time": t})
    table = time_to_endpoint(volume, threshold=1500)
    medians = median_survival(table)
    assert medians["vehicle"] < medians["treated"]
    assert logrank(table, "vehicle", "treated").p < 0.05


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert message and "\n" not in message
    return message


def test_missing_column_one_line_error():
    table = exponential_table({"a": 0.1, "b": 0.2}, n=20, seed=6)
    with pytest.raises(OutcomeError) as error:
        kaplan_meier(table.drop(columns="event"))
    assert "'event'" in one_line(error)
    with pytest.raises(OutcomeError) as error:
        cox_hazard_ratios(table.drop(columns="arm"), "a")
    assert "'arm'" in one_line(error)
    with pytest.raises(OutcomeError) as error:
        logrank(table.rename(columns={"duration [day]": "duration"}), "a", "b")
    assert "'duration [day]'" in one_line(error)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda t: logrank(t, "a", "c"), "unknown arm 'c'"),
        (lambda t: logrank(t, "a", "a"), "two different groups"),
        (lambda t: cox_hazard_ratios(t, "z"), "unknown arm 'z'"),
        (lambda t: cox_hazard_ratios(t[t["arm"] == "a"], "a"), "only the reference"),
        (lambda t: kaplan_meier(t.assign(event=2)), "True/False"),
        (lambda t: kaplan_meier(t.assign(**{"duration [day]": -1.0})), "finite time"),
        (lambda t: kaplan_meier(t.to_numpy()), "DataFrame"),
    ],
)
def test_bad_input_one_line_error(call, match):
    table = exponential_table({"a": 0.1, "b": 0.2}, n=20, seed=7)
    with pytest.raises(OutcomeError) as error:
        call(table)
    assert match in one_line(error)


def test_missing_lifelines(monkeypatch):
    for name in ("lifelines", "lifelines.statistics"):
        monkeypatch.setitem(sys.modules, name, None)
    table = exponential_table({"a": 0.1, "b": 0.2}, n=20, seed=8)
    for call in (lambda: kaplan_meier(table), lambda: logrank(table, "a", "b"), lambda: cox_hazard_ratios(table, "a")):
        with pytest.raises(ChemohostError) as error:
            call()
        assert "pip install lifelines" in one_line(error)


@pytest.mark.parametrize("seed", [21, 22])
def test_cox_arrays_equals_lifelines(seed):
    """Continuous times (no tied events): the O(n log n) Breslow fit equals lifelines' HR, its model-based SE,
    and its robust SE with weights and with clusters (Lin & Wei 1989)."""
    lifelines = pytest.importorskip("lifelines")
    table = exponential_table({"a": 0.1, "b": 0.06}, n=120, seed=seed, follow_up=15.0)
    rng = np.random.default_rng(seed)
    table["w"] = rng.uniform(0.5, 2.0, len(table))
    table["subject"] = table["patient"]  # the same subject in both arms: clusters of two
    second = (table["arm"] == "b").to_numpy()
    design = table[["duration [day]", "event", "w", "subject"]].assign(b=second.astype(float),
                                                                       event=table["event"].astype(int))
    cases = [({}, {}), ({"weights": table["w"]}, {"weights_col": "w", "robust": True}),
             ({"cluster": table["subject"]}, {"cluster_col": "subject"})]
    for ours, theirs in cases:
        fast = cox_arrays(table["duration [day]"], table["event"], second, **ours)
        columns = ["duration [day]", "event", "b"] + [c for c in ("w", "subject") if c in theirs.values()]
        fit = lifelines.CoxPHFitter().fit(design[columns], "duration [day]", "event", **theirs)
        assert fast.hazard_ratio == pytest.approx(float(fit.hazard_ratios_["b"]), rel=1e-6)
        assert fast.se == pytest.approx(float(fit.standard_errors_["b"]), rel=1e-4), theirs
        assert fast.p == pytest.approx(float(fit.summary.loc["b", "p"]), rel=1e-3)
    one_sided = cox_arrays([1.0, 2.0, 3.0], [True, True, False], [False, False, True])
    assert np.isnan(one_sided.hazard_ratio)


def test_weighted_logrank_arrays_equals_lifelines():
    table = exponential_table({"a": 0.1, "b": 0.07}, n=80, seed=23, follow_up=20.0)
    table["w"] = np.random.default_rng(24).uniform(0.5, 2.0, len(table))
    fast = logrank_arrays(table["duration [day]"], table["event"], table["arm"] == "b", weights=table["w"])
    assert fast.statistic == pytest.approx(logrank(table, "a", "b", weights="w").statistic, rel=1e-10)
