"""Dosing rules decided per patient at visits inside a batch, and procedures (resection, inoculation)."""

import numpy as np
import pytest

from chemohost import Model, simulate
from chemohost._errors import ChemohostError
from chemohost.engine import ScaleState
from chemohost.procedures import Inoculation, Resection, parse_procedure, parse_procedures
from chemohost.rules import AdaptiveTherapy, DoseModulation, ResectionAtSize, ToxicityRule

OPTIONS = {"growth": "gompertz", "toxicity": "friberg",
           "drugs": {"paclitaxel": {"kill": "linear", "myelosuppression": "linear"}}}
REGIMEN = "paclitaxel 20 mg/kg iv q7d x10 from day 5"
SLOPE = "Paclitaxel myelosuppression slope [1/uM]"
BASELINE = {"Baseline neutrophil count [1/nL]": 1.0}  # the rules' thresholds below are set for a baseline of 1
TIMES = np.linspace(0.0, 80.0, 81)


@pytest.fixture(scope="module")
def model():
    return Model(OPTIONS)


def _cohort(n, seed=3):
    rng = np.random.default_rng(seed)
    return {**BASELINE, "Body weight [kg]": 0.02, SLOPE: rng.lognormal(np.log(1.0), 0.6, n),
            "Gompertz initial growth rate [1/day]": rng.lognormal(np.log(0.728), 0.2, n),
            "Paclitaxel kill potency [mL/ng/day]": rng.lognormal(np.log(6.29e-4), 0.5, n)}


RULES = (ToxicityRule(proceed_above=0.6, grade4_below=0.3, grade4_days=2.0), AdaptiveTherapy(0.5, 1.0))


def test_a_patient_in_a_batch_follows_its_own_course(model):
    n = 12
    params = _cohort(n)
    batch = simulate(model, REGIMEN, params, TIMES, n_patients=n, rules=RULES, rtol=1e-8, atol=1e-10)
    decisions = batch["Dose factor [-]"].values
    assert len({tuple(row) for row in decisions.round(12)}) > 2  # the rules made different choices
    for i in range(n):
        alone = simulate(model, REGIMEN, {k: np.atleast_1d(v)[min(i, np.size(v) - 1)] for k, v in params.items()},
                         TIMES, rules=RULES, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(alone["Dose factor [-]"].values[0], decisions[i])
        np.testing.assert_array_equal(alone["Dose time [day]"].values[0], batch["Dose time [day]"].values[i])
        for name in ("Tumour volume [mm3]", "Circulating neutrophils [1e9/L]"):
            np.testing.assert_allclose(alone[name].values[0], batch[name].values[i], rtol=1e-6, atol=1e-9)


def test_without_rules_the_record_is_absent_and_a_permissive_rule_changes_nothing(model):
    params = _cohort(3)
    plain = simulate(model, REGIMEN, params, TIMES, n_patients=3)
    assert "Dose factor [-]" not in plain
    ruled = simulate(model, REGIMEN, params, TIMES, n_patients=3, rules=[AdaptiveTherapy(1e-9, 1e-9)])
    assert np.all(ruled["Dose factor [-]"].values == 1.0)
    np.testing.assert_allclose(ruled["Tumour volume [mm3]"].values, plain["Tumour volume [mm3]"].values, rtol=1e-5)
    amount = ruled["Dose amount [mg]"].values
    np.testing.assert_allclose(amount, 20 * 0.02)  # 20 mg/kg x 0.02 kg per dose
    assert list(ruled["agent"].values) == ["paclitaxel"] * 10


def test_adaptive_therapy_holds_below_the_stop_level_and_resumes_at_baseline(model):
    params = {"Body weight [kg]": 0.02, SLOPE: 0.0, "Paclitaxel kill potency [mL/ng/day]": 2e-3}
    reg = "paclitaxel 20 mg/kg iv q2d x35 from day 10"
    planned = np.arange(10.0, 80.0, 2.0)
    before = np.sort(np.concatenate([planned - 1e-7, [80.0]]))  # just before each planned dose
    ds = simulate(model, reg, params, before, rules=[AdaptiveTherapy(0.5, 1.0)], rtol=1e-9, atol=1e-12)
    burden = ds["Tumour volume [mm3]"].values[0, :-1]
    given = ds["Dose factor [-]"].values[0]
    on, expected = True, []
    for b in burden:  # replay the rule on the trajectory
        on = (b > 0.5 * burden[0]) if on else (b >= burden[0])
        expected.append(float(on))
    np.testing.assert_array_equal(given, expected)
    assert 0 < given.sum() < 0.8 * given.size  # holds were taken: well under the continuous cumulative dose


def test_toxicity_delay_moves_the_dose_by_whole_weeks_and_reduction_cuts_later_doses(model):
    params = {**BASELINE, "Body weight [kg]": 0.02, SLOPE: 3.0}
    ds = simulate(model, REGIMEN, params, TIMES, rules=[ToxicityRule(proceed_above=0.6, grade4_below=0.2,
                                                                    grade4_days=1.0)])
    late = ds["Dose time [day]"].values[0] - ds["planned_time"].values
    given = np.isfinite(late)
    assert np.any(late[given] > 0)
    np.testing.assert_allclose(late[given] % 7.0, 0.0, atol=1e-9)
    factors = ds["Dose factor [-]"].values[0][given]
    assert factors[0] == 1.0 and np.all(np.diff(factors) <= 0) and factors[-1] < 1.0
    np.testing.assert_allclose(np.log(factors) / np.log(0.75), np.round(np.log(factors) / np.log(0.75)), atol=1e-9)
    # the count on the day each dose was given was above the threshold
    anc = ds["Circulating neutrophils [1e9/L]"][0]
    for t in ds["Dose time [day]"].values[0][given]:
        if t in TIMES and t > 5:
            prev = float(anc.sel(time=t - 1))
            assert prev > 0.0


def test_dose_modulation_raises_the_dose_of_a_growing_tumour(model):
    params = {"Body weight [kg]": 0.02, SLOPE: 0.0, "Paclitaxel kill potency [mL/ng/day]": 1e-5}
    ds = simulate(model, REGIMEN, params, TIMES, rules=[DoseModulation(step=0.5, threshold=0.1, maximum=2.0)])
    factors = ds["Dose factor [-]"].values[0]
    assert factors[0] == 1.0 and factors[-1] == 2.0 and np.all(np.diff(factors) >= 0)


def test_resection_stops_the_primary_and_resection_at_size_acts_per_patient(model):
    params = {"Body weight [kg]": 0.02, SLOPE: 0.0}
    ds = simulate(model, None, params, TIMES, procedures=parse_procedures(["resection on day 20"]))
    v = ds["Tumour volume [mm3]"][0]
    assert float(v.sel(time=19)) > 1 and np.all(v.sel(time=slice(20, None)).values == 0.0)
    # a resection is the engine's ScaleState events on the primary's states
    events = [ScaleState(20.0, name, 0.0) for name in model.primary_states]
    np.testing.assert_array_equal(simulate(model, None, params, TIMES, procedures=events)["Tumour volume [mm3]"][0], v)
    cohort = {SLOPE: 0.0, "Gompertz initial growth rate [1/day]": [0.5, 0.728, 0.9]}
    ds = simulate(model, None, cohort, TIMES, n_patients=3, rules=[ResectionAtSize(volume=100.0)])
    vol = ds["Tumour volume [mm3]"].values
    day = [TIMES[np.flatnonzero(row == 0.0)[0]] for row in vol]
    assert day[0] > day[1] > day[2]
    # with other events but no doses (a procedure), the rule acts the same
    again = simulate(model, None, cohort, TIMES, n_patients=3, rules=[ResectionAtSize(volume=100.0)],
                     procedures=parse_procedures(["resection on day 79"]))
    np.testing.assert_allclose(again["Tumour volume [mm3]"].values[:, :-2], vol[:, :-2], rtol=1e-6)
    for row, d in zip(vol, day):
        assert row[TIMES < d].max() < 100.0 * 1.5 and row[TIMES == d - 1][0] < 100.0


def test_procedures_and_rules_reject_bad_input(model):
    assert parse_procedure("Resection on day 21 leaving 1%") == Resection(21.0, 0.01)
    assert parse_procedure({"inoculation": {"day": 1, "cells": 1e6}}).cells == 1e6
    for bad in ("resection at noon", {"surgery": {"day": 1}}, {"resection": {"day": "x"}},
                {"resection": {"day": 1, "residual": 2}}, {"inoculation": {"day": 1, "cells": -5}}):
        with pytest.raises(ChemohostError):
            parse_procedure(bad)
    for text in ("resection on day 20", ["resection on day 20"], {"resection": {"day": 20}}):
        with pytest.raises(ChemohostError, match="parse_procedures"):
            simulate(model, None, {SLOPE: 0.0}, TIMES, procedures=text)
    with pytest.raises(ChemohostError, match="Inoculated tumour cells"):
        simulate(model, None, {SLOPE: 0.0}, TIMES, procedures=[Inoculation(1, 1e6)])
    with pytest.raises(ChemohostError, match="did you mean|accepted"):
        simulate(model, REGIMEN, {"Body weight [kg]": 0.02, SLOPE: 1.0}, TIMES,
                 rules=[AdaptiveTherapy(observable="Tumor volume [mm3]")])
    with pytest.raises(ChemohostError, match="does not give"):
        simulate(model, REGIMEN, {"Body weight [kg]": 0.02, SLOPE: 1.0}, TIMES,
                 rules=[AdaptiveTherapy(agents=("gemcitabine",))])
    for make in (lambda: AdaptiveTherapy(0.8, 0.5), lambda: ToxicityRule(action="skip"),
                 lambda: ToxicityRule(reduction=1.5), lambda: DoseModulation(minimum=2.0)):
        with pytest.raises(ChemohostError):
            make()
