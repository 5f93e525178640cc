"""The base every fitter shares, in the style of lifelines: ``fit`` returns the fitter, results end in ``_``.

After ``fit(data)`` every fitter offers ``summary`` (a DataFrame property),
``print_summary()``, ``predict(...)``, ``plot(...)``, the information criteria
``AIC_`` and ``BIC_`` of the whole fit, and ``confidence_intervals_`` (the
lower and upper bounds of each estimated quantity). ``clone(**changes)`` gives
an unfitted copy with some settings replaced.
"""

from __future__ import annotations

import numpy as np

import inspect
import math
import sys

import pandas as pd

from .._errors import unknown
from ._errors import CalibrationError

__all__ = ["Estimator", "plot_subjects"]


class Estimator:
    """Base of the calibration fitters.

    Subclasses implement :meth:`fit`, :meth:`_summary_table`,
    :meth:`_criteria` (log-likelihood, number of estimated quantities and of
    observations of the whole fit), :meth:`predict` and :meth:`plot`;
    ``_interval_columns`` names the summary's lower and upper bound columns.
    """

    _fitted_attribute = "params_"
    _interval_columns: tuple[str, str] = ("lower 95%", "upper 95%")

    def fit(self, data, *args, **kwargs) -> Estimator:
        raise NotImplementedError

    def predict(self, *args, **kwargs):
        raise NotImplementedError

    def plot(self, *args, **kwargs):
        raise NotImplementedError

    def _summary_table(self) -> pd.DataFrame:
        raise NotImplementedError

    def _criteria(self) -> tuple[float, int, int]:
        """``(log-likelihood, estimated quantities, observations)`` of the whole fit."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    @property
    def fitted(self) -> bool:
        return hasattr(self, self._fitted_attribute)

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise CalibrationError(f"this {type(self).__name__} is not fitted yet; call fit(data) first")

    @property
    def summary(self) -> pd.DataFrame:
        """The table of estimates (see the class's documentation for its columns)."""
        self._check_fitted()
        return self._summary_table().copy()

    @property
    def AIC_(self) -> float:  # noqa: N802 - lifelines' name
        """Akaike's information criterion of the whole fit, −2·log L + 2k (Akaike 1974)."""
        loglik, k, _ = self._criteria()
        return -2.0 * loglik + 2.0 * k

    @property
    def BIC_(self) -> float:  # noqa: N802 - lifelines' name
        """Schwarz's Bayesian information criterion of the whole fit, −2·log L + k·ln n (Schwarz 1978)."""
        loglik, k, n = self._criteria()
        return -2.0 * loglik + k * math.log(n) if n > 0 else math.nan

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """Lower and upper bounds of every estimated quantity (the summary's interval columns)."""
        table = self.summary
        return table[list(self._interval_columns)]

    def print_summary(self, decimals: int = 4, file=None) -> None:
        """Print what was fitted, its criteria and the summary table."""
        self._check_fitted()
        out = file or sys.stdout
        print(repr(self), file=out)
        try:
            loglik, k, n = self._criteria()
            print(f"log-likelihood = {loglik:.{decimals}g}, estimated = {k}, observations = {n}, "
                  f"AIC = {self.AIC_:.{decimals + 2}g}, BIC = {self.BIC_:.{decimals + 2}g}", file=out)
        except NotImplementedError:
            pass
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(self.summary.round(decimals).to_string(), file=out)

    def _settings(self) -> list[str]:
        return [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]

    def clone(self, **changes) -> Estimator:
        """An unfitted copy with the same settings, some replaced."""
        names = self._settings()
        for key in changes:
            if key not in names:
                raise CalibrationError(unknown("fitter setting", key, names))
        return type(self)(**{**{n: getattr(self, n) for n in names}, **changes})


def plot_subjects(data: pd.DataFrame, predict, subjects=None, ax=None, n_points: int = 100):
    """Observed values (dots) and ``predict(grid, subject)`` (lines) of each subject of the tidy ``data``
    (columns ``subject``, ``time``, ``value``), one colour per subject; returns the matplotlib Axes."""
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    chosen = list(dict.fromkeys(data["subject"])) if subjects is None else list(subjects)
    for i, subject in enumerate(chosen):
        rows = data[data["subject"] == subject]
        grid = np.linspace(float(rows["time"].min()), float(rows["time"].max()), n_points)
        ax.plot(rows["time"], rows["value"], "o", ms=3, color=f"C{i % 10}")
        ax.plot(grid, predict(grid, subject), lw=1, color=f"C{i % 10}", label=str(subject))
    ax.set_xlabel("Time [day]")
    ax.set_ylabel(str(data["observable"].iloc[0]) if "observable" in data else "value")
    return ax
