r"""The virtual cohort, drawn block by block so that a patient does not depend on the chunk computing it.

Patient ``i`` belongs to block ``i // BLOCK``. Each block draws from its own stream,
``numpy.random.SeedSequence(trial.seed, spawn_key=(block,))``, in rounds of ``BLOCK``
candidates: every round draws the covariates (in :data:`COVARIATES` order) and then the
standard-normal deviates of every parameter with inter-individual variability (in the
trial's order), vectorised; candidates outside the plausible-patient filters (and
parameters outside their declared bounds) are rejected, and rounds repeat until the block
holds ``BLOCK`` plausible patients. Last, each block draws one survival deviate per patient.
A chunk ``[start, stop)`` draws only the blocks it overlaps and slices them.

**Plausible patients and prevalence weighting** (Allen, Rieger & Musante 2016). The filters
keep candidates whose covariates and untreated behaviour (the volume doubling time
ln 2 / growth rate) lie in published ranges. Each plausible patient then gets the weight

    w = [f_target(x) / P_target(a ≤ x ≤ b)] / [f_sample(x) / P_sample(a ≤ x ≤ b)]

of the weighting observable ``x`` (filtered to ``[a, b]``): the ratio of the target density
to the density of the plausible population, both known in closed form, so weighted
statistics of the plausible population estimate those of the target population
(E_plausible[w] = 1) and a patient's weight does not depend on its chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..recist import sphere_volume
from ._distributions import Distribution
from ._errors import TrialError

if TYPE_CHECKING:  # pragma: no cover
    from ._design import Trial

__all__ = ["BLOCK", "MAX_ROUNDS", "COVARIATES", "OBSERVABLES", "Cohort", "draw_block", "draw_cohort",
           "acceptance_rates", "typical_parameters", "check_filters"]

BLOCK = 1024
"""Patients per random-number block (the unit of determinism)."""

MAX_ROUNDS = 64
"""Most rounds of ``BLOCK`` candidates a block may draw to fill itself with plausible patients."""

COVARIATES = {"bsa": ("Body surface area [m2]", "m2"),
              "baseline_sld": ("Baseline sum of longest diameters [mm]", "mm"),
              "baseline_anc": ("Baseline neutrophil count [1e9/L]", "1e9/L")}
"""Covariates a trial draws: key → (long name, unit). ``bsa`` scales the doses and per-m² parameters,
``baseline_sld`` sets the initial tumour (sphere-equivalent volume π/6·SLD³), ``baseline_anc`` is Friberg's Circ0."""

OBSERVABLES = {**COVARIATES, "doubling_time": ("Untreated tumour volume doubling time [day]", "day")}
"""What filters and prevalence weighting act on: the covariates and the untreated doubling time ln 2 / growth rate."""

GROWTH_RATE = "Exponential growth rate [1/day]"
INITIAL_VOLUME = "Initial tumour volume [mm3]"
BASELINE_ANC = "Baseline neutrophil count [1/nL]"
BSA = "Body surface area [m2]"


def block_rng(seed: int, block: int) -> np.random.Generator:
    """The random stream of block ``block``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))


def typical_parameters(trial: Trial, bsa: np.ndarray) -> dict[str, np.ndarray | float]:
    """Typical value of every model parameter: the mechanisms' defaults, then the trial's parameter sets
    (later sets win; per-m² values scaled by each patient's ``bsa``), then the trial's ``parameters``."""
    model = trial.model
    values: dict[str, np.ndarray | float] = {p.name: p.default for p in model.parameters}
    for pset in trial.parameter_sets:
        resolved = pset.resolve(body_surface_area=bsa)
        values.update({k: v for k, v in resolved.items() if k in values})
    values.update({k: float(v) for k, v in trial.config.parameters.items()})
    return values


@dataclass(frozen=True)
class Cohort:
    """Plausible patients ``index`` with covariates, model parameters, weights and survival deviates."""

    index: np.ndarray
    covariates: dict[str, np.ndarray]
    parameters: dict[str, np.ndarray]
    doubling_time: np.ndarray
    weight: np.ndarray
    os_deviate: np.ndarray
    drawn: int = 0
    plausible: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)


def _sampling(trial: Trial, observable: str):
    """The distribution the candidates' ``observable`` is drawn from (closed form)."""
    c = trial.config
    if observable in COVARIATES:
        return c.covariates[observable]
    omega = c.variability.get(GROWTH_RATE)
    rate = typical_parameters(trial, np.array([1.8]))[GROWTH_RATE]
    if omega is None or np.ndim(rate) != 0 and np.ptp(rate) > 0:
        raise TrialError("weighting: doubling_time needs log-normal variability on "
                         f"'{GROWTH_RATE}' (and a growth rate that does not scale with body size)")
    return Distribution(distribution="lognormal", median=math.log(2) / float(np.ravel(rate)[0]), sdlog=omega.omega,
                        tag="C", source="ln 2 / growth rate of the candidates")


def _observables(covariates: dict[str, np.ndarray], rate: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore"):
        return {**covariates, "doubling_time": math.log(2) / rate}


def _draw_round(trial: Trial, rng: np.random.Generator, n: int):
    c = trial.config
    covariates = {key: c.covariates[key].sample(rng, n) for key in COVARIATES}
    etas = {name: rng.standard_normal(n) for name in c.variability}
    return covariates, etas


def draw_block(trial: Trial, block: int) -> Cohort:
    """The ``BLOCK`` plausible patients of block ``block`` (global indices ``block*BLOCK + k``)."""
    c = trial.config
    model = trial.model
    rng = block_rng(trial.seed, block)
    kept_cov: list[dict] = []
    kept_eta: list[dict] = []
    n_kept = drawn = 0
    rejected = dict.fromkeys([*c.filters, "parameter bounds"], 0)
    bounds = {name: model.parameter(name).bounds for name in c.variability}
    for _ in range(MAX_ROUNDS):
        covariates, etas = _draw_round(trial, rng, BLOCK)
        drawn += BLOCK
        ok = np.ones(BLOCK, bool)
        with np.errstate(invalid="ignore", over="ignore"):
            bsa = np.where(covariates["bsa"] > 0, covariates["bsa"], np.nan)
            typical = typical_parameters(trial, bsa)
            params = {name: typical[name] * np.exp(c.variability[name].omega * eta) for name, eta in etas.items()}
            rate = np.broadcast_to(params.get(GROWTH_RATE, typical[GROWTH_RATE]), (BLOCK,))
            observed = _observables(covariates, rate)
            for key, f in c.filters.items():
                fail = ~((observed[key] >= f.min) & (observed[key] <= f.max))
                rejected[key] += int(np.count_nonzero(fail & ok))
                ok &= ~fail
            inside = np.ones(BLOCK, bool)
            for name, value in params.items():
                lo, hi = bounds[name]
                inside &= (value >= lo) & (value <= hi) & np.isfinite(value)
        rejected["parameter bounds"] += int(np.count_nonzero(~inside & ok))
        ok &= inside
        if ok.any():
            kept_cov.append({k: v[ok] for k, v in covariates.items()})
            kept_eta.append({k: v[ok] for k, v in etas.items()})
            n_kept += int(ok.sum())
        if n_kept >= BLOCK:
            break
    else:
        worst = max(rejected, key=rejected.get)
        raise TrialError(f"filters: only {n_kept} of {drawn:,} virtual patients drawn for block {block} are plausible "
                         f"(need {BLOCK}); '{worst}' rejects the most ({rejected[worst]:,}); widen the filters")
    cov = {k: np.concatenate([d[k] for d in kept_cov])[:BLOCK] for k in COVARIATES}
    eta = {k: np.concatenate([d[k] for d in kept_eta])[:BLOCK] for k in c.variability}
    os_deviate = rng.standard_normal(BLOCK)
    typical = typical_parameters(trial, cov["bsa"])
    params = {name: np.broadcast_to(np.asarray(v, float), (BLOCK,)).copy() for name, v in typical.items()}
    for name, e in eta.items():
        params[name] = params[name] * np.exp(c.variability[name].omega * e)
    params[INITIAL_VOLUME] = sphere_volume(cov["baseline_sld"])
    params[BASELINE_ANC] = cov["baseline_anc"].copy()
    rate = params[GROWTH_RATE]
    doubling = math.log(2) / rate
    weight = _weights(trial, _observables(cov, rate))
    return Cohort(np.arange(block * BLOCK, (block + 1) * BLOCK, dtype=np.int64), cov, params, doubling, weight,
                  os_deviate, drawn, n_kept, rejected)


def _weights(trial: Trial, observed: dict[str, np.ndarray]) -> np.ndarray:
    w = trial.config.weighting
    n = len(next(iter(observed.values())))
    if w is None:
        return np.ones(n)
    x = observed[w.observable]
    sample = _sampling(trial, w.observable)
    f = trial.config.filters.get(w.observable)
    lo, hi = (f.min, f.max) if f is not None else (-math.inf, math.inf)
    z_sample = sample.cdf(hi) - sample.cdf(lo)
    z_target = w.target.cdf(hi) - w.target.cdf(lo)
    return np.exp(w.target.logpdf(x) - sample.logpdf(x)) * z_sample / z_target


def _concat(parts: list[Cohort]) -> Cohort:
    first = parts[0]
    cat = np.concatenate
    rejected = {k: sum(p.rejected[k] for p in parts) for k in first.rejected}
    return Cohort(cat([p.index for p in parts]),
                  {k: cat([p.covariates[k] for p in parts]) for k in first.covariates},
                  {k: cat([p.parameters[k] for p in parts]) for k in first.parameters},
                  cat([p.doubling_time for p in parts]), cat([p.weight for p in parts]),
                  cat([p.os_deviate for p in parts]), sum(p.drawn for p in parts), sum(p.plausible for p in parts),
                  rejected)


def _slice(cohort: Cohort, sel: slice) -> Cohort:
    return Cohort(cohort.index[sel], {k: v[sel] for k, v in cohort.covariates.items()},
                  {k: v[sel] for k, v in cohort.parameters.items()}, cohort.doubling_time[sel], cohort.weight[sel],
                  cohort.os_deviate[sel], cohort.drawn, cohort.plausible, cohort.rejected)


def draw_cohort(trial: Trial, start: int, stop: int) -> Cohort:
    """Plausible patients ``[start, stop)`` of ``trial`` (``drawn``/``rejected`` count the blocks drawn)."""
    first, last = start // BLOCK, (stop - 1) // BLOCK
    whole = _concat([draw_block(trial, b) for b in range(first, last + 1)])
    offset = first * BLOCK
    return _slice(whole, slice(start - offset, stop - offset))


def acceptance_rates(trial: Trial, blocks: int = 4) -> dict:
    """Acceptance of the plausible-patient filters over the first ``blocks`` blocks: candidates drawn, how many were
    plausible and the fraction, the fraction each filter rejected (in filter order, a candidate counted by the first
    filter it fails), and the effective sample size fraction (Σw)²/(n·Σw²) of the prevalence weights."""
    cohort = _concat([draw_block(trial, b) for b in range(blocks)])
    n, w = len(cohort), cohort.weight
    return {"drawn": cohort.drawn, "plausible": cohort.plausible, "acceptance_rate": cohort.plausible / cohort.drawn,
            "rejected_fraction": {k: v / cohort.drawn for k, v in cohort.rejected.items()},
            "effective_sample_fraction": float(w.sum() ** 2 / (n * (w**2).sum()))}


def check_filters(trial: Trial) -> None:
    """Raise :class:`TrialError` when the filters reject every candidate of block 0's first round."""
    c = trial.config
    rng = block_rng(trial.seed, 0)
    covariates, etas = _draw_round(trial, rng, BLOCK)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        typical = typical_parameters(trial, np.where(covariates["bsa"] > 0, covariates["bsa"], np.nan))
        rate = typical[GROWTH_RATE] * np.exp(c.variability[GROWTH_RATE].omega * etas[GROWTH_RATE]) \
            if GROWTH_RATE in etas else np.broadcast_to(typical[GROWTH_RATE], (BLOCK,))
        observed = _observables(covariates, rate)
        ok = np.ones(BLOCK, bool)
        for key, f in c.filters.items():
            passed = (observed[key] >= f.min) & (observed[key] <= f.max)
            if not passed.any():
                raise TrialError(f"filters: '{key}' in [{f.min:g}, {f.max:g}] rejects every one of {BLOCK} virtual "
                                 f"patients drawn; widen it")
            ok &= passed
    if not ok.any():
        raise TrialError(f"filters: together they reject every one of {BLOCK} virtual patients drawn; widen them")
