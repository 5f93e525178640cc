r"""Per-patient clinical endpoints, vectorised over patients (no per-patient Python loop).

- **RECIST 1.1** (Eisenhauer et al. 2009) on scheduled scans of the sum of longest diameters (SLD),
  by the rule of :mod:`chemohost.recist` (diameter form; shared with :mod:`chemohost.outcomes`):
  complete response (CR) when SLD is at or below ``cr_below`` mm (the continuous model's stand-in for
  "all target lesions gone"), else progression (PD) when SLD ≥ 1.2 × nadir *and* SLD − nadir ≥ 5 mm,
  the nadir being the smallest SLD on study before that scan (baseline included), else partial
  response (PR) when SLD ≤ 0.7 × baseline, else stable disease (SD). The best overall response is the
  best class over the scans up to and including the first PD (confirmation of response is not
  required in randomised trials, RECIST 1.1).
- **Time to progression**: the first PD scan, observed if the patient is alive then; otherwise
  censored at the last scan before death or at the last scan of the horizon.
- **Overall survival** in the structure of Claret et al. 2009: log-normal survival time,
  ln T = a0 + a_S·(1 − SLD(t_L)/SLD0) − a_B·(SLD0 − SLD_ref) + σ·ε, with t_L the landmark
  (week 7) and ε a per-patient standard-normal deviate; administratively censored at ``follow_up``.
- **Neutropenia**: nadir ANC on the simulated grid; grade 4 = ANC < 0.5·10⁹/L (CTCAE v5).
- **Dose intensity**: delivered / planned cytotoxic dose (dose factors summed over the
  administrations given inside the treatment window, over the number planned).
"""

from __future__ import annotations

import numpy as np

from ..recist import RECIST_CLASSES, assess, best_overall

__all__ = ["RESPONSES", "recist_endpoints", "time_to_progression",
           "overall_survival", "neutropenia", "dose_intensity", "log2_fold_change"]

RESPONSES = RECIST_CLASSES
"""Best-response codes 0..3, best first."""

GRADE4_ANC = 0.5  # 1e9/L


def recist_endpoints(scan_times, sld, cr_below: float = 5.0):
    """RECIST 1.1 on scans: first-PD scan index, whether PD occurred, and the best overall response code.

    Parameters
    ----------
    scan_times:
        Scan days, the first being the baseline (shape ``(k,)``).
    sld:
        Sum of diameters [mm] at those scans, shape ``(n, k)``.

    Returns
    -------
    pd_time, progressed, best
        Day of the first PD scan (``nan`` when none), a boolean, and the best response code
        (index into :data:`RESPONSES`, int8).
    """
    scan_times = np.asarray(scan_times, float)
    sld = np.atleast_2d(np.asarray(sld, float))
    if sld.shape[1] != scan_times.size or scan_times.size < 2:
        raise ValueError("recist_endpoints needs a baseline and at least one scan, one column per scan time")
    best, pd_time, progressed = best_overall(scan_times, assess(sld, "diameter", cr_below))
    return pd_time, progressed, (best - 1).astype(np.int8)


def time_to_progression(scan_times, pd_time, os_time):
    """TTP [day] and event flag: the first PD scan if the patient is alive at it, else censored at the last scan
    done while alive (``scan_times`` ascending, the first at baseline)."""
    scan_times = np.asarray(scan_times, float)
    os_time = np.asarray(os_time, float)
    observed = np.isfinite(pd_time) & (pd_time <= os_time)
    last_alive = scan_times[np.maximum(np.searchsorted(scan_times, os_time, side="right") - 1, 0)]
    return np.where(observed, pd_time, last_alive), observed


def overall_survival(sld0, sld_landmark, deviate, survival: dict, follow_up: float):
    """OS [day] and death flag from the Claret-type log-normal model (see the module docstring); ``survival``
    maps ``intercept, shrinkage, baseline, reference, sigma`` to values."""
    sld0 = np.asarray(sld0, float)
    log_t = (survival["intercept"] + survival["shrinkage"] * (1.0 - np.asarray(sld_landmark, float) / sld0)
             - survival["baseline"] * (sld0 - survival["reference"]) + survival["sigma"] * np.asarray(deviate, float))
    t = np.exp(log_t)
    died = t <= follow_up
    return np.where(died, t, follow_up), died


def neutropenia(anc):
    """Nadir ANC [1e9/L] over the last axis and grade-4 neutropenia (nadir < 0.5·10⁹/L, CTCAE v5)."""
    nadir = np.min(np.asarray(anc, float), axis=-1)
    return nadir, nadir < GRADE4_ANC


def dose_intensity(dose_time, dose_factor, cytotoxic, n_planned: int, window: float):
    """Delivered / planned dose: the dose factors of the cytotoxic administrations (mask ``cytotoxic`` over the
    dose axis) given before ``window``, summed, over ``n_planned``."""
    dose_time = np.asarray(dose_time, float)
    given = np.isfinite(dose_time) & (dose_time < window) & np.asarray(cytotoxic, bool)[None, :]
    delivered = np.where(given, np.nan_to_num(np.asarray(dose_factor, float)), 0.0).sum(axis=1)
    return delivered / n_planned if n_planned else np.full(dose_time.shape[0], np.nan)


def log2_fold_change(value, baseline):
    """log2(value / baseline)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(np.asarray(value, float) / np.asarray(baseline, float))
