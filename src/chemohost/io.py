"""Save and load results as NetCDF, keeping the unit-bearing variable names.

In memory, variables are named as sentences with units
(``"Tumour volume [mm3]"``). NetCDF/HDF5 names cannot hold ``/``, so on disk each
variable gets a CF-style name (``tumour_volume``) with the full name in its
``long_name`` attribute and the unit in ``units``; :func:`load_results`
restores the full names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import xarray as xr

from ._errors import ChemohostError

__all__ = ["save_results", "load_results", "check_writable", "netcdf_name"]


def netcdf_name(name: str) -> str:
    """CF-style variable name: ``"Plasma paclitaxel [ng/mL]"`` → ``"plasma_paclitaxel"``."""
    stem = re.sub(r"\s*\[[^\]]*\]\s*$", "", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", stem).strip("_").lower() or "variable"


def check_writable(folder: str | Path) -> Path:
    """Create ``folder`` if needed and make sure results can be written there."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChemohostError(f"cannot create output folder '{path}': {exc.strerror}") from None
    if not path.is_dir() or not os.access(path, os.W_OK):
        raise ChemohostError(f"output folder '{path}' is not a writable folder; choose another with --out")
    return path


def save_results(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF (HDF5 engine, gzip-compressed) with CF-style names; returns the path.

    The file is written next to ``path`` and renamed into place, so an
    interrupted write never leaves a truncated results file."""
    path = Path(path)
    check_writable(path.parent)
    rename, used = {}, set()
    for name in list(ds.data_vars) + [c for c in ds.coords if c not in ds.dims]:
        safe = netcdf_name(str(name))
        while safe in used or (safe != name and safe in ds.variables):
            safe += "_"
        used.add(safe)
        if safe != name:
            rename[name] = safe
    out = ds.rename(rename)
    for old, new in rename.items():
        out[new].attrs["long_name"] = old
    tmp = path.with_name(path.name + ".partial")
    # lossless gzip of the float arrays: trajectories compress several-fold
    encoding = {name: {"zlib": True, "complevel": 4} for name, var in out.data_vars.items() if var.dtype.kind == "f"}
    out.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    os.replace(tmp, path)
    return path


def load_results(path: str | Path) -> xr.Dataset:
    """Open results written by :func:`save_results`, restoring the full variable names."""
    ds = xr.load_dataset(path, engine="h5netcdf")
    rename = {name: ds[name].attrs["long_name"] for name in ds.variables if "long_name" in ds[name].attrs}
    ds = ds.rename(rename)
    for name in rename.values():
        ds[name].attrs.pop("long_name", None)
    return ds
