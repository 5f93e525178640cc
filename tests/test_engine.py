"""The batch engine: dosing events, tolerances, diagnostics and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chemohost as ch
from chemohost import ChemohostError

TIMES = np.linspace(0.0, 10.0, 41)


@pytest.fixture(scope="module")
def pk_model():
    return ch.Model({"growth": "exponential", "drugs": {"paclitaxel": {"kill": "linear"}}})


def test_state_at_a_dose_time_is_after_the_dose(pk_model):
    ds = ch.simulate(pk_model, "paclitaxel 25 mg/kg iv q7d x2 from day 2", {"Body weight [kg]": 0.02},
                     [0.0, 2.0, 9.0], rtol=1e-10, atol=1e-14)
    amount = ds["Paclitaxel central amount [mg]"].values[0]
    assert amount[0] == 0.0
    assert amount[1] == pytest.approx(0.5, rel=1e-12)
    # the day-9 dose adds 0.5 mg to what is left of the day-2 dose (about e^-101, i.e. nothing)
    assert amount[2] == pytest.approx(0.5, rel=1e-9)


def test_one_patient_is_a_batch_of_one(pk_model):
    ds = ch.simulate(pk_model, None, {}, TIMES)
    assert ds["Tumour volume [mm3]"].dims == ("patient", "time")
    assert ds.sizes["patient"] == 1


def test_per_patient_parameters_give_per_patient_results(pk_model):
    rates = np.array([0.1, 0.2, 0.3])
    ds = ch.simulate(pk_model, None, {"Exponential growth rate [1/day]": rates}, TIMES, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ds["Tumour volume [mm3]"].values, np.exp(np.outer(rates, TIMES)), rtol=1e-7)


def test_tolerance_controls_the_error(pk_model):
    exact = np.exp(0.411 * TIMES)
    errors = []
    for rtol in (1e-4, 1e-7, 1e-10):
        ds = ch.simulate(pk_model, None, {}, TIMES, rtol=rtol, atol=rtol * 1e-3)
        errors.append(np.max(np.abs(ds["Tumour volume [mm3]"].values[0] / exact - 1)))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-8


def test_provenance_attributes(pk_model):
    ds = ch.simulate(pk_model, "paclitaxel 25 mg/kg iv once at day 1", {"Body weight [kg]": 0.02}, TIMES)
    assert "paclitaxel" in ds.attrs["regimen"]
    assert "Dormand1980" in ds.attrs["citations"]
    assert "numba" in ds.attrs["versions"]
    assert ds["Plasma paclitaxel [ng/mL]"].attrs["units"] == "ng/mL"
    assert set(ds["parameter"].values) == set(pk_model.parameter_names)


def test_solver_failures_are_reported_not_hidden(pk_model):
    rates = np.array([0.01, 5.0])  # the second patient needs far more steps
    with pytest.warns(RuntimeWarning, match="1 of 2"):
        ds = ch.simulate(pk_model, None, {"Exponential growth rate [1/day]": rates}, TIMES, rtol=1e-10,
                         atol=1e-12, max_steps=60)
    assert ds["solver_status"].values.tolist() == [0, 1]
    assert np.isnan(ds["Tumour volume [mm3]"].values[1, -1])
    with pytest.raises(ch.ChemohostError, match="failed for all"):
        ch.simulate(pk_model, None, {}, TIMES, max_steps=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parameters": {"Exponential growth rat [1/day]": 1.0}}, "did you mean"),
        ({"parameters": {"Gompertz deceleration rate [1/day]": 1.0}}, "not used by this model"),
        ({"parameters": {"Exponential growth rate [1/day]": -1.0}}, "must lie in"),
        ({"parameters": {"Exponential growth rate [1/day]": [0.1, 0.2], "Initial tumour volume [mm3]": [1, 2, 3]}},
         "has 3 values"),
        ({"times": [3.0, 1.0]}, "ascending"),
        ({"method": "rk4"}, "did you mean"),
        ({"rtol": 0.0}, "positive"),
        ({"regimen": "gemcitabine 100 mg/kg iv once at day 1"}, "no 'gemcitabine'"),
        ({"regimen": "paclitaxel 25 mg/kg oral once at day 1"}, "extravascular"),
        ({"regimen": "paclitaxel 25 mg/kg iv once at day 1", "parameters": {}}, "Body weight"),
        ({"save": ["Tumor volume [mm3]"]}, "did you mean"),
    ],
)
def test_bad_input(pk_model, kwargs, message):
    args = {"regimen": None, "parameters": {}, "times": TIMES, **kwargs}
    with pytest.raises(ChemohostError, match=message):
        ch.simulate(pk_model, args.pop("regimen"), args.pop("parameters"), args.pop("times"), **args)


def test_stiff_method_starts_at_zero_drug_with_a_hill_kill():
    """The Jacobian of C**h/(EC50**h + C**h) is finite at C = 0 (h·C**(h−1), not the 0/0 of h·C**h/C):
    the stiff method integrates the untreated stretch before the first dose and agrees with the explicit one."""
    model = ch.Model({"growth": "exponential", "drugs": {"paclitaxel": {"kill": "emax"}}})
    regimen = "paclitaxel 25 mg/kg iv q7d x2 from day 3"
    times = [0.0, 2.0, 5.0, 12.0]
    params = {"Body weight [kg]": 0.02, "Paclitaxel maximal kill rate [1/day]": 0.5,
              "Paclitaxel kill EC50 [ng/mL]": 100.0, "Paclitaxel kill Hill coefficient [-]": 2.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a solver failure warns (or raises when every patient fails)
        stiff = ch.simulate(model, regimen, params, times, method="stiff", rtol=1e-8, atol=1e-12)
    explicit = ch.simulate(model, regimen, params, times, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(stiff["Tumour volume [mm3]"].values, explicit["Tumour volume [mm3]"].values,
                               rtol=1e-5)
