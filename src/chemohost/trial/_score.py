"""The host-response score: which patients benefit from adding the blocker, predicted from the early panel.

Every virtual patient is simulated with and without the blocker, so the benefit of adding it is known per
patient (the counterfactual gain in overall survival or time to progression). The score is an L2-regularised
logistic regression of the binary label "benefits" (gain > ``margin`` days) on the early panel (log2 fold
changes of the host-response markers at the panel day, measured in the arm without the blocker: what a
clinician sees before deciding to add it). It is fitted on one half of the cohort (a seeded split) and
evaluated on the other: ROC curve, AUC with a DeLong confidence interval, and a calibration table::

    result = host_response_score(ds, with_arm="docetaxel + blocker", without_arm="docetaxel")
    result.auc            # AucResult(auc, se, lower, upper, positives, negatives), held-out patients
    result.roc, result.calibration, result.coefficients

The score is fitted and evaluated per virtual patient (each counts once, the prevalence weights are not
used): it answers how well the panel separates benefiting from non-benefiting patients of the simulated
cohort. The default margin of 30 days is a chemohost choice (proposed; no source), to be set per question.

- AUC: the Mann–Whitney statistic P(score of a benefiting patient > score of a non-benefiting one) + ½ P(tie).
- Its standard error: DeLong, DeLong & Clarke-Pearson (1988, Biometrics 44:837) in the midrank form of
  Sun & Xu (2014, IEEE Signal Process. Lett. 21:1389); the interval is normal on the AUC scale, clipped to [0, 1].
- Calibration: held-out patients in quantile bins of the predicted probability; the observed fraction that
  benefits per bin with a Wilson interval, against the bin's mean predicted probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize, special, stats

from .._errors import unknown
from ._readouts import ENDPOINTS, TrialReadoutError, _arms, _per_arm, _require, proportion_interval

__all__ = ["AucResult", "LogisticScore", "ScoreResult", "auc_delong", "calibration_table", "counterfactual_benefit",
           "fit_logistic", "host_response_score", "roc_curve"]

MARGIN = 30.0
"""Default gain [day] above which a patient counts as benefiting from the blocker (proposed: a chemohost choice)."""


class AucResult(NamedTuple):
    """Area under the ROC curve with its DeLong standard error and ``1 − alpha`` interval."""

    auc: float
    se: float
    lower: float
    upper: float
    positives: int
    negatives: int


def _labels_and_scores(y, score) -> tuple[np.ndarray, np.ndarray]:
    y, score = np.asarray(y), np.asarray(score, dtype=float)
    if y.shape != score.shape or y.ndim != 1:
        raise TrialReadoutError(f"labels and scores must be two vectors of one length, got shapes {y.shape} "
                                f"and {score.shape}")
    if not np.isin(y, [0, 1, True, False]).all() or not np.isfinite(score).all():
        raise TrialReadoutError("labels must be 0/1 (or booleans) and scores finite numbers")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise TrialReadoutError(f"the AUC needs patients of both classes; got {int(y.sum())} benefiting of {y.size}")
    return y, score


def auc_delong(y, score, alpha: float = 0.05) -> AucResult:
    """AUC of ``score`` for the 0/1 labels ``y`` with DeLong's standard error (midrank algorithm of Sun & Xu)."""
    y, score = _labels_and_scores(y, score)
    positive, negative = score[y], score[~y]
    m, n = positive.size, negative.size
    combined = stats.rankdata(np.concatenate([positive, negative]))
    within_positive, within_negative = stats.rankdata(positive), stats.rankdata(negative)
    auc = (combined[:m].sum() / m - (m + 1) / 2) / n
    v10 = (combined[:m] - within_positive) / n          # placement of each positive among the negatives
    v01 = 1.0 - (combined[m:] - within_negative) / m    # placement of each negative among the positives
    variance = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    se = float(np.sqrt(variance))
    z = stats.norm.ppf(1 - alpha / 2)
    return AucResult(float(auc), se, float(max(0.0, auc - z * se)), float(min(1.0, auc + z * se)), m, n)


def roc_curve(y, score) -> pd.DataFrame:
    """The empirical ROC curve: ``threshold`` (score ≥ threshold is called positive), ``false positive rate``,
    ``true positive rate``, from (0, 0) at threshold +inf to (1, 1); ties share one point."""
    y, score = _labels_and_scores(y, score)
    order = np.argsort(-score, kind="stable")
    s, hits = score[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]  # the last index of each distinct score
    tp, fp = np.cumsum(hits)[last], np.cumsum(~hits)[last]
    return pd.DataFrame({"threshold": np.r_[np.inf, s[last]], "false positive rate": np.r_[0.0, fp / fp[-1]],
                         "true positive rate": np.r_[0.0, tp / tp[-1]]})


def calibration_table(y, probability, bins: int = 10, alpha: float = 0.05) -> pd.DataFrame:
    """Observed fraction of positives against the mean predicted probability in quantile bins of the prediction.

    Returns one row per non-empty bin: ``patients``, ``mean predicted``, ``observed`` and its Wilson
    ``lower``/``upper`` bound.
    """
    y = np.asarray(y).astype(bool)
    p = np.asarray(probability, dtype=float)
    if int(bins) < 1:
        raise TrialReadoutError(f"calibration bins must be ≥ 1, got {bins!r}")
    edges = np.unique(np.quantile(p, np.linspace(0, 1, int(bins) + 1)))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    frame = pd.DataFrame({"bin": which, "p": p, "y": y}).groupby("bin")
    table = pd.DataFrame({"patients": frame.size(), "mean predicted": frame["p"].mean(),
                          "observed": frame["y"].mean()})
    lower, upper = proportion_interval(table["observed"] * table["patients"], table["patients"], alpha)
    table["lower"], table["upper"] = lower, upper
    return table.reset_index(drop=True)


@dataclass(frozen=True)
class LogisticScore:
    """A fitted logistic score: P(benefit | x) = σ(intercept + Σ coef_k (x_k − mean_k) / scale_k)."""

    markers: tuple[str, ...]
    intercept: float
    coef: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    l2: float

    def linear(self, x) -> np.ndarray:
        """The linear predictor (log odds) of each row of ``x`` (patients × markers)."""
        return self.intercept + ((np.asarray(x, dtype=float) - self.mean) / self.scale) @ self.coef

    def probability(self, x) -> np.ndarray:
        """Predicted probability of benefit of each row of ``x``."""
        return special.expit(self.linear(x))


def fit_logistic(x, y, *, l2: float = 1.0, markers: tuple[str, ...] | None = None) -> LogisticScore:
    """L2-regularised logistic regression by maximum penalised likelihood (L-BFGS, exact gradient).

    The features are standardised on ``x`` (mean 0, standard deviation 1); the penalty (l2 / 2)·‖β‖² acts on
    the standardised coefficients, not the intercept.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y).astype(float)
    if x.ndim != 2 or x.shape[0] != y.size or not np.isfinite(x).all():
        raise TrialReadoutError(f"the panel must be a finite (patients × markers) array matching the labels, "
                                f"got shape {x.shape} for {y.size} labels")
    if l2 < 0:
        raise TrialReadoutError(f"the L2 penalty must be ≥ 0, got {l2!r}")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    penalty = np.r_[0.0, np.full(x.shape[1], l2)]

    def objective(beta):
        eta = z @ beta
        loss = np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * np.sum(penalty * beta**2)
        return loss, z.T @ (special.expit(eta) - y) + penalty * beta

    fit = optimize.minimize(objective, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B")
    names = tuple(markers) if markers is not None else tuple(f"x{k}" for k in range(x.shape[1]))
    return LogisticScore(names, float(fit.x[0]), fit.x[1:], mean, scale, float(l2))


def counterfactual_benefit(ds: xr.Dataset, with_arm: str, without_arm: str, *, endpoint: str = "os",
                           margin: float = MARGIN) -> pd.DataFrame:
    """Per patient: ``gain [day]`` = endpoint time with the blocker − without, and ``benefits`` = gain > margin.

    Times are event or censoring times; a patient censored in both arms at the same follow-up gains 0.
    """
    if endpoint not in ENDPOINTS:
        raise TrialReadoutError(unknown("endpoint", str(endpoint), ENDPOINTS))
    _require(ds, endpoint)
    with_arm, without_arm = _arms(ds, [with_arm, without_arm])
    if with_arm == without_arm:
        raise TrialReadoutError(f"the arms with and without the blocker must differ, got {with_arm!r} twice")
    gain = _per_arm(ds, endpoint, with_arm).astype(float) - _per_arm(ds, endpoint, without_arm).astype(float)
    table = pd.DataFrame({"gain [day]": gain, "benefits": gain > margin},
                         index=pd.Index(np.asarray(ds["patient"].values), name="patient"))
    table.attrs = {"with": with_arm, "without": without_arm, "endpoint": endpoint, "margin [day]": margin}
    return table


@dataclass(frozen=True)
class ScoreResult:
    """The host-response score fitted on one half of the cohort and evaluated on the other."""

    model: LogisticScore
    auc: AucResult
    roc: pd.DataFrame
    calibration: pd.DataFrame
    coefficients: pd.DataFrame
    held_out: pd.DataFrame
    """Held-out patients: ``benefits``, ``gain [day]``, predicted ``probability``."""
    train_patients: int
    prevalence: float
    """Fraction of the whole cohort that benefits."""
    settings: dict


def host_response_score(ds: xr.Dataset, with_arm: str, without_arm: str, *, endpoint: str = "os",
                        margin: float = MARGIN, panel_arm: str | None = None, train_fraction: float = 0.5,
                        seed: int = 0, l2: float = 1.0, bins: int = 10, alpha: float = 0.05) -> ScoreResult:
    """Fit the score on a seeded ``train_fraction`` of the patients and evaluate it on the rest.

    ``panel_arm`` (default ``without_arm``): the arm whose early ``panel`` is the score's input. Patients with
    a non-finite panel or gain are left out. Raises :class:`TrialReadoutError` when a half lacks one class.
    """
    _require(ds, "panel", "marker")
    panel_arm = without_arm if panel_arm is None else panel_arm
    (panel_arm,) = _arms(ds, [panel_arm])
    if not 0 < train_fraction < 1:
        raise TrialReadoutError(f"train_fraction must lie in (0, 1), got {train_fraction!r}")
    benefit = counterfactual_benefit(ds, with_arm, without_arm, endpoint=endpoint, margin=margin)
    markers = tuple(str(m) for m in ds["marker"].values)
    x = np.asarray(ds["panel"].sel(arm=panel_arm).transpose("patient", "marker").values, dtype=float)
    y = benefit["benefits"].to_numpy()
    keep = np.isfinite(x).all(axis=1) & np.isfinite(benefit["gain [day]"].to_numpy())
    index = np.flatnonzero(keep)
    shuffled = np.random.default_rng(np.random.SeedSequence(seed)).permutation(index)
    cut = int(round(train_fraction * shuffled.size))
    train, test = np.sort(shuffled[:cut]), np.sort(shuffled[cut:])
    for name, rows in (("training", train), ("held-out", test)):
        if rows.size < 2 or y[rows].all() or not y[rows].any():
            raise TrialReadoutError(f"the {name} half has {int(y[rows].sum())} benefiting patients of {rows.size}; "
                                    f"the score needs both classes (change margin={margin:g} days or the cohort)")
    model = fit_logistic(x[train], y[train], l2=l2, markers=markers)
    probability = model.probability(x[test])
    coefficients = pd.DataFrame({"coefficient (per SD)": model.coef, "odds ratio (per SD)": np.exp(model.coef),
                                 "panel mean": model.mean, "panel SD": model.scale},
                                index=pd.Index(markers, name="marker"))
    held_out = benefit.iloc[test].assign(probability=probability)
    settings = {"with": benefit.attrs["with"], "without": benefit.attrs["without"], "panel arm": panel_arm,
                "endpoint": endpoint, "margin [day]": margin, "seed": seed, "l2": l2, "alpha": alpha}
    return ScoreResult(model=model, auc=auc_delong(y[test], probability, alpha), roc=roc_curve(y[test], probability),
                       calibration=calibration_table(y[test], probability, bins, alpha), coefficients=coefficients,
                       held_out=held_out, train_patients=int(train.size), prevalence=float(y[keep].mean()),
                       settings=settings)
