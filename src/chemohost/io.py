"""Save and load results as NetCDF, keeping the unit-bearing variable names.

In memory, variables are named as sentences with units
(``"Tumour volume [mm3]"``). NetCDF/HDF5 names cannot hold ``/``, so on disk each
variable gets a CF-style name with the full name in its ``long_name`` attribute
and the unit in ``units`` (``"1"`` for a dimensionless quantity, as in CF);
:func:`load_results` restores the full names.

The on-disk name is the name without its unit in snake case
(``"Tumour volume [mm3]"`` → ``tumour_volume``). Where several variables share
that stem, each one takes its unit as a suffix, ``/`` read as ``per``
(``"Plasma paclitaxel [ng/mL]"`` → ``plasma_paclitaxel_ng_per_mL`` beside
``plasma_paclitaxel_uM``), so no name depends on the order of the variables.

Results format 2 (the ``chemohost_results_format`` attribute) stores the
metastasis cohorts along a ``cohort`` dimension. Files of format 1 (chemohost
0.1.0: one variable per cohort, clashing names told apart by trailing
underscores) are converted when loaded; ``save_results(load_results(old), new)``
rewrites one in the current format.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import xarray as xr

from ._errors import ChemohostError

__all__ = ["RESULTS_FORMAT", "save_results", "load_results", "check_writable", "netcdf_name", "disk_names"]

RESULTS_FORMAT = 2
"""Version of the on-disk layout written by :func:`save_results` (1: one variable per metastasis cohort)."""
_UNIT = re.compile(r"\[([^\[\]]*)\]\s*$")


def netcdf_name(name: str) -> str:
    """CF-style stem of a variable name: ``"Plasma paclitaxel [ng/mL]"`` → ``"plasma_paclitaxel"``."""
    stem = _UNIT.sub("", name).strip()
    return re.sub(r"[^0-9a-zA-Z]+", "_", stem).strip("_").lower() or "variable"


def _unit_suffix(unit: str) -> str:
    """A unit as a name suffix: ``ng/mL`` → ``ng_per_mL``, ``-`` → ``dimensionless``, ``µM`` → ``uM``."""
    if unit.strip() in ("", "-", "1"):
        return "dimensionless"
    text = unit.replace("µ", "u").replace("μ", "u").replace("/", " per ")
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_") or "unit"


def disk_names(names, reserved=()) -> dict[str, str]:
    """On-disk name of each of ``names`` (see the module docstring); ``reserved`` names (dimensions) are taken."""
    names = list(names)
    stems = {name: netcdf_name(name) for name in names}
    shared = {stem for stem in stems.values() if list(stems.values()).count(stem) > 1 or stem in reserved}
    out, used = {}, set(reserved)
    for name in names:
        safe = stems[name]
        unit = _UNIT.search(name)
        if safe in shared and unit is not None:
            safe = f"{safe}_{_unit_suffix(unit.group(1))}"
        base, k = safe, 2
        while safe in used:
            safe, k = f"{base}_{k}", k + 1
        used.add(safe)
        out[name] = safe
    return out


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

    Every variable gets a ``long_name`` (its full name) and every numeric one a
    ``units`` attribute. The file is written next to ``path`` and renamed into
    place, so an interrupted write never leaves a truncated results file."""
    path = Path(path)
    check_writable(path.parent)
    names = [str(n) for n in ds.data_vars] + [str(c) for c in ds.coords if c not in ds.dims]
    rename = {old: new for old, new in disk_names(names, reserved={str(d) for d in ds.dims}).items() if old != new}
    out = ds.rename(rename)
    full = {new: old for old, new in rename.items()}
    for name, var in out.variables.items():
        original = full.get(name, str(name))
        attrs = dict(var.attrs)
        attrs["long_name"] = original
        unit = attrs.get("units")
        if unit is None and (match := _UNIT.search(original)) is not None:
            unit = match.group(1)
        if unit is None and name in out.dims and var.dtype.kind in "iu":
            unit = "1"  # an index such as patient
        if unit is not None:
            attrs["units"] = "1" if unit.strip() in ("-", "") else unit
        var.attrs = attrs
    out.attrs["chemohost_results_format"] = RESULTS_FORMAT
    tmp = path.with_name(path.name + ".partial")
    # lossless gzip of the float arrays: trajectories compress several-fold
    encoding = {name: {"zlib": True, "complevel": 4} for name, var in out.data_vars.items() if var.dtype.kind == "f"}
    out.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    os.replace(tmp, path)
    return path


def load_results(path: str | Path) -> xr.Dataset:
    """Open results written by :func:`save_results`, restoring the full variable names.

    A file of results format 1 is converted (metastasis cohorts stacked along
    ``cohort``); one from a newer chemohost, or a format-1 file whose cohorts
    cannot be stacked, raises a :class:`ChemohostError` that says what to do.
    """
    ds = xr.load_dataset(path, engine="h5netcdf")
    version = int(ds.attrs.pop("chemohost_results_format", 1))
    if version > RESULTS_FORMAT:
        raise ChemohostError(f"'{path}' has results format {version}, newer than this chemohost reads "
                             f"({RESULTS_FORMAT}); upgrade chemohost to load it")
    rename = {name: ds[name].attrs["long_name"] for name in ds.variables
              if name not in ds.dims and ds[name].attrs.get("long_name", name) != name}
    ds = ds.rename(rename)
    for name, var in ds.variables.items():  # in memory the name is the long name
        if var.attrs.get("long_name") == name:
            del var.attrs["long_name"]
    return _from_format_1(ds, path) if version < 2 else ds


def _from_format_1(ds: xr.Dataset, path) -> xr.Dataset:
    """Stack the per-cohort variables of a format-1 file along ``cohort``."""
    from .mechanisms.metastasis.cohorts import CohortGrid

    if not any(str(n).startswith(("Metastases of cohort ", "Metastasis log-size in cohort ")) for n in ds.data_vars):
        return ds
    try:
        grid = CohortGrid.of(json.loads(ds.attrs["model_options"]))
    except (KeyError, TypeError, ValueError):
        grid = None
    if grid is None:
        raise ChemohostError(f"'{path}' holds metastasis cohorts as separate variables (results format 1) without "
                             "the model_options attribute needed to stack them; run the study again to write format "
                             f"{RESULTS_FORMAT}")
    for stack in grid.stacks():
        ds = stack.apply(ds)
    return ds
