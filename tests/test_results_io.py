"""Results on disk: self-explaining CF-style names, units on every variable, and files of the earlier layout."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import xarray as xr

import chemohost as ch
from chemohost.io import RESULTS_FORMAT, disk_names, load_results, netcdf_name, save_results
from chemohost.metastasis import COHORT_COUNTS, COHORT_LOG_SIZES, cohort_grid

PLASMA = ("Plasma paclitaxel [ng/mL]", "Plasma paclitaxel [uM]")


def assert_cf_layout(path) -> xr.Dataset:
    """Every variable has a long_name, every numeric one a units attribute; no names differ by a trailing '_'."""
    raw = xr.load_dataset(path, engine="h5netcdf")
    for name, var in raw.variables.items():
        if name in raw.dims and var.dtype.kind in "OSU":
            continue
        assert "long_name" in var.attrs, name
        if var.dtype.kind in "fiub":
            assert var.attrs.get("units"), name
    stems = [str(n).rstrip("_") for n in raw.variables]
    assert len(stems) == len(set(stems)), "two variables differ only by trailing underscores"
    assert raw.attrs["chemohost_results_format"] == RESULTS_FORMAT
    return raw


def test_disk_names_say_their_unit_where_stems_clash():
    names = disk_names([*PLASMA, "Tumour volume [mm3]", "Time [day]", "IL-1beta [-]", "IL 1beta [1/day]"],
                       reserved={"time"})
    assert names[PLASMA[0]] == "plasma_paclitaxel_ng_per_mL" and names[PLASMA[1]] == "plasma_paclitaxel_uM"
    assert names["Tumour volume [mm3]"] == "tumour_volume"
    assert names["Time [day]"] == "time_day"  # a dimension's name is taken
    assert names["IL-1beta [-]"] == "il_1beta_dimensionless" and names["IL 1beta [1/day]"] == "il_1beta_1_per_day"
    assert disk_names(reversed(PLASMA)) == disk_names(PLASMA)  # independent of the order


def test_every_results_variable_has_units_and_round_trips(shared_model, tmp_path):
    ds = ch.simulate(shared_model("paclitaxel"), "paclitaxel 20 mg/kg iv q7d x2", {"Body weight [kg]": 0.02},
                     [0.0, 1.0, 7.0], n_patients=2)
    for name, var in ds.variables.items():
        if var.dtype.kind in "fiub" and name != "patient" or name in ds.data_vars:
            assert "units" in var.attrs, name
    raw = assert_cf_layout(save_results(ds, tmp_path / "results.nc"))
    assert raw["plasma_paclitaxel_ng_per_mL"].attrs == {"units": "ng/mL", "long_name": PLASMA[0], "kind": "output"}
    assert raw["plasma_paclitaxel_uM"].attrs["units"] == "uM"
    assert raw["solver_steps"].attrs["units"] == "1"
    back = load_results(tmp_path / "results.nc")
    assert set(back.data_vars) == set(ds.data_vars)
    assert back[PLASMA[0]].attrs["units"] == "ng/mL" and "long_name" not in back["solver_steps"].attrs
    for name in PLASMA:
        np.testing.assert_array_equal(back[name].values, ds[name].values)


# ------------------------------------------------------------------------------------------ files of format 1
GRID = {"metastasis": {"name": "cohorts", "cohorts": 3, "horizon": 6.0}}


def _stacked() -> xr.Dataset:
    """A small current-layout result: 2 patients, 4 times, 3 cohorts (values arbitrary but distinct)."""
    rng = np.random.default_rng(1)
    ds = xr.Dataset({"Tumour volume [mm3]": (("patient", "time"), rng.uniform(1, 2, (2, 4)), {"units": "mm3"}),
                     PLASMA[0]: (("patient", "time"), rng.uniform(0, 5, (2, 4)), {"units": "ng/mL"}),
                     PLASMA[1]: (("patient", "time"), rng.uniform(0, 5, (2, 4)), {"units": "uM"})},
                    coords={"patient": [0, 1], "time": ("time", [0.0, 2.0, 4.0, 6.0], {"units": "day"})},
                    attrs={"model_options": json.dumps(GRID)})
    grid = ch.metastasis.CohortGrid(3, 6.0)
    for k in range(3):
        ds[grid.count(k)] = (("patient", "time"), rng.uniform(0, 9, (2, 4)), {"units": "-"})
        ds[grid.log_size(k)] = (("patient", "time"), rng.uniform(0, 9, (2, 4)), {"units": "ln(cell)"})
    for stack in grid.stacks():
        ds = stack.apply(ds)
    return ds


def _write_format_1(ds: xr.Dataset, path) -> None:
    """Write ``ds`` as chemohost 0.1.0 did: one variable per cohort, clashing stems told apart by a trailing '_'."""
    flat = ds.drop_vars([COHORT_COUNTS, COHORT_LOG_SIZES, "cohort", "cohort_birth", "cohort_emission_start",
                         "cohort_emission_end"])
    for k in range(ds.sizes["cohort"]):
        flat[f"Metastases of cohort {k + 1} [-]"] = ds[COHORT_COUNTS].isel(cohort=k, drop=True)
        flat[f"Metastasis log-size in cohort {k + 1} [ln(cell)]"] = ds[COHORT_LOG_SIZES].isel(cohort=k, drop=True)
    rename, used = {}, set()
    for name in flat.data_vars:
        safe = re.sub(r"[^0-9a-zA-Z]+", "_", re.sub(r"\s*\[[^\]]*\]\s*$", "", str(name))).strip("_").lower()
        while safe in used:
            safe += "_"
        used.add(safe)
        rename[name] = safe
    out = flat.rename(rename)
    for old, new in rename.items():
        out[new].attrs["long_name"] = old
    out.to_netcdf(path, engine="h5netcdf")


def test_a_format_1_file_loads_stacked(tmp_path):
    ds = _stacked()
    _write_format_1(ds, tmp_path / "old.nc")
    assert "plasma_paclitaxel_" in xr.load_dataset(tmp_path / "old.nc", engine="h5netcdf")  # the old layout
    back = load_results(tmp_path / "old.nc")
    assert back[COHORT_COUNTS].dims == ("patient", "time", "cohort")
    assert cohort_grid(back).cohorts == 3
    for name in (COHORT_COUNTS, COHORT_LOG_SIZES, *PLASMA):
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    np.testing.assert_array_equal(back["cohort_birth"].values, [1.0, 3.0, 5.0])
    assert_cf_layout(save_results(back, tmp_path / "new.nc"))  # saving converts the file


def test_a_format_1_file_that_cannot_be_stacked_says_how_to_convert(tmp_path):
    ds = _stacked()
    ds.attrs = {}
    _write_format_1(ds, tmp_path / "old.nc")
    with pytest.raises(ch.ChemohostError, match="run the study again") as info:
        load_results(tmp_path / "old.nc")
    assert "\n" not in str(info.value) and "results format 1" in str(info.value)


def test_a_file_from_a_newer_chemohost_is_refused(tmp_path):
    save_results(_stacked(), tmp_path / "results.nc")
    raw = xr.load_dataset(tmp_path / "results.nc", engine="h5netcdf")
    raw.attrs["chemohost_results_format"] = RESULTS_FORMAT + 1
    raw.to_netcdf(tmp_path / "future.nc", engine="h5netcdf")
    with pytest.raises(ch.ChemohostError, match="upgrade chemohost"):
        load_results(tmp_path / "future.nc")


def test_netcdf_name_is_the_stem():
    assert netcdf_name("Plasma paclitaxel [ng/mL]") == "plasma_paclitaxel"
