"""Metastasis cohorts (MODEL_SPEC §7): closed forms (Iwata 2000), convergence, mass balance, surgery, read-outs.

Exponential primary and metastases (rate λ, V_p = c0·e^{λt} cells, dissemination μ·V_p^γ):
N(t) = μ·c0^γ·(e^{γλt} − 1)/(γλ); the metastases larger than x were emitted before
t − ln(x)/λ; the burden is μ·c0^γ·e^{λt}·(e^{(γ−1)λt} − 1)/((γ−1)λ). Gompertz (Iwata 2000,
from one cell): N(t) = (m/a)·e^{c}·[E1(c·e^{−at}) − E1(c)], c = α·ln b.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy.integrate import simpson
from scipy.special import exp1

import chemohost as ch
from chemohost.metastasis import (COHORT_COUNTS, COHORT_LOG_SIZES, DETECTION_VOLUME, new_lesions, number_above,
                                  size_distribution, time_to_detection)
from chemohost.parameters import get_parameter_set
from chemohost.procedures import parse_procedures
from chemohost.quantities import INOCULUM

N, BURDEN, D = "Number of metastases [-]", "Metastatic burden [cell]", "Metastatic dissemination rate [1/day]"
TIGHT = {"rtol": 1e-10, "atol": 1e-12}
LAM, MU, GAM, C0 = 0.3, 1e-6, 0.8, 1e6  # exponential case; c0 = 10^6 cells = 1 mm3
EXP = {"Exponential growth rate [1/day]": LAM, "Initial tumour volume [mm3]": 1.0,
       "Metastatic dissemination coefficient [cell^(-gamma)/day]": MU, "Metastatic dissemination exponent [-]": GAM,
       "Body weight [kg]": 0.02}
HORIZON = 40.0


@functools.cache
def exponential(cohorts: int = 16, secondary: bool = False) -> ch.Model:
    """Exponential growth with a paclitaxel kill, so the same kernel serves the drug-free closed forms."""
    return ch.Model({"growth": "exponential", "damage": "simeoni_transit", "drugs": {"paclitaxel": {"kill": "linear"}},
                     "metastasis": {"name": "cohorts", "cohorts": cohorts, "horizon": HORIZON, "secondary": secondary}})


@functools.cache
def iwata() -> ch.Model:
    return ch.Model({"growth": "gompertz", "metastasis": {"name": "cohorts", "cohorts": 20, "horizon": 1000}})


def n_exact(t):
    return MU * C0**GAM * (np.exp(GAM * LAM * np.asarray(t)) - 1) / (GAM * LAM)


def above_exact(t, x):
    return np.where(t > np.log(x) / LAM, n_exact(np.maximum(t - np.log(x) / LAM, 0.0)), 0.0)


def burden_exact(t):
    t = np.asarray(t)
    return MU * C0**GAM * np.exp(LAM * t) * (np.exp((GAM - 1) * LAM * t) - 1) / ((GAM - 1) * LAM)


@pytest.fixture(scope="module")
def untreated():
    return ch.simulate(exponential(), None, EXP, np.arange(0.0, 30.5, 0.5), **TIGHT)


# ------------------------------------------------------------------------------------------ closed forms
def test_number_of_metastases_is_the_closed_form(untreated):
    t = untreated["time"].values
    assert np.allclose(untreated[N].values[0], n_exact(t), rtol=1e-7, atol=0)


def test_iwata_gompertz_number_and_sizes_match_the_closed_form():
    """Iwata 2000 parameters: N(t) to 1e-4 relative; the number larger than x is N(t − τ_x), τ_x the age at size x."""
    a, b, m, alpha = 0.00286, 7.3e10, 5.3e-8, 2 / 3
    c = alpha * math.log(b)
    times = np.array([200.0, 400.0, 600.0, 800.0, 1000.0])
    params = dict(get_parameter_set("Iwata2000").resolve())
    ds = ch.simulate(iwata(), None, params, np.append(0.0, times), **TIGHT).isel(time=slice(1, None))

    def n_iwata(t):
        return m / a * math.exp(c) * (exp1(c * np.exp(-a * t)) - exp1(c))

    assert np.allclose(ds[N].values[0], n_iwata(times), rtol=1e-4, atol=0)
    for x in (1e3, 1e6, 1e8):
        age = -math.log(1 - math.log(x) / math.log(b)) / a
        emitted = times - age  # the metastases larger than x were emitted before this day
        expected = n_iwata(np.maximum(emitted, 0.0))
        got = number_above(ds, size=x, unit="cell").values[0]
        settled = (emitted >= 150) & (times >= 600)  # cruder with few cohorts born or near the start (50-day windows)
        assert np.allclose(got[settled], expected[settled], rtol=2e-2)
        assert np.allclose(got, expected, rtol=0.1)


def test_burden_and_counts_above_a_size_are_close_to_the_closed_form(untreated):
    """16 cohorts over 40 days (2.5-day windows): the midpoint-lumped burden within 3%, counts within 1%."""
    t = untreated["time"].values
    later = t >= 5
    assert np.allclose(untreated[BURDEN].values[0, later], burden_exact(t[later]), rtol=0.03)
    for x in (10.0, 1e3):
        expected = above_exact(t, x)
        got = number_above(untreated, size=x, unit="cell").values[0]
        settled = t - np.log(x) / LAM >= 5  # two windows after the start of emission
        assert np.allclose(got[settled], expected[settled], rtol=0.01)
        assert np.allclose(got, expected, rtol=0.15, atol=1e-3 * expected.max())


@pytest.mark.slow
def test_convergence_order_in_the_number_of_cohorts():
    """Burden (midpoint rule in emission time) converges with order 2; counts above a size (interpolation of exact
    samples, RMS over 33 sizes) with order ≥ 2.5."""
    sizes = np.logspace(1, 3, 33)
    errors = {}
    for k in (8, 16, 32):
        ds = ch.simulate(exponential(k), None, EXP, [0.0, 30.0], **TIGHT).isel(time=[-1])
        burden = abs(float(ds[BURDEN][0, 0]) / float(burden_exact(30.0)) - 1)
        counts = np.array([float(number_above(ds, size=x, unit="cell")[0, 0]) for x in sizes])
        errors[k] = burden, np.sqrt(np.mean((counts / above_exact(30.0, sizes) - 1) ** 2))
    for coarse, fine in ((8, 16), (16, 32)):
        order_burden = math.log2(errors[coarse][0] / errors[fine][0])
        order_counts = math.log2(errors[coarse][1] / errors[fine][1])
        assert 1.9 < order_burden < 2.1, errors
        assert order_counts > 2.5, errors
    assert errors[32][0] < 0.01 and errors[32][1] < 1e-3


@pytest.mark.slow
def test_secondary_seeding_converges_to_the_renewal_closed_form():
    """With seeding from metastases at μ·v^γ the emission rate is E = μ·c0^γ·e^{(γλ+μ)t} (renewal equation solved
    by Laplace transform), so N = μ·c0^γ·(e^{(γλ+μ)t} − 1)/(γλ + μ); the cohorts converge to it with order 2."""
    mu = 0.05
    params = {**EXP, "Metastatic dissemination coefficient [cell^(-gamma)/day]": mu}
    rate = GAM * LAM + mu
    exact = mu * C0**GAM * (math.exp(rate * 30.0) - 1) / rate
    without = mu * C0**GAM * (math.exp(GAM * LAM * 30.0) - 1) / (GAM * LAM)
    errors = []
    for k in (16, 32):
        ds = ch.simulate(exponential(k, secondary=True), None, params, [0.0, 30.0], **TIGHT)
        errors.append(abs(float(ds[N][0, -1]) / exact - 1))
    assert exact > 2 * without  # secondary seeding matters here
    assert errors[1] < 0.01 and 1.8 < math.log2(errors[0] / errors[1]) < 2.3


# ------------------------------------------------------------------------------------------ conservation, drugs, surgery
def test_mass_balance_under_chemotherapy():
    """Without secondary seeding the number of metastases is the integral of the dissemination rate."""
    times = np.arange(0.0, 30.0 + 1e-9, 0.01)
    ds = ch.simulate(exponential(), "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10", EXP, times, **TIGHT)
    d = ds[D].values[0]
    integral = np.concatenate([[0.0], [simpson(d[: i + 1], x=times[: i + 1]) for i in range(500, times.size, 500)]])
    assert np.allclose(ds[N].values[0, ::500], integral, rtol=1e-5)  # Simpson's rule across the dosing kinks
    assert ds["Viable tumour volume [mm3]"].values[0, -1] < ds["Viable tumour volume [mm3]"].values[0, 1000]


def test_metastases_see_the_same_kill_hazard_as_the_primary():
    """Exponential growth at the same rate: the drug lowers a grown cohort's log-size exactly as the primary's."""
    times = [9.9, 30.0]
    treated = ch.simulate(exponential(), "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10", EXP, times, **TIGHT)
    alone = ch.simulate(exponential(), None, EXP, times, **TIGHT)
    primary = "Proliferating tumour volume [mm3]"
    second = {"cohort": 2}
    drop_met = float(treated[COHORT_LOG_SIZES].sel(second)[0, -1] - alone[COHORT_LOG_SIZES].sel(second)[0, -1])
    drop_primary = float(np.log(treated[primary][0, -1] / alone[primary][0, -1]))
    assert drop_met < -1.0
    assert drop_met == pytest.approx(drop_primary, rel=1e-6)


def test_surgery_stops_dissemination_and_metastases_keep_growing():
    times = np.arange(0.0, 30.25, 0.25)
    ds = ch.simulate(exponential(), None, EXP, times, procedures=parse_procedures(["resection on day 15"]))
    after = times > 15
    assert np.all(ds["Tumour volume [mm3]"].values[0, after] == 0)
    assert np.all(ds[D].values[0, after] == 0)
    n = ds[N].values[0]
    assert n[np.searchsorted(times, 15.0)] > 0 and np.ptp(n[after]) == 0
    burden = ds[BURDEN].values[0, after]  # every cohort is born by day 15 and grows at λ
    assert burden[-1] / burden[0] == pytest.approx(math.exp(LAM * (30 - times[after][0])), rel=1e-4)


def test_neoadjuvant_and_adjuvant_chemotherapy_around_surgery():
    """Spontaneous metastasis with surgery on day 15: chemotherapy before it shrinks the primary and so seeds fewer
    metastases; chemotherapy after it cannot change their number but kills them (the same kill hazard)."""
    times = [15.5, 30.0]
    surgery = parse_procedures(["resection on day 15"])
    alone = ch.simulate(exponential(), None, EXP, times, procedures=surgery, **TIGHT)
    before = ch.simulate(exponential(), "paclitaxel 25 mg/kg iv bolus q3d x3 from day 6", EXP, times,
                         procedures=surgery, **TIGHT)
    after = ch.simulate(exponential(), "paclitaxel 25 mg/kg iv bolus q3d x3 from day 16", EXP, times,
                        procedures=surgery, **TIGHT)
    assert float(before[N][0, -1]) < 0.5 * float(alone[N][0, -1])
    assert float(after[N][0, -1]) == pytest.approx(float(alone[N][0, -1]), rel=1e-9)
    assert float(after[BURDEN][0, -1]) < 0.1 * float(alone[BURDEN][0, -1])


def test_resection_at_size_rule_stops_dissemination():
    from chemohost.rules import ResectionAtSize

    times = np.arange(0.0, 30.5, 0.5)
    ds = ch.simulate(exponential(), "paclitaxel 1 mg/kg iv bolus on day 1", EXP, times, rules=[ResectionAtSize(volume=50)])
    day = float(times[np.argmax(ds["Tumour volume [mm3]"].values[0] == 0)])
    assert 10 < day < 20  # V = e^{0.3 t} reaches 50 mm3 on day 13
    n = ds[N].values[0]
    assert np.ptp(n[times > day]) == 0 and n[-1] > 0


def test_inoculated_cells_establish_with_their_probability():
    """Experimental metastasis: I cells arrest at rate k_c and found p_col·I colonies (no host couplings: p_col = p_0)."""
    params = {**EXP, "Metastatic dissemination coefficient [cell^(-gamma)/day]": 0.0,
              "Inoculated-cell establishment probability [-]": 2e-4, "Inoculated-cell arrest rate [1/day]": 2.0}
    times = np.array([0.5, 1.0, 1.5, 2.0, 10.0])
    ds = ch.simulate(exponential(), None, params, times, procedures=parse_procedures(["inoculation of 1e6 cells on day 1"]), **TIGHT)
    expected = 200 * (1 - np.exp(-2.0 * np.maximum(times - 1, 0)))
    assert np.allclose(ds[N].values[0], expected, rtol=1e-7, atol=1e-9)
    assert float(ds[INOCULUM][0, -1]) == pytest.approx(1e6 * math.exp(-18), rel=1e-6)


# ------------------------------------------------------------------------------------------ results layout
def test_cohorts_are_a_labelled_dimension(untreated):
    """Two variables along ``cohort`` (labels 1 … K, births at the window midpoints), not one per cohort."""
    for name in (COHORT_COUNTS, COHORT_LOG_SIZES):
        assert untreated[name].dims == ("patient", "time", "cohort")
        assert untreated[name].attrs["units"] == ("-" if name == COHORT_COUNTS else "ln(cell)")
    assert untreated["cohort"].values.tolist() == list(range(1, 17))
    width = HORIZON / 16
    assert np.allclose(untreated["cohort_birth"], width * (np.arange(16) + 0.5))
    assert np.allclose(untreated["cohort_emission_start"], width * np.arange(16))
    assert not [n for n in untreated.data_vars if "of cohort" in str(n) or "in cohort" in str(n)]
    assert np.allclose(untreated[COHORT_COUNTS].sum("cohort"), untreated[N], rtol=1e-12)  # N = Σ n_k


def test_saving_the_stacked_name_keeps_every_cohort():
    ds = ch.simulate(exponential(), None, EXP, [0.0, 10.0], save=[COHORT_COUNTS, COHORT_LOG_SIZES])
    assert set(ds.data_vars) == {COHORT_COUNTS, COHORT_LOG_SIZES, "parameter_value", "solver_status", "solver_steps"}
    assert ds.sizes["cohort"] == 16
    assert number_above(ds, size=1e-6).dims == ("patient", "time")
    part = ch.simulate(exponential(), None, EXP, [0.0, 10.0], save=["Metastases of cohort 3 [-]"])
    assert part[COHORT_COUNTS]["cohort"].values.tolist() == [3]
    with pytest.raises(ch.ChemohostError, match="save every cohort"):
        number_above(part.assign({COHORT_LOG_SIZES: part[COHORT_COUNTS]}))


# ------------------------------------------------------------------------------------------ read-outs
def test_read_out_options_are_keyword_only(untreated):
    with pytest.warns(DeprecationWarning, match="pass size=…, unit=… by keyword"):
        old = number_above(untreated, 1.0, "mm3")
    assert old.equals(number_above(untreated, size=1.0, unit="mm3"))


def test_size_distribution_adds_up_to_the_counts(untreated):
    bins = [1e-6, 1e-3, 1.0]
    dist = size_distribution(untreated, times=[20.0, 30.0], bins=bins)
    assert dist.dims == ("patient", "time", "size") and dist.sizes["size"] == 3
    total = dist.sum("size").values[0]
    assert np.allclose(total, untreated[N].sel(time=[20.0, 30.0]).values[0], rtol=1e-9)
    assert np.allclose(dist.isel(size=-1).values[0], number_above(untreated, size=1.0).sel(time=[20.0, 30.0]).values[0])
    assert np.all(dist.values >= 0)


FAST = {**EXP, "Exponential growth rate [1/day]": 0.8}


def test_time_to_first_detectable_metastasis(untreated):
    """The expected detectable count reaches 1 when N(t − τ) = 1, τ = ln(x)/λ the age at x = 65.4 mm3."""
    lam = 0.8
    ds = ch.simulate(exponential(), None, FAST, np.arange(0.0, 40.01, 0.05), **TIGHT)
    tau = math.log(DETECTION_VOLUME * 1e6) / lam
    expected = tau + math.log(1 + GAM * lam / (MU * C0**GAM)) / (GAM * lam)
    assert float(time_to_detection(ds)[0]) == pytest.approx(expected, abs=0.1)  # 2.5-day windows, doubling in 0.9 d
    assert np.isnan(float(time_to_detection(untreated)[0]))  # λ = 0.3: 60 days to grow to 65 mm3


def test_new_metastases_are_recist_progression():
    """A detectable metastasis more than at baseline is PD (a new lesion) before the primary itself progresses."""
    from chemohost.outcomes import recist_table

    params = {**FAST, "Metastatic dissemination coefficient [cell^(-gamma)/day]": 1e-3}
    fast = ch.simulate(exponential(), None, params, np.arange(20.0, 30.01, 0.05))
    day = new_lesions(fast, start=25.0)
    assert day.dims == ("patient",) and 25.0 < float(day[0]) < 25.5
    with_lesions = recist_table(fast, start=25.0, assessment_interval=0.5, new_lesions=day).iloc[0]
    primary = recist_table(fast, start=25.0, assessment_interval=0.5).iloc[0]
    assert primary["time to progression [day]"] == pytest.approx(1.0)  # 1.728-fold in ln(1.728)/0.8 = 0.68 days
    assert with_lesions["best overall response"] == "PD"
    assert with_lesions["time to progression [day]"] == pytest.approx(0.5)
    assert np.isnan(float(new_lesions(fast, start=20.0, count=1e9)[0]))  # never a billion more lesions


# ------------------------------------------------------------------------------------------ options
def test_inoculum_is_the_procedures_state():
    assert INOCULUM in exponential().state_names


@pytest.mark.parametrize("options, message", [
    ({"metastasis": {"name": "cohorts", "cohort": 8}}, "unknown setting 'cohort' (did you mean 'cohorts'?)"),
    ({"metastasis": {"name": "cohorts", "cohorts": 0}}, "cohorts must be a whole number"),
    ({"metastasis": {"name": "cohorts", "horizon": -1}}, "horizon must be a positive number"),
    ({"metastasis": {"name": "cohorts", "couplings": ["colonization"]}}, "did you mean 'colonisation'"),
    ({"metastasis": {"name": "cohorts", "couplings": ["colonisation"]}}, "reads the host response"),
    ({"metastasis": {"name": "cohorts", "growth": "gompertzz"}}, "did you mean 'gompertz'"),
    ({"growth": "hahnfeldt", "vasculature": "hahnfeldt", "metastasis": "cohorts"}, "belong to the primary"),
    ({"tumour": "absent", "growth": "none", "metastasis": "cohorts"}, "give the metastases a growth law"),
])
def test_bad_options_say_what_to_do(options, message):
    with pytest.raises(ch.ChemohostError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        ch.Model(options)


def test_cohort_windows_are_timed_inputs():
    model = exponential()
    windows = [x for x in model.timed_inputs if x.input == "Cohort 3 emission window [-]"]
    births = [x for x in model.timed_inputs if x.input == "Cohort 3 growth switch [-]"]
    assert [(x.time, x.change) for x in windows] == [(5.0, 1.0), (7.5, -1.0)]
    assert [(x.time, x.change) for x in births] == [(6.25, 1.0)]
    assert N in model.output_names and BURDEN in model.output_names
