"""The JAX backend against the numba engine: the same equations, events and dosing rules, on any device.

Both backends integrate with Dormand–Prince 5(4), the same error norm, initial
step and PI controller, so at tight tolerances they take the same steps and
agree far below the tolerance; the checks are at rtol 1e-8 and assert 1e-6.
"""

import numpy as np
import pytest

import chemohost as ch
from chemohost._errors import ChemohostError
from chemohost.rules import AdaptiveTherapy, ToxicityRule

pytest.importorskip("jax")

TIGHT = {"rtol": 1e-8, "atol": 1e-10}
N = 50


RTOL_MATCH, ATOL_MATCH = 1e-6, 1e-9  # |numba − jax| ≤ 1e-9 + 1e-6·|numba| (the floor covers drugs eliminated to ~1e-9)


def _assert_match(a, b):
    """Every (patient, time) variable of two results agrees within 1e-6 relative, NaNs alike, with an absolute
    floor of 1e-9 or 1e-6 of the variable's largest value: the solvers control each state to an absolute 1e-10,
    so an output that is a tiny remainder of its peak (a kill flux after the drug is eliminated) agrees only to
    that absolute level, not relatively."""
    for name in a.data_vars:
        if a[name].dims[:2] == ("patient", "time"):
            x, y = a[name].values, b[name].values
            np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
            scale = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 0.0
            np.testing.assert_allclose(y, x, rtol=RTOL_MATCH, atol=max(ATOL_MATCH, RTOL_MATCH * scale), err_msg=name)


def _cohort(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"Body weight [kg]": 0.02,
            "Gompertz initial growth rate [1/day]": 0.728 * np.exp(rng.normal(0, 0.24, n)),
            "Gompertz deceleration rate [1/day]": 0.0809 * np.exp(rng.normal(0, 0.54, n)),
            "Paclitaxel kill potency [mL/ng/day]": 6.29e-4 * np.exp(rng.normal(0, 0.5, n))}


@pytest.fixture(scope="module")
def pk_model():
    return ch.Model({"growth": "gompertz", "damage": "simeoni_transit",
                     "drugs": {"paclitaxel": {"kill": "linear", "extravascular": ["oral"]}}})


@pytest.mark.parametrize("regimen", [
    "paclitaxel 25 mg/kg iv bolus q7d x4 from day 7",
    "paclitaxel 20 mg/kg iv over 36 h q7d x2 from day 2",
    "paclitaxel 30 mg/kg oral q7d x3 from day 1 + paclitaxel 5 mg/kg/day oral continuous from day 3 to day 10",
], ids=["bolus", "infusion", "oral"])
def test_jax_matches_numba_for_bolus_infusion_and_oral_dosing(pk_model, regimen):
    params = {**_cohort(N), "Paclitaxel absorption rate [1/day]": 12.0, "Paclitaxel oral bioavailability [-]": 0.3}
    times = np.arange(0.0, 28.0 + 1e-9, 0.25)
    numba = ch.simulate(pk_model, regimen, params, times, n_patients=N, **TIGHT)
    jax = ch.simulate(pk_model, regimen, params, times, n_patients=N, backend="jax", **TIGHT)
    _assert_match(numba, jax)
    np.testing.assert_array_equal(numba["solver_steps"].values, jax["solver_steps"].values)  # step for step
    assert jax.attrs["backend"] == "jax (float64)"


def test_jax_follows_the_toxicity_and_adaptive_rules_dose_by_dose():
    model = ch.Model({"growth": "gompertz", "toxicity": "friberg",
                      "drugs": {"paclitaxel": {"kill": "linear", "myelosuppression": "linear"}}})
    rng = np.random.default_rng(3)
    params = {**_cohort(N, seed=3), "Paclitaxel myelosuppression slope [1/uM]": rng.lognormal(0.0, 0.6, N),
              "Baseline neutrophil count [1/nL]": 1.0}  # the rule thresholds below are set for a baseline of 1
    params.pop("Gompertz deceleration rate [1/day]")
    rules = (ToxicityRule(proceed_above=0.6, grade4_below=0.3, grade4_days=2.0), AdaptiveTherapy(0.5, 1.0))
    times = np.linspace(0.0, 80.0, 81)
    regimen = "paclitaxel 20 mg/kg iv q7d x10 from day 5"
    numba = ch.simulate(model, regimen, params, times, n_patients=N, rules=rules, **TIGHT)
    jax = ch.simulate(model, regimen, params, times, n_patients=N, rules=rules, backend="jax", **TIGHT)
    decisions = numba["Dose factor [-]"].values
    assert len({tuple(row) for row in decisions.round(12)}) > 2  # the rules made different choices per patient
    np.testing.assert_array_equal(jax["Dose factor [-]"].values, decisions)
    np.testing.assert_array_equal(jax["Dose time [day]"].values, numba["Dose time [day]"].values)
    _assert_match(numba, jax)


def test_float32_is_an_option_with_looser_agreement(pk_model):
    params = {**_cohort(8), "Paclitaxel absorption rate [1/day]": 12.0}
    times = np.arange(0.0, 21.0 + 1e-9, 0.5)
    regimen = "paclitaxel 25 mg/kg iv bolus q7d x3 from day 0"
    numba = ch.simulate(pk_model, regimen, params, times, n_patients=8, rtol=1e-5, atol=1e-7)
    single = ch.simulate(pk_model, regimen, params, times, n_patients=8, rtol=1e-5, atol=1e-7, backend="jax",
                         dtype="float32")
    np.testing.assert_allclose(single["Tumour volume [mm3]"].values, numba["Tumour volume [mm3]"].values, rtol=1e-3)
    assert single.attrs["backend"] == "jax (float32)"


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "cuda"}, "backend"),
    ({"backend": "jax", "method": "stiff"}, "dopri5"),
    ({"backend": "jax", "dtype": "float16"}, "float16"),
])
def test_bad_backend_options_are_named(pk_model, kwargs, message):
    with pytest.raises(ChemohostError, match=message):
        ch.simulate(pk_model, None, {"Body weight [kg]": 0.02}, [0.0, 1.0], **kwargs)


@pytest.mark.slow
def test_jax_matches_numba_on_every_arm_of_the_reference_study():
    """Every model option the reference study uses (Hahnfeldt growth and vasculature, the Simeoni chain, the
    host response, Friberg neutrophils, metastasis cohorts), its boluses, continuous dosing, blockers and
    resection, for 50 mice."""
    from importlib.resources import files

    from chemohost.study import load_study, plan_study

    data = load_study(files("chemohost").joinpath("data/studies/reference.yaml")).model_dump()
    data["cohort"]["size"] = N
    config = load_study(data)
    plan = plan_study(config)
    times = np.arange(0.0, config.duration + 1e-9, config.output_interval)
    for arm, regimen in plan.regimens.items():
        kw = dict(covariates=plan.covariates, n_patients=N, procedures=plan.procedures[arm], rules=plan.rules[arm],
                  **TIGHT)
        numba = ch.simulate(plan.model, regimen, plan.cohort, times, **kw)
        jax = ch.simulate(plan.model, regimen, plan.cohort, times, backend="jax", **kw)
        _assert_match(numba, jax)
