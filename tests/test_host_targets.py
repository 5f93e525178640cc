"""Quantitative host-response targets (chemohost.targets) and the evidence behind the reference studies' parameters.

The targets are read off the typical mouse of the reference study's model, one
simulation per arm, stacked along ``arm`` as a study result is. Each test asserts
the status the target records: a published number the model misses stays a
recorded miss with its reason, never a loosened interval.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import chemohost as ch
from chemohost.citations import get_citation
from chemohost.parameters import get_parameter_set
from chemohost.study import load_study, plan_study, reference_study
from chemohost.targets import (METRONOMIC, MTD_CYCLOPHOSPHAMIDE, PACLITAXEL_MTD, TARGETS, target_checks,
                               target_table)

ARMS = {
    "vehicle": None,
    METRONOMIC[10]: "cyclophosphamide 10 mg/kg/day oral continuous from day 10 to day 31",
    METRONOMIC[20]: "cyclophosphamide 20 mg/kg/day oral continuous from day 10 to day 31",
    METRONOMIC[40]: "cyclophosphamide 40 mg/kg/day oral continuous from day 10 to day 31",
    METRONOMIC[50]: "cyclophosphamide 50 mg/kg/day oral continuous from day 10 to day 31",
    MTD_CYCLOPHOSPHAMIDE: "cyclophosphamide 150 mg/kg iv bolus on day 10 + "
                          "cyclophosphamide 100 mg/kg iv bolus on day 13",
    "anti-VEGFR2 alone": "DC101 800 ug iv q3d from day 10",
    PACLITAXEL_MTD: "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10",
}
STUDIES = ("reference.yaml", "gingis_velitski.yaml")


@pytest.fixture(scope="module")
def reference_plan():
    return plan_study(reference_study())


@pytest.fixture(scope="module")
def arms(reference_plan):
    """The typical reference mouse under each arm the targets read, as one result with an ``arm`` dimension."""
    plan = reference_plan
    typical = plan.table["value"].to_dict()
    times = np.arange(0.0, 31.0 + 1e-9, 0.125)
    runs = [ch.simulate(plan.model, regimen, typical, times, covariates=plan.covariates) for regimen in ARMS.values()]
    return xr.concat(runs, dim=pd.Index(list(ARMS), name="arm"))


@pytest.mark.parametrize("target", TARGETS, ids=[t.id for t in TARGETS])
def test_target_records_what_the_model_gives(arms, target):
    assert target.applies(arms)
    check = target.check(arms)
    assert check.passed == target.holds_now, f"{target.id}: {check.values} (criterion: {check.criterion})"
    assert bool(target.holds(arms).all()) == target.holds_now  # one typical patient: per-patient = median
    if not target.holds_now:
        assert target.reason and "known miss" in check.values


def test_targets_are_published_numbers_with_sources():
    table = target_table()
    assert len(table) >= 10 and table.index.is_unique
    for t in TARGETS:
        get_citation(t.citation)
        low, high = t.accepted
        assert low < high and low <= t.published <= high, t.id
        assert t.tolerance and any(c.isdigit() for c in t.source), t.id


def test_targets_skip_results_without_their_arms(arms):
    only = arms.sel(arm=["vehicle", METRONOMIC[20]])
    assert [c.id for c in target_checks(only)] == ["Q1", "Q10"]
    assert [c.id for c in target_checks(arms.drop_vars("Circulating neutrophils [1e9/L]"))] == [
        "Q7", "Q9", "Q10", "Q11", "Q12"]
    assert [c.id for c in target_checks(arms.sel(arm=["vehicle", PACLITAXEL_MTD]))] == ["Q11", "Q12"]
    assert [c.id for c in target_checks(arms.drop_vars("Circulating myeloid cells [-]"))] == [
        t.id for t in TARGETS if t.id != "Q9"]


def test_per_patient_readout_pairs_patients_across_arms(arms):
    """Two patients whose neutrophil baseline differs: the ratio to vehicle is taken patient by patient."""
    doubled = xr.concat([arms, arms * 2.0], dim="patient").assign_coords(patient=[0, 1])
    q1 = next(t for t in TARGETS if t.id == "Q1")
    ratio = q1.per_patient(doubled)
    assert ratio.dims == ("patient",)
    np.testing.assert_allclose(ratio.values[0], ratio.values[1])


# ------------------------------------------------------------------ item 1: evidence table of the reference studies
def _plan(study):
    return plan_study(load_study(files("chemohost").joinpath("data", "studies", study)))


def _parameter_value(row, name):
    """The ParameterValue behind a plan-table row; a drug-library default names its set in the source prefix."""
    set_name = row["set"] if row["set"] != "model default" else row["source"].split(":", 1)[0]
    return get_parameter_set(set_name).values[name]


@pytest.mark.parametrize("study", STUDIES)
def test_every_placeholder_has_a_range_and_rationale(study):
    table = _plan(study).table
    placeholders = table[table["tag"].isin(["U", "proposed"])]
    for name, row in placeholders.iterrows():
        value = _parameter_value(row, name)
        assert value.range is not None and value.range_rationale.strip(), name


@pytest.mark.parametrize("study", STUDIES)
def test_tuned_values_state_the_search_and_a_range(study):
    table = _plan(study).table
    tuned = table[(table["tag"] == "C") & table["source"].str.contains("tuned", case=False)]
    for name, row in tuned.iterrows():
        assert "searched" in row["source"], name
        assert _parameter_value(row, name).range is not None, name


def test_upgraded_values_cite_what_was_read():
    """Values that replaced placeholders carry the citation of the paper or label they were read in."""
    upgraded = {"AdjuvantAgentsMouse": ("AMD3100 central volume [L]", "AMD3100 clearance [L/day]",
                                        "AMD3100 sc bioavailability [-]", "Anakinra sc bioavailability [-]",
                                        "AMD3100 coverage IC50 [ng/mL]", "DC101 central volume [L]",
                                        "DC101 clearance [L/day]", "DC101 molecular weight [g/mol]",
                                        "CCR2 antagonist central volume [L]", "CCR2 antagonist clearance [L/day]",
                                        "CCR2 antagonist oral bioavailability [-]",
                                        "CCR2 antagonist coverage IC50 [ng/mL]", "Anakinra central volume [L]",
                                        "Anakinra clearance [L/day]", "Anakinra absorption rate [1/day]",
                                        "CCR2 antagonist absorption rate [1/day]",
                                        "CCR2 antagonist ip bioavailability [-]"),
                "MouseNeutrophils": ("Baseline neutrophil count [1/nL]",),
                "Sladek1984": ("Cyclophosphamide central volume [L]",)}
    for set_name, names in upgraded.items():
        pset = get_parameter_set(set_name)
        for name in names:
            value = pset.values[name]
            assert value.tag in ("V", "C") and value.citation, name
            get_citation(value.citation)


def test_unchanged_vegf_target_reads_the_sampling_day_further_from_one(arms):
    """Q10 reads treatment days 10 and 21 (the published sampling days) and keeps the larger log-deviation."""
    q10 = next(t for t in TARGETS if t.id == "Q10")
    vegf = arms["VEGF-A [-]"]
    t = vegf["time"] - 10.0
    scale = xr.where((t > 5) & (t < 15), 1.6, xr.where(t >= 15, 0.8, 1.0))
    scaled = arms.assign({"VEGF-A [-]": xr.where(vegf["arm"] == METRONOMIC[20], vegf * scale, vegf)})
    np.testing.assert_allclose(q10.value(scaled), 1.6, rtol=1e-9)
    scale = xr.where(t >= 15, 0.5, 1.0)
    scaled = arms.assign({"VEGF-A [-]": xr.where(vegf["arm"] == METRONOMIC[20], vegf * scale, vegf)})
    np.testing.assert_allclose(q10.value(scaled), 0.5, rtol=1e-9)
    assert not q10.check(scaled).passed


def test_dose_dense_targets_read_treatment_day_21(arms):
    """Q11 and Q12 read the fold over vehicle on treatment day 21 of weekly MTD paclitaxel, not its peak."""
    for target_id, name in (("Q11", "Circulating endothelial progenitors [-]"), ("Q12", "VEGF-A [-]")):
        target = next(t for t in TARGETS if t.id == target_id)
        series = arms[name]
        t = series["time"] - 10.0
        scale = xr.where(t >= 20.5, 2.0, xr.where((t > 1) & (t < 3), 5.0, 1.0))
        scaled = arms.assign({name: xr.where(series["arm"] == PACLITAXEL_MTD, series * scale, series)})
        fold = (series.sel(arm=PACLITAXEL_MTD) / series.sel(arm="vehicle")).interp(time=31.0)
        expected = 2.0 * float(np.median(fold.values))
        np.testing.assert_allclose(target.value(scaled), expected, rtol=1e-9)
