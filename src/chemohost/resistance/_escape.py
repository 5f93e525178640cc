r"""Stochastic escape of a small resistant compartment (MODEL_SPEC §4.1, stochastic version).

While resistant cells are few, whether resistance emerges is a matter of chance:
a new resistant lineage may die out before it takes hold. The resistant count
R(t) [cells] is simulated as a linear birth–death process with immigration,

    R → R + 1 at rate m(t) + b(t)·R,    R → R − 1 at rate d(t)·R,

where m [cells/day] is the rate at which divisions of sensitive cells give
resistant ones (m = μ·b_S·S for S sensitive cells dividing at b_S with mutation
probability μ), b [1/day] the resistant cells' division rate and d [1/day]
their death rate (drug kill included). Above ``threshold`` cells a replicate
follows the mean, dR/dt = (b − d)·R + m, and falls back to the stochastic
description (rounded at random to a whole count) if it drops below again.

Two exact-in-distribution samplers, vectorised over replicates with a seeded
:class:`numpy.random.Generator`, both holding the rates constant at their
mid-step values over steps of at most ``step`` days (so the steps only discretise
time-varying rates):

* ``"tau_leap"`` advances every replicate one step at a time with the exact
  transition law of the linear birth–death process (Kendall 1948): each cell
  leaves no descendant with probability α and otherwise a geometric number
  (parameter 1 − β) of them, with α = d·Y/(1 + b·Y), β = b·Y/(1 + b·Y),
  Y = (e^{(b−d)τ} − 1)/(b − d); immigrants arrive as a Poisson process and each
  founds such a lineage for the rest of the step. Unlike Poisson tau-leaping,
  the step size adds no bias for constant rates.
* ``"gillespie"`` draws every event (Gillespie 1977's direct method); slower,
  for checking and for small counts.

Reference result (Goldie & Coldman 1979, with lineage survival). Let the
sensitive population grow deterministically from 1 to N cells, dividing at b_S
and dying at d_S (divisions while it grows: ∫b_S·S dt = (N − 1)/(1 − d_S/b_S)),
and let resistant cells divide and die at constant b_R > d_R. Mutants arise as a
Poisson process and found independent lineages, each surviving for ever with
probability 1 − d_R/b_R, so by Poisson thinning

    P(no resistant lineage that survives) = exp(−μ·(N − 1)·(1 − d_R/b_R)/(1 − d_S/b_S)),

which with d_R = d_S = 0 is Goldie–Coldman's P(no resistant cell at N cells) =
exp(−μ·(N − 1)) (:func:`goldie_coldman`). It holds while S is large enough to be
deterministic, μ ≪ 1, the rates are constant and resistant cells grow without
competition (R far below the carrying capacity). The probability that no
resistant cell is *alive* at a given time is larger: most mutants are recent
and their lineages are still undecided (see ``tests/test_stochastic_escape.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

import numpy as np
import xarray as xr

from .._errors import ChemohostError, unknown
from ..mechanisms.tumour.sensitive_resistant import DRUG_INDUCED_MUTATION, RESISTANT, SENSITIVE
from ..quantities import GROWTH_RATE, KILL_HAZARD

__all__ = ["goldie_coldman", "simulate_escape", "escape_from_simulation"]

METHODS = ("tau_leap", "gillespie")
CITATIONS = ("GoldieColdman1979", "Kendall1948", "Gillespie1977")
RESISTANT_CELLS = "Resistant cells [cells]"
ESCAPE_TIME = "Escape time [day]"
ESCAPE_PROBABILITY = "Escape probability [-]"
RESISTANCE_FREE = "Resistance-free probability [-]"
MAX_GROWTH_PER_STEP = 20.0  # (b − d)·τ above this would sample counts beyond int64


def goldie_coldman(cells, mutation_probability, *, resistant_death_ratio=0.0, sensitive_death_ratio=0.0):
    r"""P = exp(−μ·(N − 1)·(1 − d_R/b_R)/(1 − d_S/b_S)): no surviving resistant lineage by N sensitive cells.

    ``cells`` N is the number of sensitive cells grown from one, ``mutation_probability``
    μ the chance that a division gives a resistant cell, ``resistant_death_ratio``
    d_R/b_R and ``sensitive_death_ratio`` d_S/b_S the death-to-birth ratios (both 0:
    Goldie–Coldman's probability of no resistant cell, exp(−μ·(N − 1))). A ratio
    d_R/b_R ≥ 1 means no lineage survives (P = 1). See the module docstring for
    the derivation and its regime.

    >>> round(float(goldie_coldman(1001, 1e-3)), 6)
    0.367879
    """
    survival = np.clip(1.0 - np.asarray(resistant_death_ratio, float), 0.0, None)
    divisions = (np.asarray(cells, float) - 1.0) / (1.0 - np.asarray(sensitive_death_ratio, float))
    return np.exp(-np.asarray(mutation_probability, float) * divisions * survival)


# ------------------------------------------------------------------------------ rates
def _driver(value, name: str) -> Callable[[float], np.ndarray]:
    """A rate as a function of time returning a 1-D array over patients (length 1 if shared)."""
    if isinstance(value, xr.DataArray):
        extra = [d for d in value.dims if d not in ("patient", "time")]
        if extra:
            raise ChemohostError(f"{name}: a DataArray may have dims 'patient' and 'time' only, not {extra}; "
                                 "select or stack the others first (e.g. ds.sel(arm=...))")
        if "time" not in value.dims:
            return _driver(np.atleast_1d(value.values), name)
        knots = np.asarray(value["time"].values, float)
        table = np.atleast_2d(value.transpose(..., "time").values.astype(float))
        if knots.size == 1:
            return _driver(table[:, 0], name)

        def interpolate(t: float) -> np.ndarray:
            i = int(np.clip(np.searchsorted(knots, t, side="right") - 1, 0, knots.size - 2))
            w = float(np.clip((t - knots[i]) / (knots[i + 1] - knots[i]), 0.0, 1.0))
            return table[:, i] * (1.0 - w) + table[:, i + 1] * w

        return interpolate
    if callable(value):
        return lambda t: np.atleast_1d(np.asarray(value(t), float))
    arr = np.atleast_1d(np.asarray(value, float))
    if arr.ndim != 1:
        raise ChemohostError(f"{name} must be a number, a 1-D array over patients, a function of time "
                             f"or a DataArray over 'time' (and 'patient'), got shape {arr.shape}")
    return lambda t: arr


def _rates(drivers, t: float, n_patients: int) -> list[np.ndarray]:
    """The rates at time t, one value per patient each."""
    values = []
    for name, f in drivers.items():
        v = f(t)
        if v.size not in (1, n_patients):
            raise ChemohostError(f"{name} has {v.size} patients but other inputs have {n_patients}")
        bad = ~(np.isfinite(v) & (v >= 0))
        if bad.any():
            raise ChemohostError(f"{name} must be finite and >= 0; at t = {t:g} day it is {v[bad][0]:g}")
        values.append(np.broadcast_to(v, (n_patients,)))
    return values


# ------------------------------------------------------------------------------ samplers
def _growth_factor(g, t):
    """Y = (e^{g·t} − 1)/g (= t at g = 0): the mean number of cells an immigrant rate of 1 leaves after t."""
    gt = g * t
    small = np.abs(gt) < 1e-8
    return np.where(small, t * (1.0 + 0.5 * gt), np.expm1(gt) / np.where(small, 1.0, g))


def _kendall(b, d, t):
    """(α, β) of the linear birth–death process from one cell over time t (Kendall 1948)."""
    y = _growth_factor(b - d, t)
    den = 1.0 + b * y
    return d * y / den, b * y / den


def _mean_step(r, m, b, d, t):
    """The deterministic description: R·e^{(b−d)t} + m·(e^{(b−d)t} − 1)/(b − d)."""
    g = b - d
    return r * np.exp(g * t) + m * _growth_factor(g, t)


def _leap(r, m, b, d, tau, rng):
    """Exact one-step transition of the birth–death–immigration process with constant rates.

    Returns the counts at the end of the step and NaN crossing times (the leap sees the threshold at step ends).
    """
    new = r.copy()
    present = np.flatnonzero(r > 0)
    alpha, beta = _kendall(b[present], d[present], tau)
    survivors = rng.binomial(r[present].astype(np.int64), 1.0 - alpha)
    some = survivors > 0
    survivors[some] += rng.negative_binomial(survivors[some], 1.0 - beta[some])
    new[present] = survivors
    arrivals = rng.poisson(m * tau) if m.any() else np.zeros(r.size, np.int64)
    if arrivals.any():
        owner = np.repeat(np.arange(r.size), arrivals)
        a_i, b_i = _kendall(b[owner], d[owner], tau * rng.random(owner.size))
        alive = rng.random(owner.size) >= a_i
        size = np.zeros(owner.size)
        size[alive] = rng.geometric(1.0 - b_i[alive])
        new += np.bincount(owner, weights=size, minlength=r.size)
    return new, np.full(r.size, np.nan)


def _gillespie(r, m, b, d, tau, rng, threshold):
    """Every event drawn (direct method); a replicate reaching ``threshold`` follows the mean for the rest of the step.

    Returns the counts at the end of the step and the time into the step at which each reached
    the threshold (NaN if not).
    """
    r = r.astype(float).copy()
    left = np.full(r.size, tau)
    crossed_at = np.full(r.size, np.nan)
    active = np.arange(r.size)
    while active.size:
        up = m[active] + b[active] * r[active]
        total = up + d[active] * r[active]
        with np.errstate(divide="ignore"):
            wait = rng.exponential(size=active.size) / total
        fires = wait < left[active]
        active, wait, up, total = active[fires], wait[fires], up[fires], total[fires]
        left[active] -= wait
        r[active] += np.where(rng.random(active.size) * total < up, 1.0, -1.0)
        crossed = active[r[active] >= threshold]
        crossed_at[crossed] = tau - left[crossed]
        r[crossed] = _mean_step(r[crossed], m[crossed], b[crossed], d[crossed], left[crossed])
        active = active[r[active] < threshold]
    return r, crossed_at


def _step_grid(times: np.ndarray, step: float) -> np.ndarray:
    pieces = [times[:1]]
    for a, b in zip(times[:-1], times[1:]):
        n = max(1, int(np.ceil((b - a) / step - 1e-9)))
        pieces.append(np.linspace(a, b, n + 1)[1:])
    return np.concatenate(pieces)


# ------------------------------------------------------------------------------ public
def simulate_escape(
    times,
    mutation_rate,
    birth_rate,
    death_rate=0.0,
    *,
    initial=0,
    replicates: int = 1000,
    threshold: float = 1000.0,
    step: float = 0.05,
    method: str = "tau_leap",
    seed: int | np.random.SeedSequence = 0,
) -> xr.Dataset:
    r"""R → R + 1 at m(t) + b(t)·R, R → R − 1 at d(t)·R; from ``threshold`` cells on dR/dt = (b − d)·R + m.

    Parameters
    ----------
    times:
        Output times [day], ascending; the simulation starts at ``times[0]``.
    mutation_rate:
        m [cells/day], the rate at which resistant cells arise from sensitive
        divisions (μ·b_S·S).
    birth_rate, death_rate:
        b and d [1/day], the division and death (drug kill included) rates of
        resistant cells.
    initial:
        Resistant cells at ``times[0]``, whole numbers: one number, one per
        patient, or an array (patient, replicate).
    replicates:
        Monte-Carlo replicates per patient.
    threshold:
        Count [cells] above which a replicate follows the mean; a lineage of that
        size dies out with probability (d/b)^threshold, so choose it large enough
        that this is negligible.
    step:
        Largest step [day]; rates are held at their mid-step values over a step.
    method:
        ``"tau_leap"`` (exact birth–death transition per step) or ``"gillespie"``
        (every event).
    seed:
        Seed of the :class:`numpy.random.Generator`; stored in the result.

    Each rate is a number, a 1-D array over patients, a function of time [day]
    returning either, or an :class:`xarray.DataArray` over ``time`` (and
    ``patient``), interpolated linearly (e.g. a kill hazard from
    :func:`chemohost.simulate`).

    Returns
    -------
    xarray.Dataset
        ``"Resistant cells [cells]"`` (patient, replicate, time); ``"Escape time
        [day]"`` (patient, replicate), when the count first reached the threshold
        (NaN if never; the tau-leap sees it at step ends); and per patient and
        time the Monte-Carlo estimates with their standard errors
        √(p·(1 − p)/replicates): ``"Escape probability [-]"`` (threshold reached
        by t) and ``"Resistance-free probability [-]"`` (no resistant cell at t).

    >>> ds = simulate_escape([0.0, 5.0], mutation_rate=0.0, birth_rate=1.0, death_rate=0.5,
    ...                      initial=1, replicates=20000, seed=0)
    >>> round(float(ds["Resistance-free probability [-]"][0, -1]), 3)  # Kendall 1948: 0.479
    0.478
    """
    if method not in METHODS:
        raise ChemohostError(unknown("escape simulation method", method, METHODS))
    times = np.asarray(times, float).ravel()
    if times.size == 0 or not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
        raise ChemohostError("times must be a non-empty, finite, ascending sequence of days")
    if not (step > 0 and threshold >= 1 and int(replicates) >= 1):
        raise ChemohostError(f"step must be > 0, threshold >= 1 and replicates >= 1; got step={step}, "
                             f"threshold={threshold}, replicates={replicates}")
    replicates = int(replicates)
    drivers = {"mutation_rate": _driver(mutation_rate, "mutation_rate"),
               "birth_rate": _driver(birth_rate, "birth_rate"), "death_rate": _driver(death_rate, "death_rate")}
    init = np.asarray(initial, float)
    if init.ndim > 2 or not np.all((init >= 0) & (init == np.round(init))):
        raise ChemohostError("initial must hold whole, non-negative numbers of resistant cells: a number, "
                             "one per patient, or an array (patient, replicate)")
    init = init.reshape(-1, 1) if init.ndim == 1 else np.atleast_2d(init)
    n_patients = max(init.shape[0], *(f(times[0]).size for f in drivers.values()))
    try:
        r = np.broadcast_to(init, (n_patients, replicates)).astype(float)
    except ValueError:
        raise ChemohostError(f"initial has shape {init.shape}, which does not broadcast to "
                             f"({n_patients} patients, {replicates} replicates)") from None
    rng = np.random.default_rng(seed)

    grid = _step_grid(times, float(step))
    out = np.empty((n_patients, replicates, times.size))
    out[:, :, 0] = r
    r, patient = r.ravel(), np.repeat(np.arange(n_patients), replicates)  # flat over (patient, replicate)
    escape = np.where(r >= threshold, times[0], np.nan)
    sampler = _leap if method == "tau_leap" else partial(_gillespie, threshold=threshold)
    k = 1
    for t_a, t_b in zip(grid[:-1], grid[1:]):
        tau = t_b - t_a
        if tau > 0:
            m, b, d = _rates(drivers, 0.5 * (t_a + t_b), n_patients)
            if np.max((b - d) * tau) > MAX_GROWTH_PER_STEP:
                raise ChemohostError(f"step = {step} day lets a lineage grow by more than e^{MAX_GROWTH_PER_STEP:g} "
                                     f"in one step near t = {t_a:g} day; give a smaller step")
            above = r >= threshold
            mean = np.flatnonzero(above)
            # replicates where something can happen: resistant cells present or mutations arriving
            chance = np.flatnonzero(~above & ((r > 0) | (m[patient] > 0)))
            pm, pc = patient[mean], patient[chance]
            r[mean] = _mean_step(r[mean], m[pm], b[pm], d[pm], tau)
            r[chance], crossed_at = sampler(r[chance], m[pc], b[pc], d[pc], tau, rng)
            # back below the threshold from the mean description: a whole count, rounded at random
            changed = np.concatenate([mean, chance])
            fell = changed[(r[changed] < threshold) & (r[changed] != np.floor(r[changed]))]
            whole = np.floor(r[fell])
            r[fell] = whole + (rng.random(whole.size) < r[fell] - whole)
            first = np.isnan(escape[chance]) & ~np.isnan(crossed_at)
            escape[chance[first]] = t_a + crossed_at[first]
            first = changed[np.isnan(escape[changed]) & (r[changed] >= threshold)]
            escape[first] = t_b
        while k < times.size and times[k] <= t_b:
            out[:, :, k] = r.reshape(n_patients, replicates)
            k += 1
    escape = escape.reshape(n_patients, replicates)

    escaped = escape[:, :, None] <= times[None, None, :]
    p_escape = escaped.mean(axis=1)
    p_free = (out == 0).mean(axis=1)
    coords = {"patient": np.arange(n_patients), "replicate": np.arange(replicates),
              "time": ("time", times, {"units": "day"})}

    def se(p):
        return np.sqrt(p * (1 - p) / replicates)

    return xr.Dataset(
        {
            RESISTANT_CELLS: (("patient", "replicate", "time"), out, {"units": "cells"}),
            ESCAPE_TIME: (("patient", "replicate"), escape,
                          {"units": "day", "description": f"first time the count reached {threshold:g} cells"}),
            ESCAPE_PROBABILITY: (("patient", "time"), p_escape,
                                 {"units": "-",
                                  "description": f"fraction of replicates that reached {threshold:g} cells"}),
            f"{ESCAPE_PROBABILITY[:-4]} standard error [-]": (("patient", "time"), se(p_escape), {"units": "-"}),
            RESISTANCE_FREE: (("patient", "time"), p_free,
                              {"units": "-", "description": "fraction of replicates with no resistant cell"}),
            f"{RESISTANCE_FREE[:-4]} standard error [-]": (("patient", "time"), se(p_free), {"units": "-"}),
        },
        coords=coords,
        attrs={"method": method, "seed": seed, "step": float(step), "threshold": float(threshold),
               "replicates": replicates, "citations": json.dumps(list(CITATIONS))},
    )


def escape_from_simulation(ds: xr.Dataset, *, cells_per_mm3: float = 1e6, turnover: float = 0.0,
                           **options) -> xr.Dataset:
    r"""m = μ·(g⁺ + δ)·S·c, b = g⁺ + δ, d = g⁻ + δ + ρ·h·(1 − P): escape per patient of a ``sensitive_resistant`` run.

    Stochastic resistance emergence for each patient of a ``tumour: sensitive_resistant``
    simulation. With g = r·(1 + B) the deterministic model's per-capita growth rate (B the
    repopulation boost), ``turnover``
    δ [1/day] the spontaneous death rate of every cell, h the kill hazard, P the
    protection, μ = μ_0 + μ_h·h·(1 − P) and ρ the resistant cells' relative drug
    sensitivity, the resistant count follows :func:`simulate_escape` with these rates
    (g⁺ = max(g, 0), g⁻ = max(−g, 0); S [mm3] the simulated sensitive volume,
    c = ``cells_per_mm3``). With δ = 0 its mean is the deterministic resistant
    compartment. Initial counts are Poisson with mean c times the initial
    resistant volume. The rates are interpolated linearly between the output
    times of ``ds``, so simulate on a grid that resolves the kill hazard (a few
    points per drug half-life, and one just before each dose, since the output
    at a dosing time is after the dose). ``options`` go to :func:`simulate_escape`
    (``replicates``, ``threshold``, ``step``, ``method``, ``seed``); the escape
    probability at the last time is the per-patient probability that
    resistance emerges.
    """
    growth_name, hazard_name = GROWTH_RATE, KILL_HAZARD
    missing = [n for n in (SENSITIVE, RESISTANT, growth_name) if n not in ds]
    if missing or "parameter_value" not in ds:
        raise ChemohostError(f"the dataset lacks {missing or ['parameter_value']}: give the result of "
                             "chemohost.simulate with tumour: sensitive_resistant, saving these outputs")
    if set(ds[SENSITIVE].dims) != {"patient", "time"}:
        raise ChemohostError(f"the dataset must have dims (patient, time), not {ds[SENSITIVE].dims}; "
                             "select one arm first (ds.sel(arm=...))")

    def output(name):
        return ds[name] if name in ds else xr.zeros_like(ds[SENSITIVE])

    def parameter(name):
        values = ds["parameter_value"]
        if name in values["parameter"].values:
            return values.sel(parameter=name, drop=True)
        return xr.zeros_like(values.isel(parameter=0, drop=True))  # e.g. μ_h in results from before it existed

    growth = ds[growth_name] * (1 + output("Repopulation boost [-]"))
    effective = output(hazard_name) * (1 - output("Tumour protection [-]"))
    mu = parameter("Resistance mutation probability [-]") + parameter(DRUG_INDUCED_MUTATION) * effective
    divisions = growth.clip(min=0) + turnover
    death = (-growth).clip(min=0) + turnover + parameter("Resistant relative drug sensitivity [-]") * effective
    seed = options.pop("seed", 0)
    initial_seed, escape_seed = np.random.SeedSequence(seed).spawn(2)
    replicates = int(options.get("replicates", 1000))
    mean0 = cells_per_mm3 * ds[RESISTANT].isel(time=0).values
    initial = np.random.default_rng(initial_seed).poisson(mean0[:, None], (mean0.size, replicates))
    result = simulate_escape(ds["time"].values, mu * divisions * ds[SENSITIVE] * cells_per_mm3, divisions, death,
                             initial=initial, seed=escape_seed, **options)
    result.attrs.update(seed=seed, cells_per_mm3=cells_per_mm3, turnover=turnover,
                        model_fingerprint=ds.attrs.get("model_fingerprint", ""))
    return result.assign_coords(patient=ds["patient"].values)
