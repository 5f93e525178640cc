"""Virtual cohorts: log-normal inter-individual variability with correlations.

An individual's value is θ_i = θ_typical·exp(η_i) with η ~ N(0, Ω), where Ω
holds the variances of the log values and their correlations (for example the
α0–β correlation of per-mouse Gompertz fits, Vaghi et al. 2020). Every draw
takes an explicit seed, and the seed is stored with the results.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._errors import ParameterError, quote
from .limits import MAX_PATIENTS, MAX_SEED

__all__ = ["sample_cohort"]


def sample_cohort(
    n: int,
    typical: Mapping[str, float | np.ndarray],
    variability=None,
    seed: int = 0,
) -> pd.DataFrame:
    """Draw ``n`` virtual patients.

    Parameters
    ----------
    n:
        Number of patients.
    typical:
        Parameter name → typical value (number, or array of ``n`` values when it
        already differs between patients, e.g. scaled by body weight).
    variability:
        A :class:`~chemohost.parameters.LogNormalVariability` (SD of the log value
        per parameter and correlation blocks), or ``None`` for identical patients.
    seed:
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        One row per patient, one column per parameter in ``typical``.

    >>> from chemohost.parameters import LogNormalVariability, ParameterValue
    >>> omega = {"Exponential growth rate [1/day]": ParameterValue(0.2, "-", "U", "example")}
    >>> cohort = sample_cohort(1000, {"Exponential growth rate [1/day]": 0.4}, LogNormalVariability(omega), seed=1)
    >>> round(float(cohort.iloc[:, 0].median()), 1)
    0.4
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_PATIENTS:
        raise ParameterError(f"cohort size must be a whole number from 1 to {MAX_PATIENTS:,} (chemohost.limits; "
                             f"beyond it run a chunked trial), got {quote(n, 40)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ParameterError(f"seed must be a whole number from 0 to 2**63 - 1, got {quote(seed, 40)}")
    columns = {name: np.broadcast_to(np.asarray(value, float), (n,)).copy() for name, value in typical.items()}
    if variability is None or not variability.parameters:
        return pd.DataFrame(columns)
    names = list(variability.parameters)
    missing = [p for p in names if p not in columns]
    if missing:
        raise ParameterError(f"variability is given for {missing}, which have no typical value in the model")
    rng = np.random.default_rng(seed)
    eta = rng.multivariate_normal(np.zeros(len(names)), variability.covariance(), size=n, method="cholesky")
    for j, name in enumerate(names):
        columns[name] = columns[name] * np.exp(eta[:, j])
    return pd.DataFrame(columns)
