"""Robustness of every published conclusion to the placeholder values.

For each study, the conclusions it can check (:func:`chemohost.conclusions.study_checks`,
the one registry of V-checks and quantitative targets) are re-checked in every
draw of a Saltelli design over the ranged placeholders; the draws run as the
patients of one batch per arm. A conclusion holding in fewer than
:data:`FRAGILE_BELOW` of the draws is *fragile*.

The parameters that matter most for a conclusion come from the same draws: the
total Sobol index of the 0/1 indicator "the conclusion holds" (Saltelli design
without second order, Jansen estimator in SALib). With few base samples these
are rough, so only the ranking of the largest ones is shown.
"""

from __future__ import annotations

import time
from importlib.resources import files
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import ChemohostError
from ..conclusions import study_checks
from ..study import load_study, reference_study

from ._analysis import analyse, base_samples_for, unit_samples
from ._draws import as_plan, run_draws, used_parameters
from ._ranges import SensitivityError, parameter_ranges

__all__ = ["FRAGILE_BELOW", "ROBUSTNESS_FILE", "robustness", "read_robustness"]

FRAGILE_BELOW = 0.8
"""A conclusion holding in fewer than this fraction of draws is fragile."""

ROBUSTNESS_FILE = "robustness.csv"
TOP = 3


class _Reads:
    """A view of a results Dataset that records which variables a check reads."""

    def __init__(self, ds):
        self._ds, self.names = ds, set()

    def __getitem__(self, name):
        self.names.add(name)
        return self._ds[name]

    def __contains__(self, name):
        self.names.add(name)
        return name in self._ds

    def __getattr__(self, name):
        if name in self._ds.data_vars:
            self.names.add(name)
        return getattr(self._ds, name)


def _checks(results):
    return study_checks(results)


def _holds(results, ids: list[str], draws: np.ndarray) -> np.ndarray:
    """Whether each conclusion holds in each draw (rows: every patient of ``results``; False where not evaluated).

    The checks read one draw at a time (they take cohort medians), in this process: forking it into
    worker processes after its kernels have started threads hung in ``fork()`` itself.
    """
    holds = np.zeros((results.sizes["patient"], len(ids)), dtype=bool)
    results = results.load()
    for i in draws:
        passed = {c.id: c.passed for c in _checks(results.isel(patient=[int(i)]))}
        holds[int(i)] = [passed.get(cid, False) for cid in ids]
    return holds


def _study_rows(plan, draws: int, ranges: Mapping, spread: float | None, seed: int, progress: bool) -> list[dict]:
    """One row per conclusion the study can check."""
    pilot = run_draws(plan, {}, 1)
    reads = _Reads(pilot)
    nominal = {c.id: c for c in _checks(reads)}
    if not nominal:
        return []
    needed = sorted(n for n in reads.names if n in pilot.data_vars)
    own = {k: v for k, v in ranges.items() if k in plan.model.parameter_names}
    chosen = parameter_ranges(plan, None, own, spread)
    if chosen:
        used = set(used_parameters(plan, chosen, None, needed))
        chosen = {n: r for n, r in chosen.items() if n in used}
    names = list(chosen)
    base = {"study": plan.config.name, "parameters": len(names),
            "assumed ranges": sum(r.origin.startswith("assumed") for r in chosen.values())}
    if not names:
        return [{**base, "id": c.id, "fact": c.fact, "source": c.source, "holds at study values": c.passed,
                 "draws": 0, "holds": float("nan"), "fragile": False, "solver failures": 0,
                 "matters most": "no ranged placeholder acts on it"} for c in nominal.values()]
    n_base = base_samples_for(draws, len(names))
    unit = unit_samples("sobol", names, n_base, seed)
    scaled = {n: chosen[n].scale(unit[:, j]) for j, n in enumerate(names)}
    results = run_draws(plan, scaled, len(unit), None, needed, progress)
    failed = (results["solver_status"] != 0).any("arm").to_numpy()
    index = {cid: j for j, cid in enumerate(nominal)}
    holds = _holds(results[needed], list(nominal), np.flatnonzero(~failed))  # failed draws count as not holding
    rows = []
    for cid, check in nominal.items():
        indicator = holds[:, index[cid]].astype(float)
        fraction = float(indicator.mean())
        if 0 < fraction < 1:
            st = analyse("sobol", names, unit, indicator, seed)["ST"].sort_values(ascending=False)
            top = "; ".join(f"{n} (ST {v:.2f})" for n, v in st.head(TOP).items())
        else:
            top = f"none: it {'holds' if fraction == 1 else 'fails'} in every draw"
        rows.append({**base, "id": cid, "fact": check.fact, "source": check.source,
                     "holds at study values": check.passed, "draws": len(unit), "base samples": n_base,
                     "holds": fraction, "fragile": fraction < FRAGILE_BELOW,
                     "solver failures": int(failed.sum()), "matters most": top})
    return rows


def default_studies() -> list:
    """The built-in studies whose arms carry the V-checks: the reference study and its host-conditioning companion."""
    return [reference_study(), load_study(files("chemohost").joinpath("data", "studies", "gingis_velitski.yaml"))]


def robustness(
    studies: Iterable | None = None,
    *,
    draws: int = 1000,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    spread: float | None = None,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """The fraction of draws over the ranged placeholders in which each conclusion still holds.

    Parameters
    ----------
    studies:
        Study paths, configs or plans (default: :func:`default_studies`).
    draws:
        At least this many draws per study (a Saltelli design: the smallest
        power-of-two N with N·(k + 2) ≥ ``draws``).
    ranges, spread:
        As in :func:`parameter_ranges`; a given range applies to every study whose
        model has the parameter.
    seed:
        Seed of the design and the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per conclusion: id, fact, source, study, whether it holds at the
        study values, draws, the fraction in which it holds, ``fragile`` (below
        :data:`FRAGILE_BELOW`), solver failures (counted as not holding) and the
        parameters with the largest total Sobol index of the indicator.
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise SensitivityError(f"draws must be a positive integer, got {draws!r}")
    started = time.perf_counter()
    plans = [as_plan(s) for s in (default_studies() if studies is None else studies)]
    ranges = dict(ranges or {})
    for name in ranges:
        if not any(name in p.model.parameter_names for p in plans):
            raise SensitivityError(f"ranges: parameter '{name}' is in none of the studies' models")
    rows = [row for plan in plans for row in _study_rows(plan, draws, ranges, spread, seed, progress)]
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.set_index("id")
        table.attrs["seconds"] = time.perf_counter() - started
    return table


def read_robustness(path: str | Path) -> pd.DataFrame:
    """A table written by :func:`robustness` (``chemohost validate --robustness``), indexed by conclusion id."""
    try:
        return pd.read_csv(path, index_col="id")
    except (OSError, ValueError) as exc:
        raise ChemohostError(f"robustness table '{path}': cannot read it ({exc}); write one with "
                             "`chemohost validate --robustness`") from None
