"""Loading the Benzekry 2014 growth data from the shared data folder.

The data are not shipped with chemohost (GPL and unverified Zenodo terms; see
``data/benzekry2014_growth/SOURCE.md`` in the shared folder); they are read in
place from ``../shared/data`` next to the repository, from the folder in the
``CHEMOHOST_SHARED_DATA`` environment variable, or from a folder passed in.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from .._errors import quote, unknown
from ._errors import DataFileError

__all__ = ["SUBJECT", "TIME", "VOLUME", "shared_data_dir", "load_benzekry2014"]

SUBJECT = "subject"
TIME = "time [day]"
VOLUME = "volume [mm3]"

ENV_VAR = "CHEMOHOST_SHARED_DATA"
_FOLDER = "benzekry2014_growth"
_FILES = {"lung": "lung_vol_data.txt", "breast": "breast_vol_data.txt"}
_ALIASES = {"lung": "lung", "llc": "lung", "breast": "breast", "lm2-4": "breast", "lm24": "breast"}
_HEADER = ("ID", "Time", "Observation")


def shared_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The shared data folder: ``data_dir``, else ``$CHEMOHOST_SHARED_DATA``, else ``../shared/data``.

    ``../shared/data`` is taken relative to the repository root (the folder
    holding ``src/``), not to the working directory.

    Raises
    ------
    DataFileError
        When the folder does not exist (tests catch this and skip).
    """
    if data_dir is not None:
        path = Path(data_dir)
    elif os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
    else:
        path = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    if not path.is_dir():
        raise DataFileError(f"shared data folder not found: '{path}'; pass data_dir= or set {ENV_VAR}")
    return path


def load_benzekry2014(name: str, data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Untreated mouse tumour volumes of Benzekry et al. 2014 as a tidy table.

    Parameters
    ----------
    name:
        ``"lung"`` (alias ``"LLC"``: Lewis lung carcinoma, s.c., 20 mice, 188
        rows, days 4–24) or ``"breast"`` (alias ``"LM2-4"``: LM2-4LUC⁺ human
        breast, orthotopic, 66 mice, 583 rows including 2 zero volumes, days 7–38).
    data_dir:
        The shared data folder (the one holding ``benzekry2014_growth/``); see
        :func:`shared_data_dir` for the default.

    Returns
    -------
    pandas.DataFrame
        Columns ``"subject"`` (int, the file's 0-based animal ID),
        ``"time [day]"`` (days after injection of 10⁶ cells, V(0) = 1 mm³ by
        convention) and ``"volume [mm3]"``, in file order. Zero volumes are kept;
        the fitters drop them.

    Examples
    --------
    >>> lung = load_benzekry2014("lung")                      # doctest: +SKIP
    >>> GrowthLawFitter("gompertz").fit(lung).params_        # doctest: +SKIP
    """
    key = _ALIASES.get(str(name).lower())
    if key is None:
        raise DataFileError("Benzekry 2014 data: " + unknown("data set", str(name), ("lung", "breast")))
    path = shared_data_dir(data_dir) / _FOLDER / _FILES[key]
    if not path.is_file():
        raise DataFileError(f"Benzekry 2014 data file not found: '{path}'")
    return read_growth_table(path)


def read_growth_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a tab-separated ``ID, Time, Observation`` file, checking every line.

    Raises
    ------
    DataFileError
        One line naming the file, the line number (1 = header) and what is wrong.
    """
    path = Path(path)
    rows: list[tuple[int, float, float]] = []
    with path.open(encoding="utf-8") as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            where = f"{path.name} line {lineno}"
            fields = line.split("\t")
            if lineno == 1:
                if tuple(f.strip() for f in fields) != _HEADER:
                    raise DataFileError(f"{where}: header {quote(line)} is not the expected "
                                        "'ID<TAB>Time<TAB>Observation'")
                continue
            if not line.strip():
                continue
            if len(fields) != 3:
                raise DataFileError(f"{where}: expected 3 tab-separated fields (ID, Time, Observation), "
                                    f"got {len(fields)} in {quote(line)}")
            rows.append(_parse_row(fields, where))
    if not rows:
        raise DataFileError(f"{path.name}: no data rows after the header")
    frame = pd.DataFrame(rows, columns=[SUBJECT, TIME, VOLUME])
    frame.attrs["source"] = str(path)
    return frame


def _parse_row(fields: list[str], where: str) -> tuple[int, float, float]:
    ident, time, obs = (f.strip() for f in fields)
    try:
        subject = int(ident)
    except ValueError:
        raise DataFileError(f"{where}: ID {quote(ident)} is not an integer") from None
    values = []
    for label, text in (("Time", time), ("Observation", obs)):
        try:
            value = float(text)
        except ValueError:
            raise DataFileError(f"{where}: {label} {quote(text)} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise DataFileError(f"{where}: {label} {quote(text)} must be a finite number >= 0")
        values.append(value)
    return subject, values[0], values[1]
