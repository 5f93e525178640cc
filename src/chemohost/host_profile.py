"""The host-response profile: log2 fold changes of effectors and cells at protocol times.

For every arm, the profile reads each host quantity (effector signals, circulating
and homed cells, neutrophils when modelled) at protocol times — by default just
before the first dose, 24 h after it, and on day 1 of cycle 2 (the second
administration of the arm's first agent) — and reports the log2 fold change over
the pre-treatment value, as the median and 5th–95th percentiles over patients
(MODEL_SPEC §9.3, host-response profile).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from .drugs import get_drug
from .quantities import CEP, EFFECTORS, HOMED_EPC, HOMED_MYELOID, MYELOID, NEUTROPHILS, effector
from .regimen import Regimen

__all__ = ["host_quantities", "protocol_times", "host_response_profile"]

CELLS = (CEP, MYELOID, HOMED_EPC, HOMED_MYELOID, NEUTROPHILS)


def host_quantities(ds: xr.Dataset) -> list[str]:
    """Host-response variables present in ``ds``: effector signals ``"X [-]"`` that are states or G-CSF, and cells."""
    names = [effector(label) for label in EFFECTORS.values()] + list(CELLS)
    return [n for n in names if n in ds.data_vars]


def protocol_times(regimen, until: float) -> dict[str, float]:
    """Default protocol times of a regimen: pre-treatment, 24 h after the first dose, day 1 of cycle 2.

    The first dose is that of the first drug (adjuvant blockers started earlier do not count);
    cycle 2 starts at that drug's second administration (or 7 days later for continuous dosing).
    """
    events = regimen.dose_events(until, body_weight=1.0, body_surface_area=1.0) if regimen is not None else []
    if not events:
        return {}
    treatment = [e for e in events if not get_drug(e.agent).is_blocker]  # anchor on the chemotherapy
    first = (treatment or events)[0]
    later = [e.time for e in events if e.agent == first.agent and e.time > first.time]
    cycle2 = later[0] if later else first.time + (first.duration if first.duration > 0 else 7.0)
    return {"pre-treatment": first.time, "24 h after first dose": first.time + 1.0, "day 1 of cycle 2": cycle2}


def host_response_profile(ds: xr.Dataset, times: dict[str, float] | None = None) -> pd.DataFrame:
    """Tidy table: arm, quantity, time point, time [day], median and 5–95% of log2(value / pre-treatment value).

    ``ds`` is a study result (dims arm, patient, time) or a single simulation
    (patient, time). ``times`` maps labels to days; by default each arm's
    :func:`protocol_times`. The pre-treatment value is the last saved value
    strictly before the first dose; values at other times are interpolated
    linearly on the saved grid.
    """
    if "arm" not in ds.dims:
        ds = ds.expand_dims(arm=[ds.attrs.get("regimen", "simulation")])
        regimens = {str(ds.arm.values[0]): ds.attrs.get("regimen", "none")}
    else:
        regimens = json.loads(ds.attrs.get("regimens", "{}"))
    until = float(ds.time.values[-1])
    rows = []
    for arm in ds.arm.values:
        arm = str(arm)
        arm_times = times or protocol_times(Regimen.parse(regimens.get(arm, "none")), until)
        if not arm_times:
            continue
        start = min(arm_times.values())
        before = ds.time.values[ds.time.values < start]
        if before.size == 0:
            continue
        for name in host_quantities(ds):
            values = ds[name].sel(arm=arm)
            baseline = values.sel(time=before[-1])
            for label, t in arm_times.items():
                at = baseline if t <= start else values.interp(time=min(t, until))
                with np.errstate(divide="ignore", invalid="ignore"):
                    fc = np.log2((at / baseline).values)
                rows.append({"arm": arm, "quantity": name, "time point": label, "time [day]": float(t),
                             "log2 fold change (median)": float(np.nanmedian(fc)),
                             "log2 fold change (5%)": float(np.nanpercentile(fc, 5)),
                             "log2 fold change (95%)": float(np.nanpercentile(fc, 95))})
    return pd.DataFrame(rows)
