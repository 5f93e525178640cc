"""mRECIST on the Novartis PDX encyclopedia (PDXE; Gao et al. 2015 Nat Med 21:1318) raw volumes.

The file ``TAone.volume.data.csv`` (columns Tumor, ID, Type, Arms, Times,
Volume; Times in days from treatment start, Volume in mm³) holds one row per
measurement. A curve is one (Tumor, Arms, ID) triple: three untreated series
hold three mice each and one ID occurs in two arms, so no shorter key is
unique. Each curve is sorted by Times, V_0 is its first row, and the t ≥ 10 d
filter applies to Times as given (not to the time since the first
measurement; 7 curves start after day 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import unknown
from ._inputs import OutcomeError
from ._mrecist import CITATIONS, MIN_TIME, MRECIST_CLASSES, classify, scores

__all__ = ["PDXE_FILE", "pdxe_mrecist", "pdxe_mrecist_counts", "read_pdxe_volumes"]

PDXE_FILE = "TAone.volume.data.csv"
PDXE_KEY = ("Tumor", "Arms", "ID")
PDXE_REQUIRED = ("Tumor", "ID", "Arms", "Times", "Volume")
COLUMNS = {"Tumor": "model", "Arms": "arm", "ID": "animal", "Type": "tumour type"}


def _file(path) -> Path:
    path = Path(path)
    file = path / PDXE_FILE if path.is_dir() else path
    if not file.is_file():
        raise OutcomeError(f"PDXE volume file not found: {file} (give the folder holding {PDXE_FILE} or the file)")
    return file


def read_pdxe_volumes(path) -> pd.DataFrame:
    """The PDXE volume table, checked, sorted by curve and time, blank ``Type`` filled from the model's other rows.

    ``path`` is the folder holding ``TAone.volume.data.csv`` or the file
    itself. A missing file or column, a non-numeric or negative ``Times`` or
    ``Volume``, or a repeated time within a curve raises :class:`OutcomeError`
    naming the file.
    """
    file = _file(path)
    try:
        data = pd.read_csv(file, dtype={"Tumor": str, "Arms": str, "Type": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OutcomeError(f"{file}: not a readable PDXE CSV ({reason})") from None
    missing = [c for c in PDXE_REQUIRED if c not in data.columns]
    if missing:
        raise OutcomeError(f"{file}: missing column{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}; "
                           f"expected {', '.join(PDXE_REQUIRED)} (and Type)")
    for column, unit in (("Times", "day"), ("Volume", "mm3")):
        values = pd.to_numeric(data[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values) | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raw = data[column].iloc[row]
            held = "is blank" if pd.isna(raw) else f"holds {raw!r}"
            raise OutcomeError(f"{file}: column '{column}' line {row + 2} {held}; expected a number ≥ 0 [{unit}]")
        data[column] = values.astype(float)
    for column in ("Tumor", "Arms", "ID"):
        if data[column].isna().any():
            row = int(np.flatnonzero(data[column].isna().to_numpy())[0])
            raise OutcomeError(f"{file}: column '{column}' is blank on line {row + 2}")
    if "Type" not in data.columns:
        data["Type"] = pd.NA
    filled = data.groupby("Tumor")["Type"].transform(lambda s: s.dropna().mode().iloc[0] if s.notna().any() else pd.NA)
    data["Type"] = data["Type"].fillna(filled)
    data = data.sort_values([*PDXE_KEY, "Times"], kind="stable").reset_index(drop=True)
    repeated = data.duplicated([*PDXE_KEY, "Times"])
    if repeated.any():
        row = data[repeated].iloc[0]
        raise OutcomeError(f"{file}: curve Tumor={row['Tumor']}, Arms={row['Arms']}, ID={row['ID']} has two volumes "
                           f"at Times = {row['Times']:g}; keep one per time")
    return data


def pdxe_mrecist(path, *, min_time: float = MIN_TIME) -> pd.DataFrame:
    """mRECIST of every PDXE curve, one row per (model, arm, animal).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``arm``, ``animal``, ``tumour type``, ``points``
        (measurements), ``BR [%]``, ``BAR [%]`` and ``class`` (``None`` with
        fewer than 2 measurements at Times ≥ ``min_time``).
    """
    data = read_pdxe_volumes(path)
    grouped = data.groupby(list(PDXE_KEY), sort=False)
    curve = grouped.ngroup().to_numpy()
    position = grouped.cumcount().to_numpy()
    shape = (curve.max() + 1, position.max() + 1)
    times = np.full(shape, np.nan)
    volumes = np.full(shape, np.nan)
    times[curve, position] = data["Times"].to_numpy()
    volumes[curve, position] = data["Volume"].to_numpy()
    br, _, bar, _ = scores(times, volumes, min_time)
    first = data.drop_duplicates(list(PDXE_KEY))
    table = first[[*PDXE_KEY, "Type"]].rename(columns=COLUMNS).reset_index(drop=True)
    table["points"] = grouped.size().to_numpy()
    table["BR [%]"] = br
    table["BAR [%]"] = bar
    table["class"] = pd.Series(classify(br, bar), index=table.index, dtype=object)
    table.attrs = {"source": str(_file(path)), "min_time [day]": float(min_time), "citations": list(CITATIONS)}
    return table


def pdxe_mrecist_counts(path, *, by: str | Sequence[str] = "arm", min_time: float = MIN_TIME) -> pd.DataFrame:
    """Number of PDXE curves in each mRECIST class per arm (or per ``by`` group).

    Parameters
    ----------
    path:
        Folder holding ``TAone.volume.data.csv`` (``data/pdxe_gao2015``) or the file.
    by:
        Grouping column(s) of :func:`pdxe_mrecist`: ``"arm"``, ``"tumour type"``,
        ``"model"`` or a list of them, e.g. ``["arm", "tumour type"]``.
    min_time:
        First day counted for BR and BAR [day].

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by``; integer columns ``curves``, ``CR``, ``PR``, ``SD``,
        ``PD`` and ``none`` (fewer than 2 measurements at t ≥ ``min_time``).

    Examples
    --------
    >>> counts = pdxe_mrecist_counts("../shared/data/pdxe_gao2015")  # doctest: +SKIP
    >>> counts.loc["paclitaxel"].tolist()  # doctest: +SKIP
    [67, 4, 7, 26, 27, 3]
    """
    by = [by] if isinstance(by, str) else list(by)
    allowed = ("arm", "tumour type", "model")
    for column in by:
        if column not in allowed:
            raise OutcomeError(unknown("grouping column", str(column), allowed))
    table = pdxe_mrecist(path, min_time=min_time)
    table["class"] = table["class"].fillna("none")
    counts = pd.crosstab([table[c] for c in by], table["class"])
    counts = counts.reindex(columns=[*MRECIST_CLASSES, "none"], fill_value=0)
    counts.insert(0, "curves", counts.sum(axis=1))
    counts.columns.name = None
    counts.attrs = dict(table.attrs)
    return counts.astype(int)
