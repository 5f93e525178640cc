"""Clinical and preclinical read-outs: mRECIST (VALIDATION V12, V13), RECIST 1.1, TGI, T/C, TGD, time to endpoint.

V12 checks every unit case of the rule exactly (BR and BAR to 1e-3); V13
applies it to the PDXE raw volumes in ``../shared/data/pdxe_gao2015`` and
checks the class counts exactly (skipped when the folder is absent). The
growth read-outs are checked on synthetic curves whose answers are known in
closed form.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from chemohost import ChemohostError
from chemohost.outcomes import (
    OutcomeError,
    mrecist,
    mrecist_table,
    pdxe_mrecist,
    pdxe_mrecist_counts,
    recist,
    recist_table,
    t_over_c,
    time_to_endpoint,
    tumour_growth_delay,
    tumour_growth_inhibition,
)

PDXE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pdxe_gao2015"
VOLUME = "Tumour volume [mm3]"


def _one_line_error(excinfo, *words):
    message = str(excinfo.value)
    assert isinstance(excinfo.value, ChemohostError)
    assert "\n" not in message and message
    for word in words:
        assert word in message, message


# ----------------------------------------------------------------------------- V12
V12_CASES = {
    # case: (times [day], volumes [mm3], BR [%], BAR [%], class)
    "Xeva documentation example": (
        [0, 3, 7, 11, 18, 22, 26, 30, 32, 35],
        [250.8, 320.4, 402.3, 382.6, 384, 445.9, 460.2, 546.8, 554.3, 617.9], 52.552, 35.177, "PD"),
    "CR": ([0, 4, 8, 12, 16, 20], [100, 50, 10, 3, 2, 1], -99.0, -72.333, "CR"),
    "PR": ([0, 4, 8, 12, 16, 20], [200, 150, 100, 90, 80, 90], -60.0, -40.833, "PR"),
    "SD": ([0, 4, 8, 12, 16, 20], [200, 210, 220, 230, 240, 250], 15.0, 7.5, "SD"),
    "PD": ([0, 4, 8, 12, 16, 20], [200, 240, 280, 320, 360, 400], 60.0, 30.0, "PD"),
    "shrinkage only before day 10": ([0, 3, 7, 10, 14], [200, 20, 5, 150, 300], -25.0, -53.125, "SD"),
    "BR exactly -50 (strict)": ([0, 5, 10, 15], [100, 60, 50, 60], -50.0, -32.5, "SD"),
    "< 2 points at t >= 10": ([0, 5, 9, 12], [100, 80, 70, 60], np.nan, np.nan, None),
    "V0 = 0": ([0, 5, 10, 15], [0, 0, 0, 0], 0.0, 0.0, "SD"),
}


@pytest.mark.parametrize("case", list(V12_CASES))
def test_v12_mrecist_unit_cases(case):
    times, volumes, br, bar, category = V12_CASES[case]
    result = mrecist(times, volumes)
    assert result.category == category
    if category is None:
        assert np.isnan(result.best_response) and np.isnan(result.best_average_response)
    else:
        assert result.best_response == pytest.approx(br, abs=1e-3)
        assert result.best_average_response == pytest.approx(bar, abs=1e-3)


def test_v12_strict_inequalities_and_order():
    # BR just inside CR but BAR not below -40 -> PR; each bound is strict
    assert mrecist([0, 10, 20], [100, 100, 4]).category == "PR"  # BR -96, BAR -32
    assert mrecist([0, 10, 20], [100, 135, 140]).category == "PD"  # BR 35 exactly is not < 35
    assert mrecist([0, 10, 20], [100, 134.9, 134.9]).category == "SD"
    result = mrecist([0, 3, 7, 11, 18], [100, 80, 60, 40, 45])
    assert result.best_response_time == 11 and result.best_average_response_time == 18


@pytest.mark.parametrize(
    "times, volumes, words",
    [
        ([0, 10, 5, 20], [1, 2, 3, 4], ["times", "strictly increasing", "unsorted", "times[2] = 5"]),
        ([0, 10, 10, 20], [1, 2, 3, 4], ["times", "duplicate time", "times[2] = 10"]),
        ([0, 10, 20], [100, -1, 50], ["values[1]", "negative"]),
        ([0, 10, 20], [100, 50], ["values", "2 values", "times has 3"]),
        ([0, 10, 20], [100, np.nan, 50], ["values[1]", "not a finite"]),
        ([0, np.inf], [100, 50], ["times[1]", "finite"]),
        ([0, 10], [[1, 2], [3, 4]], ["values", "shape"]),
        ("abc", [1], ["times"]),
    ],
)
def test_mrecist_bad_input_is_one_line(times, volumes, words):
    with pytest.raises(OutcomeError) as excinfo:
        mrecist(times, volumes)
    _one_line_error(excinfo, *words)


def _study_like(curves: dict[str, list[list[float]]], times) -> xr.Dataset:
    """A Dataset laid out like :func:`chemohost.study.run_study` (dims arm, patient, time)."""
    arms = list(curves)
    data = np.array([curves[a] for a in arms], dtype=float)
    return xr.Dataset(
        {VOLUME: (("arm", "patient", "time"), data, {"units": "mm3"})},
        coords={"arm": np.array(arms, dtype=object), "patient": np.arange(data.shape[1]),
                "time": ("time", np.asarray(times, float), {"units": "day"})},
    )


def test_mrecist_table_counts_days_from_treatment_start():
    start = 10.0
    grid = np.arange(0.0, 31.0, 2.0)  # saved every 2 days; treatment from day 10
    rel = grid[grid >= start] - start  # 0, 2, ..., 20
    pre = np.full(int((grid < start).sum()), 5.0)  # pre-treatment volumes must be ignored
    curves = {
        "shrink": [np.r_[pre, 200 * np.exp(-0.2 * rel)], np.r_[pre, 200 * (1 + 0.01 * rel)]],
        "grow": [np.r_[pre, 200 * np.exp(0.05 * rel)], np.r_[pre, np.where(rel < 12, 200.0, np.nan)]],
    }
    table = mrecist_table(_study_like(curves, grid), start=start)
    assert list(table.columns) == ["arm", "patient", "BR [%]", "BAR [%]", "class"]
    assert table.attrs["start [day]"] == start
    for row in table.itertuples(index=False):
        curve = np.asarray(curves[row.arm][row.patient])[grid >= start]
        if np.isnan(curve).any():  # failed solve -> no class
            assert row[4] is None and np.isnan(row[2]) and np.isnan(row[3])
            continue
        expected = mrecist(rel, curve)
        assert row[2] == pytest.approx(expected.best_response)
        assert row[3] == pytest.approx(expected.best_average_response)
        assert row[4] == expected.category
    assert table["class"].tolist() == ["CR", "SD", "PD", None]
    # a single simulate() result (no arm dimension) gives the same rows without the arm column
    one = mrecist_table(_study_like(curves, grid)[VOLUME].sel(arm="shrink", drop=True).to_dataset(), start=start)
    assert "arm" not in one and one["class"].tolist() == ["CR", "SD"]


def test_mrecist_table_bad_input():
    ds = _study_like({"a": [[100, 120, 140]]}, [0, 10, 20])
    with pytest.raises(OutcomeError) as excinfo:
        mrecist_table(ds, start=25)
    _one_line_error(excinfo, "start = 25", "after the last saved time")
    with pytest.raises(OutcomeError) as excinfo:
        mrecist_table(ds, start=0, variable="Tumour volume [mm^3]")
    _one_line_error(excinfo, "did you mean 'Tumour volume [mm3]'")
    with pytest.raises(OutcomeError) as excinfo:
        mrecist_table(ds, start=0, arm_dim="regimen")
    _one_line_error(excinfo, "dims", "arm_dim")
    with pytest.raises(OutcomeError) as excinfo:
        mrecist_table(_study_like({"a": [[100, -1, 140]]}, [0, 10, 20]), start=0)
    _one_line_error(excinfo, "negative", "arm a", "patient 0", "day 10")


# ----------------------------------------------------------------------------- V13
V13_COUNTS = {
    # arm: (curves, CR, PR, SD, PD, no class)
    "paclitaxel": (67, 4, 7, 26, 27, 3),
    "5FU": (43, 0, 1, 26, 16, 0),
    "abraxane": (38, 0, 1, 5, 30, 2),
    "gemcitabine-50mpk": (38, 4, 7, 18, 8, 1),
    "dacarbazine": (32, 2, 2, 10, 16, 2),
    "LCL161 + paclitaxel": (29, 5, 8, 7, 7, 2),
    "untreated": (229, 0, 2, 41, 174, 12),
}
V13_BY_TYPE = {
    ("paclitaxel", "BRCA"): (3, 5, 18, 13, 0),
    ("paclitaxel", "NSCLC"): (1, 2, 8, 14, 3),
    ("gemcitabine-50mpk", "PDAC"): (4, 6, 18, 8, 1),
    ("gemcitabine-50mpk", "CRC"): (0, 1, 0, 0, 0),
    ("abraxane", "PDAC"): (0, 1, 5, 29, 2),
    ("abraxane", "CRC"): (0, 0, 0, 1, 0),
}


@pytest.fixture(scope="module")
def pdxe():
    if not (PDXE / "TAone.volume.data.csv").is_file():
        pytest.skip(f"PDXE data not found at {PDXE}")
    return pdxe_mrecist(PDXE)


@pytest.mark.data
def test_v13_pdxe_counts_per_arm(pdxe):
    counts = pdxe_mrecist_counts(PDXE)
    assert list(counts.columns) == ["curves", "CR", "PR", "SD", "PD", "none"]
    for arm, expected in V13_COUNTS.items():
        assert tuple(counts.loc[arm]) == expected, arm
    assert len(counts) == 62
    assert tuple(counts.sum()) == (4712, 142, 337, 1996, 2049, 188)


@pytest.mark.data
def test_v13_pdxe_counts_by_tumour_type(pdxe):
    counts = pdxe_mrecist_counts(PDXE, by=["arm", "tumour type"])
    for key, expected in V13_BY_TYPE.items():
        assert tuple(counts.loc[key, ["CR", "PR", "SD", "PD", "none"]]) == expected, key
    assert pdxe["tumour type"].notna().all()  # the 38 blank Type rows are filled from the model


@pytest.mark.data
def test_v13_table_agrees_with_the_single_curve_rule(pdxe):
    """The padded, vectorised path gives what :func:`mrecist` gives curve by curve."""
    raw = pd.read_csv(PDXE / "TAone.volume.data.csv")
    arms = ["paclitaxel", "LCL161 + paclitaxel"]
    late = raw.groupby(["Tumor", "Arms", "ID"])["Times"].transform("min") > 0
    chosen = raw[raw["Arms"].isin(arms) | late]  # includes the 7 curves that start after day 0
    rows = pdxe.set_index(["model", "arm", "animal"])
    for (tumor, arm, animal), curve in chosen.groupby(["Tumor", "Arms", "ID"]):
        curve = curve.sort_values("Times")
        expected = mrecist(curve["Times"], curve["Volume"])
        row = rows.loc[(tumor, arm, animal)]
        assert row["class"] == expected.category
        assert row["BR [%]"] == pytest.approx(expected.best_response, nan_ok=True)
        assert row["BAR [%]"] == pytest.approx(expected.best_average_response, nan_ok=True)


def test_pdxe_bad_files(tmp_path):
    with pytest.raises(OutcomeError) as excinfo:
        pdxe_mrecist_counts(tmp_path)
    _one_line_error(excinfo, "not found", "TAone.volume.data.csv")
    file = tmp_path / "TAone.volume.data.csv"
    file.write_text("Tumor,ID,Type,Arms,Times\nX-1,1,BRCA,untreated,0\n")
    with pytest.raises(OutcomeError) as excinfo:
        pdxe_mrecist_counts(tmp_path)
    _one_line_error(excinfo, str(file), "missing column 'Volume'")
    file.write_text("Tumor,ID,Type,Arms,Times,Volume\nX-1,1,BRCA,untreated,0,100\nX-1,1,BRCA,untreated,10,abc\n")
    with pytest.raises(OutcomeError) as excinfo:
        pdxe_mrecist_counts(file)
    _one_line_error(excinfo, str(file), "'Volume'", "line 3")
    file.write_text("Tumor,ID,Type,Arms,Times,Volume\nX-1,1,BRCA,untreated,0,100\nX-1,1,BRCA,untreated,0,90\n")
    with pytest.raises(OutcomeError) as excinfo:
        pdxe_mrecist_counts(file)
    _one_line_error(excinfo, "Tumor=X-1", "Times = 0")
    file.write_text("")
    with pytest.raises(OutcomeError) as excinfo:
        pdxe_mrecist_counts(file)
    _one_line_error(excinfo, str(file))
    with pytest.raises(OutcomeError) as excinfo:
        pdxe_mrecist_counts(PDXE, by="Arms")
    _one_line_error(excinfo, "grouping column", "accepted")


def test_pdxe_small_file_counts(tmp_path):
    """Curves keyed by (Tumor, Arms, ID), rows in any order, blank Type filled from the model."""
    rows = [
        ("X-1", 1, "BRCA", "untreated", t, v) for t, v in [(14, 300), (0, 100), (7, 200), (21, 400)]
    ] + [
        ("X-1", 1, "", "drug", t, v) for t, v in [(0, 100), (10, 2), (20, 1)]   # same ID, other arm
    ] + [
        ("X-1", 2, "BRCA", "untreated", t, v) for t, v in [(0, 100), (10, 90), (20, 95)]
    ]
    pd.DataFrame(rows, columns=["Tumor", "ID", "Type", "Arms", "Times", "Volume"]).to_csv(
        tmp_path / "TAone.volume.data.csv", index=False)
    table = pdxe_mrecist(tmp_path)
    assert table["class"].tolist() == ["CR", "PD", "SD"]
    assert set(table["tumour type"]) == {"BRCA"}
    counts = pdxe_mrecist_counts(tmp_path)
    assert counts.loc["untreated"].tolist() == [2, 0, 0, 1, 1, 0]


# ----------------------------------------------------------------------------- RECIST 1.1
def _sphere(d):
    return np.pi / 6 * np.asarray(d, float) ** 3


def test_recist_pr_boundary_is_inclusive_in_both_forms():
    # V/V0 = 0.343 exactly (within rounding) is PR; just above is SD
    assert recist([0, 28], [100.0, 34.3]).responses[1] == "PR"
    assert recist([0, 28], [100.0, 34.31]).responses[1] == "SD"
    # a sphere whose diameter is exactly 0.7 x baseline is PR as a diameter and as a volume (0.7**3 != 0.343 in floats)
    assert recist([0, 28], [10.0, 7.0], kind="diameter").responses[1] == "PR"
    assert recist([0, 28], _sphere([10.0, 7.0])).responses[1] == "PR"
    assert recist([0, 28], [10.0, 7.01], kind="diameter").responses[1] == "SD"
    assert recist([0, 28], _sphere([10.0, 7.01])).responses[1] == "SD"
    assert _sphere(5.0) == pytest.approx(65.4, abs=0.1)  # 5-mm lesion, VALIDATION V12


def test_recist_pd_is_measured_from_the_nadir():
    # falls to 30 (PR), then regrows to 1.728 x nadir = 51.84: PD although still 48 % below baseline
    r = recist([0, 28, 56, 84], [100, 30, 51.84, 40])
    assert r.responses == (None, "PR", "PD", "SD")
    assert r.best_overall_response == "PR" and r.progressed and r.time_to_progression == 56
    r = recist([0, 28, 56], [100, 30, 51.8])
    assert r.responses[2] == "SD" and not r.progressed and np.isnan(r.time_to_progression) and r.follow_up == 56
    # a sphere whose diameter grew 20 % from its nadir is PD in both forms
    assert recist([0, 1, 2], [60, 30, 36], kind="diameter").responses[2] == "PD"
    assert recist([0, 1, 2], _sphere([60, 30, 36])).responses[2] == "PD"
    # (1.2 d)**3 falls below 1.728 d**3 in floats for d = 10: still PD as a volume (boundary inclusive) ...
    assert recist([0, 1, 2], _sphere([20, 10, 12])).responses[2] == "PD"
    # ... but not as a diameter, which also needs +5 mm (here +2 mm; 12 <= 0.7 x 20 is PR)
    assert recist([0, 1, 2], [20, 10, 12], kind="diameter").responses[2] == "PR"


def test_recist_diameters_need_five_mm():
    # +25 % from the nadir but only +2.5 mm: not PD (still <= 0.7 x baseline: PR)
    assert recist([0, 1, 2], [20, 10, 12.5], kind="diameter").responses[2] == "PR"
    assert recist([0, 1, 2], [40, 25, 30], kind="diameter").responses[2] == "PD"  # +20 %, +5 mm exactly
    assert recist([0, 1, 2], [40, 25, 29.9], kind="diameter").responses[2] == "SD"
    # volumes have no absolute requirement
    assert recist([0, 1, 2], [10, 1, 1.8]).responses[2] == "PD"


def test_recist_complete_response_and_best_overall():
    r = recist([0, 28, 56, 84], [100, 0, 0, 5])
    assert r.responses == (None, "CR", "CR", "PD") and r.best_overall_response == "CR"
    assert r.time_to_progression == 84
    assert recist([0, 1], [100, 0.5], complete_below=1.0).responses[1] == "CR"
    r = recist([10, 38, 66], [100, 200, 50])  # PD at the first assessment; later shrinkage does not count
    assert r.best_overall_response == "PD" and r.time_to_progression == 28
    r = recist([0], [100])
    assert r.best_overall_response is None and not r.progressed


def test_recist_bad_input():
    with pytest.raises(OutcomeError) as excinfo:
        recist([0, 28], [0, 10])
    _one_line_error(excinfo, "values[0]", "baseline", "positive")
    with pytest.raises(OutcomeError) as excinfo:
        recist([0, 28], [10, 8], kind="diamter")
    _one_line_error(excinfo, "did you mean 'diameter'")
    with pytest.raises(OutcomeError) as excinfo:
        recist([28, 0], [10, 8])
    _one_line_error(excinfo, "times", "strictly increasing")
    with pytest.raises(OutcomeError) as excinfo:
        recist([0, 28], [10, 8, 9])
    _one_line_error(excinfo, "values", "3 values")


def test_recist_table_matches_single_patient_rule():
    grid = np.arange(0.0, 57.0, 7.0)
    curves = {"a": [[100, 100, 90, 60, 30, 20, 25, 40, 60],
                    [100, 120, 150, 190, 240, 300, np.nan, np.nan, np.nan]]}
    table = recist_table(_study_like(curves, grid), start=7.0)
    first = recist(grid[1:] - 7, curves["a"][0][1:])
    assert table.loc[0, "best overall response"] == first.best_overall_response == "PR"
    assert table.loc[0, "time to progression [day]"] == first.time_to_progression == 42  # 40 = 2 x nadir 20
    assert table.loc[1, "best overall response"] == "SD" and table.loc[1, "time to progression [day]"] == 21
    assert table.loc[1, "follow-up [day]"] == 28  # last finite volume at day 35
    # a scan every 14 days from day 7: days 7, 21, 35, 49
    scans = recist_table(_study_like(curves, grid), start=7.0, assessment_interval=14.0)
    assert scans["best overall response"].tolist() == ["PR", "SD"]
    assert scans["time to progression [day]"].tolist() == [42, 28]  # 60 = 3 x nadir 20; 300 = 2.5 x 120
    assert scans["follow-up [day]"].tolist() == [42, 28]  # patient 1 failed after day 35
    late = recist_table(_study_like(curves, grid), start=7.0, assessment_interval=14.0, sd_min_duration=28)
    assert late["best overall response"].tolist() == ["PR", "PD"]  # SD at day 14 is too early to count
    with pytest.raises(OutcomeError) as excinfo:
        recist_table(_study_like(curves, grid), start=7.0, assessment_interval=0)
    _one_line_error(excinfo, "assessment_interval = 0")


def test_recist_minimum_sd_duration():
    times = [0, 28, 56]
    assert recist(times, [100, 110, 200]).best_overall_response == "SD"
    assert recist(times, [100, 110, 200], sd_min_duration=42).best_overall_response == "PD"
    assert recist(times, [100, 110, 120], sd_min_duration=42).best_overall_response == "SD"
    assert recist(times[:2], [100, 110], sd_min_duration=42).best_overall_response is None
    assert recist(times[:2], [100, 30], sd_min_duration=42).best_overall_response == "PR"  # only SD waits
    with pytest.raises(OutcomeError) as excinfo:
        recist(times[:2], [100, 110], sd_min_duration=-1)
    _one_line_error(excinfo, "sd_min_duration")


# ----------------------------------------------------------------------------- growth read-outs
def _group(times, rates, v0=100.0):
    """Exponential curves 100·exp(r t), one column per animal, as a DataFrame indexed by time."""
    return pd.DataFrame({i: v0 * np.exp(r * times) for i, r in enumerate(rates)}, index=times)


def test_tgi_and_t_over_c_on_exponential_curves():
    t = np.arange(0.0, 31.0)
    control, treated = _group(t, [0.08, 0.10, 0.12]), _group(t, [0.02, 0.03, 0.09])  # medians: 0.10 and 0.03
    expected = 1 - (np.exp(0.03 * 20) - np.exp(0.03 * 5)) / (np.exp(0.10 * 20) - np.exp(0.10 * 5))
    assert tumour_growth_inhibition(treated, control, start=5, end=20) == pytest.approx(expected, rel=1e-12)
    assert t_over_c(treated, control, time=20) == pytest.approx(np.exp(-0.07 * 20), rel=1e-12)
    assert t_over_c(treated, control, time=20, start=5) == pytest.approx(1 - expected, rel=1e-12)
    # the same through a study-like DataArray, arm selected
    ds = _study_like({"vehicle": control.T.to_numpy(), "drug": treated.T.to_numpy()}, t)
    tgi = tumour_growth_inhibition(ds[VOLUME].sel(arm="drug"), ds[VOLUME].sel(arm="vehicle"), start=5, end=20)
    assert tgi == pytest.approx(expected, rel=1e-12)
    # regression gives TGI > 1, stasis exactly 1
    shrinking = (t, 100 * np.exp(-0.05 * t))
    assert tumour_growth_inhibition(shrinking, control, start=0, end=20) > 1
    assert tumour_growth_inhibition((t, np.full_like(t, 100.0)), control, start=0, end=20) == 1.0
    # interpolation between saved times is linear
    two = np.array([0.0, 10.0])
    assert t_over_c((two, [100, 200]), (two, [100, 400]), time=5) == pytest.approx(0.6)


def test_tgi_failed_animals_are_left_out_of_the_median():
    t = np.arange(0.0, 11.0)
    treated = _group(t, [0.01, 0.02, 0.03])
    treated[2] = np.where(t > 4, np.nan, treated[2])  # third animal's solve failed after day 4
    control = _group(t, [0.1])
    expected = 1 - (np.median(100 * np.exp(np.array([0.01, 0.02]) * 10)) - 100) / (100 * np.exp(1.0) - 100)
    assert tumour_growth_inhibition(treated, control, start=0, end=10) == pytest.approx(expected, rel=1e-12)


def test_tumour_growth_delay_linear_curves():
    t = np.arange(0.0, 41.0, 2.5)
    control = pd.DataFrame({i: 100 + r * t for i, r in enumerate([40, 50, 60])}, index=t)  # median: day 10
    treated = pd.DataFrame({i: 100 + r * t for i, r in enumerate([20, 25, 100])}, index=t)  # median at day 20
    assert tumour_growth_delay(treated, control, threshold=600) == pytest.approx(10.0, abs=1e-12)
    # exponential curves: TGD = ln(V*/V0) (1/r_T - 1/r_C), up to the linear interpolation on a fine grid
    fine = np.arange(0.0, 60.0, 0.01)
    tgd = tumour_growth_delay(_group(fine, [0.05]), _group(fine, [0.1]), threshold=400)
    assert tgd == pytest.approx(np.log(4) * (1 / 0.05 - 1 / 0.1), abs=1e-3)
    # never reached: inf, -inf, NaN
    flat = pd.DataFrame({0: np.full_like(t, 100.0), 1: np.full_like(t, 100.0), 2: 100 + 50 * t}, index=t)
    assert tumour_growth_delay(flat, control, threshold=600) == np.inf  # 2 of 3 treated never reach V*
    assert tumour_growth_delay(control, flat, threshold=600) == -np.inf
    assert np.isnan(tumour_growth_delay(flat, flat, threshold=600))


def test_time_to_endpoint_event_and_censoring():
    t = np.array([0.0, 7.0, 14.0, 21.0])
    volumes = np.array([
        [100, 300, 900, 1500],      # crosses 600 between day 7 and 14
        [100, 120, 140, 160],       # never: censored at day 21
        [700, 800, 900, 1000],      # already above at the first time
        [100, 200, np.nan, np.nan],  # failed solve: censored at day 7
    ])
    table = time_to_endpoint(t, volumes, threshold=600)
    assert list(table.columns) == ["time [day]", "duration [day]", "event"]
    assert table["time [day]"].tolist()[0] == pytest.approx(10.5)
    assert np.isnan(table["time [day]"]).tolist() == [False, True, False, True]
    assert table["duration [day]"].tolist() == pytest.approx([10.5, 21.0, 0.0, 7.0])
    assert table["event"].tolist() == [True, False, True, False]
    assert time_to_endpoint(t, volumes, threshold=600, interpolate=False)["time [day]"].iloc[0] == 14.0
    one = time_to_endpoint(t, volumes[0], threshold=1500)
    assert len(one) == 1 and one["time [day]"].iloc[0] == 21.0
    # a labelled cohort keeps its labels
    ds = _study_like({"a": volumes[:2], "b": volumes[2:]}, t)
    labelled = time_to_endpoint(ds[VOLUME], threshold=600)
    assert labelled.index.names == ["arm", "patient"]
    assert labelled.loc[("b", 0), "event"] and not labelled.loc[("a", 1), "event"]


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda c: tumour_growth_inhibition(c, c, start=5, end=50), ["end = 50", "outside the saved times"]),
        (lambda c: tumour_growth_inhibition(c, c, start=10, end=10), ["end = 10", "after start"]),
        (lambda c: tumour_growth_inhibition(c, (c.index.to_numpy(), np.full(len(c), 5.0)), start=0, end=10),
         ["control", "does not change"]),
        (lambda c: t_over_c(c, [1, 2, 3], time=5), ["control", "DataArray"]),
        (lambda c: time_to_endpoint(c, threshold=-1), ["threshold", "positive"]),
        (lambda c: time_to_endpoint(c.index, c, threshold=100), ["values", "carries its own times"]),
        (lambda c: time_to_endpoint([0, 10, 20], [100, 200], threshold=150), ["values", "times has 3"]),
        (lambda c: tumour_growth_delay((np.array([0.0, 1.0]), [np.nan, np.nan]), c, threshold=150), ["treated", "NaN"]),
        (lambda c: tumour_growth_inhibition((np.array([1.0, 0.0]), [1, 2]), c, start=0, end=1),
         ["treated times", "unsorted"]),
    ],
)
def test_growth_readouts_bad_input(call, words):
    control = _group(np.arange(0.0, 31.0), [0.1])
    with pytest.raises(OutcomeError) as excinfo:
        call(control)
    _one_line_error(excinfo, *words)


def test_recist_table_counts_a_new_lesion_as_progression():
    import xarray as xr

    from chemohost.outcomes import recist_table

    times = np.arange(0.0, 57.0, 7.0)
    shrinking = 1000.0 * np.exp(-0.01 * times)  # PR never reached, no PD from the target lesion
    volume = xr.DataArray(np.stack([shrinking, shrinking]), dims=("patient", "time"),
                          coords={"patient": [0, 1], "time": times}, name="Tumour volume [mm3]")
    lesions = xr.DataArray([np.nan, 30.0], dims=("patient",), coords={"patient": [0, 1]})
    table = recist_table(volume, start=0.0, new_lesions=lesions)
    assert list(table["progressed"]) == [False, True]
    assert table["time to progression [day]"].iloc[1] == 35.0  # the first assessment at or after day 30
    with pytest.raises(Exception, match="new_lesions must be a DataArray"):
        recist_table(volume, start=0.0, new_lesions=[1.0, 2.0])
