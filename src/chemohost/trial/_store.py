"""A trial's results on disk: a Zarr store chunked along ``patient`` and a manifest of finished chunks.

A store is a folder::

    store.json       what was run: trial name, fingerprint, seed, patients, chunk size (written once)
    data.zarr/       the trial's arrays (Zarr v3), one Zarr chunk per trial chunk along ``patient``
    manifest.jsonl   one line per finished chunk: id, row range, seed and spawn keys, checksum, when, and the
                     chunk's own dataset attributes (such as its acceptance rate)

A trial chunk is the rows ``[start, stop)`` of every variable that has a
``patient`` dimension, and it is exactly one Zarr chunk along ``patient``, so
writing one never rewrites the bytes of another. A chunk is written, its files
are flushed to disk (``fsync``), and only then is its line appended to the
manifest (and flushed): a chunk is in the manifest only once its data is
durable. A run killed at any point leaves every chunk in the manifest intact;
the next run recomputes the others and overwrites whatever half-written bytes
they hold. A torn last manifest line (a kill during the append) is dropped.

A store answers to one trial: the fingerprint (which covers the seed), the
number of patients and the chunk size recorded in ``store.json`` must match, or
the run is refused before anything is written. One driver at a time writes a
store (a lock file, released by the system when its process dies).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .._errors import ChemohostError, quote

__all__ = ["STORE_FORMAT", "Chunk", "TrialStore", "TrialStoreError", "chunk_checksum", "chunks_of", "open_trial_store"]

STORE_FORMAT = 1
"""Version of the store layout (``store.json``'s ``format``)."""
HEADER, DATA, MANIFEST, LOCK = "store.json", "data.zarr", "manifest.jsonl", ".lock"
_HEADER_KEYS = ("trial", "fingerprint", "seed", "patients", "chunk_size")
STORE_ATTRS = ("trial", "fingerprint", "seed")
"""Dataset attributes the store keeps; a chunk's other attributes (such as its acceptance rate) depend on the
chunk, so they go into its manifest entry instead."""


class TrialStoreError(ChemohostError):
    """A store that belongs to another trial, is corrupt, or is being written by another run."""


@dataclass(frozen=True)
class Chunk:
    """Rows ``[start, stop)`` of a trial: the unit of work (one Dask task) and of storage (one Zarr chunk)."""

    index: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def blocks(self, block: int) -> range:
        """The random-number blocks (``SeedSequence(seed, spawn_key=(b,))``) whose patients this chunk holds."""
        return range(self.start // block, (self.stop - 1) // block + 1)


def chunks_of(patients: int, chunk_size: int) -> tuple[Chunk, ...]:
    """The chunks of ``patients`` rows, ``chunk_size`` each (the last one shorter)."""
    return tuple(Chunk(i, start, min(start + chunk_size, patients))
                 for i, start in enumerate(range(0, patients, chunk_size)))


def _patient_variables(ds: xr.Dataset) -> list[str]:
    return sorted(str(name) for name, var in ds.variables.items() if "patient" in var.dims)


def chunk_checksum(ds: xr.Dataset) -> str:
    """``sha256:…`` of every variable along ``patient`` (name, dtype, shape and bytes, in name order)."""
    digest = hashlib.sha256()
    for name in _patient_variables(ds):
        values = np.ascontiguousarray(ds[name].values)
        digest.update(f"{name}|{values.dtype.str}|{values.shape}|".encode())
        digest.update(values.tobytes())
    return "sha256:" + digest.hexdigest()


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    """Flush a file or a folder (its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TrialStore:
    """An open trial store (see the module docstring); create or reopen one with :meth:`open`."""

    def __init__(self, path: Path, header: dict):
        self.path = Path(path)
        self.header = header

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path, *, trial: str, fingerprint: str, seed: int, patients: int,
             chunk_size: int | None = None, default_chunk_size: int = 8192) -> TrialStore:
        """Open the store at ``path`` for this trial, creating it when absent or empty.

        ``chunk_size=None`` takes the existing store's chunk size (or
        ``default_chunk_size`` for a new one). A store of another trial
        (fingerprint or seed), size or chunk size, or a folder that is not a
        trial store, raises :class:`TrialStoreError` and is left as it is.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise TrialStoreError(f"trial store {quote(str(path))} is a file, not a folder; choose another with "
                                  "--output")
        wanted = {"trial": trial, "fingerprint": fingerprint, "seed": int(seed), "patients": int(patients),
                  "chunk_size": None if chunk_size is None else int(chunk_size)}
        header_path = path / HEADER
        if header_path.is_file():
            try:
                header = json.loads(header_path.read_text())
                found = {key: header[key] for key in _HEADER_KEYS}
            except (ValueError, KeyError, TypeError):
                raise TrialStoreError(f"trial store {quote(str(path))} has an unreadable {HEADER}; choose another "
                                      "folder with --output") from None
            if header.get("format") != STORE_FORMAT:
                raise TrialStoreError(f"trial store {quote(str(path))} has format {quote(header.get('format'))}; "
                                      f"this chemohost writes format {STORE_FORMAT}; choose another folder")
            for key in ("seed", "fingerprint", "patients", "chunk_size"):  # the seed first: the fingerprint covers it
                if wanted[key] is not None and wanted[key] != found[key]:
                    what = {"fingerprint": f"another trial ('{found['trial']}', fingerprint "
                                           f"{str(found['fingerprint'])[:12]}…; this one is {fingerprint[:12]}…)",
                            "seed": f"seed {found['seed']} (this run: {seed})",
                            "patients": f"{found['patients']} patients (this run: {patients})",
                            "chunk_size": f"chunk size {found['chunk_size']} (this run: {chunk_size}; omit "
                                          "--chunk-size to resume)"}[key]
                    raise TrialStoreError(f"trial store {quote(str(path))} was written by {what}; it is left as it "
                                          "is: choose another folder with --output")
            return cls(path, header)
        if path.exists() and any(path.iterdir()):
            raise TrialStoreError(f"folder {quote(str(path))} is not a trial store (no {HEADER}) and is not empty; "
                                  "choose a new or empty folder with --output")
        path.mkdir(parents=True, exist_ok=True)
        header = {"format": STORE_FORMAT, **wanted, "chunk_size": int(chunk_size or default_chunk_size),
                  "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _write_json_atomic(header_path, header)
        return cls(path, header)

    @property
    def patients(self) -> int:
        return int(self.header["patients"])

    @property
    def chunk_size(self) -> int:
        return int(self.header["chunk_size"])

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        return chunks_of(self.patients, self.chunk_size)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's lock (an ``flock``, released by the system if this process dies); another holder is
        refused."""
        import fcntl

        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip()
                raise TrialStoreError(f"trial store {quote(str(self.path))} is being written by another run (PID "
                                      f"{holder or 'unknown'}); wait for it or choose another folder with --output"
                                      ) from None
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ the manifest
    def finished(self) -> dict[int, dict]:
        """The manifest's entries by chunk id; a torn last line (a run killed while appending) is removed."""
        path = self.path / MANIFEST
        if not path.is_file():
            return {}
        text = path.read_text()
        lines = text.split("\n")
        entries: dict[int, dict] = {}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                chunk = self.chunks[entry["chunk"]]
                valid = (entry["start"], entry["stop"]) == (chunk.start, chunk.stop)
            except (ValueError, KeyError, TypeError, IndexError):
                valid = False
            if not valid:
                if number == len(lines) and not text.endswith("\n"):  # torn by a kill during the append
                    _write_json_lines(path, list(entries.values()))
                    break
                raise TrialStoreError(f"trial store {quote(str(self.path))}: {MANIFEST} line {number} is not a "
                                      "finished chunk of this store; the store is corrupt")
            entries[entry["chunk"]] = entry
        return entries

    def _append(self, entry: dict) -> None:
        with open(self.path / MANIFEST, "a") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # ------------------------------------------------------------------ data
    def _create_arrays(self, sample: xr.Dataset) -> None:
        """Lay out ``data.zarr`` from one chunk's dataset: metadata and coordinates only, chunked along patient."""
        import dask.array as da

        n, k = self.patients, self.chunk_size
        variables, encoding = {}, {}
        for name, var in sample.variables.items():
            if name == "patient":
                continue
            if "patient" not in var.dims:
                if name not in sample.dims and name not in sample.coords:
                    variables[name] = var.copy(deep=False)
                continue
            shape = tuple(n if d == "patient" else s for d, s in zip(var.dims, var.shape))
            chunks = tuple(k if d == "patient" else s for d, s in zip(var.dims, var.shape))
            variables[name] = xr.Variable(var.dims, da.zeros(shape, dtype=var.dtype, chunks=chunks), var.attrs)
            encoding[name] = {"chunks": chunks}
        coords = {name: sample.coords[name].variable for name in sample.coords
                  if "patient" not in sample.coords[name].dims}
        for name, var in coords.items():  # labels as variable-length strings: a Zarr v3 data type with a spec
            if var.dtype.kind == "U":
                coords[name] = var.astype(object)
        coords["patient"] = xr.Variable("patient", np.arange(n, dtype=np.int64), sample["patient"].attrs)
        encoding["patient"] = {"chunks": (k,)}
        data_vars = {name: v for name, v in variables.items() if name in sample.data_vars}
        coord_vars = {name: v for name, v in variables.items() if name not in sample.data_vars}
        template = xr.Dataset(data_vars, coords={**coords, **coord_vars},
                              attrs={key: sample.attrs[key] for key in STORE_ATTRS if key in sample.attrs})
        for var in template.variables.values():
            var.encoding = {}
        template.to_zarr(self.path / DATA, mode="w", compute=False, zarr_format=3, consolidated=False,
                         encoding=encoding)

    def write_chunk(self, chunk: Chunk, ds: xr.Dataset, *, seed: int, block: int, **extra) -> dict:
        """Write ``ds`` (rows ``chunk.start:chunk.stop``) into the store, flush it, then record it in the manifest."""
        if ds.sizes.get("patient") != chunk.size or int(ds["patient"][0]) != chunk.start:
            raise TrialStoreError(f"chunk {chunk.index} returned patients {ds['patient'].values[[0, -1]].tolist()} "
                                  f"for rows [{chunk.start}, {chunk.stop})")
        if not (self.path / DATA / "zarr.json").is_file():
            self._create_arrays(ds)
        rows = ds.drop_vars([name for name, var in ds.variables.items() if "patient" not in var.dims])
        for var in rows.variables.values():
            var.encoding = {}
        rows.to_zarr(self.path / DATA, region={"patient": slice(chunk.start, chunk.stop)}, consolidated=False)
        self._fsync_chunk(chunk.index)
        entry = {"chunk": chunk.index, "start": chunk.start, "stop": chunk.stop, "seed": int(seed),
                 "spawn_keys": [[b] for b in chunk.blocks(block)], "checksum": chunk_checksum(ds),
                 "finished": time.time(), **extra,
                 "attrs": {key: _plain(value) for key, value in ds.attrs.items() if key not in STORE_ATTRS}}
        self._append(entry)
        return entry

    def _fsync_chunk(self, index: int) -> None:
        """Flush the files of Zarr chunk ``index`` along patient (``<variable>/c/<index>/…``) and their folders."""
        data = self.path / DATA
        for top in data.iterdir():
            base = top / "c" / str(index)
            if not base.exists():
                continue
            paths = [base] if base.is_file() else [base, *base.rglob("*")]
            for p in paths:
                _fsync(p)
            _fsync(base.parent)

    def dataset(self, *, partial: bool = False) -> xr.Dataset:
        """The stored results (lazy, Zarr-backed); an unfinished store is refused unless ``partial``."""
        missing = len(self.chunks) - len(self.finished())
        if missing and not partial:
            raise TrialStoreError(f"trial store {quote(str(self.path))} is unfinished ({missing} of "
                                  f"{len(self.chunks)} chunks missing); rerun the same command to complete it")
        if not (self.path / DATA / "zarr.json").is_file():
            raise TrialStoreError(f"trial store {quote(str(self.path))} holds no data yet")
        return xr.open_zarr(self.path / DATA, consolidated=False, zarr_format=3)

    def verify(self) -> list[int]:
        """Ids of the finished chunks whose stored arrays no longer match their manifest checksum."""
        ds = self.dataset(partial=True)
        bad = []
        for index, entry in sorted(self.finished().items()):
            rows = ds.isel(patient=slice(entry["start"], entry["stop"])).load()
            if chunk_checksum(rows) != entry["checksum"]:
                bad.append(index)
        return bad


def _plain(value):
    """``value`` as JSON can hold it (NumPy scalars and arrays to numbers and lists)."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return value if isinstance(value, str | int | float | bool | list | dict | type(None)) else str(value)


def _write_json_lines(path: Path, entries: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        for entry in entries:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


def open_trial_store(path: str | Path, *, partial: bool = False) -> xr.Dataset:
    """The results of the trial store at ``path`` as an :class:`xarray.Dataset` (lazy, Zarr-backed)."""
    path = Path(path)
    try:
        header = json.loads((path / HEADER).read_text())
    except (OSError, ValueError):
        raise TrialStoreError(f"{quote(str(path))} is not a trial store (no readable {HEADER})") from None
    return TrialStore(path, header).dataset(partial=partial)
