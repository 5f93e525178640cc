"""Growth-law calibration: VALIDATION V8 (pooled fits, AIC ranking) and V9 (per-mouse Gompertz).

The Benzekry 2014 data are read from the shared data folder (``../shared/data``
or ``$CHEMOHOST_SHARED_DATA``); those tests skip cleanly when it is absent. The
closed forms, recovery and bad-input tests need no data. Targets and tolerances
are those of science/VALIDATION.md.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import sympy

from chemohost._errors import ChemohostError, OptionError
from chemohost.calibration import (
    CLOSED_FORMS,
    ClosedFormLaw,
    SUBJECT,
    TIME,
    VOLUME,
    CalibrationError,
    DataFileError,
    GrowthLawFitter,
    load_benzekry2014,
    rank_growth_laws,
    read_growth_table,
    reduced_gompertz,
    shared_data_dir,
)
from chemohost.core._mechanism import get_mechanism

ALPHA0 = "Gompertz initial growth rate [1/day]"
BETA = "Gompertz deceleration rate [1/day]"
VB_B = "Bertalanffy loss rate [1/day]"
V0 = "Initial tumour volume [mm3]"


# ----------------------------------------------------------------------------- data
def _load(name: str) -> pd.DataFrame:
    try:
        return load_benzekry2014(name)
    except DataFileError as exc:
        pytest.skip(f"shared data not available: {exc}")


@pytest.fixture(scope="module")
def lung():
    return _load("lung")


@pytest.fixture(scope="module")
def breast():
    return _load("breast")


@pytest.fixture(scope="module")
def datasets(lung, breast):
    return {"LLC": lung, "LM2-4": breast}


@pytest.mark.data
def test_load_benzekry2014_matches_source_counts(lung, breast):
    """SOURCE.md: LLC 20 mice, 188 rows, days 4-24, 13.99-2,247.3 mm3; LM2-4 66 mice, 583 rows, 2 zeros."""
    assert list(lung.columns) == [SUBJECT, TIME, VOLUME]
    assert (len(lung), lung[SUBJECT].nunique()) == (188, 20)
    assert (lung[TIME].min(), lung[TIME].max()) == (4, 24)
    assert lung[VOLUME].min() == pytest.approx(13.99, abs=0.01)
    assert lung[VOLUME].max() == pytest.approx(2247.3, abs=0.1)
    assert (len(breast), breast[SUBJECT].nunique()) == (583, 66)
    zeros = breast[breast[VOLUME] == 0]
    assert sorted(zeros[SUBJECT]) == [34, 43] and set(zeros[TIME]) == {11.0}
    assert load_benzekry2014("LM2-4").equals(breast)  # alias


# ----------------------------------------------------------------------------- V8
V8 = [  # (data, law, {parameter: value}, SSE(ln))
    ("LLC", "power_law", {"Power-law growth coefficient [mm3^(1-gamma)/day]": 1.168, "Power-law exponent [-]": 0.719},
     43.8),
    ("LLC", "gompertz", {ALPHA0: 0.813, BETA: 0.0977}, 45.3),
    ("LLC", "logistic", {"Logistic growth rate [1/day]": 0.525, "Carrying capacity [mm3]": 1053}, 64.5),
    ("LLC", "exponential", {"Exponential growth rate [1/day]": 0.411}, 191.0),
    ("LM2-4", "power_law", {"Power-law growth coefficient [mm3^(1-gamma)/day]": 1.235,
                            "Power-law exponent [-]": 0.607}, 93.5),
    ("LM2-4", "von_bertalanffy", {"Bertalanffy growth coefficient [mm3^(1-gamma)/day]": 1.127, VB_B: 0.0345}, 93.1),
    ("LM2-4", "gompertz", {ALPHA0: 0.623, BETA: 0.0817}, 95.2),
    ("LM2-4", "logistic", {"Logistic growth rate [1/day]": 0.379, "Carrying capacity [mm3]": 936}, 143.7),
    ("LM2-4", "exponential", {"Exponential growth rate [1/day]": 0.257}, 904.0),
]


@pytest.mark.data
@pytest.mark.parametrize(("data", "law", "expected", "sse"), V8, ids=[f"{d}-{law}" for d, law, *_ in V8])
def test_v8_pooled_fit(datasets, data, law, expected, sse):
    """V8: pooled least squares on ln V from V(0) = 1 mm3; parameters within 2%, SSE within 1%."""
    fit = GrowthLawFitter(law).fit(datasets[data])
    assert fit.converged_
    assert fit.n_obs_ == {"LLC": 188, "LM2-4": 581}[data]
    assert fit.params_.to_dict() == pytest.approx(expected, rel=0.02)
    assert fit.sse_ == pytest.approx(sse, rel=0.01)
    k = len(expected)
    assert fit.aic_ == pytest.approx(fit.n_obs_ * math.log(fit.sse_ / fit.n_obs_) + 2 * k, rel=1e-12)
    assert list(fit.summary.index[:k]) == list(expected)  # canonical names, fitted first


@pytest.mark.data
@pytest.mark.parametrize(("data", "plateau"), [("LLC", 4106), ("LM2-4", 2054)])
def test_v8_gompertz_plateau(datasets, data, plateau):
    """V8: Gompertz plateau K = V0·exp(α0/β) (4,106 and 2,054 mm3)."""
    p = GrowthLawFitter("gompertz").fit(datasets[data]).params_
    assert math.exp(p[ALPHA0] / p[BETA]) == pytest.approx(plateau, rel=0.02)


@pytest.mark.data
@pytest.mark.parametrize("data", ["LLC", "LM2-4"])
def test_v8_aic_ranking(datasets, data):
    """V8 (exact): power < Gompertz < logistic < exponential by AIC on both data sets."""
    table = rank_growth_laws(datasets[data], ["exponential", "logistic", "gompertz", "power_law"])
    assert list(table.index) == ["power_law", "gompertz", "logistic", "exponential"]
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert table["delta AIC"].iloc[0] == 0 and (table["delta AIC"].diff().iloc[1:] > 0).all()


@pytest.mark.data
def test_v8_power_law_and_von_bertalanffy_tie_on_lm24(breast):
    """V8: on LM2-4, von Bertalanffy (γ = 2/3) and the power law tie (ΔAIC < 3); Gompertz follows."""
    table = rank_growth_laws(breast)
    assert list(table.index[:3]) == ["von_bertalanffy", "power_law", "gompertz"]
    assert table.loc["power_law", "delta AIC"] < 3


@pytest.mark.data
def test_v8_von_bertalanffy_pitfall(lung):
    """V8 pitfall: unconstrained von Bertalanffy on LLC goes to b = −0.052; the default honours b ≥ 0."""
    free = GrowthLawFitter("von_bertalanffy", bounds={VB_B: (-np.inf, np.inf)}).fit(lung)
    assert free.params_[VB_B] == pytest.approx(-0.052, rel=0.02)
    constrained = GrowthLawFitter("von_bertalanffy").fit(lung)
    assert constrained.params_[VB_B] == 0.0
    assert constrained.at_bound_[VB_B] and constrained.summary.loc[VB_B, "at bound"]
    assert constrained.sse_ > free.sse_
    assert constrained.fixed_params_["Bertalanffy exponent [-]"] == pytest.approx(2 / 3)


@pytest.mark.data
def test_zero_volumes_are_dropped(breast):
    fit = GrowthLawFitter("exponential").fit(breast)
    assert (fit.n_obs_, fit.n_dropped_) == (581, 2)


@pytest.mark.data
@pytest.mark.slow
def test_v8_hahnfeldt_llc(lung):
    """V8: Hahnfeldt V–K (λ2 = 0, K(0) = K0) on LLC: SSE ≤ 41.75, set point (b/d)^{3/2} = 2,462 within 1%,
    and the lowest AIC of all laws; fitted from generic starts, not from the published optimum."""
    fit = GrowthLawFitter("hahnfeldt").fit(lung)
    p = fit.params_
    assert fit.sse_ <= 41.75
    b, d = p["Vascular stimulation rate [1/day]"], p["Vascular inhibition rate [1/(day*mm2)]"]
    assert (b / d) ** 1.5 == pytest.approx(2462, rel=0.01)
    assert fit.fixed_params_["Spontaneous vascular loss rate [1/day]"] == 0
    assert fit.aic_ < rank_growth_laws(lung)["AIC"].min()


# ----------------------------------------------------------------------------- V9
V9 = {  # median α0, median β, SD ln α0, SD ln β (ddof 0), corr(ln α0, ln β), k, q
    "LLC": (0.728, 0.0809, 0.241, 0.543, 0.938, 5.51, 0.308),
    "LM2-4": (0.558, 0.0708, 0.228, 0.385, 0.926, 5.64, 0.174),
}


@pytest.mark.data
@pytest.mark.parametrize("data", list(V9))
def test_v9_per_mouse_gompertz(datasets, data):
    """V9: per-mouse Gompertz A; medians 3%, SD of logs ±0.02/±0.03, correlation ±0.02, k and q 5%, R² ≥ 0.92."""
    med_a, med_b, sd_a, sd_b, corr, k, q = V9[data]
    fit = GrowthLawFitter("gompertz").fit(datasets[data], by="subject")
    assert fit.converged_ and len(fit.individual_params_) == {"LLC": 20, "LM2-4": 66}[data]
    summary = fit.summary
    assert summary.loc[ALPHA0, "median"] == pytest.approx(med_a, rel=0.03)
    assert summary.loc[BETA, "median"] == pytest.approx(med_b, rel=0.03)
    assert summary.loc[ALPHA0, "SD of log"] == pytest.approx(sd_a, abs=0.02)
    assert summary.loc[BETA, "SD of log"] == pytest.approx(sd_b, abs=0.03)
    assert fit.correlation_.loc[ALPHA0, BETA] == pytest.approx(corr, abs=0.02)
    reduced = reduced_gompertz(fit)
    assert reduced["Correlation of logs [-]"] == pytest.approx(fit.correlation_.loc[ALPHA0, BETA])
    assert reduced["Slope k [-]"] == pytest.approx(k, rel=0.05)
    assert reduced["Intercept q [1/day]"] == pytest.approx(q, rel=0.05)
    assert reduced["Linear R2 [-]"] >= 0.92
    assert fit.params_.to_dict() == summary["median"].to_dict()
    assert fit.n_params_ == 2 * len(fit.individual_params_)
    assert fit.sse_ == pytest.approx(fit.individual_fits_["SSE"].sum())


# ----------------------------------------------------------------------------- closed forms
CLOSED_FORM_CASES = {  # law: fitted values (V8 magnitudes)
    "exponential": (0.411,),
    "logistic": (0.525, 1053.0),
    "gompertz": (0.813, 0.0977),
    "power_law": (1.168, 0.719),
    "von_bertalanffy": (1.127, 0.0345),
}


def test_laws_are_keyed_by_names_and_old_symbol_keys_warn_once():
    """Item 5 of issue 11: parameters by name; LaTeX symbol keys work for one release with a one-line warning."""
    law = CLOSED_FORMS["von_bertalanffy"]
    assert law.fixed == {"Bertalanffy exponent [-]": 2 / 3}
    assert all(n.endswith("]") for n in (*law.parameter_names, *law.fixed, *CLOSED_FORMS["logistic"].bounds))
    with pytest.warns(DeprecationWarning) as record:
        old = ClosedFormLaw("von_bertalanffy", ("a", "b"), law.log_volume, law.initial_guesses,
                            fixed={r"\gamma": 0.5}, bounds={"b": (0.0, 1.0)})
    assert len(record) == 1 and "\n" not in str(record[0].message) and "Bertalanffy exponent [-]" in str(
        record[0].message)
    assert old.parameter_names == law.parameter_names and old.fixed == {"Bertalanffy exponent [-]": 0.5}
    np.testing.assert_allclose(old.evaluate([1.0, 5.0], [[1.1, 0.03]]),
                               replace(law, fixed={"Bertalanffy exponent [-]": 0.5}).evaluate([1.0, 5.0], [[1.1, 0.03]]))


@pytest.mark.parametrize("law", list(CLOSED_FORMS))
def test_closed_form_solves_the_declared_mechanism(law):
    """d ln V/dt of each closed form equals the registered mechanism's per-capita rate r(V), and
    V(t0) = V0: the fitted names and the simulated law are the same declaration."""
    spec, values, v0 = CLOSED_FORMS[law], CLOSED_FORM_CASES[law], 2.5
    mechanism = get_mechanism("growth", law)()
    declared = {p.name: p.symbol for p in mechanism.parameters()}
    by_symbol = {declared[n]: v for n, v in zip(spec.parameter_names, values)} | {
        declared[n]: v for n, v in spec.fixed_parameters(v0).items() if n in declared}
    volume = sympy.Symbol("V", positive=True)
    rate = sympy.lambdify(volume, mechanism.rate(volume, {s: sympy.Float(v) for s, v in by_symbol.items()}))
    t, h = np.linspace(0.5, 30.0, 40), 1e-4
    log_v = spec.evaluate(np.r_[t, t + h, t - h], np.array([values]), v0=v0, t0=0.0)[0]
    lv, up, down = np.split(log_v, 3)
    np.testing.assert_allclose((up - down) / (2 * h), rate(np.exp(lv)), rtol=1e-6)
    assert spec.evaluate(np.array([3.0]), np.array([values]), v0=v0, t0=3.0)[0, 0] == pytest.approx(np.log(v0))


@pytest.mark.parametrize("law", ["gompertz", "von_bertalanffy", "power_law"])
def test_closed_forms_are_continuous_at_their_limits(law):
    """β → 0 (Gompertz → exponential), b → 0 (von Bertalanffy → cube-root growth), γ → 1 (power law →
    exponential): finite, and continuous with values just inside."""
    spec, t = CLOSED_FORMS[law], np.linspace(0, 20, 5)
    limit, near = {"gompertz": ((0.5, 0.0), (0.5, 1e-10)), "von_bertalanffy": ((1.0, 0.0), (1.0, 1e-10)),
                   "power_law": ((0.5, 1.0), (0.5, 1 - 1e-10))}[law]
    at, close = spec.evaluate(t, np.array([limit, near]))
    np.testing.assert_allclose(at, close, rtol=1e-8, atol=1e-12)
    assert np.isfinite(at).all()


def test_fit_parameters_drive_simulate(shared_model):
    """{**params_, **fixed_params_} reproduces the fitted curve in chemohost.simulate (canonical names)."""
    import chemohost as ch

    t = np.arange(4.0, 25.0)
    data = pd.DataFrame({TIME: t, VOLUME: np.exp(CLOSED_FORMS["gompertz"].evaluate(t, np.array([[0.8, 0.09]]))[0])})
    fit = GrowthLawFitter("gompertz").fit(data)
    model = shared_model("paclitaxel")  # default growth: Gompertz
    params = {**fit.params_, **fit.fixed_params_}
    params |= {p.name: 1.0 for p in model.parameters if p.required and p.name not in params}
    ds = ch.simulate(model, None, params, t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ds["Tumour volume [mm3]"].values[0], fit.predict(t), rtol=1e-6)


# ----------------------------------------------------------------------------- recovery
def _gompertz_cohort(alpha0, beta, noise, seed, times=np.arange(4.0, 25.0, 2.0)):
    rng = np.random.default_rng(seed)
    spec = CLOSED_FORMS["gompertz"]
    rows = []
    for i, (a, b) in enumerate(zip(np.atleast_1d(alpha0), np.atleast_1d(beta))):
        log_v = spec.evaluate(times, np.array([[a, b]]))[0] + rng.normal(0.0, noise, times.size)
        rows.append(pd.DataFrame({SUBJECT: i, TIME: times, VOLUME: np.exp(log_v)}))
    return pd.concat(rows, ignore_index=True)


def test_recovery_pooled_gompertz():
    """Pooled fit of 20 noisy curves from α0 = 0.75, β = 0.085 (σ = 0.15 on ln V, seed 2014): within
    3 standard errors and 3%, and the Jacobian standard errors match the spread over replicates."""
    truth = np.array([0.75, 0.085])
    estimates, errors = [], []
    for seed in range(2014, 2034):
        data = _gompertz_cohort(np.full(20, truth[0]), np.full(20, truth[1]), 0.15, seed)
        fit = GrowthLawFitter("gompertz").fit(data)
        estimates.append(fit.params_.to_numpy())
        errors.append(fit.standard_errors_.to_numpy())
    estimates, errors = np.array(estimates), np.array(errors)
    assert np.all(np.abs(estimates[0] - truth) < 3 * errors[0])
    np.testing.assert_allclose(estimates[0], truth, rtol=0.03)
    np.testing.assert_allclose(estimates.std(axis=0, ddof=1), errors.mean(axis=0), rtol=0.4)


def test_recovery_per_subject_gompertz():
    """Per-subject fits recover each mouse's (α0, β) from correlated draws (seed 9): within 10%."""
    rng = np.random.default_rng(9)
    log_b = np.log(0.08) + 0.4 * rng.standard_normal(12)
    beta = np.exp(log_b)
    alpha0 = 5.5 * beta + 0.3
    data = _gompertz_cohort(alpha0, beta, 0.03, seed=10)
    fit = GrowthLawFitter("gompertz").fit(data, by=SUBJECT)
    np.testing.assert_allclose(fit.individual_params_[ALPHA0], alpha0, rtol=0.10)
    np.testing.assert_allclose(fit.individual_params_[BETA], beta, rtol=0.10)
    reduced = reduced_gompertz(fit.individual_params_)
    assert reduced["Slope k [-]"] == pytest.approx(5.5, rel=0.1)
    assert reduced["Linear R2 [-]"] > 0.95


@pytest.mark.parametrize("law", list(CLOSED_FORM_CASES))
def test_recovery_noise_free(law):
    """Every closed-form law recovers its own parameters from noise-free data."""
    t = np.arange(3.0, 30.0)
    truth = np.array([CLOSED_FORM_CASES[law]])
    data = pd.DataFrame({TIME: t, VOLUME: np.exp(CLOSED_FORMS[law].evaluate(t, truth)[0])})
    fit = GrowthLawFitter(law).fit(data)
    np.testing.assert_allclose(fit.params_.to_numpy(), truth[0], rtol=1e-6)
    assert fit.sse_ < 1e-12


def test_standard_error_of_exponential_is_ols():
    """ln V = a·t is regression through the origin: SE(a) = sqrt(s²/Σt²), s² = SSE/(n − 1)."""
    rng = np.random.default_rng(3)
    t = np.repeat(np.arange(2.0, 20.0), 3)
    y = 0.3 * t + rng.normal(0, 0.2, t.size)
    fit = GrowthLawFitter("exponential").fit(pd.DataFrame({TIME: t, VOLUME: np.exp(y)}))
    a = (t @ y) / (t @ t)
    se = math.sqrt(np.sum((y - a * t) ** 2) / (t.size - 1) / (t @ t))
    assert fit.params_.iloc[0] == pytest.approx(a, rel=1e-8)
    assert fit.standard_errors_.iloc[0] == pytest.approx(se, rel=1e-5)
    summary = fit.summary
    assert summary.loc["Exponential growth rate [1/day]", "lower 95%"] < a < summary.loc[
        "Exponential growth rate [1/day]", "upper 95%"]
    assert summary.loc[V0, "fixed"] and math.isnan(summary.loc[V0, "standard error"])


def test_plot_returns_axes():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    data = _gompertz_cohort(np.full(3, 0.7), np.full(3, 0.08), 0.1, seed=1)
    ax = Figure().add_subplot()
    assert GrowthLawFitter("gompertz").fit(data).plot(ax=ax) is ax
    assert GrowthLawFitter("gompertz").fit(data, by=SUBJECT).plot(ax=ax) is ax
    assert ax.get_yscale() == "log"


# ----------------------------------------------------------------------------- bad input
def _write(tmp_path, text, name="lung_vol_data.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "ID\tTime\tObservation\n0\t4.0\t20.5\n0\t5.0\t31.0\n"


@pytest.mark.parametrize(("text", "line", "what"), [
    (GOOD + "0\tabc\t40.0\n", 4, "Time 'abc' is not a number"),
    (GOOD + "1\t6.0\n", 4, "expected 3 tab-separated fields"),
    (GOOD + "x\t6.0\t1.0\n", 4, "ID 'x' is not an integer"),
    ("ID\tTime\tObservation\n0\t4.0\t-3\n", 2, "must be a finite number >= 0"),
    ("id,time,volume\n0,4,20\n", 1, "header"),
])
def test_malformed_file_names_file_and_line(tmp_path, text, line, what):
    with pytest.raises(DataFileError) as info:
        read_growth_table(_write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    assert f"lung_vol_data.txt line {line}:" in message and what in message


def test_load_benzekry2014_reports_the_bad_line(tmp_path):
    folder = tmp_path / "benzekry2014_growth"
    folder.mkdir()
    _write(folder, GOOD + "0\t6.0\tnan?\n")
    with pytest.raises(DataFileError, match=r"lung_vol_data.txt line 4: Observation 'nan\?' is not a number"):
        load_benzekry2014("lung", data_dir=tmp_path)


def test_missing_data_folder_and_unknown_name(tmp_path):
    with pytest.raises(DataFileError, match="shared data folder not found"):
        shared_data_dir(tmp_path / "absent")
    with pytest.raises(DataFileError, match="did you mean 'lung'"):
        load_benzekry2014("lungs", data_dir=tmp_path)
    with pytest.raises(DataFileError, match="file not found"):
        load_benzekry2014("breast", data_dir=tmp_path)


def test_fitter_input_errors():
    t = np.arange(1.0, 6.0)
    good = pd.DataFrame({TIME: t, VOLUME: np.exp(0.3 * t)})
    with pytest.raises(OptionError, match="did you mean 'gompertz'"):
        GrowthLawFitter("gompretz").fit(good)
    with pytest.raises(CalibrationError, match="lack column.*'volume \\[mm3\\]'"):
        GrowthLawFitter("exponential").fit(good.rename(columns={VOLUME: "V"}))
    with pytest.raises(CalibrationError, match="lack column.*'subject'"):
        GrowthLawFitter("exponential").fit(good, by=SUBJECT)
    with pytest.raises(CalibrationError, match="row 2: volume -1.0 mm3 is negative"):
        GrowthLawFitter("exponential").fit(good.assign(**{VOLUME: [1.0, 2.0, -1.0, 3.0, 4.0]}))
    with pytest.raises(CalibrationError, match="row 1: 'time \\[day\\]'"):
        GrowthLawFitter("exponential").fit(good.assign(**{TIME: [1.0, np.nan, 3.0, 4.0, 5.0]}))
    with pytest.raises(CalibrationError, match="not fitted yet"):
        GrowthLawFitter("gompertz").summary
    with pytest.raises(CalibrationError, match="did you mean 'Bertalanffy loss rate"):
        GrowthLawFitter("von_bertalanffy", bounds={"Bertalanffy loss rate": (-1, 1)}).fit(good)
    with pytest.raises(CalibrationError, match="1 values; gompertz fits 2"):
        GrowthLawFitter("gompertz", initial_guesses=[(0.5,)]).fit(good)
    with pytest.raises(CalibrationError, match="1 positive volume"):
        GrowthLawFitter("gompertz").fit(good.iloc[:1])
    assert issubclass(CalibrationError, ChemohostError)
