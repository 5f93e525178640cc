"""Global sensitivity of a study read-out to the parameters' ranges (SALib's Sobol and Morris methods)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ._draws import as_plan, run_draws, used_parameters
from ._ranges import Range, SensitivityError, parameter_ranges
from ._readout import ReadOut, arm_agents, parse_readout

__all__ = ["METHODS", "SensitivityResult", "sensitivity", "unit_samples"]

METHODS = ("sobol", "morris")
MAX_FAILED = 0.01
"""Largest share of runs without a finite read-out that an analysis tolerates (their values become the median)."""
MORRIS_LEVELS = 4


def _problem(names: list[str]) -> dict:
    """A SALib problem on the unit hypercube (ranges are mapped afterwards, log-uniformly where wide)."""
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def check_samples(method: str, samples: int) -> None:
    """Raise unless ``samples`` suits ``method`` (a power of two for Sobol, at least 2 trajectories for Morris)."""
    if method not in METHODS:
        raise SensitivityError(f"unknown method '{method}'; accepted: {', '.join(METHODS)}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise SensitivityError(f"samples must be an integer ≥ 2, got {samples!r}")
    if method == "sobol" and samples & (samples - 1):
        lower = 1 << (int(samples).bit_length() - 1)
        raise SensitivityError(f"samples = {samples}: Sobol needs a power of two base sample count "
                               f"(e.g. {lower} or {2 * lower})")


def unit_samples(method: str, names: list[str], samples: int, seed: int) -> np.ndarray:
    """SALib's design on [0, 1]^k: Saltelli/Sobol' without second order (N·(k+2) rows) or Morris (N·(k+1))."""
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(_problem(names), samples, calc_second_order=False, scramble=True, seed=seed)
    from SALib.sample import morris

    return morris.sample(_problem(names), samples, num_levels=MORRIS_LEVELS, seed=seed)


def analyse(method: str, names: list[str], unit: np.ndarray, values: np.ndarray, seed: int,
            conf_level: float = 0.95, num_resamples: int = 100) -> pd.DataFrame:
    """SALib's indices of ``values`` on the design ``unit``, one row per parameter."""
    if method == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(_problem(names), values, calc_second_order=False, num_resamples=num_resamples,
                            conf_level=conf_level, seed=seed)
        keys = ("S1", "S1_conf", "ST", "ST_conf")
    else:
        from SALib.analyze import morris

        res = morris.analyze(_problem(names), unit, values, num_resamples=num_resamples, conf_level=conf_level,
                             num_levels=MORRIS_LEVELS, seed=seed)
        keys = ("mu", "mu_star", "mu_star_conf", "sigma")
    return pd.DataFrame({k: np.asarray(res[k], float) for k in keys}, index=pd.Index(names, name="parameter"))


NEGLIGIBLE_INDEX = 1e-6
"""Sobol indices closer than this are the same: the reference study's metastatic dissemination exponent, which
cannot reach the primary's volume, gave S1 = 4.4e-9 ± 2.6e-9 and ST = 1e-15 for an end-volume ratio (N = 1,024),
the solver's noise, while meaningful indices at that N have intervals of about 0.01."""


@dataclass
class SensitivityResult:
    """Indices of one read-out: ``indices`` (one row per parameter) with the design and the values behind them.

    Sobol: first-order ``S1`` and total ``ST`` indices with the half-widths of
    their bootstrap confidence intervals (``S1_conf``, ``ST_conf``). Morris:
    ``mu``, ``mu_star`` (mean absolute elementary effect, per whole range) with
    ``mu_star_conf``, and ``sigma``. ``failed`` runs (at most :data:`MAX_FAILED`
    of them) gave no finite read-out and entered the analysis at the median.
    """

    study: str
    readout: ReadOut
    method: str
    base_samples: int
    ranges: dict[str, Range]
    unit: np.ndarray
    samples: np.ndarray
    values: np.ndarray
    indices: pd.DataFrame
    seed: int
    conf_level: float
    seconds: float
    dropped: list[str] = field(default_factory=list)
    failed: int = 0

    @property
    def runs(self) -> int:
        """Simulated animals per arm."""
        return int(self.values.size)

    def inconsistent(self) -> list[str]:
        """Parameters whose first-order index exceeds their total index beyond both intervals (Sobol only), by more
        than :data:`NEGLIGIBLE_INDEX`: a parameter with no path to the read-out has indices of integration noise."""
        if self.method != "sobol":
            return []
        i = self.indices
        return list(i.index[(i["S1"] - i["S1_conf"]) - (i["ST"] + i["ST_conf"]) > NEGLIGIBLE_INDEX])

    def to_frame(self) -> pd.DataFrame:
        """The indices with each parameter's range, its scale and where the range comes from."""
        extra = pd.DataFrame({
            "low": [r.low for r in self.ranges.values()], "high": [r.high for r in self.ranges.values()],
            "scale": ["log-uniform" if r.log else "uniform" for r in self.ranges.values()],
            "range from": [r.origin for r in self.ranges.values()],
        }, index=pd.Index(list(self.ranges), name="parameter"))
        return self.indices.join(extra)

    def to_dataset(self) -> xr.Dataset:
        """The indices as a Dataset over ``parameter``, with the settings in its attrs."""
        ds = xr.Dataset.from_dataframe(self.to_frame())
        ds.attrs.update(study=self.study, readout=str(self.readout), method=self.method,
                        base_samples=self.base_samples, runs_per_arm=self.runs, arms=", ".join(self.readout.arms),
                        seed=self.seed, conf_level=self.conf_level, seconds=round(self.seconds, 2),
                        failed_runs_set_to_median=self.failed,
                        dropped_unused=", ".join(self.dropped),
                        note="each run is one typical animal with the sampled values (no inter-individual variability)")
        return ds

    def plot(self, ax=None):
        """Horizontal bars per parameter (largest total or μ* first) with confidence intervals; returns the Axes."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        i = self.indices
        bars = (("S1", "S1_conf", "first order"), ("ST", "ST_conf", "total")) if self.method == "sobol" \
            else (("mu_star", "mu_star_conf", "μ*"),)
        order = i.sort_values(bars[-1][0]).index
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 1.2 + 0.32 * len(order)))
        y = np.arange(len(order))
        height = 0.8 / len(bars)
        for b, (key, conf, label) in enumerate(bars):
            ax.barh(y + (b - (len(bars) - 1) / 2) * height, i.loc[order, key], height, xerr=i.loc[order, conf],
                    label=label, capsize=2)
        ax.set_yticks(y, [_short(n) for n in order], fontsize=8)
        ax.set_xlabel("Sobol index" if self.method == "sobol" else "mean |elementary effect| per range")
        ax.set_title(f"{self.readout} — {self.method}, N = {self.base_samples} ({self.runs} runs per arm)", fontsize=9)
        ax.axvline(0, color="black", lw=0.6)
        ax.legend(fontsize=8, loc="lower right")
        ax.figure.tight_layout()
        return ax

    def write(self, folder: str | Path, stem: str = "sensitivity") -> list[Path]:
        """Write ``<stem>.csv``, ``<stem>.nc`` and ``<stem>.png`` into ``folder``; return their paths."""
        import matplotlib.pyplot as plt

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / f"{stem}.csv", out / f"{stem}.nc", out / f"{stem}.png"]
        self.to_frame().to_csv(paths[0])
        self.to_dataset().to_netcdf(paths[1])
        ax = self.plot()
        ax.figure.savefig(paths[2], dpi=130)
        plt.close(ax.figure)
        return paths


def _short(name: str, width: int = 48) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def slug(text: str) -> str:
    """A file-name-safe form of a read-out (``peak_fold(CEP, paclitaxel MTD)`` → ``peak_fold_CEP_paclitaxel_MTD``)."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9.+-]+", "_", text)).strip("_")


def sensitivity(
    study=None,
    output: str = "",
    parameters: Iterable[str] | None = None,
    *,
    method: str = "sobol",
    samples: int = 1024,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    spread: float | None = None,
    seed: int = 0,
    conf_level: float = 0.95,
    num_resamples: int = 100,
    progress: bool = False,
) -> SensitivityResult:
    """How much of a read-out's variance each parameter's range explains.

    Samples the ranges (:func:`parameter_ranges`; log-uniformly where
    ``high / low > 10``) with SALib, runs every sample as a patient of one batch
    per arm the read-out needs, and analyses the read-out with SALib.

    Parameters
    ----------
    study:
        A study YAML path, mapping, :class:`~chemohost.study.StudyConfig` or plan
        (None: the built-in reference study).
    output:
        The read-out (:mod:`chemohost.sensitivity` grammar), e.g.
        ``"peak_fold(CEP, paclitaxel MTD)"``.
    parameters:
        Names to sample. Default: every placeholder (tag U or proposed) with a
        range that the read-out's arms use, plus those given ``ranges``.
    method:
        ``"sobol"`` (Saltelli design without second-order terms, N·(k + 2) runs)
        or ``"morris"`` (N trajectories, N·(k + 1) runs).
    samples:
        Base samples N (a power of two for Sobol) or Morris trajectories.
    ranges, spread:
        Ranges given here, and an assumed ×/÷ spread for placeholders without one
        (see :func:`parameter_ranges`).
    seed:
        Seed of the design's scrambling and of the bootstrap.

    >>> res = sensitivity("study.yaml", "final_volume(vehicle)", samples=256)  # doctest: +SKIP
    >>> res.indices[["S1", "ST"]]                                                # doctest: +SKIP
    """
    started = time.perf_counter()
    check_samples(method, samples)
    plan = as_plan(study)
    model = plan.model
    readout = parse_readout(output, arm_agents(plan), [*model.state_names, *model.output_names])
    chosen = parameter_ranges(plan, parameters, ranges, spread)
    dropped = []
    if parameters is None and chosen:
        used = set(used_parameters(plan, chosen, readout.arms, readout.quantities))
        dropped = [n for n in chosen if n not in used]
        chosen = {n: r for n, r in chosen.items() if n in used}
    if not chosen:
        raise SensitivityError(f"no placeholder with a range acts on '{readout}': name parameters with --parameters, "
                               "give ranges with --range, or assume a spread with --spread")
    names = list(chosen)
    unit = unit_samples(method, names, samples, seed)
    scaled = np.column_stack([chosen[n].scale(unit[:, j]) for j, n in enumerate(names)])
    results = run_draws(plan, {n: scaled[:, j] for j, n in enumerate(names)}, len(unit), readout.arms,
                        readout.quantities, progress)
    values = readout.evaluate(results)
    bad = ~np.isfinite(values)
    if bad.sum() > MAX_FAILED * values.size:
        raise SensitivityError(f"{int(bad.sum())} of {values.size} runs give no finite value of '{readout}' (solver "
                               "failures or a zero denominator); narrow the ranges")
    values = np.where(bad, np.median(values[~bad]), values)  # a few failed runs: the median stands in, and is reported
    indices = analyse(method, names, unit, values, seed, conf_level, num_resamples)
    return SensitivityResult(plan.config.name, readout, method, samples, chosen, unit, scaled, values, indices, seed,
                             conf_level, time.perf_counter() - started, dropped, int(bad.sum()))


def base_samples_for(draws: int, k: int) -> int:
    """The smallest power of two N with N·(k + 2) ≥ ``draws`` (Saltelli design without second order)."""
    return 1 << max(1, math.ceil(math.log2(max(1, math.ceil(draws / (k + 2))))))
