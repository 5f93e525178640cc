"""Schedules of equal toxicity: a family rescaled so that the typical patient's neutrophil nadir matches.

Equal cumulative dose (:func:`equal_cumulative_dose`) compares schedules that
give the same drug; equal toxicity compares schedules that cost the same
marrow. For a reference regimen and a schedule family, :func:`equal_toxicity`
finds the dose factor s of the family such that ::

    min_t ANC(t; family with dose s·d₁) = min_t ANC(t; reference),   t ∈ [t₀, until]

for one patient of the given model (by default its typical values), by
bracketing and Brent's method on log s (the nadir falls monotonically with
the dose). The nadir is read on a fine time grid from the solver's dense
output. The model must have a neutrophil model (``toxicity: friberg`` or
``quartino``) and a myelosuppression for each agent.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from ._errors import ChemohostError
from .engine import simulate
from .quantities import NEUTROPHILS
from .regimen import FAMILIES, Regimen, RegimenError, equal_cumulative_dose

__all__ = ["equal_toxicity", "neutrophil_nadir"]


def neutrophil_nadir(model, regimen, parameters=None, *, until: float, step: float = 0.02,
                     covariates=None, observable: str = NEUTROPHILS) -> float:
    """The lowest ``observable`` of one patient under ``regimen`` on a ``step``-day grid up to ``until`` [day]."""
    if observable not in [*model.state_names, *model.output_names]:
        raise ChemohostError(f"equal toxicity needs '{observable}' in the model; add toxicity: friberg (or quartino) "
                             "and a myelosuppression for each drug")
    times = np.arange(0.0, until + step / 2, step)
    ds = simulate(model, regimen, parameters, times, covariates=covariates, save=[observable], rtol=1e-8, atol=1e-10)
    values = ds[observable].values
    if values.shape[0] != 1:
        raise ChemohostError(f"equal toxicity is matched for one patient; the parameters give {values.shape[0]}")
    return float(np.nanmin(values))


def equal_toxicity(reference: Regimen, family: str, model, parameters=None, *, until: float, covariates=None,
                   body_weight: float | None = None, body_surface_area: float | None = None,
                   rtol: float = 1e-4, **kwargs) -> Regimen:
    """The ``family`` schedule whose neutrophil nadir before ``until`` equals the reference's.

    Parameters
    ----------
    reference:
        The regimen to match (one or more agents; all agents of the family are
        scaled by the same factor).
    family:
        ``"mtd"``, ``"dose_dense"``, ``"weekly"``, ``"metronomic"`` or ``"metronomic_daily"``.
    model:
        A :class:`chemohost.Model` with a neutrophil model and myelosuppression for the agents.
    parameters:
        One patient's parameters (default: the model's typical values), covariates included.
    until:
        End of the window [day] in which the nadirs are compared (and the
        cumulative dose of the starting point is taken).
    rtol:
        Relative tolerance on the nadir match.
    **kwargs:
        The family's timing arguments, as for :func:`equal_cumulative_dose`.

    Returns
    -------
    Regimen
        The rescaled family; ``equal_toxicity(...).cumulative_dose(until)``
        shows how much more or less drug the same toxicity allows.
    """
    start = equal_cumulative_dose(reference, family, until, body_weight=body_weight,
                                  body_surface_area=body_surface_area, **kwargs)
    build, _ = FAMILIES[family]
    kwargs = {k: v for k, v in kwargs.items() if k != "unit"}

    def scaled(factor: float) -> Regimen:
        out = Regimen()
        for s in start.schedules:
            out = out + build(s.agent, s.dose * factor, s.dose_unit, **kwargs)
        return out

    def nadir(regimen):
        return neutrophil_nadir(model, regimen, parameters, until=until, covariates=covariates)

    target = nadir(reference)
    baseline = nadir(None)
    if not target < baseline * (1 - 1e-6):
        raise RegimenError(f"the reference regimen does not lower the neutrophils (nadir {target:g} vs baseline "
                           f"{baseline:g}); equal toxicity needs a myelosuppressive reference")

    def gap(log_factor: float) -> float:
        return math.log(nadir(scaled(math.exp(log_factor)))) - math.log(target)

    lo, hi = -0.5, 0.5
    for _ in range(12):  # widen the bracket until the nadir is on both sides of the target
        g_lo, g_hi = gap(lo), gap(hi)
        if g_lo > 0 > g_hi:
            break
        if g_lo <= 0:
            lo -= 1.0
        if g_hi >= 0:
            hi += 1.0
    else:
        raise RegimenError(f"no dose of family '{family}' reaches the reference nadir {target:g}")
    log_factor = brentq(gap, lo, hi, xtol=rtol / 10, rtol=rtol / 10)
    return scaled(math.exp(log_factor))
