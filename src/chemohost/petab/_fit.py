"""Fitting a PEtab problem with chemohost's optimiser: multi-start, bounded, on the declared parameter scales.

The problem's estimated parameters form one "subject" of chemohost's individual
optimiser (:mod:`chemohost.calibration._optimiser`): starts from the nominal
values and draws uniform within the bounds on each parameter's scale
(:func:`~chemohost.calibration._optimiser.starts`), then per start least squares
on PEtab's residuals over the parameters that are not noise parameters, then
L-BFGS-B on the full objective (negative log-likelihood minus log-priors)
(:func:`~chemohost.calibration._optimiser.fit_runs`). :func:`fit_problem`
returns the best start and, given a folder, writes the estimates, the starts,
the objective trace, the simulation table and a plot of data and fit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from .._errors import ChemohostError
from ..calibration._layout import PENALTY, RESIDUAL_PENALTY
from ..calibration._optimiser import fit_runs, starts
from ._errors import PetabError
from ._problem import PetabProblem, _tokens, _unscale

__all__ = ["fit_problem", "PetabFit"]


class _Objective:
    """The adapter :func:`fit_runs` and :func:`starts` evaluate: one subject whose entries are the estimated
    parameters on their scales; it records every evaluated objective (the trace)."""

    def __init__(self, problem: PetabProblem) -> None:
        self.problem = problem
        k = len(problem.estimated)
        if k == 0:
            raise PetabError(f"{problem.path.name}: no parameter has estimate = 1; nothing to fit")
        self.blocks = [np.arange(k)]
        self.zlo, self.zhi = problem.lower.copy(), problem.upper.copy()
        if not (np.all(np.isfinite(self.zlo)) and np.all(np.isfinite(self.zhi))):
            raise PetabError(f"{problem.path.name}: every estimated parameter needs finite bounds to be fitted")
        self.predictor = SimpleNamespace(fd_step=1e-6, hessian_step=1e-4)
        self.is_model = ~np.array([pid in _noise_only(problem) for pid in problem.estimated])
        self.rows_of = [np.arange(len(problem.measurements))]
        self.observables, self.errors = [], []  # no error entries for the optimiser to rescale
        self.log = np.zeros(k, dtype=bool)  # the entries are on the declared scales already
        x0 = np.clip(problem.x_nominal, self.zlo, self.zhi)
        x0 = np.where(np.isfinite(x0), x0, 0.5 * (self.zlo + self.zhi))
        self.entries = [SimpleNamespace(start=float(v)) for v in x0]
        self.trace: list[float] = []

    def point(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            residuals, llh = self.problem._terms(z)
            value = -(float(np.sum(llh)) + self.problem.log_prior(z))
        except ChemohostError:
            value, residuals = math.inf, np.full(len(self.problem.measurements), np.nan)
        if not math.isfinite(value):
            value = PENALTY * len(self.problem.measurements)
        residuals = np.clip(np.nan_to_num(residuals, nan=RESIDUAL_PENALTY), -RESIDUAL_PENALTY, RESIDUAL_PENALTY)
        return value, residuals

    def evaluate(self, requests):
        out = []
        for _, points in requests:
            values, resid = zip(*(self.point(z) for z in np.atleast_2d(points)))
            self.trace.append(values[0])
            out.append((np.array(values), np.array(resid)))
        return out


def _noise_only(problem: PetabProblem) -> set[str]:
    """Estimated parameters that enter only the noise (noise formulas and noiseParameters)."""
    m = problem.measurements
    noise, other = set(), set()
    for field, into in (("noiseParameters", noise), ("observableParameters", other)):
        if field in m:
            for cell in m[field]:
                into.update(t for t in _tokens(cell) if isinstance(t, str))
    for o in problem._observables.values():
        noise.update(s.name for s in o.noise.free_symbols)
        other.update(s.name for s in o.formula.free_symbols)
    other.update(str(v) for v in problem.conditions.to_numpy().ravel() if isinstance(v, str))
    other.update(pid for pid in problem.parameters.index if pid in problem.model.sbml_names)
    return noise - other


@dataclass
class PetabFit:
    """A fitted PEtab problem: best ``x`` (scaled), its objective, each start's result and the trace."""

    problem: PetabProblem
    x: np.ndarray
    objective: float
    starts: pd.DataFrame
    trace: pd.DataFrame

    @property
    def estimates(self) -> pd.DataFrame:
        """One row per estimated parameter: scale, bounds, estimate on its scale and on the linear scale."""
        p = self.problem
        return pd.DataFrame({
            "parameterId": p.estimated, "parameterScale": p.scales,
            "lowerBound": [float(_unscale(v, s)) for v, s in zip(p.lower, p.scales)],
            "upperBound": [float(_unscale(v, s)) for v, s in zip(p.upper, p.scales)],
            "nominalValue": [float(_unscale(v, s)) for v, s in zip(p.x_nominal, p.scales)],
            "estimate": [float(_unscale(v, s)) for v, s in zip(self.x, p.scales)],
            "estimateOnScale": self.x,
        })

    def write(self, folder: str | os.PathLike) -> dict[str, Path]:
        """Write ``estimates.tsv``, ``starts.tsv``, ``objective_trace.tsv``, ``simulations.tsv`` and
        ``fit.png`` into ``folder``; returns their paths."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PetabError(f"cannot create the output folder '{folder}': {exc.strerror}") from None
        paths = {name: folder / name for name in ("estimates.tsv", "starts.tsv", "objective_trace.tsv",
                                                   "simulations.tsv", "fit.png")}
        self.estimates.to_csv(paths["estimates.tsv"], sep="\t", index=False)
        self.starts.to_csv(paths["starts.tsv"], sep="\t", index=False)
        self.trace.to_csv(paths["objective_trace.tsv"], sep="\t", index=False)
        simulation = self.problem.simulate(self.x)
        simulation.to_csv(paths["simulations.tsv"], sep="\t", index=False)
        plot_fit(self.problem.measurements, simulation, self.problem.curves(self.x), paths["fit.png"],
                 title=f"{self.problem.path.name}: objective {self.objective:.6g}")
        return paths


def plot_fit(measurements: pd.DataFrame, simulation: pd.DataFrame, curves: pd.DataFrame, path: Path,
             title: str = "") -> None:
    """Measurements (dots), simulations at them (crosses) and simulated curves (lines) per observable, one
    colour per simulation condition."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    observables = list(dict.fromkeys(measurements["observableId"]))
    fig, axes = plt.subplots(len(observables), 1, figsize=(6.4, 3.2 * len(observables)), squeeze=False)
    for ax, oid in zip(axes[:, 0], observables):
        rows = measurements["observableId"] == oid
        for i, cid in enumerate(dict.fromkeys(measurements.loc[rows, "simulationConditionId"])):
            sel = rows & (measurements["simulationConditionId"] == cid)
            ax.plot(measurements.loc[sel, "time"], measurements.loc[sel, "measurement"], "o", ms=3,
                    color=f"C{i % 10}")
            ax.plot(simulation.loc[sel, "time"], simulation.loc[sel, "simulation"], "x", ms=4, color=f"C{i % 10}")
            line = curves[(curves["observableId"] == oid) & (curves["simulationConditionId"] == cid)]
            ax.plot(line["time"], line["simulation"], "-", lw=1, color=f"C{i % 10}", label=str(cid))
        ax.set_xlabel("time")
        ax.set_ylabel(oid)
        if len(set(measurements.loc[rows, "simulationConditionId"])) <= 12:
            ax.legend(fontsize=7)
    axes[0, 0].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fit_problem(problem: PetabProblem, n_starts: int = 5, seed: int = 0) -> PetabFit:
    """Fit ``problem``'s estimated parameters with chemohost's multi-start bounded optimiser.

    Start 0 is the nominal values, the others uniform draws within the bounds on
    each parameter's scale (seeded by ``seed``); the best start wins.
    """
    if not (isinstance(n_starts, int) and n_starts >= 1):
        raise PetabError(f"n_starts must be a whole number >= 1, got {n_starts!r}")
    adapter = _Objective(problem)
    points = starts(adapter, n_starts, seed)
    results, errors = fit_runs(adapter, points, [0])
    rows = []
    for i in range(n_starts):
        if (i, 0) in results:
            z = np.clip(results[(i, 0)], adapter.zlo, adapter.zhi)
            rows.append({"start": i, "objective": adapter.point(z)[0], **dict(zip(problem.estimated, z))})
    if not rows:
        raise PetabError(f"{problem.path.name}: every start failed ({errors.get(0, 'unknown error')})")
    table = pd.DataFrame(rows).sort_values("objective", kind="stable").reset_index(drop=True)
    best = table.iloc[0]
    x = np.array([float(best[pid]) for pid in problem.estimated])
    trace = pd.DataFrame({"evaluation": np.arange(1, len(adapter.trace) + 1), "objective": adapter.trace})
    trace["best so far"] = trace["objective"].cummin()
    return PetabFit(problem, x, float(best["objective"]), table, trace)
