"""Reading calibration data into one tidy long table, checked line by line.

The tidy table is the interchange format of the calibration tools: one row per
observation (and, optionally, one per dose), columns

=============  =====================================================================
``subject``    individual whose parameters are estimated (str)
``time``       time [day] from the study origin (float)
``observable`` measured model quantity with its unit, e.g. ``"Tumour volume [mm3]"``
``value``      measured value in that unit (float ≥ 0; NaN on dose rows)
``group``      arm; a subject may appear in several groups (``""`` when absent)
``censoring``  ``""``; ``"left"``: ``value`` is a lower limit of quantification and
               the observation lies below it; ``"right"``: ``value`` is an upper
               limit (an endpoint) and the observation lies above it
=============  =====================================================================

and, when the data hold doses, ``agent`` (canonical drug name; blank on
observation rows), ``amount`` and ``amount_unit`` (a regimen unit: ``mg``,
``mg/kg``, ``mg/m2``, ...), ``route`` (``iv_bolus``, ``iv_infusion``,
``oral``, ``ip``, ``sc``) and ``duration`` [day] (infusions). One (subject,
group) pair is a *curve*: it is simulated under one regimen.

Every reader raises :class:`DataFileError` with one line naming the file, the
line (1-based, as in the file; the header is line 1) and the column.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import clip, quote, unknown
from ..limits import MAX_DOSE_EVENTS, check_count
from ..core import unit_of
from ..drugs import agent_aliases
from ..outcomes import read_pdxe_volumes
from ..outcomes._inputs import OutcomeError
from ..quantities import TUMOUR_VOLUME
from ..regimen import AgentSchedule, Regimen
from ..regimen._objects import ROUTES
from ..regimen._units import UNITS
from ._data import SUBJECT, TIME, VOLUME, load_benzekry2014, read_growth_table
from ._errors import DataFileError

__all__ = [
    "TIDY_COLUMNS", "DOSE_COLUMNS", "TIME_UNITS", "read_tidy", "read_nonmem", "read_petab_measurements",
    "tidy_benzekry2014", "tidy_pdxe", "dose_regimens", "observations",
]

TIDY_COLUMNS = ("subject", "time", "observable", "value", "group", "censoring")
DOSE_COLUMNS = ("agent", "amount", "amount_unit", "route", "duration")
CENSORING = ("", "left", "right")
TIME_UNITS = {"min": 1 / 1440, "h": 1 / 24, "hour": 1 / 24, "hours": 1 / 24, "d": 1.0, "day": 1.0, "days": 1.0,
              "week": 7.0, "weeks": 7.0}
"""Days per unit of a file's time column."""

_REQUIRED = TIDY_COLUMNS[:4]


class _Where:
    """Names the place of a row in a message: the file and line, or the DataFrame row label."""

    def __init__(self, where: str, lines: np.ndarray | None, labels, names: Mapping[str, str] | None = None):
        self.where, self.lines, self.labels, self.names = where, lines, labels, dict(names or {})

    def fail(self, position: int, column: str, problem: str) -> DataFileError:
        at = f"line {self.lines[position]}" if self.lines is not None else f"row {quote(self.labels[position])}"
        return DataFileError(f"{self.where} {at}, column {quote(self.names.get(column, column))}: {clip(problem, 600)}")


def check_data_file(path: str | os.PathLike, *, folder: bool = False, text: bool = False) -> Path:
    """``path`` as a :class:`~pathlib.Path` if it names an existing file (or, with ``folder``, a folder); else raise.

    With ``text`` a file must also be UTF-8 text (every reader expects it).
    """
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"data file not found: {quote(str(path))}")
    if path.is_dir() and not folder:
        raise DataFileError(f"data file {quote(str(path))} is a folder; give the path of a file")
    if not os.access(path, os.R_OK):
        raise DataFileError(f"data file {quote(str(path))} cannot be read (permission denied)")
    if text and path.is_file():
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFileError(f"data file {quote(str(path))} is not UTF-8 text (byte {exc.start} is "
                                f"0x{data[exc.start]:02x}); save it as UTF-8") from None
    return path


def _read_table(path: str | os.PathLike, sep: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A delimited text file as strings, blank lines dropped, with each row's line number in the file."""
    path = check_data_file(path)
    try:
        raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, UnicodeDecodeError):
            reason = f"not UTF-8 text at byte {exc.start}; save it as UTF-8"
        raise DataFileError(f"{path.name}: not a readable table ({clip(reason)})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    raw = raw.fillna("").apply(lambda col: col.str.strip())
    lines = np.arange(len(raw)) + 2
    keep = (raw != "").any(axis=1).to_numpy()
    return raw[keep].reset_index(drop=True), lines[keep]


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as stripped strings (numbers written without a trailing ``.0`` when whole)."""
    col = frame[column]
    if pd.api.types.is_float_dtype(col) and col.dropna().apply(float.is_integer).all():
        col = col.astype("Int64")
    return col.astype(object).where(col.notna(), "").astype(str).str.strip()


def _numbers(text: pd.Series, column: str, at: _Where, rows: np.ndarray, *, minimum: float | None = None,
             strict: bool = False, what: str = "") -> np.ndarray:
    """``text[rows]`` as floats; the first blank, non-numeric, non-finite or out-of-range entry raises."""
    values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
    for i in np.flatnonzero(rows & ~np.isfinite(values)):
        held = "is blank" if text.iloc[i] == "" else f"holds {quote(text.iloc[i])}"
        raise at.fail(i, column, f"{held}; expected a finite number{what}")
    if minimum is not None:
        low = (values <= minimum) if strict else (values < minimum)
        for i in np.flatnonzero(rows & low):
            raise at.fail(i, column, f"{clip(text.iloc[i])} is {'not above' if strict else 'below'} {minimum:g}; "
                                     f"expected a number {'>' if strict else '>='} {minimum:g}{what}")
    return values


def _known_quantities(model) -> set[str] | None:
    if model is None:
        return None
    if hasattr(model, "state_names") and hasattr(model, "output_names"):
        return {*model.state_names, *model.output_names}
    return set(model)


def _validate(frame: pd.DataFrame, at: _Where, model=None) -> pd.DataFrame:
    """Check a tidy table (strings or values) row by row and return it with clean types."""
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataFileError(f"{at.where}: missing column{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}; "
                            f"a tidy table has {', '.join(TIDY_COLUMNS[:4])} and optionally "
                            f"{', '.join(TIDY_COLUMNS[4:] + DOSE_COLUMNS)}")
    n = len(frame)
    text = {c: _text(frame, c) if c in frame.columns else pd.Series([""] * n, dtype=object)
            for c in (*TIDY_COLUMNS, *DOSE_COLUMNS)}
    everything = np.ones(n, bool)
    dose = (text["agent"] != "").to_numpy()
    obs = ~dose
    for i in np.flatnonzero(text["subject"].to_numpy() == ""):
        raise at.fail(i, "subject", "is blank; every row needs a subject")
    time = _numbers(text["time"], "time", at, everything, what=" [day]")
    value = np.full(n, np.nan)
    value[obs] = _numbers(text["value"], "value", at, obs, minimum=0.0)[obs]
    observable = text["observable"].to_numpy()
    known = _known_quantities(model)
    for i in np.flatnonzero(obs):
        name = observable[i]
        if name == "":
            raise at.fail(i, "observable", "is blank; name the measured quantity with its unit, "
                                           "e.g. 'Tumour volume [mm3]'")
        try:
            unit_of(name)
        except ValueError:
            raise at.fail(i, "observable", f"{name!r} has no unit; end it with the unit in brackets, "
                                           "e.g. 'Tumour volume [mm3]'") from None
        if known is not None and name not in known:
            raise at.fail(i, "observable", unknown("model quantity", name, known))
    censoring = text["censoring"].str.lower().to_numpy()
    for i in np.flatnonzero(obs & ~np.isin(censoring, CENSORING)):
        raise at.fail(i, "censoring", f"{censoring[i]!r} is not one of '', 'left', 'right'")
    out = pd.DataFrame({"subject": text["subject"].to_numpy(), "time": time,
                        "observable": np.where(obs, observable, ""), "value": value,
                        "group": text["group"].to_numpy(), "censoring": np.where(obs, censoring, "")})
    if dose.any():
        for i in np.flatnonzero(dose & (observable != "")):
            raise at.fail(i, "observable", "a dose row (agent given) cannot hold an observation; "
                                           "put the observation on its own row")
        out = out.join(_doses(text, dose, at))
    _check_order(out, obs, at)
    has_obs = set(out.loc[obs, "subject"])
    for i in np.flatnonzero(~out["subject"].isin(has_obs).to_numpy()):
        raise at.fail(i, "subject", f"subject {out['subject'].iloc[i]!r} has doses but no observations")
    if not obs.any():
        raise DataFileError(f"{at.where}: no observation rows")
    return out


def _doses(text: dict[str, pd.Series], dose: np.ndarray, at: _Where) -> pd.DataFrame:
    aliases = agent_aliases()
    amount = np.full(dose.size, np.nan)
    amount[dose] = _numbers(text["amount"], "amount", at, dose, minimum=0.0, strict=True)[dose]
    duration = np.zeros(dose.size)
    given = dose & (text["duration"] != "").to_numpy()
    duration[given] = _numbers(text["duration"], "duration", at, given, minimum=0.0, what=" [day]")[given]
    agents, units, routes = np.full(dose.size, "", object), np.full(dose.size, "", object), np.full(dose.size, "", object)
    amount_units = [u for u, spec in UNITS.items() if not spec.per_day]
    for i in np.flatnonzero(dose):
        name = aliases.get(text["agent"].iloc[i].lower())
        if name is None:
            raise at.fail(i, "agent", unknown("agent", text["agent"].iloc[i], sorted(set(aliases.values()))))
        unit = text["amount_unit"].iloc[i]
        if unit not in amount_units:
            raise at.fail(i, "amount_unit", unknown("dose unit", unit, amount_units))
        route = text["route"].iloc[i] or ("iv_infusion" if duration[i] > 0 else "iv_bolus")
        if route not in ROUTES:
            raise at.fail(i, "route", unknown("route", route, ROUTES))
        if (route == "iv_infusion") != (duration[i] > 0):
            raise at.fail(i, "duration", "an iv_infusion needs a duration > 0 [day] and other routes none")
        agents[i], units[i], routes[i] = name, unit, route
    return pd.DataFrame({"agent": agents, "amount": amount, "amount_unit": units, "route": routes,
                         "duration": duration})


def _check_order(out: pd.DataFrame, obs: np.ndarray, at: _Where) -> None:
    """Times must increase strictly within each (subject, group, observable), in file order."""
    rows = out[obs]
    step = rows.groupby(["subject", "group", "observable"], sort=False)["time"].diff().to_numpy()
    bad = np.flatnonzero(step <= 0)
    if bad.size:
        i = int(np.flatnonzero(obs)[bad[0]])
        row = out.iloc[i]
        kind = "repeats the previous time" if step[bad[0]] == 0 else "is earlier than the previous time"
        curve = f"subject {row['subject']!r}" + (f", group {row['group']!r}" if row["group"] else "")
        raise at.fail(i, "time", f"{row['time']:g} {kind} of {curve}, '{row['observable']}'; "
                                 "give one value per time, in ascending order")


def read_tidy(source: str | os.PathLike | pd.DataFrame, *, model=None) -> pd.DataFrame:
    """Read and check a tidy calibration table (CSV file or DataFrame; columns in the module docstring).

    Parameters
    ----------
    source:
        Path of a comma-separated file with a header row, or a DataFrame
        (messages then name the row label instead of the line).
    model:
        A :class:`chemohost.Model` (or a collection of quantity names): every
        observable must be one of its states or outputs.

    Returns
    -------
    pandas.DataFrame
        The tidy table with clean types (``attrs["source"]`` names the file).

    Raises
    ------
    DataFileError
        One line naming file, line and column: a non-numeric, blank or negative
        value, a time out of order or repeated within a subject, group and
        observable, an observable without unit or unknown to ``model``, a
        subject with doses but no observations.
    """
    if isinstance(source, pd.DataFrame):
        frame = _validate(source.reset_index(drop=True), _Where("data", None, list(source.index)), model)
        frame.attrs["source"] = source.attrs.get("source", "DataFrame")
        return frame
    path = Path(source)
    raw, lines = _read_table(path, ",")
    frame = _validate(raw, _Where(path.name, lines, None), model)
    frame.attrs["source"] = str(path)
    return frame


def read_nonmem(
    path: str | os.PathLike,
    *,
    time_unit: str,
    observables: str | Mapping[int, str],
    agents: Mapping[int, str] | None = None,
    amount_unit: str = "mg",
    routes: Mapping[int, str] | None = None,
    group: str | None = None,
    model=None,
) -> pd.DataFrame:
    """Read a NONMEM-style data file (comma-separated) into the tidy table.

    Columns (case-insensitive): ``ID``, ``TIME``, ``DV`` and optionally
    ``AMT``, ``EVID``, ``CMT``, ``RATE``, ``II``, ``ADDL``, ``MDV`` and ``CENS``
    (Monolix convention [U]: 1 = DV is a lower limit of quantification with the
    value below it, −1 = DV is an upper limit). Without ``EVID`` a row with
    ``AMT`` > 0 is a dose. Observation rows with ``MDV`` = 1 and ``EVID`` = 2
    rows are skipped; reset events (``EVID`` 3, 4) and modelled rates
    (``RATE`` −1, −2) are not supported.

    Parameters
    ----------
    time_unit:
        Unit of ``TIME`` and ``II``: ``"h"``, ``"day"``, ``"min"`` or ``"week"``
        (no default: NONMEM files are often in hours, chemohost works in days).
    observables:
        The quantity every ``DV`` measures (``"Plasma paclitaxel [ng/mL]"``), or
        ``{CMT: quantity}`` for files observing several compartments.
    agents:
        ``{CMT: agent}``: the drug a dose into compartment ``CMT`` is.
    amount_unit:
        Unit of ``AMT`` (a regimen unit; default ``"mg"``).
    routes:
        ``{CMT: route}`` (default ``iv_bolus``; ``RATE`` > 0 makes an
        ``iv_infusion`` of duration AMT/RATE).
    group:
        A column holding the arm, copied to ``group``.
    model:
        Check the observables against a :class:`chemohost.Model`.

    ``ADDL`` additional doses every ``II`` are expanded into dose rows.
    """
    path = Path(path)
    if time_unit not in TIME_UNITS:
        raise DataFileError(f"{path.name}: " + unknown("time unit", str(time_unit), TIME_UNITS))
    days = TIME_UNITS[time_unit]
    raw, lines = _read_table(path, ",")
    raw.columns = [c.upper() if c.upper() in _NONMEM_COLUMNS else c for c in raw.columns]
    missing = [c for c in ("ID", "TIME", "DV") if c not in raw.columns]
    if missing:
        raise DataFileError(f"{path.name}: missing column{'s' * (len(missing) > 1)} {', '.join(missing)}; "
                            f"a NONMEM file has ID, TIME, DV and optionally {', '.join(_NONMEM_COLUMNS[3:])}")
    if group is not None and group not in raw.columns:
        raise DataFileError(f"{path.name}: group column " + unknown("column", group, raw.columns))
    at = _Where(path.name, lines, None)
    n, every = len(raw), np.ones(len(raw), bool)

    def column(name: str, default: float | None, rows=every, **check) -> np.ndarray:
        """Column ``name`` as numbers on ``rows``; blanks and '.' take ``default`` (None: required)."""
        if name not in raw.columns:
            return np.full(n, math.nan if default is None else default)
        text = raw[name].where(raw[name] != ".", "")
        blank = (text == "").to_numpy()
        checked = rows if default is None else rows & ~blank
        values = _numbers(text, name, at, checked, **check)
        return values if default is None else np.where(blank, default, values)

    time = column("TIME", None) * days
    amt = column("AMT", 0.0, minimum=0.0)
    evid = column("EVID", None) if "EVID" in raw.columns else np.where(amt > 0, 1.0, 0.0)
    for i in np.flatnonzero(~np.isin(evid, (0, 1, 2))):
        problem = "reset events (3, 4) are not supported" if evid[i] in (3, 4) else "expected 0, 1 or 2"
        raise at.fail(i, "EVID", f"{evid[i]:g}: {problem}")
    mdv = column("MDV", 0.0)
    cmt = column("CMT", 1.0)
    is_obs = (evid == 0) & (mdv == 0)
    is_dose = evid == 1
    dv_text = raw["DV"].where(raw["DV"] != ".", "")
    dv = _numbers(dv_text, "DV", at, is_obs, minimum=0.0)
    cens = column("CENS", 0.0, rows=is_obs)
    for i in np.flatnonzero(is_obs & ~np.isin(cens, (-1, 0, 1))):
        raise at.fail(i, "CENS", f"{cens[i]:g}: expected 0, 1 (below a lower limit) or -1 (above an upper limit)")
    rate = column("RATE", 0.0, rows=is_dose)
    for i in np.flatnonzero(is_dose & (rate < 0)):
        raise at.fail(i, "RATE", f"{rate[i]:g}: modelled rates and durations (-1, -2) are not supported")
    ii = column("II", 0.0, rows=is_dose, minimum=0.0) * days
    addl = column("ADDL", 0.0, rows=is_dose, minimum=0.0)
    for i in np.flatnonzero(is_dose & (amt <= 0)):
        raise at.fail(i, "AMT", f"{raw['AMT'].iloc[i] or 'blank'} on a dose row; expected an amount > 0")
    for i in np.flatnonzero(is_dose & (addl > 0) & (ii <= 0)):
        raise at.fail(i, "II", "ADDL > 0 needs a dosing interval II > 0")
    for i in np.flatnonzero(is_dose & (addl > MAX_DOSE_EVENTS)):  # counted before the rows are built
        raise at.fail(i, "ADDL", f"{addl[i]:g} additional doses are more than the bound of {MAX_DOSE_EVENTS:,} "
                                 "(chemohost.limits); check the number")
    check_count(f"{path.name}: dose rows after expanding ADDL", float(np.sum(addl[is_dose] + 1)), MAX_DOSE_EVENTS,
                "check the ADDL column")
    obs_names = _nonmem_map(observables, cmt, is_obs, at, "observables")
    dose_agents = _nonmem_map(agents or {}, cmt, is_dose, at, "agents")
    dose_routes = {int(k): v for k, v in (routes or {}).items()}
    rows, row_lines = [], []
    group_text = raw[group].to_numpy() if group is not None else np.full(n, "")
    for i in range(n):
        base = {"subject": raw["ID"].iloc[i], "group": group_text[i]}
        if is_obs[i]:
            rows.append({**base, "time": time[i], "observable": obs_names[i], "value": dv[i],
                         "censoring": {0: "", 1: "left", -1: "right"}[int(cens[i])]})
            row_lines.append(lines[i])
        elif is_dose[i]:
            duration = amt[i] / rate[i] * days if rate[i] > 0 else 0.0
            route = "iv_infusion" if duration > 0 else dose_routes.get(int(cmt[i]), "iv_bolus")
            for k in range(int(addl[i]) + 1):
                rows.append({**base, "time": time[i] + k * ii[i], "observable": "", "value": "",
                             "censoring": "", "agent": dose_agents[i], "amount": amt[i],
                             "amount_unit": amount_unit, "route": route, "duration": duration})
                row_lines.append(lines[i])
    if not rows:
        raise DataFileError(f"{path.name}: no observation or dose rows")
    frame = pd.DataFrame(rows)
    names = {"subject": "ID", "time": "TIME", "value": "DV", "observable": "CMT", "censoring": "CENS",
             "agent": "CMT", "amount": "AMT", "amount_unit": "AMT", "route": "CMT", "duration": "RATE"}
    frame = _validate(frame, _Where(path.name, np.asarray(row_lines), None, names), model)
    frame.attrs["source"] = str(path)
    return frame


_NONMEM_COLUMNS = ("ID", "TIME", "DV", "AMT", "EVID", "CMT", "RATE", "II", "ADDL", "MDV", "CENS")


def _nonmem_map(mapping, cmt: np.ndarray, rows: np.ndarray, at: _Where, what: str) -> np.ndarray:
    """``mapping[CMT]`` per row (a single string applies to every row)."""
    out = np.full(cmt.size, "", object)
    if isinstance(mapping, str):
        out[rows] = mapping
        return out
    table = {int(k): v for k, v in mapping.items()}
    for i in np.flatnonzero(rows):
        if int(cmt[i]) not in table:
            accepted = ", ".join(map(str, table)) or "none given"
            raise at.fail(i, "CMT", f"compartment {cmt[i]:g} has no entry in {what}= (given: {accepted})")
        out[i] = table[int(cmt[i])]
    return out


def read_petab_measurements(
    path: str | os.PathLike,
    *,
    observables: Mapping[str, str],
    subject: str = "simulationConditionId",
    time_unit: str = "day",
    model=None,
) -> pd.DataFrame:
    """Read a PEtab measurement table (tab-separated; Schmiester et al. 2021) into the tidy table.

    Columns ``observableId``, ``simulationConditionId``, ``time`` and
    ``measurement`` are required. ``group`` is the simulation condition;
    ``subject`` is the column naming the individual (default the condition;
    ``"datasetId"`` or ``"replicateId"`` when several individuals share one).
    ``observableParameters`` and ``noiseParameters`` are not read (the error
    model is set on the fitter); pre-equilibration is not supported.

    Parameters
    ----------
    observables:
        ``{observableId: model quantity}``, e.g. ``{"tumour_volume": "Tumour volume [mm3]"}``.
    time_unit:
        Unit of ``time`` (PEtab uses the model's unit; chemohost's is the day).
    """
    path = Path(path)
    if time_unit not in TIME_UNITS:
        raise DataFileError(f"{path.name}: " + unknown("time unit", str(time_unit), TIME_UNITS))
    raw, lines = _read_table(path, "\t")
    required = ("observableId", "simulationConditionId", "time", "measurement")
    missing = [c for c in (*required, subject) if c not in raw.columns]
    if missing:
        raise DataFileError(f"{path.name}: missing column{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))} "
                            f"(a PEtab measurement table is tab-separated with {', '.join(required)})")
    at = _Where(path.name, lines, None)
    if "preequilibrationConditionId" in raw.columns:
        for i in np.flatnonzero((raw["preequilibrationConditionId"] != "").to_numpy()):
            raise at.fail(i, "preequilibrationConditionId", "pre-equilibration is not supported; leave it blank")
    quantity = raw["observableId"].map(dict(observables))
    for i in np.flatnonzero(quantity.isna().to_numpy()):
        raise at.fail(i, "observableId", unknown("observableId", raw["observableId"].iloc[i], observables)
                      + " (map each to a model quantity with observables=)")
    time = _numbers(raw["time"], "time", at, np.ones(len(raw), bool)) * TIME_UNITS[time_unit]
    frame = pd.DataFrame({"subject": raw[subject], "time": time, "observable": quantity,
                          "value": raw["measurement"], "group": raw["simulationConditionId"]})
    names = {"subject": subject, "value": "measurement", "observable": "observableId",
             "group": "simulationConditionId"}
    frame = _validate(frame, _Where(path.name, lines, None, names), model)
    frame.attrs["source"] = str(path)
    return frame


def observations(data: pd.DataFrame) -> pd.DataFrame:
    """The observation rows of a tidy table (dose rows and dose columns dropped)."""
    doses = data["agent"].fillna("").astype(str) != "" if "agent" in data.columns else np.zeros(len(data), bool)
    return data.loc[~np.asarray(doses), [c for c in data.columns if c not in DOSE_COLUMNS]]


def dose_regimens(data: pd.DataFrame) -> dict[tuple[str, str], object]:
    """One :class:`~chemohost.regimen.Regimen` per (subject, group) curve that has dose rows.

    Each dose row becomes a single administration at its time: a bolus
    (``AgentSchedule.bolus``) or, with a duration, an infusion.
    """
    if "agent" not in data.columns:
        return {}
    rows = data[data["agent"].fillna("").astype(str) != ""]
    out = {}
    for (subject, group), doses in rows.groupby(["subject", "group"], sort=False):
        schedules = []
        for d in doses.itertuples(index=False):
            if d.duration > 0:
                schedules.append(AgentSchedule.infusion(d.agent, d.amount, d.amount_unit, d.duration, start=d.time))
            else:
                schedules.append(AgentSchedule.bolus(d.agent, d.amount, d.amount_unit, start=d.time, route=d.route))
        out[(subject, group)] = Regimen(tuple(schedules))
    return out


def _zero_volumes(frame: pd.DataFrame, lloq: float | None) -> pd.DataFrame:
    """Zero volumes dropped, or (with ``lloq`` [mm3]) left-censored at it."""
    zero = frame["value"] == 0
    if lloq is None:
        return frame[~zero].reset_index(drop=True)
    if not lloq > 0:
        raise DataFileError(f"lloq = {lloq} must be a volume > 0 [mm3]")
    frame.loc[zero, "value"] = float(lloq)
    frame.loc[zero, "censoring"] = "left"
    return frame


def tidy_benzekry2014(name: str | None = None, data_dir: str | os.PathLike | None = None, *,
                      lloq: float | None = None, path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The Benzekry et al. 2014 volumes (see :func:`load_benzekry2014`) as a tidy table.

    ``subject`` is the mouse ID, ``observable`` ``"Tumour volume [mm3]"``, no
    group. Zero volumes (2 in LM2-4) are dropped as in MODEL_SPEC §1.3, or with
    ``lloq`` [mm3] kept as left-censored at that limit. Give the data set's
    ``name`` (``"lung"``, ``"breast"``) to read the shared data folder, or the
    ``path`` of a file in the same ``ID, Time, Observation`` format.
    """
    if (name is None) == (path is None):
        raise DataFileError("tidy_benzekry2014: give either a data set name ('lung', 'breast') or a file path=")
    raw = read_growth_table(path) if path is not None else load_benzekry2014(name, data_dir)
    frame = pd.DataFrame({"subject": raw[SUBJECT].astype(str), "time": raw[TIME].astype(float),
                          "observable": TUMOUR_VOLUME, "value": raw[VOLUME].astype(float), "group": "",
                          "censoring": ""})
    frame = _zero_volumes(frame, lloq)
    frame.attrs["source"] = raw.attrs.get("source", "")
    return frame


def tidy_pdxe(
    path: str | os.PathLike,
    *,
    arms: Iterable[str] | Mapping[str, str] | None = None,
    tumour_type: str | None = None,
    require_all_arms: bool = False,
    lloq: float | None = None,
    max_time: float | None = None,
) -> pd.DataFrame:
    """PDX-encyclopedia curves (Gao et al. 2015; :func:`chemohost.outcomes.read_pdxe_volumes`) as a tidy table.

    ``subject`` is the PDX model (``Tumor``) and ``group`` the arm, so that the
    treated and untreated curves of one model form one subject; a model × arm
    with several mice (three untreated series) gives one subject per mouse,
    ``"<model>/<ID>"``. Times are days from treatment start.

    Parameters
    ----------
    arms:
        PDXE arm labels to keep, or ``{label: group name}``; default all.
    tumour_type:
        Keep one tumour type (``"BRCA"``, ``"NSCLC"``, ...).
    require_all_arms:
        Keep only subjects observed in every requested arm (paired designs).
    lloq:
        Zero volumes become left-censored at this volume [mm3]; by default they are dropped.
    max_time:
        Drop measurements after this day.
    """
    try:
        data = read_pdxe_volumes(path)
    except OutcomeError as exc:
        raise DataFileError(str(exc)) from None
    rename = dict(arms) if isinstance(arms, Mapping) else ({a: a for a in arms} if arms is not None else None)
    if rename is not None:
        absent = [a for a in rename if a not in set(data["Arms"])]
        if absent:
            raise DataFileError("PDXE data: " + unknown("arm", absent[0], sorted(set(data["Arms"]))))
        data = data[data["Arms"].isin(rename)]
    if tumour_type is not None:
        if tumour_type not in set(data["Type"].dropna()):
            raise DataFileError("PDXE data: " + unknown("tumour type", tumour_type, set(data["Type"].dropna())))
        data = data[data["Type"] == tumour_type]
    if max_time is not None:
        data = data[data["Times"] <= max_time]
    mice = data.groupby(["Tumor", "Arms"])["ID"].transform("nunique")
    subject = data["Tumor"].where(mice == 1, data["Tumor"] + "/" + data["ID"].astype(str))
    frame = pd.DataFrame({"subject": subject.to_numpy(), "time": data["Times"].to_numpy(float),
                          "observable": TUMOUR_VOLUME, "value": data["Volume"].to_numpy(float),
                          "group": data["Arms"].map(rename).to_numpy() if rename else data["Arms"].to_numpy(),
                          "censoring": ""})
    if require_all_arms and rename:
        arms_seen = frame.groupby("subject")["group"].nunique()
        frame = frame[frame["subject"].map(arms_seen) == len(set(rename.values()))]
    frame = _zero_volumes(frame.reset_index(drop=True), lloq)
    if frame.empty:
        raise DataFileError(f"PDXE data: no curves left after selecting arms {list(rename or [])}, "
                            f"tumour type {tumour_type!r}")
    frame.attrs["source"] = str(path)
    return frame
