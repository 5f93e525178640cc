"""``simulate_patients``: patients ``[start, stop)`` of a trial in every arm, reduced to their endpoints in the chunk.

The batch engine integrates each arm over the treatment window on a daily grid, saving only
the tumour volume, the neutrophil count and the panel markers; dosing rules (delays and
reductions) are decided per patient at daily visits. Each patient keeps its own step size and
events, so its trajectory does not depend on the other patients of the batch. After the window
the drugs are gone and the tumour (both clones) grows at its untreated exponential rate, so the
scans beyond it follow in closed form, V(t) = V(T)·e^{g·(t − T)}. Only the endpoints, the panel
and the stored outputs leave the chunk.
"""

from __future__ import annotations

import operator

import numpy as np
import xarray as xr

from ..drugs import get_drug
from ..engine import simulate
from ..recist import sphere_diameter
from ._cohort import BLOCK, COVARIATES, GROWTH_RATE, draw_cohort
from ._design import SURVIVAL_KEYS, Trial
from ._endpoints import (RESPONSES, dose_intensity, log2_fold_change, neutropenia, overall_survival,
                         recist_endpoints, time_to_progression)
from ._errors import TrialError

__all__ = ["simulate_patients", "TUMOUR", "ANC"]

TUMOUR = "Tumour volume [mm3]"
ANC = "Circulating neutrophils [1e9/L]"
BSA = "Body surface area [m2]"

_ENDPOINTS = {  # name: (units, long_name)
    "ttp": ("day", "Time to progression (RECIST 1.1), censored at the last scan alive"),
    "progressed": ("1", "Progression observed (event indicator of ttp)"),
    "os": ("day", "Overall survival, censored at the follow-up"),
    "died": ("1", "Death observed (event indicator of os)"),
    "best_response": ("1", "Best overall response (RECIST 1.1)"),
    "nadir_anc": ("1e9/L", "Nadir absolute neutrophil count during the treatment window"),
    "grade4_neutropenia": ("1", "Grade-4 neutropenia (ANC < 0.5e9/L, CTCAE v5)"),
    "dose_intensity": ("1", "Delivered / planned cytotoxic dose"),
    "solver_status": ("1", "Engine status (0 = success; otherwise the endpoints are NaN)"),
}


def _index(value, what: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TrialError(f"{what} must be a whole number, got {value!r}") from None


def _grid(trial: Trial) -> np.ndarray:
    s = trial.config.schedule
    scans = trial.scan_times
    points = [np.arange(0.0, s.treatment_window, 1.0), [s.treatment_window, s.os_landmark, trial.config.panel.day],
              scans[scans <= s.treatment_window]]
    return np.unique(np.concatenate([np.asarray(p, float) for p in points]))


def _planned_cytotoxic(regimen, window: float) -> tuple[int, tuple[str, ...]]:
    agents = tuple(a for a in regimen.agents if not get_drug(a).is_blocker)
    n = sum(s.count_administrations(window) for s in regimen if s.agent in agents)
    return int(n), agents


def _arm(trial: Trial, arm: str, cohort, grid: np.ndarray, threads: int | None):
    c = trial.config
    s = c.schedule
    regimen = trial.regimens[arm]
    markers = list(c.panel.markers.values())
    save = list(dict.fromkeys([TUMOUR, ANC, *markers]))
    ds = simulate(trial.model, regimen, cohort.parameters, grid, covariates={BSA: cohort.covariates["bsa"]},
                  rules=trial.rules or None, save=save, rtol=c.solver.rtol, atol=c.solver.atol, threads=threads)
    status = ds["solver_status"].values.astype(np.int8)
    ok = status == 0
    volume = ds[TUMOUR].values
    at = {t: int(np.searchsorted(grid, t)) for t in (s.os_landmark, c.panel.day, s.treatment_window)}
    # scans: simulated inside the window, closed-form untreated growth after it
    scans = trial.scan_times
    inside = scans <= s.treatment_window
    vol_scans = np.empty((len(cohort), scans.size))
    vol_scans[:, inside] = volume[:, np.searchsorted(grid, scans[inside])]
    rate = cohort.parameters[GROWTH_RATE]
    vol_end = volume[:, at[s.treatment_window]]
    vol_scans[:, ~inside] = vol_end[:, None] * np.exp(rate[:, None] * (scans[~inside][None, :] - s.treatment_window))
    sld_scans = sphere_diameter(vol_scans)
    sld0 = sld_scans[:, 0]
    pd_time, _, best = recist_endpoints(scans, sld_scans, s.cr_below)
    sld_landmark = sphere_diameter(volume[:, at[s.os_landmark]])
    surv = trial.survival
    os_time, died = overall_survival(sld0, sld_landmark, cohort.os_deviate,
                                     {k: surv[v] for k, v in SURVIVAL_KEYS.items()}, s.follow_up)
    ttp, progressed = time_to_progression(scans, pd_time, os_time)
    anc = ds[ANC].values
    nadir, grade4 = neutropenia(anc)
    n_planned, agents = _planned_cytotoxic(regimen, s.treatment_window)
    if "Dose time [day]" in ds:
        cytotoxic = np.isin(ds["agent"].values, agents)
        di = dose_intensity(ds["Dose time [day]"].values, ds["Dose factor [-]"].values, cytotoxic, n_planned,
                            s.treatment_window)
    else:
        di = np.ones(len(cohort))
    panel = np.stack([log2_fold_change(ds[m].values[:, at[c.panel.day]], ds[m].values[:, 0]) for m in markers],
                     axis=-1)
    out = {"ttp": ttp, "progressed": progressed, "os": os_time, "died": died, "best_response": best,
           "nadir_anc": nadir, "grade4_neutropenia": grade4, "dose_intensity": di, "solver_status": status}
    stored = {"sld": sld_scans, "anc": anc[:, np.searchsorted(grid, np.minimum(scans, s.treatment_window))]}
    if not ok.all():  # failed integrations: no endpoints (they are counted in solver_status)
        for key in ("ttp", "os", "nadir_anc", "dose_intensity"):
            out[key] = np.where(ok, out[key], np.nan)
        panel = np.where(ok[:, None], panel, np.nan)
        stored = {k: np.where(ok[:, None], v, np.nan) for k, v in stored.items()}
    return out, panel, stored


def simulate_patients(trial: Trial, start: int, stop: int, *, threads: int | None = None) -> xr.Dataset:
    """Patients ``[start, stop)`` of ``trial``, every arm: covariates, prevalence weights, endpoints, the early
    host-response panel and the stored outputs.

    A patient's values are identical bit for bit whatever chunk computes it: its random numbers come from its
    block's stream (:mod:`chemohost.trial._cohort`) and the engine integrates each patient on its own.

    Returns an :class:`xarray.Dataset` with coordinates ``patient`` (global index), ``arm``, ``time``
    (the stored scan days) and ``marker``; see the trial contract in the README.
    """
    start, stop = _index(start, "start"), _index(stop, "stop")
    if not 0 <= start < stop:
        raise TrialError(f"patients [start, stop) = [{start}, {stop}) must satisfy 0 <= start < stop")
    c = trial.config
    cohort = draw_cohort(trial, start, stop)
    grid = _grid(trial)
    results = [_arm(trial, arm, cohort, grid, threads) for arm in trial.arms]
    dims = ("patient", "arm")
    dtype = np.dtype(c.store.dtype)
    data = {}
    for key, (units, long_name) in _ENDPOINTS.items():
        values = np.stack([r[0][key] for r in results], axis=1)
        attrs = {"units": units, "long_name": long_name}
        if key == "best_response":
            attrs.update(flag_values=np.arange(len(RESPONSES), dtype=np.int8), flag_meanings=" ".join(RESPONSES))
        data[key] = (dims, values, attrs)
    data["panel"] = (("patient", "arm", "marker"), np.stack([r[1] for r in results], axis=1),
                     {"units": "1", "long_name": f"log2 fold change of each host-response marker on day "
                                                 f"{c.panel.day:g} after the first dose"})
    stored_names = {"sld": ("mm", "Sum of longest diameters (sphere-equivalent) at the scans"),
                    "anc": ("1e9/L", "Absolute neutrophil count at the scans")}
    for key in c.store.variables:
        units, long_name = stored_names[key]
        data[key] = (("patient", "arm", "time"), np.stack([r[2][key] for r in results], axis=1).astype(dtype),
                     {"units": units, "long_name": long_name})
    for key, (long_name, units) in COVARIATES.items():
        data[key] = ("patient", cohort.covariates[key], {"units": units, "long_name": long_name})
    data["doubling_time"] = ("patient", cohort.doubling_time,
                             {"units": "day", "long_name": "Untreated tumour volume doubling time"})
    data["weight"] = ("patient", cohort.weight,
                      {"units": "1", "long_name": "Prevalence weight to the target distribution (Allen 2016)"})
    coords = {"patient": ("patient", cohort.index, {"long_name": "Global patient index"}),
              "arm": ("arm", np.array(trial.arms, dtype=object), {"long_name": "Trial arm"}),
              "time": ("time", trial.store_times, {"units": "day", "long_name": "Scan day"}),
              "marker": ("marker", np.array(trial.markers, dtype=object), {"long_name": "Panel marker"})}
    blocks = (stop - 1) // BLOCK - start // BLOCK + 1
    attrs = {"trial": trial.name, "fingerprint": trial.fingerprint(), "seed": trial.seed,
             "acceptance_rate": cohort.plausible / cohort.drawn,
             "acceptance_note": f"plausible / drawn candidates over the {blocks} random-number block(s) of this chunk"}
    return xr.Dataset(data, coords=coords, attrs=attrs)
