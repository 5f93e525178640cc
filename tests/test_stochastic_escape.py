"""Stochastic escape of the resistant compartment: Goldie–Coldman, lineage survival, exact samplers.

Every Monte-Carlo estimate is checked against its exact value within 4 standard
errors √(p·(1 − p)/n), with fixed seeds.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import xarray as xr
from scipy.integrate import cumulative_trapezoid, quad

import chemohost as ch
from chemohost.resistance import _escape, escape_from_simulation, goldie_coldman, simulate_escape

FREE, ESCAPED, CELLS = "Resistance-free probability [-]", "Escape probability [-]", "Resistant cells [cells]"
MU, MU_H = "Resistance mutation probability [-]", "Drug-induced mutation probability per kill hazard [day]"


def _kendall_extinct(b, d, t):
    """P(a lineage from one cell is extinct by t), linear birth–death (Kendall 1948)."""
    g = b - d
    y = t if g == 0 else math.expm1(g * t) / g
    return d * y / (1 + b * y)


def _within(estimate, exact, n, z=4.0):
    se = np.sqrt(np.asarray(exact) * (1 - np.asarray(exact)) / n)
    assert np.all(np.abs(np.asarray(estimate) - exact) <= z * se), (estimate, exact, se)


def test_module_doctests():
    assert doctest.testmod(_escape, raise_on_error=True).failed == 0


def test_goldie_coldman_formula():
    assert goldie_coldman(1, 0.5) == 1.0
    assert goldie_coldman(1001, 1e-3) == pytest.approx(math.exp(-1.0))
    assert goldie_coldman(1001, 1e-3, resistant_death_ratio=0.5) == pytest.approx(math.exp(-0.5))
    assert goldie_coldman(1001, 1e-3, sensitive_death_ratio=0.5) == pytest.approx(math.exp(-2.0))
    assert goldie_coldman(1001, 1e-3, resistant_death_ratio=1.2) == 1.0  # subcritical: no lineage survives


def test_pure_birth_reproduces_goldie_coldman():
    """S(t) = e^t cells dividing at b_S = 1/day, μ = 1e-3, resistant cells never die.

    Then R(t) = 0 exactly when no mutation happened: P = exp(−μ·∫b_S·S dt) = exp(−μ·(N − 1)), N = S(t).
    """
    mu, n = 1e-3, 20_000
    cells = np.array([1.0, 101.0, 501.0, 1001.0, 2001.0])
    times = np.log(cells)
    ds = simulate_escape(times, lambda t: mu * math.exp(t), birth_rate=1.0, replicates=n, step=0.05, seed=11)
    p_hat = ds[FREE].values[0]
    exact = goldie_coldman(cells, mu)
    np.testing.assert_allclose(exact, np.exp(-mu * (cells - 1)))
    _within(p_hat, exact, n)
    assert p_hat[-1] == pytest.approx(math.exp(-2.0), abs=0.02) and p_hat[0] == 1.0
    se = ds["Resistance-free probability standard error [-]"].values[0]
    np.testing.assert_allclose(se, np.sqrt(p_hat * (1 - p_hat) / n))


@pytest.mark.parametrize("sensitive_death", [0.0, 0.5])
def test_lineage_survival_corrects_goldie_coldman(sensitive_death):
    """Resistant cells divide at 1/day and die at 0.5/day; mutation stops once S reaches N = 2001 cells.

    Each mutant lineage survives with probability 1 − d_R/b_R = 0.5, so the chance that resistance
    never escapes is exp(−μ·(N − 1)·0.5/(1 − d_S/b_S)); a lineage of 200 cells dies out with
    probability 0.5^200, so reaching 200 cells is escape. While S grows, P(no resistant cell at t)
    = exp(−∫ m(s)·(1 − α(t − s)) ds) with α the Kendall extinction probability.
    """
    mu, n, b_s, n_cells = 1e-3, 20_000, 1.0, 2001.0
    growth = b_s * (1 - sensitive_death)
    t_n = math.log(n_cells) / growth

    def mutation(t):
        return mu * b_s * math.exp(growth * t) if t < t_n else 0.0

    times = np.array([0.0, 0.5 * t_n, 0.8 * t_n, t_n, t_n + 40.0])
    ds = simulate_escape(times, mutation, birth_rate=1.0, death_rate=0.5, threshold=200, replicates=n, step=0.05,
                         seed=5 + int(10 * sensitive_death))
    never = goldie_coldman(n_cells, mu, resistant_death_ratio=0.5, sensitive_death_ratio=sensitive_death)
    assert never == pytest.approx(math.exp(-1.0 / (1 - sensitive_death)))
    _within(1 - ds[ESCAPED].values[0, -1], never, n)
    # every replicate has settled: extinct (0 cells) or escaped
    final = ds[CELLS].values[0, :, -1]
    assert np.all((final == 0) | (final >= 200))
    assert np.array_equal(final >= 200, ~np.isnan(ds["Escape time [day]"].values[0]))
    # the time-resolved probability of no resistant cell during growth
    for k in (1, 2, 3):
        t = times[k]
        expected = math.exp(-quad(lambda s: mutation(s) * (1 - _kendall_extinct(1.0, 0.5, t - s)), 0, t)[0])
        _within(ds[FREE].values[0, k], expected, n)
    # with death, more replicates have no resistant cell than pure-birth Goldie–Coldman predicts
    assert ds[FREE].values[0, 3] > 1.5 * goldie_coldman(n_cells, mu, sensitive_death_ratio=sensitive_death)


def test_coarse_leap_is_unbiased_for_constant_rates():
    """From one cell (b = 1, d = 0.6/day) P(extinct by t) is Kendall's α(t) for a leap of 1 day and for Gillespie."""
    n, times = 20_000, np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
    exact = np.array([_kendall_extinct(1.0, 0.6, t) for t in times])
    for method, seed in (("tau_leap", 1), ("gillespie", 2)):
        ds = simulate_escape(times, 0.0, 1.0, 0.6, initial=1, threshold=1e4, replicates=n, step=1.0, method=method,
                             seed=seed)
        _within(ds[FREE].values[0, 1:], exact[1:], n)
        mean = ds[CELLS].values[0].mean(axis=0)
        np.testing.assert_allclose(mean, np.exp(0.4 * times), rtol=0.1)  # E[R] = e^{(b−d)t}


def test_tau_leap_matches_gillespie_under_a_drug_pulse():
    """Time-varying kill d(t) = 0.3 + 2·e^{−t}/day, mutation 2 cells/day: same rates, two samplers."""
    n, times = 6000, np.array([0.0, 1.0, 2.0, 4.0, 6.0])
    kwargs = dict(mutation_rate=2.0, birth_rate=1.0, death_rate=lambda t: 0.3 + 2 * math.exp(-t), threshold=50,
                  replicates=n, step=0.25)
    leap = simulate_escape(times, method="tau_leap", seed=3, **kwargs)
    exact = simulate_escape(times, method="gillespie", seed=4, **kwargs)
    for name in (FREE, ESCAPED):
        p1, p2 = leap[name].values[0], exact[name].values[0]
        se = np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
        assert np.all(np.abs(p1 - p2) <= 4 * se + 1e-12), (name, p1, p2)
    assert 0.2 < exact[ESCAPED].values[0, -1] < 0.95  # a non-trivial case
    # the escape times agree in distribution too (Gillespie sees the crossing, the leap the step end)
    t1, t2 = (np.nan_to_num(x["Escape time [day]"].values[0], nan=np.inf) for x in (leap, exact))
    assert np.median(t1) == pytest.approx(np.median(t2), abs=0.5)


def test_results_are_labelled_seeded_and_batched():
    rates = xr.DataArray([[0.5, 0.5], [2.0, 2.0]], dims=("patient", "time"), coords={"time": [0.0, 10.0]})
    a = simulate_escape([0.0, 2.0, 4.0], rates, birth_rate=[1.0, 1.0], death_rate=0.2, replicates=500, seed=9)
    b = simulate_escape([0.0, 2.0, 4.0], rates, birth_rate=[1.0, 1.0], death_rate=0.2, replicates=500, seed=9)
    assert a[CELLS].dims == ("patient", "replicate", "time") and a[CELLS].shape == (2, 500, 3)
    assert a[ESCAPED].dims == ("patient", "time") and a.attrs["seed"] == 9 and a.attrs["method"] == "tau_leap"
    xr.testing.assert_identical(a, b)
    assert a[FREE].values[1, -1] < a[FREE].values[0, -1]  # more mutation, fewer resistance-free replicates
    assert np.all(np.diff(a[ESCAPED].values, axis=1) >= 0)
    with pytest.raises(ch.ChemohostError, match="escape simulation method.*did you mean 'gillespie'"):
        simulate_escape([0.0, 1.0], 1.0, 1.0, method="gilespie")
    with pytest.raises(ch.ChemohostError, match="death_rate must be finite and >= 0"):
        simulate_escape([0.0, 1.0], 1.0, 1.0, death_rate=-0.1)
    with pytest.raises(ch.ChemohostError, match="initial must hold whole"):
        simulate_escape([0.0, 1.0], 1.0, 1.0, initial=0.5)
    with pytest.raises(ch.ChemohostError, match="smaller step"):
        simulate_escape([0.0, 10.0], 1.0, 5.0, initial=1, step=10.0)


@pytest.fixture(scope="module")
def sr_model():
    return ch.Model({"tumour": "sensitive_resistant", "growth": "gompertz", "damage": "simeoni_transit",
                     "drugs": {"paclitaxel": {"kill": "linear"}}})


def test_escape_from_a_sensitive_resistant_simulation(sr_model):
    """Per-patient emergence from a deterministic run under weekly paclitaxel, with and without drug-induced mutation.

    Resistant cells (ρ = 0, no turnover) never die, so a replicate has no resistant cell only
    if no mutation happened: P(no resistant cell at t) = exp(−c·∫ μ(s)·r·S ds) exactly, with
    μ = μ_0 + μ_h·h the simulated mutation probability and c = 1e6 cells/mm3.
    """
    # resolve the paclitaxel kill hazard (half-life ~1 h), with a point just before each dose
    times = np.sort(np.concatenate([np.linspace(0.0, 30.0, 3001), np.array([5.0, 12.0, 19.0, 26.0]) - 1e-7]))
    params = {"Body weight [kg]": 0.02, "Initial resistant fraction [-]": 0.0, MU: 1e-8, MU_H: [0.0, 1e-7]}
    ds = ch.simulate(sr_model, "paclitaxel 25 mg/kg iv q7d x4 from day 5", params, times, rtol=1e-9, atol=1e-12)
    n = 3000
    out = escape_from_simulation(ds, replicates=n, threshold=100, step=0.02, seed=1)
    assert out[ESCAPED].dims == ("patient", "time") and out.attrs["seed"] == 1
    mu = 1e-8 + np.array([[0.0], [1e-7]]) * ds["Tumour kill hazard [1/day]"].values
    divisions = ds["Tumour per-capita growth rate [1/day]"].values * ds["Sensitive tumour volume [mm3]"].values
    mutations = 1e6 * cumulative_trapezoid(mu * divisions, times, initial=0.0)
    k = np.searchsorted(times, [5.0, 15.0, 30.0])
    for patient in (0, 1):
        _within(out[FREE].values[patient, k], np.exp(-mutations[patient, k]), n)
    # drug-induced mutagenesis makes resistance emerge more often
    p0, p1 = out[ESCAPED].values[:, -1]
    assert p1 > p0 + 4 * math.sqrt((p0 * (1 - p0) + p1 * (1 - p1)) / n)
    # the deterministic resistant volume is the mean of the stochastic count (turnover 0)
    cells = out[CELLS].values[0, :, k[1]]
    mean_error = abs(cells.mean() - 1e6 * ds["Resistant tumour volume [mm3]"].values[0, k[1]])
    assert mean_error < 4 * cells.std() / math.sqrt(cells.size)
    # without turnover resistant cells only divide; with it some lineages shrink
    assert np.all(np.diff(out[CELLS].values, axis=-1) >= 0)
    turnover = escape_from_simulation(ds.isel(patient=[0]), replicates=500, threshold=100, step=0.02, seed=1,
                                      turnover=0.5)
    assert np.any(np.diff(turnover[CELLS].values, axis=-1) < 0)
    with pytest.raises(ch.ChemohostError, match="sensitive_resistant"):
        escape_from_simulation(ds.drop_vars("Sensitive tumour volume [mm3]"))
