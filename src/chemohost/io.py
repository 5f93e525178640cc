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

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import xarray as xr

from ._errors import ArgumentError, ChemohostError, quote
from .mechanisms.metastasis.cohorts import CohortGrid

__all__ = ["RESULTS_FORMAT", "save_results", "load_results", "check_writable", "netcdf_name", "disk_names",
           "output_folder", "OutputFolderError"]

RESULTS_FORMAT = 2
"""Version of the on-disk layout written by :func:`save_results` (1: one variable per metastasis cohort)."""
_UNIT = re.compile(r"\[([^\[\]]*)\]\s*$")


class OutputFolderError(ChemohostError):
    """An output folder that cannot be written, or that another run is writing."""


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
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"path must be a results file path, got {type(path).__name__}")
    if not Path(path).is_file():
        raise ChemohostError(f"results file {quote(str(path))} does not exist or is not a file")
    try:
        ds = xr.load_dataset(path, engine="h5netcdf")
    except Exception as exc:  # h5py/h5netcdf raise OSError, ValueError or KeyError on bytes that are not NetCDF-4
        raise ChemohostError(f"results file {quote(str(path))} is not a NetCDF-4 file written by chemohost "
                             f"({type(exc).__name__})") from None
    version = int(ds.attrs.pop("chemohost_results_format", 1))
    if version > RESULTS_FORMAT:
        raise ChemohostError(f"{quote(str(path))} has results format {version}, newer than this chemohost reads "
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


# -- output folders written as a unit ------------------------------------------------------------------------------

MARKER = ".chemohost-output"
"""File in every output folder chemohost writes: a folder holding it may be replaced by a later run."""
_OUTPUT_SUFFIXES = {".nc", ".html", ".csv", ".md", ".png", ".svg", ".json", ".partial"}


def _replaceable(folder: Path) -> None:
    """Refuse to replace an existing ``folder`` holding files chemohost did not write."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputFolderError(f"output {quote(str(folder))} is a file, not a folder; choose another with --out")
    entries = list(folder.iterdir())
    if not entries or (folder / MARKER).is_file():
        return
    # folders written before the marker: chemohost's own outputs only
    foreign = [e.name for e in entries if not (e.is_file() and e.suffix in _OUTPUT_SUFFIXES)]
    if foreign:
        raise OutputFolderError(f"output folder {quote(str(folder))} holds files chemohost did not write (such as "
                                f"{quote(foreign[0], 60)}), which a run would replace; choose a new or empty folder "
                                "with --out")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` where unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """Hold the lock file ``.<name>.lock`` beside ``folder`` (it holds the PID); another live holder is refused.

    The lock is an ``flock`` on that file, which the system releases when its
    process dies (even by SIGKILL), so the file a killed run leaves behind is a
    stale lock that the next run reclaims.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    path = folder.with_name(f".{folder.name}.lock")
    fd = None
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise OutputFolderError(
                f"output folder {quote(str(folder))} is being written by another chemohost run (PID "
                f"{holder or 'unknown'}); wait for it to finish or choose another folder with --out"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the run that held it removed the file meanwhile: lock the new one
        fd = None
    if fd is None:  # pragma: no cover - ten lost races in a row
        raise OutputFolderError(f"could not lock output folder {quote(str(folder))}; try again")
    try:
        os.ftruncate(fd, 0)  # a stale lock of a killed run is reclaimed here
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _clean_leftovers(folder: Path) -> None:
    """Remove what killed runs left beside ``folder`` (under the lock: nothing live), restoring a swapped-out one."""
    for old in sorted(folder.parent.glob(f".{_glob_escape(folder.name)}.old-*")):
        if not folder.exists():
            os.rename(old, folder)  # killed between the two renames of a swap: the old folder comes back
        else:
            shutil.rmtree(old, ignore_errors=True)
    for partial in folder.parent.glob(f".{_glob_escape(folder.name)}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


def _swap_in(new: Path, folder: Path) -> None:
    """Put the folder ``new`` in place of ``folder``, atomically where the system allows; the old one is removed."""
    if not folder.exists():
        os.rename(new, folder)
    elif _exchange(new, folder):
        shutil.rmtree(new, ignore_errors=True)  # now the old folder
    else:
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.rename(folder, old)
        try:
            os.rename(new, folder)
        except OSError:
            os.rename(old, folder)
            raise
        shutil.rmtree(old, ignore_errors=True)


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextlib.contextmanager
def output_folder(folder: str | Path) -> Iterator[Path]:
    """Write a run's outputs as a unit: yields a temporary sibling of ``folder`` that replaces it on success.

    While the block runs, ``folder`` is locked against other chemohost runs
    (:class:`OutputFolderError` names the PID holding it). When the block
    succeeds the new folder is swapped in atomically (the old one is kept
    until the swap succeeds); when it fails, or the process is killed,
    ``folder`` stays as it was and the temporary sibling is removed (by the
    next run, after a kill). An existing ``folder`` holding files chemohost did
    not write is refused rather than replaced.
    """
    folder = Path(folder)
    if not folder.name or folder.name in (".", ".."):
        raise OutputFolderError(f"output folder {quote(str(folder))} must be named (not '.' or '..'); choose another "
                                "with --out")
    folder = check_writable(folder.parent) / folder.name
    with _lock(folder):
        _clean_leftovers(folder)
        _replaceable(folder)
        tmp = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
        tmp.mkdir()
        try:
            yield tmp
            (tmp / MARKER).write_text("written by chemohost; a later run may replace this folder\n")
            try:
                _swap_in(tmp, folder)
            except OSError as exc:
                raise OutputFolderError(f"could not put the new outputs in place of {quote(str(folder))} "
                                        f"({exc.strerror}); the folder is as it was") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
