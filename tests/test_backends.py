"""The numba engine against the SciPy and diffrax backends, and its own determinism.

All cases share one model (Gompertz growth, Simeoni damage chain, one-compartment
paclitaxel with an oral depot and linear kill), so the file compiles one kernel.
"""

import sys

import numpy as np
import pytest

import chemohost as ch
from chemohost.engine._scipy import simulate_scipy

MODEL = {
    "growth": "gompertz",
    "damage": "simeoni_transit",
    "drugs": {"paclitaxel": {"kill": "linear", "extravascular": ["oral"]}},
}
PARAMETERS = {
    "Gompertz initial growth rate [1/day]": [0.6, 0.728, 0.9],
    "Gompertz deceleration rate [1/day]": [0.06, 0.0809, 0.12],
    "Paclitaxel absorption rate [1/day]": 12.0,
    "Paclitaxel oral bioavailability [-]": 0.3,
}
COVARIATES = {"Body weight [kg]": 0.02}
TIMES = np.arange(0.0, 28.0 + 1e-9, 0.25)  # includes every dosing and infusion-end time below
TIGHT = {"rtol": 1e-8, "atol": 1e-10}
REGIMENS = {
    "multi-dose bolus": "paclitaxel 25 mg/kg iv bolus q7d x4 from day 7",
    "infusion": "paclitaxel 20 mg/kg iv over 36 h q7d x2 from day 2",
    "oral": "paclitaxel 30 mg/kg oral q7d x3 from day 1 + paclitaxel 5 mg/kg/day oral continuous from day 3 to day 10",
}


@pytest.fixture(scope="module")
def model():
    return ch.Model(MODEL)


@pytest.fixture
def restore_threads():
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


def cohort(n, seed):
    """:data:`PARAMETERS` with log-normal Gompertz rates for ``n`` patients."""
    eta = np.random.default_rng(seed).normal(0.0, [0.24, 0.54], size=(n, 2))
    return {**PARAMETERS, "Gompertz initial growth rate [1/day]": 0.728 * np.exp(eta[:, 0]),
            "Gompertz deceleration rate [1/day]": 0.0809 * np.exp(eta[:, 1])}


def patient(parameters, i):
    """Patient ``i`` of a cohort; shared values stay shared."""
    return {name: value[i] if np.ndim(value) else value for name, value in parameters.items()}


def states(model, ds):
    """The state variables of a :func:`chemohost.simulate` result as ``(patients, times, states)``."""
    return np.stack([ds[name].values for name in model.state_names], axis=-1)


def assert_agree(actual, desired, rtol=1e-6):
    """Agreement to ``rtol`` relative to each value, or to each state's largest magnitude near zero."""
    scale = np.maximum(np.abs(desired).max(axis=(0, 1)), 1e-12)
    np.testing.assert_allclose(actual / scale, desired / scale, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("regimen", list(REGIMENS.values()), ids=list(REGIMENS))
def test_numba_matches_scipy_reference(model, regimen):
    ours = states(model, ch.simulate(model, regimen, PARAMETERS, TIMES, covariates=COVARIATES, **TIGHT))
    reference = simulate_scipy(model, regimen, PARAMETERS, TIMES, covariates=COVARIATES, method="LSODA", **TIGHT)
    assert np.all(reference[:, -1, 0] > 1.0)  # the tumour grew: the comparison is not of zeros
    assert_agree(ours, reference)


def test_dose_at_an_output_time_is_reported_after_the_dose(model):
    reference = simulate_scipy(model, REGIMENS["multi-dose bolus"], PARAMETERS, [6.0, 7.0], covariates=COVARIATES)
    central = model.state_names.index("Paclitaxel central amount [mg]")
    assert reference[0, 0, central] == 0.0
    assert reference[0, 1, central] == pytest.approx(25 * 0.02)


def test_serial_equals_parallel(model, restore_threads):
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    run = {"regimen": REGIMENS["multi-dose bolus"], "parameters": cohort(200, seed=7), "times": TIMES,
           "covariates": COVARIATES}
    serial = states(model, ch.simulate(model, threads=1, **run))
    parallel = states(model, ch.simulate(model, threads=2, **run))
    np.testing.assert_array_equal(serial, parallel)


def test_batch_equals_patients_one_by_one(model):
    parameters = cohort(50, seed=11)
    run = {"regimen": REGIMENS["multi-dose bolus"], "times": TIMES, "covariates": COVARIATES}
    batch = states(model, ch.simulate(model, parameters=parameters, **run))
    single = np.concatenate([states(model, ch.simulate(model, parameters=patient(parameters, i), **run))
                             for i in range(50)])
    np.testing.assert_array_equal(batch, single)


def test_diffrax_matches_numba(model):
    pytest.importorskip("jax")
    pytest.importorskip("diffrax")
    from chemohost.engine._jax import simulate_diffrax

    regimen = REGIMENS["oral"] + " + paclitaxel 20 mg/kg iv over 36 h q7d x2 from day 2"
    ours = states(model, ch.simulate(model, regimen, PARAMETERS, TIMES, covariates=COVARIATES, **TIGHT))
    theirs = simulate_diffrax(model, regimen, PARAMETERS, TIMES, covariates=COVARIATES, method="Dopri5", **TIGHT)
    assert_agree(theirs, ours)


def test_diffrax_without_jax_names_the_extra(model, monkeypatch):
    from chemohost.engine._jax import simulate_diffrax

    monkeypatch.setitem(sys.modules, "diffrax", None)
    with pytest.raises(ImportError, match=r"pip install chemohost\[jax\]"):
        simulate_diffrax(model, None, PARAMETERS, TIMES, covariates=COVARIATES)
