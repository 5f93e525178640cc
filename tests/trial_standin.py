"""A small stand-in for the trial endpoint Dataset of ``chemohost.trial.simulate_patients`` (a test helper).

Known generating model: one uniform draw per patient couples the arms (the same patient in every arm), so
overall survival is exponential with rate ``rate`` in the reference arm and ``rate · hr[arm]`` in the others
(proportional hazards, exactly); the blocker arm multiplies the reference arm's survival time by
exp(gain(panel)), where the gain depends on the panel (``panel_effect``) or not at all.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

ARMS = ("chemo", "chemo + blocker", "other")
MARKERS = ("IL-6", "VEGF-A", "MDSC")
CLASSES = "CR PR SD PD"


def endpoints(n: int = 400, *, seed: int = 0, rate: float = 1 / 300, hr_other: float = 0.7, follow_up: float = np.inf,
              panel_effect: bool = True, weights: np.ndarray | None = None,
              response: dict[str, tuple[float, float, float, float]] | None = None,
              grade4: dict[str, float] | None = None) -> xr.Dataset:
    """An endpoint Dataset honouring the trial contract, with known survival, response and toxicity laws."""
    rng = np.random.default_rng(seed)
    panel = rng.normal(size=(n, len(MARKERS)))
    u = rng.uniform(size=n)
    base = -np.log(u) / rate
    if panel_effect:
        signal = 2.0 * panel[:, 0] - panel[:, 1] + 0.5 * rng.normal(size=n)
    else:
        signal = rng.normal(size=n) * np.sqrt(5.25)
    gain = np.where(signal > 0.5, 0.8, -0.1)  # log time ratio of adding the blocker
    os = np.stack([base, base * np.exp(gain), base / hr_other], axis=1)
    ttp = 0.5 * os
    response = response or {"chemo": (0.05, 0.25, 0.4, 0.3), "chemo + blocker": (0.05, 0.3, 0.4, 0.25),
                            "other": (0.1, 0.3, 0.35, 0.25)}
    grade4 = grade4 or {"chemo": 0.4, "chemo + blocker": 0.4, "other": 0.2}
    best = np.stack([rng.choice(4, size=n, p=response[arm]) for arm in ARMS], axis=1).astype(np.int8)
    g4 = np.stack([rng.uniform(size=n) < grade4[arm] for arm in ARMS], axis=1)
    ds = xr.Dataset(
        {
            "bsa": ("patient", rng.normal(1.85, 0.2, n), {"units": "m2", "long_name": "body-surface area"}),
            "weight": ("patient", np.ones(n) if weights is None else np.asarray(weights, float),
                       {"units": "1", "long_name": "prevalence weight"}),
            "os": (("patient", "arm"), np.minimum(os, follow_up), {"units": "day", "long_name": "overall survival"}),
            "died": (("patient", "arm"), os < follow_up, {"long_name": "death observed"}),
            "ttp": (("patient", "arm"), np.minimum(ttp, follow_up), {"units": "day",
                                                                     "long_name": "time to progression"}),
            "progressed": (("patient", "arm"), ttp < follow_up, {"long_name": "progression observed"}),
            "best_response": (("patient", "arm"), best, {"flag_values": np.arange(4, dtype=np.int8),
                                                         "flag_meanings": CLASSES, "long_name": "best response"}),
            "grade4_neutropenia": (("patient", "arm"), g4, {"long_name": "grade-4 neutropenia"}),
            "nadir_anc": (("patient", "arm"), rng.lognormal(0.0, 0.5, (n, len(ARMS))), {"units": "1e9/L"}),
            "dose_intensity": (("patient", "arm"), rng.uniform(0.7, 1.0, (n, len(ARMS))), {"units": "1"}),
            "panel": (("patient", "arm", "marker"), np.repeat(panel[:, None, :], len(ARMS), axis=1),
                      {"units": "1", "long_name": "log2 fold change at the panel day"}),
        },
        coords={"patient": np.arange(n, dtype=np.int64), "arm": list(ARMS), "marker": list(MARKERS)},
        attrs={"trial": "stand-in", "fingerprint": "stand-in", "seed": seed},
    )
    return ds
