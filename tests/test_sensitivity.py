"""Global sensitivity (issue 12 item 3): indices against closed forms and SALib, read-outs, ranges, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chemohost.parameters import ParameterSet, ParameterValue, register_parameter_set
from chemohost.sensitivity import SensitivityError, parameter_ranges, parse_readout, sensitivity
from chemohost.study import load_study, plan_study
from test_cli import run_cli

RATE, V0 = "Exponential growth rate [1/day]", "Initial tumour volume [mm3]"
CLEARANCE = "Paclitaxel clearance [L/day]"
T = 10.0
# The model of conftest's "paclitaxel_oral" (exponential growth, oral paclitaxel PK), so the kernel is shared.
STUDY = {
    "name": "exponential growth",
    "model": {"species": "mouse", "growth": "exponential", "drugs": {"paclitaxel": {"extravascular": ["oral"]}}},
    "parameter_sets": ["Eiseman1994"],
    "parameters": {"Paclitaxel absorption rate [1/day]": 24.0},  # the oral route is unused here; any value does
    "covariates": {"Body weight [kg]": 0.02},
    "cohort": {"size": 4},
    "arms": {"control": "none", "paclitaxel": "paclitaxel 25 mg/kg iv bolus on day 1"},
    "duration": T,
    "output_interval": 1.0,
}


@pytest.fixture(scope="module")
def plan():
    return plan_study(load_study(STUDY))


def _moments_uniform_exp(a: float, b: float, k: int) -> float:
    """E[exp(k·T·λ)] for λ uniform on [a, b]."""
    return (math.exp(k * T * b) - math.exp(k * T * a)) / (k * T * (b - a))


def _moments_log_uniform(a: float, b: float, k: int) -> float:
    """E[X^k] for X log-uniform on [a, b]."""
    return (b ** k - a ** k) / (k * math.log(b / a))


def test_product_of_two_parameters_matches_closed_form_indices(plan):
    """V(T) = V0·exp(λT), V0 log-uniform on [0.1, 10], λ uniform on [0.2, 0.5]: Y = X1·X2 with independent factors.

    Var Y = E[X1²]E[X2²] − E[X1]²E[X2]²; S1(X1) = Var(X1)·E[X2]²/Var Y; ST(X1) = 1 − Var(X2)·E[X1]²/Var Y.
    """
    ranges = {V0: (0.1, 10.0), RATE: (0.2, 0.5)}
    res = sensitivity(plan, "final_volume(control)", samples=2048, ranges=ranges, seed=1)
    assert res.ranges[V0].log and not res.ranges[RATE].log  # ratio 100 > 10: log-uniform; 2.5: uniform
    m1 = [_moments_log_uniform(0.1, 10.0, k) for k in (1, 2)]
    m2 = [_moments_uniform_exp(0.2, 0.5, k) for k in (1, 2)]
    var1, var2 = m1[1] - m1[0] ** 2, m2[1] - m2[0] ** 2
    total = m1[1] * m2[1] - m1[0] ** 2 * m2[0] ** 2
    expected = {"S1": {V0: var1 * m2[0] ** 2 / total, RATE: var2 * m1[0] ** 2 / total}}
    expected["ST"] = {V0: 1 - expected["S1"][RATE], RATE: 1 - expected["S1"][V0]}
    for key in ("S1", "ST"):
        for name in (V0, RATE):
            got, conf = res.indices.loc[name, key], res.indices.loc[name, f"{key}_conf"]
            assert abs(got - expected[key][name]) <= conf, (key, name, got, expected[key][name], conf)
    assert res.inconsistent() == []


def test_one_parameter_read_out_has_all_variance_on_it(plan):
    """Control-arm volume ignores paclitaxel clearance: S1 = ST = 0 exactly for it, S1 = ST = 1 for λ."""
    res = sensitivity(plan, "final_volume(control)", [RATE, CLEARANCE], samples=512,
                      ranges={RATE: (0.2, 0.5), CLEARANCE: (0.05, 0.2)})
    assert res.indices.loc[CLEARANCE, ["S1", "ST"]].tolist() == [0.0, 0.0]
    assert res.indices.loc[RATE, "S1"] == pytest.approx(1, abs=res.indices.loc[RATE, "S1_conf"])
    assert res.indices.loc[RATE, "ST"] == pytest.approx(1, abs=res.indices.loc[RATE, "ST_conf"])


def test_unused_parameters_are_screened_out_by_default(plan):
    """Without --parameters, a ranged parameter the read-out's arms never use is dropped before sampling."""
    res = sensitivity(plan, "final_volume(control)", samples=64, ranges={RATE: (0.2, 0.5), CLEARANCE: (0.05, 0.2)})
    assert list(res.ranges) == [RATE] and res.dropped == [CLEARANCE]
    assert res.runs == 64 * 3


def test_pipeline_equals_salib_on_the_same_samples(plan, tmp_path):
    """The design is SALib's own, mapped onto the ranges; the indices are SALib's analysis of the same runs."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    ranges = {V0: (0.1, 10.0), RATE: (0.2, 0.5)}
    res = sensitivity(plan, "final_volume(control)", samples=256, ranges=ranges, seed=7)
    problem = {"num_vars": 2, "names": [RATE, V0], "bounds": [[0, 1], [0, 1]]}  # model order
    unit = sample.sample(problem, 256, calc_second_order=False, scramble=True, seed=7)
    np.testing.assert_array_equal(res.unit, unit)
    np.testing.assert_allclose(res.samples[:, 1], 0.1 * 100 ** unit[:, 1], rtol=1e-12)
    np.testing.assert_allclose(res.samples[:, 0], 0.2 + 0.3 * unit[:, 0], rtol=1e-12)
    np.testing.assert_allclose(res.values, res.samples[:, 1] * np.exp(res.samples[:, 0] * T), rtol=1e-4)
    own = analyze.analyze(problem, res.values, calc_second_order=False, num_resamples=100, conf_level=0.95, seed=7)
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        np.testing.assert_array_equal(res.indices[key].to_numpy(), own[key])
    paths = res.write(tmp_path)
    assert [p.name for p in paths] == ["sensitivity.csv", "sensitivity.nc", "sensitivity.png"]
    import xarray as xr

    with xr.open_dataset(paths[1]) as ds:
        np.testing.assert_array_equal(ds["ST"].to_numpy(), own["ST"])
        assert ds.attrs["readout"] == "final_volume(control)"


def test_morris_ranks_the_product_factors(plan):
    res = sensitivity(plan, "final_volume(control)", method="morris", samples=20,
                      ranges={V0: (0.1, 10.0), RATE: (0.2, 0.5)})
    assert res.runs == 20 * 3
    assert (res.indices["mu_star"] > 0).all()


def test_read_out_without_finite_values_is_an_error(plan):
    """Peak fold of a quantity that starts at 0 (plasma drug in the control arm) is 0/0: refused, not analysed."""
    with pytest.raises(SensitivityError, match="give no finite value"):
        sensitivity(plan, "peak_fold(Plasma paclitaxel [ng/mL], control)", [RATE], samples=8, ranges={RATE: (0.2, 0.5)})
    with pytest.raises(SensitivityError, match="no placeholder with a range acts on"):
        sensitivity(plan, "final(Plasma paclitaxel [ng/mL], control)", samples=8, ranges={RATE: (0.2, 0.5)})


# ------------------------------------------------------------------------------------------ read-outs
ARMS = {"vehicle": (), "paclitaxel MTD": ("paclitaxel",), "paclitaxel + anti-VEGFR2": ("paclitaxel", "dc101")}
QUANTITIES = ["Tumour volume [mm3]", "Circulating endothelial progenitors [-]"]


def test_read_out_grammar():
    r = parse_readout("ratio( final_volume(paclitaxel+DC101), final_volume(Paclitaxel) )", ARMS, QUANTITIES)
    assert r.function == "ratio" and r.arms == ("paclitaxel + anti-VEGFR2", "paclitaxel MTD")
    peak = parse_readout("peak_fold(CEP, 'paclitaxel MTD')", ARMS, QUANTITIES)
    assert (peak.quantity, peak.arm) == ("Circulating endothelial progenitors [-]", "paclitaxel MTD")
    assert parse_readout("final(tumour volume [mm3], vehicle)", ARMS, QUANTITIES).quantity == "Tumour volume [mm3]"


@pytest.mark.parametrize("text, words", [
    ("final_volume(placebo)", "unknown arm 'placebo'"),
    ("growth(vehicle)", "unknown output 'growth'"),
    ("peak_fold(IL-9, vehicle)", "unknown quantity 'IL-9'"),
    ("final_volume(vehicle) + 1", "unexpected"),
    ("ratio(final_volume(vehicle)", "expected ','"),
    ("burden(vehicle)", "the model has no 'Metastatic burden [cell]'"),
    ("__import__('os')", "unknown output"),
])
def test_bad_read_outs_name_the_problem(text, words):
    with pytest.raises(SensitivityError, match="read-out") as info:
        parse_readout(text, ARMS, QUANTITIES)
    assert words in str(info.value) and "\n" not in str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_(),+' \"0123456789.:[]", max_size=40))
def test_any_text_parses_or_gives_a_sensitivity_error(text):
    """The parser is a whitelist: arbitrary text is a read-out or a one-line SensitivityError, never anything else."""
    try:
        r = parse_readout(text, ARMS, QUANTITIES)
    except SensitivityError as exc:
        assert "\n" not in str(exc)
    else:
        assert set(r.arms) <= set(ARMS)


# ------------------------------------------------------------------------------------------ ranges
def test_declared_range_follows_the_value_unit_path(plan):
    """A range in mL/min/kg resolves to L/day at the study's body weight exactly as the value does."""
    base = plan_study(load_study(STUDY)).table
    pv = ParameterValue(3.25, "mL/min/kg", "U", "test placeholder", range=(2.0, 5.0), range_rationale="test")
    register_parameter_set(ParameterSet("SensitivityTestRanges", "test", {CLEARANCE: pv}), overwrite=True)
    ranged = plan_study(load_study({**STUDY, "parameter_sets": ["Eiseman1994", "SensitivityTestRanges"]}))
    r = parameter_ranges(ranged)[CLEARANCE]
    value = float(ranged.table.loc[CLEARANCE, "value"])
    assert value == pytest.approx(float(base.loc[CLEARANCE, "value"]))
    assert (r.low, r.high) == pytest.approx((value * 2 / 3.25, value * 5 / 3.25))
    assert r.origin == "SensitivityTestRanges" and not r.log


def test_spread_gives_labelled_assumed_ranges_within_bounds(plan):
    ranges = parameter_ranges(plan, [RATE], {RATE: (0.2, 0.5)}, spread=3)
    assert ranges[RATE].origin == "given"
    with pytest.raises(SensitivityError, match="spread must be a number > 1"):
        parameter_ranges(plan, spread=1)


@pytest.mark.parametrize("kwargs, words", [
    ({"parameters": [RATE]}, f"parameter '{RATE}' has no range"),
    ({"ranges": {RATE: (0.5, 0.2)}}, "need finite low < high"),
    ({"ranges": {RATE: (-1.0, 0.2)}}, "leaves the parameter's bounds"),
    ({"parameters": ["Growth rate"]}, "unknown parameter 'Growth rate'"),
])
def test_bad_ranges(plan, kwargs, words):
    with pytest.raises(SensitivityError) as info:
        parameter_ranges(plan, **kwargs)
    assert words in str(info.value)


# ------------------------------------------------------------------------------------------ command line
@pytest.fixture
def study_file(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    return path


@pytest.mark.parametrize("args, words", [
    (["--output", "final_volume(nobody)"], "unknown arm 'nobody'"),
    (["--output", "tumour_size(control)"], "unknown output 'tumour_size'"),
    (["--output", "final_volume(control)", "--parameters", RATE], "has no range"),
    (["--output", "final_volume(control)", "--range", f"{RATE}=0.5:0.2"], "need finite low < high"),
    (["--output", "final_volume(control)", "--range", f"{RATE}=0.2:0.5", "--samples", "1000"],
     "Sobol needs a power of two"),
    (["--output", "final_volume(control)", "--range", f"{RATE}=fast"], "write NAME=LOW:HIGH"),
])
def test_cli_bad_input_one_line_exit_2(monkeypatch, capsys, study_file, tmp_path, args, words):
    code, out, err = run_cli(monkeypatch, capsys, "sensitivity", study_file, *args, "--out", tmp_path / "o")
    assert code == 2 and words in err and err.count("\n") == 1, err


def test_cli_writes_indices_and_plot(monkeypatch, capsys, study_file, tmp_path):
    code, out, err = run_cli(monkeypatch, capsys, "sensitivity", study_file, "--output", "final_volume(control)",
                             "--range", f"{RATE}=0.2:0.5", "--range", f"{V0}=0.1:10", "--samples", "128",
                             "--out", tmp_path / "o")
    assert code in (0, None), err
    assert "sampled log-uniformly (high/low > 10): " + V0 in out
    assert "first-order <= total within the confidence intervals" in out
    for name in ("sobol.csv", "sobol.nc", "sobol.png"):
        assert (tmp_path / "o" / name).stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("output", [
    "peak_fold(CEP, paclitaxel)",
    "ratio(final_volume(paclitaxel+DC101), final_volume(paclitaxel))",
])
def test_reference_study_sobol_1024(output):
    """The issue's two reference read-outs with N = 1,024: first-order ≤ total within the intervals.

    Placeholders without a declared range get an assumed ×/÷2 spread until the parameter sets declare them all.
    """
    res = sensitivity(None, output, samples=1024, spread=2)
    assert res.base_samples == 1024 and res.runs == 1024 * (len(res.ranges) + 2)
    assert res.inconsistent() == []
    assert (res.indices["ST"] + res.indices["ST_conf"] >= 0).all()
