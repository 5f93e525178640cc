"""Stand-ins for ``chemohost.trial.simulate_patients`` that honour the trial contract without the engine.

Test helpers, not shipped code (also used by ``benchmarks/bench_trial.py --standin``). Both build their
Dataset through :func:`contract_dataset`, which gives every variable the contract's dims, units and long
name (:data:`CONTRACT`):

- :class:`StandinTrial` with :func:`simulate_patients` ``(trial, start, stop)``, for execution and storage:
  each patient's values come from the fixed block of :data:`BLOCK` patients that holds it
  (``SeedSequence(seed, spawn_key=(block,))``, vectorised within the block, implausible draws rejected and
  redrawn within the block's own stream), sliced to ``[start, stop)``, so patient ``i`` is bit-for-bit the
  same whatever chunk holds it. It returns the covariates, per-arm endpoints, the marker panel and two stored
  outputs on a time grid. Execution knobs that do not change results (not in the fingerprint): ``delay``
  (seconds slept per call, to kill runs mid-way) and ``log`` (a file each call appends ``start stop pid`` to,
  to count what was recomputed).
- :func:`endpoints` ``(n, ...)``, for the read-outs, with known generating laws: one uniform draw per patient
  couples the arms (the same patient in every arm), so overall survival is exponential with rate ``rate`` in
  the reference arm and ``rate · hr[arm]`` in the others (proportional hazards, exactly); the blocker arm
  multiplies the reference arm's survival time by exp(gain(panel)), where the gain depends on the panel
  (``panel_effect``) or not at all; best response and grade-4 neutropenia are drawn with given
  probabilities per arm.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Mapping

import numpy as np
import xarray as xr

from chemohost._errors import ChemohostError

BLOCK = 1024
CLASSES = "CR PR SD PD"
ARMS = ("chemo", "chemo + blocker", "other")
"""The arms of :func:`endpoints`."""
MARKERS = ("IL-6", "VEGF-A", "MDSC")
"""The panel of :func:`endpoints`."""

CONTRACT = {  # name: (dims, units, long name)
    "bsa": (("patient",), "m2", "body-surface area"),
    "baseline_sld": (("patient",), "mm", "baseline sum of longest diameters"),
    "baseline_anc": (("patient",), "1e9/L", "baseline absolute neutrophil count"),
    "weight": (("patient",), "1", "prevalence weight"),
    "ttp": (("patient", "arm"), "day", "time to progression"),
    "progressed": (("patient", "arm"), "1", "progression observed"),
    "os": (("patient", "arm"), "day", "overall survival"),
    "died": (("patient", "arm"), "1", "death observed"),
    "best_response": (("patient", "arm"), "1", "best overall response"),
    "nadir_anc": (("patient", "arm"), "1e9/L", "nadir absolute neutrophil count"),
    "grade4_neutropenia": (("patient", "arm"), "1", "grade 4 neutropenia"),
    "dose_intensity": (("patient", "arm"), "1", "relative dose intensity"),
    "panel": (("patient", "arm", "marker"), "1", "log2 fold change at the panel day"),
    "tumour_size": (("patient", "arm", "time"), "mm", "sum of longest diameters"),
    "anc": (("patient", "arm", "time"), "1e9/L", "absolute neutrophil count"),
}
"""The contract's variables: dims, units and long name."""


def contract_dataset(values: Mapping[str, np.ndarray], coords: Mapping, attrs: Mapping) -> xr.Dataset:
    """A Dataset of ``values`` (names of :data:`CONTRACT`, in its order) with the contract's dims and attributes;
    ``best_response`` gets the flag values and meanings of ``chemohost.trial.simulate_patients``."""
    data = {}
    for name, (dims, units, long_name) in CONTRACT.items():
        if name in values:
            var_attrs = {"units": units, "long_name": long_name}
            if name == "best_response":
                var_attrs |= {"flag_values": np.arange(4, dtype=np.int8), "flag_meanings": CLASSES}
            data[name] = (dims, values[name], var_attrs)
    return xr.Dataset(data, coords=dict(coords), attrs=dict(attrs))


# ----------------------------------------------------------------------------- chunked: execution and storage
class StandinFilterError(ChemohostError):
    """The plausible-patient filter rejected every draw."""


@dataclasses.dataclass(frozen=True)
class StandinTrial:
    name: str = "standin"
    seed: int = 2026
    arms: tuple[str, ...] = ("docetaxel", "docetaxel+blocker")
    times: tuple[float, ...] = (0.0, 21.0, 42.0, 63.0)
    markers: tuple[str, ...] = ("IL-6", "CD8 T cells")
    bsa_range: tuple[float, float] = (1.2, 2.6)  # the plausible-patient filter
    delay: float = 0.0
    log: str | None = None

    def fingerprint(self) -> str:
        config = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("delay", "log")}
        return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()

    def with_seed(self, seed: int) -> StandinTrial:
        return dataclasses.replace(self, seed=seed)


def _block(trial: StandinTrial, block: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(trial.seed, spawn_key=(block,)))
    bsa = rng.normal(1.85, 0.2, BLOCK)
    low, high = trial.bsa_range
    for _ in range(50):  # reject and redraw within the block's own stream
        bad = (bsa < low) | (bsa > high)
        if not bad.any():
            break
        bsa[bad] = rng.normal(1.85, 0.2, int(bad.sum()))
    else:
        raise StandinFilterError(f"the plausible-patient filter bsa in {list(trial.bsa_range)} m2 rejected every "
                                 f"draw of block {block}; widen it")
    n_arms, n_markers = len(trial.arms), len(trial.markers)
    sld = rng.lognormal(np.log(80.0), 0.5, BLOCK)
    anc = rng.lognormal(np.log(4.5), 0.3, BLOCK)
    effect = rng.normal(0.0, 1.0, (BLOCK, n_arms))
    ttp = rng.exponential(180.0, (BLOCK, n_arms)) * np.exp(0.2 * effect)
    os_ = ttp + rng.exponential(250.0, (BLOCK, n_arms))
    growth = rng.normal(0.002, 0.004, (BLOCK, n_arms))
    t = np.asarray(trial.times)
    size = (sld[:, None, None] * np.exp(growth[:, :, None] * t)).astype(np.float32)
    anc_t = anc[:, None, None] * (1 - 0.5 * np.sin(t / 21.0 * np.pi) ** 2) * np.exp(0.1 * effect[:, :, None])
    return {
        "bsa": bsa, "baseline_sld": sld, "baseline_anc": anc, "weight": np.exp(-0.5 * (bsa - 1.85) ** 2),
        "ttp": ttp, "progressed": ttp < 365.0, "os": os_, "died": os_ < 730.0,
        "best_response": rng.integers(0, 4, (BLOCK, n_arms)).astype(np.int8),
        "nadir_anc": anc_t.min(axis=2), "grade4_neutropenia": anc_t.min(axis=2) < 0.5,
        "dose_intensity": np.clip(rng.normal(0.95, 0.05, (BLOCK, n_arms)), 0, 1),
        "panel": rng.normal(0.0, 1.0, (BLOCK, n_arms, n_markers)) + effect[:, :, None],
        "tumour_size": size, "anc": anc_t,
    }


def simulate_patients(trial: StandinTrial, start: int, stop: int) -> xr.Dataset:
    """Patients ``[start, stop)`` of the stand-in trial, all arms (see the module docstring)."""
    if trial.log:
        with open(trial.log, "a") as fh:
            fh.write(f"{start} {stop} {os.getpid()}\n")
    if trial.delay:
        time.sleep(trial.delay)
    first, last = start // BLOCK, (stop - 1) // BLOCK
    blocks = [_block(trial, b) for b in range(first, last + 1)]
    rows = slice(start - first * BLOCK, stop - first * BLOCK)
    return contract_dataset(
        {name: np.concatenate([b[name] for b in blocks])[rows] for name in CONTRACT},
        coords={"patient": np.arange(start, stop, dtype=np.int64), "arm": list(trial.arms),
                "time": ("time", np.asarray(trial.times), {"units": "day"}), "marker": list(trial.markers)},
        attrs={"trial": trial.name, "fingerprint": trial.fingerprint(), "seed": trial.seed,
               "blocks": last - first + 1},  # an attribute of the chunk, not of the trial
    )


# ----------------------------------------------------------------------------- known laws: read-outs
def endpoints(n: int = 400, *, seed: int = 0, rate: float = 1 / 300, hr_other: float = 0.7, follow_up: float = np.inf,
              panel_effect: bool = True, weights: np.ndarray | None = None,
              response: dict[str, tuple[float, float, float, float]] | None = None,
              grade4: dict[str, float] | None = None) -> xr.Dataset:
    """An endpoint Dataset of the arms :data:`ARMS` with known survival, response and toxicity laws (see the
    module docstring)."""
    rng = np.random.default_rng(seed)
    panel = rng.normal(size=(n, len(MARKERS)))
    u = rng.uniform(size=n)
    base = -np.log(u) / rate
    if panel_effect:
        signal = 2.0 * panel[:, 0] - panel[:, 1] + 0.5 * rng.normal(size=n)
    else:
        signal = rng.normal(size=n) * np.sqrt(5.25)
    gain = np.where(signal > 0.5, 0.8, -0.1)  # log time ratio of adding the blocker
    os_ = np.stack([base, base * np.exp(gain), base / hr_other], axis=1)
    ttp = 0.5 * os_
    response = response or {"chemo": (0.05, 0.25, 0.4, 0.3), "chemo + blocker": (0.05, 0.3, 0.4, 0.25),
                            "other": (0.1, 0.3, 0.35, 0.25)}
    grade4 = grade4 or {"chemo": 0.4, "chemo + blocker": 0.4, "other": 0.2}
    best = np.stack([rng.choice(4, size=n, p=response[arm]) for arm in ARMS], axis=1).astype(np.int8)
    g4 = np.stack([rng.uniform(size=n) < grade4[arm] for arm in ARMS], axis=1)
    values = {
        "bsa": rng.normal(1.85, 0.2, n),
        "weight": np.ones(n) if weights is None else np.asarray(weights, float),
        "os": np.minimum(os_, follow_up), "died": os_ < follow_up,
        "ttp": np.minimum(ttp, follow_up), "progressed": ttp < follow_up,
        "best_response": best, "grade4_neutropenia": g4,
        "nadir_anc": rng.lognormal(0.0, 0.5, (n, len(ARMS))),
        "dose_intensity": rng.uniform(0.7, 1.0, (n, len(ARMS))),
        "panel": np.repeat(panel[:, None, :], len(ARMS), axis=1),
    }
    return contract_dataset(values, coords={"patient": np.arange(n, dtype=np.int64), "arm": list(ARMS),
                                            "marker": list(MARKERS)},
                            attrs={"trial": "stand-in", "fingerprint": "stand-in", "seed": seed})
