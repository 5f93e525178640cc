"""The trial report: survival by arm, hazard ratios, response and toxicity rates, power curves and the
host-response score of a virtual trial, as one self-contained HTML file with its tables as CSV.

The endpoints are read from the trial's store lazily (:func:`open_trial_endpoints`): only the variables along
``patient`` without a ``time`` dimension (covariates, per-arm endpoints, the panel) are read, one arm at a
time, so a trial of 10⁶ patients never loads its trajectories.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .._errors import ChemohostError, quote, unknown
from ..plotting import figure as _figure
from ..plotting import png as _png
from ..provenance import __version__
from ..trial._readouts import ENDPOINTS, TrialReadoutError, hazard_ratios, kaplan_meier_by_arm, power_curve, \
    response_rates
from ..trial._score import MARGIN, host_response_score
from ._figures import PALETTE
from ._outcomes import survival_figure
from ._write import _number, _percent

__all__ = ["DEFAULT_SIZES", "blocker_pairs", "open_trial_endpoints", "write_trial_report"]

DEFAULT_SIZES = (50, 100, 200, 400, 800, 1600, 3200)
"""Trial sizes [patients] of the power curve unless given."""
KM_POINTS = 4000
"""Points per arm a Kaplan–Meier curve is drawn with (a million patients give a million steps)."""
STORE_DATA = "data.zarr"
"""The Zarr store inside a trial output folder (``store.json``, ``data.zarr``, ``manifest.jsonl``)."""


class TrialReportError(ChemohostError):
    """A trial output folder that cannot be read, or report options that do not fit the trial."""


def open_trial_endpoints(path: str | Path) -> xr.Dataset:
    """The endpoint variables of a trial output folder (or a Zarr store), lazily (Zarr-backed, not loaded).

    ``path`` is the folder ``chemohost run TRIAL.yaml`` writes (holding ``data.zarr``) or a Zarr store
    itself. Variables with a ``time`` dimension (stored trajectories) are dropped.
    """
    path = Path(path)
    store = path / STORE_DATA if (path / STORE_DATA).is_dir() else path
    if not store.is_dir():
        raise TrialReportError(f"trial output {quote(str(path))} is not a folder; give the folder "
                               f"'chemohost run TRIAL.yaml' wrote (it holds {STORE_DATA})")
    try:
        ds = xr.open_zarr(store, consolidated=False)
    except (OSError, ValueError, KeyError) as error:
        raise TrialReportError(f"trial output {quote(str(path))} holds no readable Zarr store "
                               f"({type(error).__name__}); give the folder 'chemohost run TRIAL.yaml' wrote") from None
    keep = [name for name, var in ds.data_vars.items() if "patient" in var.dims and "time" not in var.dims]
    missing = [name for name in ("os", "died", "arm") if name not in ds.variables]
    if missing:
        raise TrialReportError(f"trial output {quote(str(path))} has no {missing[0]!r}; is it a trial store?")
    return ds[keep]


def blocker_pairs(arms: list[str]) -> list[tuple[str, str]]:
    """``(with, without)`` arm pairs whose names differ by an added agent: ``"X + blocker"`` and ``"X"``."""
    pairs = []
    for without in arms:
        for with_ in arms:
            rest = with_[len(without):].strip()
            if with_ != without and with_.startswith(without) and rest.startswith("+"):
                pairs.append((with_, without))
    return pairs


def _thin(curve: pd.DataFrame, points: int = KM_POINTS) -> pd.DataFrame:
    """At most ``points`` rows per arm of a Kaplan–Meier table, for drawing (first and last rows kept)."""
    parts = []
    for _, rows in curve.groupby("arm", sort=False):
        keep = np.unique(np.r_[np.linspace(0, len(rows) - 1, min(points, len(rows))).round().astype(int)])
        parts.append(rows.iloc[keep])
    return pd.concat(parts)


def _colours(arms: list[str]) -> dict[str, str]:
    return {arm: PALETTE[i % len(PALETTE)] for i, arm in enumerate(arms)}


def _plain_log_x(ax) -> None:
    """A log x axis labelled with plain numbers (0.7, 200) rather than 7×10⁻¹, 2×10²."""
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="both", labelsize=7)


def forest_figure(tables: dict[str, pd.DataFrame], colours: dict[str, str]) -> str:
    """Hazard ratios with their CIs against the reference arm, one row per (endpoint, arm), log scale."""
    rows = [(title, arm, r) for title, table in tables.items() for arm, r in table.iloc[1:].iterrows()
            if np.isfinite(r["hazard ratio"])]
    fig = _figure(6.4, 0.9 + 0.32 * max(len(rows), 1))
    ax = fig.subplots()
    for i, (title, arm, r) in enumerate(rows):
        y = len(rows) - 1 - i
        ax.plot([r["lower CI"], r["upper CI"]], [y, y], color=colours[arm], lw=2)
        ax.plot(r["hazard ratio"], y, "s", color=colours[arm], ms=6)
    ax.axvline(1.0, color="0.4", lw=0.8, ls="--")
    _plain_log_x(ax)
    ax.set_yticks(range(len(rows)), [f"{title}: {arm}" for title, arm, _ in rows][::-1], fontsize=8)
    reference = next(iter(tables.values())).attrs["reference"]
    ax.set_xlabel(f"hazard ratio against {reference} (95% CI)")
    return _png(fig)


def power_figure(curves: dict[str, pd.DataFrame]) -> str:
    """Power against trial size, one line per comparison, with the Wilson band over the resamples."""
    fig = _figure(6.4, 3.6)
    ax = fig.subplots()
    for i, (label, curve) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        n = curve.index.to_numpy()
        ax.plot(n, curve["power"], "o-", color=colour, lw=1.5, ms=4, label=label)
        ax.fill_between(n, curve["lower"], curve["upper"], color=colour, alpha=0.15, lw=0)
    ax.axhline(0.8, color="0.4", lw=0.8, ls="--")
    _plain_log_x(ax)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("patients randomised 1:1")
    ax.set_ylabel("P(log-rank p < 0.05)")
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _png(fig)


def score_figure(result) -> str:
    """ROC curve (with the AUC and its CI) and calibration plot of the held-out patients."""
    fig = _figure(8.0, 3.6)
    roc_ax, cal_ax = fig.subplots(1, 2)
    auc = result.auc
    roc_ax.plot(result.roc["false positive rate"], result.roc["true positive rate"], color=PALETTE[0], lw=1.6,
                label=f"AUC {auc.auc:.2f} [{auc.lower:.2f}, {auc.upper:.2f}]")
    roc_ax.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls="--")
    roc_ax.set_xlabel("false positive rate")
    roc_ax.set_ylabel("true positive rate")
    roc_ax.legend(fontsize=8, frameon=False, loc="lower right")
    cal = result.calibration
    cal_ax.errorbar(cal["mean predicted"], cal["observed"],
                    yerr=[cal["observed"] - cal["lower"], cal["upper"] - cal["observed"]], fmt="o", ms=4,
                    color=PALETTE[1], lw=1)
    cal_ax.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls="--")
    cal_ax.set_xlabel("predicted probability of benefit")
    cal_ax.set_ylabel("observed fraction benefiting")
    for ax in (roc_ax, cal_ax):
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
    return _png(fig)


def _check_arms(arms: list[str], given: list[str]) -> None:
    for arm in given:
        if arm not in arms:
            raise TrialReportError(unknown("arm", arm, arms))


def write_trial_report(ds: xr.Dataset, out_dir: str | Path, *, reference_arm: str | None = None,
                       pairs: list[tuple[str, str]] | None = None, sizes=DEFAULT_SIZES, resamples: int = 200,
                       seed: int = 0, margin: float = MARGIN, score_endpoint: str = "os") -> Path:
    """Write ``trial_report.html`` and its CSV tables into ``out_dir``; return the HTML path.

    ``reference_arm`` (default: the first arm) is the comparator of the hazard ratios; ``pairs`` the
    ``(with blocker, without)`` arm pairs of the host-response score (default: :func:`blocker_pairs`).
    The power curves compare each arm with the reference and each pair's two arms, over ``sizes``.
    """
    arms = [str(a) for a in ds["arm"].values]
    reference = reference_arm or arms[0]
    pairs = blocker_pairs(arms) if pairs is None else list(pairs)
    _check_arms(arms, [reference, *(a for pair in pairs for a in pair)])
    if score_endpoint not in ENDPOINTS:
        raise TrialReportError(unknown("endpoint", score_endpoint, ENDPOINTS))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    colours = _colours(arms)
    endpoints = [e for e in ENDPOINTS if e in ds and ENDPOINTS[e][0] in ds]
    if not endpoints:
        raise TrialReportError("the trial store holds neither os/died nor ttp/progressed; nothing to report")
    titles = {e: ENDPOINTS[e][1] for e in endpoints}
    curves = {titles[e]: kaplan_meier_by_arm(ds, e) for e in endpoints}
    hazards = {titles[e]: hazard_ratios(ds, e, reference) for e in endpoints}
    pd.concat(hazards, names=["endpoint"]).to_csv(out / "hazard_ratios.csv")
    pd.concat(curves, names=["endpoint"]).to_csv(out / "kaplan_meier.csv")
    rates = response_rates(ds) if "best_response" in ds else None
    if rates is not None:
        rates.to_csv(out / "response_rates.csv")

    comparisons = [(reference, arm) for arm in arms if arm != reference]
    comparisons += [(without, with_) for with_, without in pairs if (without, with_) not in comparisons]
    power = {f"{a} vs {b}": power_curve(ds, a, b, sizes, endpoint=endpoints[0], resamples=resamples, seed=seed)
             for a, b in comparisons}
    pd.concat(power, names=["comparison"]).to_csv(out / "power_curve.csv")

    scores, score_errors = [], []
    if "panel" in ds and score_endpoint in ds:
        for with_, without in pairs:
            try:
                result = host_response_score(ds, with_, without, endpoint=score_endpoint, margin=margin, seed=seed)
            except TrialReadoutError as error:
                score_errors.append(f"{with_} vs {without}: {error}")
                continue
            scores.append((with_, without, result))
    if scores:
        pd.DataFrame([{"with": w, "without": wo, **r.auc._asdict(), "prevalence": r.prevalence,
                       "training patients": r.train_patients} for w, wo, r in scores]).to_csv(out / "score_auc.csv",
                                                                                             index=False)
        pd.concat({f"{w} vs {wo}": r.coefficients for w, wo, r in scores}, names=["pair"]).to_csv(
            out / "score_coefficients.csv")
        pd.concat({f"{w} vs {wo}": r.calibration for w, wo, r in scores}, names=["pair"]).to_csv(
            out / "score_calibration.csv")

    context = {
        "version": __version__, "created": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "attrs": {k: str(v) for k, v in ds.attrs.items()}, "patients": int(ds.sizes["patient"]),
        "arms": [{"arm": a, "colour": colours[a]} for a in arms], "reference": reference,
        "weighted": "weight" in ds,
        "km_figure": survival_figure({k: _thin(c) for k, c in curves.items()}, colours), "forest_figure": forest_figure(hazards, colours),
        "hazards": {title: [{"arm": arm, "colour": colours[arm], **{k: r[k] for k in
                             ("patients", "events", "median [day]", "hazard ratio", "lower CI", "upper CI",
                              "log-rank p")}} for arm, r in table.iterrows()] for title, table in hazards.items()},
        "rates": None if rates is None else [{"arm": arm, "colour": colours[arm], **r.to_dict()}
                                             for arm, r in rates.iterrows()],
        "power_figure": power_figure(power), "power_endpoint": titles[endpoints[0]], "resamples": resamples,
        "power": [{"comparison": label, "rows": [{"n": int(n), **r.to_dict()} for n, r in curve.iterrows()]}
                  for label, curve in power.items()],
        "scores": [{"with": w, "without": wo, "auc": r.auc, "prevalence": r.prevalence, "train": r.train_patients,
                    "test": len(r.held_out), "figure": score_figure(r), "settings": r.settings,
                    "coefficients": [{"marker": m, **c.to_dict()} for m, c in r.coefficients.iterrows()]}
                   for w, wo, r in scores],
        "score_errors": score_errors, "pairs": pairs, "margin": margin, "score_endpoint": titles.get(score_endpoint),
    }
    env = Environment(loader=PackageLoader("chemohost.report", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = _number
    env.filters["percent"] = _percent
    env.filters["p"] = lambda v: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else (
        "< 10⁻¹⁰" if v < 1e-10 else _number(v, 2))
    html = env.get_template("trial.html").render(**context)
    target = out / "trial_report.html"
    target.write_text(html, encoding="utf-8")
    (out / "trial_report.json").write_text(json.dumps(
        {"patients": context["patients"], "attrs": context["attrs"], "reference": reference,
         "pairs": [list(p) for p in pairs], "sizes": [int(s) for s in sizes], "resamples": resamples, "seed": seed,
         "auc": {f"{w} vs {wo}": r.auc._asdict() for w, wo, r in scores}}, indent=1), encoding="utf-8")
    return target
