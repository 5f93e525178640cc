"""A small stand-in trial that honours the trial contract, to test execution and storage without the engine.

Not shipped code: ``simulate_patients(trial, start, stop)`` draws each patient's
values from the fixed block of ``BLOCK`` patients that holds it
(``SeedSequence(seed, spawn_key=(block,))``, vectorised within the block,
implausible draws rejected and redrawn within the block's own stream) and slices
the blocks to ``[start, stop)``, so patient ``i`` is bit-for-bit the same
whatever chunk holds it. It returns the contract's variables (covariates,
per-arm endpoints, the marker panel, two stored outputs on a time grid) with
units and long names.

Execution knobs that do not change results (not in the fingerprint):
``delay`` (seconds slept per call, to kill runs mid-way) and ``log`` (a file
each call appends ``start stop pid`` to, to count what was recomputed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time

import numpy as np
import xarray as xr

from chemohost._errors import ChemohostError

BLOCK = 1024


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


_META = {  # name: (dims, units, long name)
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
    data = {}
    for name, (dims, units, long_name) in _META.items():
        values = np.concatenate([b[name] for b in blocks])[rows]
        attrs = {"units": units, "long_name": long_name}
        if name == "best_response":
            attrs |= {"flag_values": [0, 1, 2, 3], "flag_meanings": "CR PR SD PD"}
        data[name] = (dims, values, attrs)
    return xr.Dataset(
        data,
        coords={"patient": np.arange(start, stop, dtype=np.int64), "arm": list(trial.arms),
                "time": ("time", np.asarray(trial.times), {"units": "day"}), "marker": list(trial.markers)},
        attrs={"trial": trial.name, "fingerprint": trial.fingerprint(), "seed": trial.seed,
               "blocks": last - first + 1},  # an attribute of the chunk, not of the trial
    )
