"""Published qualitative host-response results, read off a study's results.

The reference study RMM-1 contains the arms needed to check the host-response
facts of VALIDATION V15, V16, V17 and V20 (Shaked 2008, Bertolini 2003,
Nakasone 2012). :func:`reference_checks` computes each read-out from the
cohort medians and states whether the published criterion holds; the report
shows the table and the test suite asserts it. Published *numbers* (fold
changes, ratios between arms, times after a dose) are quantitative targets,
declared in :mod:`chemohost.targets` and shown in the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr

from .quantities import CEP, HOMED_EPC, HOMED_MYELOID

__all__ = ["Check", "reference_checks"]

VOLUME = "Tumour volume [mm3]"
TREATMENT_START = 10.0


@dataclass(frozen=True)
class Check:
    """One published result: what is compared, the criterion, the computed values and whether it holds."""

    id: str
    fact: str
    source: str
    criterion: str
    values: str
    passed: bool


def _median(results: xr.Dataset, name: str, arm: str) -> xr.DataArray:
    return results[name].sel(arm=arm).median("patient")


def _window(series: xr.DataArray, start: float, end: float) -> xr.DataArray:
    return series.sel(time=slice(start, end))


def _v15(results):
    pac, gem = (_window(_median(results, CEP, a), TREATMENT_START, TREATMENT_START + 1) for a in ("paclitaxel MTD", "gemcitabine"))
    day3 = float(_median(results, CEP, "paclitaxel MTD").interp(time=TREATMENT_START + 3))
    homed = {a: float(_window(_median(results, HOMED_EPC, a), TREATMENT_START, TREATMENT_START + 7).max())
             for a in ("paclitaxel MTD", "vehicle")}
    ok = float(pac.max()) >= 3 and day3 < 1.5 and float(gem.max()) < 1.2 and homed["paclitaxel MTD"] > homed["vehicle"]
    return Check(
        "V15", "Paclitaxel, not gemcitabine, mobilises CEPs that home to the tumour", "Shaked et al. 2008",
        "paclitaxel CEP peak ≥ 3× within 24 h and < 1.5× by day 3; gemcitabine peak < 1.2×; homed EPCs above vehicle",
        f"paclitaxel peak {float(pac.max()):.2f}×, day 3 {day3:.2f}×; gemcitabine peak {float(gem.max()):.2f}×; "
        f"homed EPC max {homed['paclitaxel MTD']:.2f} vs vehicle {homed['vehicle']:.2f}", ok)


def _v16(results, day: float):
    volume = {a: float(_median(results, VOLUME, a).interp(time=day)) for a in results.arm.values}
    benefit = {x: volume[x] / volume[b] for x, b in (("vehicle", "anti-VEGFR2 alone"),
                                                      ("paclitaxel MTD", "paclitaxel + anti-VEGFR2"),
                                                      ("gemcitabine", "gemcitabine + anti-VEGFR2"))}
    r_pac = benefit["paclitaxel MTD"] / benefit["vehicle"]
    r_gem = benefit["gemcitabine"] / benefit["vehicle"]
    ok = r_pac > 1 and r_pac - 1 >= 2 * abs(r_gem - 1) and abs(r_gem - 1) <= 0.10
    return Check(
        "V16", "Anti-VEGFR2 enhances paclitaxel, not gemcitabine", "Shaked et al. 2008",
        f"R = [V(drug)/V(drug + DC101)] / [V(vehicle)/V(DC101)] on day {day:g}: R_paclitaxel > 1, "
        "R_paclitaxel − 1 ≥ 2·|R_gemcitabine − 1|, R_gemcitabine within 1 ± 0.10",
        f"R_paclitaxel {r_pac:.2f}, R_gemcitabine {r_gem:.2f}", ok)


def _v17(results):
    mtd = _median(results, CEP, "paclitaxel MTD")
    doses = (10.0, 17.0, 24.0)
    peaks = [float(_window(mtd, d, d + 2).max()) for d in doses]
    troughs = [float(mtd.interp(time=d - 0.01)) for d in doses[1:]]
    metronomic = _window(_median(results, CEP, "metronomic cyclophosphamide"), TREATMENT_START + 3,
                         float(results.time[-1]))
    ok = min(peaks) > 1.5 and max(troughs) <= 1.1 and float(metronomic.max()) < 1.0
    return Check(
        "V17", "MTD cycles give a CEP rebound after each dose; metronomic dosing suppresses CEPs",
        "Bertolini et al. 2003; Shaked et al. 2005",
        "paclitaxel MTD: CEP peak > 1.5× after every dose, ≤ 1.1× before the next; metronomic cyclophosphamide: "
        "CEPs below baseline from day 3 of treatment",
        f"MTD peaks {', '.join(f'{p:.2f}×' for p in peaks)}; pre-dose {', '.join(f'{t:.2f}×' for t in troughs)}; "
        f"metronomic max {float(metronomic.max()):.2f}×", ok)


def _v20(results, day: float):
    alone, blocked = (float(_median(results, VOLUME, a).interp(time=day))
                      for a in ("doxorubicin", "doxorubicin + CCR2 antagonist"))
    homed = {a: float(_median(results, HOMED_MYELOID, a).interp(time=day))
             for a in ("doxorubicin", "doxorubicin + CCR2 antagonist")}
    ok = blocked / alone < 1 and homed["doxorubicin + CCR2 antagonist"] < homed["doxorubicin"]
    return Check(
        "V20", "CCR2 blockade improves the doxorubicin response", "Nakasone et al. 2012",
        f"on day {day:g}: fewer homed myeloid cells and V(doxorubicin + CCR2 antagonist)/V(doxorubicin) < 1",
        f"volume ratio {blocked / alone:.2f}; homed myeloid {homed['doxorubicin + CCR2 antagonist']:.2f} vs "
        f"{homed['doxorubicin']:.2f}", ok)


CHECKS = {
    "V15": (("vehicle", "paclitaxel MTD", "gemcitabine"), lambda r, day: _v15(r)),
    "V16": (("vehicle", "anti-VEGFR2 alone", "paclitaxel MTD", "paclitaxel + anti-VEGFR2", "gemcitabine",
             "gemcitabine + anti-VEGFR2"), _v16),
    "V17": (("paclitaxel MTD", "metronomic cyclophosphamide"), lambda r, day: _v17(r)),
    "V20": (("doxorubicin", "doxorubicin + CCR2 antagonist"), _v20),
}


def reference_checks(results: xr.Dataset, day: float = 31.0) -> list[Check]:
    """The V15–V17 and V20 checks whose arms (named as in the reference study) are in ``results``."""
    arms = set(map(str, results.arm.values)) if "arm" in results.dims else set()
    if CEP not in results or VOLUME not in results or results.time.values[-1] < day:
        return []
    return [check(results, day) for needed, check in CHECKS.values() if set(needed) <= arms]
