"""The report's outcomes section: response classes, time to progression or to an endpoint, cumulative dose.

Response classes are mRECIST (Gao 2015) for mice and RECIST 1.1 (sphere
volumes) for human studies, both on the assessment schedule of the study's
``outcomes`` settings. The time-to-event read-out of a human study is RECIST
progression (volume ≥ 1.728 × nadir) counted from treatment start and
censored at the last assessment; that of a mouse study is the time to the
endpoint volume (default 1,500 mm³, MODEL_SPEC §9.2 [U]), as in survival
studies of tumour-bearing mice; a human study shows it too when an endpoint
volume is given. Kaplan–Meier curves, log-rank tests and Cox hazard ratios
against the reference arm come from :mod:`chemohost.outcomes` (lifelines); a
hazard ratio that cannot be estimated (an arm whose events all precede the
reference's, so the Cox fit diverges) is left blank.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..metastasis import new_lesions
from ..outcomes import (MRECIST_CLASSES, OutcomeError, cox_hazard_ratios, kaplan_meier, logrank, mrecist_table,
                        recist_table, time_to_endpoint)
from ..outcomes._recist import RECIST_CLASSES
from ..quantities import METASTASES, TUMOUR_VOLUME
from ..study import StudyPlan
from . import _figures
from ._summary import treatment_start, vehicle_arm

DURATION, EVENT = "duration [day]", "event"
MOUSE_ENDPOINT = 1500.0
"""Default endpoint volume [mm3] of mouse studies (MODEL_SPEC §9.2: 1,500–2,000 mm³ [U])."""


def _assessed(results: xr.Dataset, start: float, interval: float) -> xr.DataArray:
    """Tumour volumes at the assessments start, start + interval, ... (linear interpolation)."""
    volume = results[TUMOUR_VOLUME]
    last = float(volume["time"][-1])
    return volume.interp(time=np.arange(start, last + 1e-9, interval))


def progression_table(results: xr.Dataset, start: float, interval: float) -> pd.DataFrame:
    """Time to RECIST progression from ``start`` per (arm, patient), as duration/event pairs; with metastases, a
    new lesion (a metastasis reaching the detection size) is progression too."""
    lesions = None
    if METASTASES in results:
        lesions = new_lesions(results, start=start)
    table = recist_table(results, start=start, assessment_interval=interval, new_lesions=lesions)
    table[EVENT] = table["progressed"]
    table[DURATION] = np.where(table["progressed"], table["time to progression [day]"], table["follow-up [day]"])
    return table


def endpoint_table(results: xr.Dataset, start: float, volume: float) -> pd.DataFrame:
    """Time from ``start`` to the tumour volume ``volume`` [mm3] per (arm, patient), as duration/event pairs."""
    curves = results[TUMOUR_VOLUME].sel(time=slice(start, None))
    table = time_to_endpoint(curves.stack(subject=("arm", "patient")).transpose("subject", "time"),
                             threshold=volume).reset_index()
    table[DURATION] -= start
    return table


def _hazards(table: pd.DataFrame, reference: str, arms: list[str]) -> pd.DataFrame:
    """Median, hazard ratio against ``reference`` and log-rank p per arm."""
    medians = kaplan_meier(table).attrs["median survival [day]"]
    rows = pd.DataFrame(index=pd.Index(arms, name="arm"))
    rows["events"] = table.groupby("arm", sort=False)[EVENT].sum().reindex(arms)
    rows["median [day]"] = [medians.get(a, np.nan) for a in arms]
    rows["hazard ratio"] = rows["lower 95% CI"] = rows["upper 95% CI"] = rows["log-rank p"] = np.nan
    if not table.loc[table["arm"] == reference, EVENT].any():
        return rows
    for arm in arms:
        pair = table[table["arm"].isin([reference, arm])]
        if arm == reference or not pair.loc[pair["arm"] == arm, EVENT].any():
            continue
        rows.loc[arm, "log-rank p"] = logrank(table, reference, arm).p
        try:  # one Cox fit per arm against the reference, so one separated arm does not spoil the others
            hr = cox_hazard_ratios(pair, reference).iloc[0]
        except OutcomeError:
            continue
        if np.isfinite(hr["upper 95% CI"]) and hr["lower 95% CI"] > 0:
            rows.loc[arm, ["hazard ratio", "lower 95% CI", "upper 95% CI"]] = hr.iloc[:3].to_numpy()
    return rows


def dose_summary(results: xr.Dataset, plan: StudyPlan) -> pd.DataFrame:
    """Median cumulative dose [mg] per arm and agent: given (dose record of arms with rules) or planned."""
    weight = plan.covariates.get("Body weight [kg]")
    bsa = plan.covariates.get("Body surface area [m2]")
    rows = {}
    for arm, regimen in plan.regimens.items():
        planned = regimen.cumulative_dose(plan.config.duration, weight, bsa) if len(regimen) else {}
        given = dict(planned)
        if "Dose amount [mg]" in results and plan.rules.get(arm):
            record = results["Dose amount [mg]"].sel(arm=arm)
            for agent in planned:
                given[agent] = float(record.where(record["agent"] == agent, 0.0).sum("dose").median())
        for agent, total in planned.items():
            rows[(arm, agent)] = {"planned [mg]": total, "given, median [mg]": given[agent],
                                  "given / planned": given[agent] / total if total else np.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")
    if not table.empty:
        table.index = pd.MultiIndex.from_tuples(table.index, names=["arm", "agent"])
    return table


def survival_figure(curves: dict[str, pd.DataFrame], colours: dict[str, str]) -> str:
    """Kaplan–Meier panels (one per time-to-event read-out), arms coloured as elsewhere."""
    fig = _figures._figure(5.2 * len(curves) + 1.8, 3.6)
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, (title, km) in zip(axes, curves.items()):
        for arm, rows in km.groupby("arm", sort=False):
            ax.step(rows["time [day]"], rows["survival"], where="post", color=colours.get(arm, "k"), lw=1.6,
                    label=arm)
            ax.fill_between(rows["time [day]"], rows["survival lower"], rows["survival upper"], step="post",
                            color=colours.get(arm, "k"), alpha=0.12, lw=0)
        ax.set_xlabel("days from treatment start")
        ax.set_ylabel("fraction without event")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, fontsize=10, loc="left")
    axes[-1].legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _figures._png(fig)


def outcomes_context(results: xr.Dataset, plan: StudyPlan, out_dir) -> dict | None:
    """Tables (also written as CSV into ``out_dir``) and the survival figure of the outcomes section."""
    start = treatment_start(plan)
    if TUMOUR_VOLUME not in results or start is None:
        return None
    settings = plan.config.outcomes
    arms = [str(a) for a in results["arm"].values]
    reference = settings.reference_arm or vehicle_arm(plan) or arms[0]
    human = plan.model.options.get("species") == "human"
    classes = RECIST_CLASSES if human else MRECIST_CLASSES
    if human:
        response = recist_table(results, start=start, assessment_interval=settings.assessment_interval)
        column = "best overall response"
    else:
        response = mrecist_table(_assessed(results, start, settings.assessment_interval).to_dataset(), start=start)
        column = "class"
    counts = (pd.crosstab(response["arm"], response[column].fillna("not evaluable"))
              .reindex(index=arms, columns=[*classes, "not evaluable"], fill_value=0))
    counts = counts.loc[:, (counts.sum() > 0) | counts.columns.isin(classes)]
    tables, curves = {}, {}
    if human:
        progression = progression_table(results, start, settings.assessment_interval)
        tables["progression"] = _hazards(progression, reference, arms)
        curves["Time to progression (RECIST volume PD)"] = kaplan_meier(progression)
    endpoint_volume = settings.endpoint_volume or (None if human else MOUSE_ENDPOINT)
    if endpoint_volume is not None:
        endpoint = endpoint_table(results, start, endpoint_volume)
        tables["endpoint"] = _hazards(endpoint, reference, arms)
        curves[f"Time to a tumour volume of {endpoint_volume:g} mm³"] = kaplan_meier(endpoint)
    doses = dose_summary(results, plan)
    counts.to_csv(out_dir / "responses.csv")
    pd.concat(tables, names=["read-out"]).to_csv(out_dir / "time_to_event.csv")
    doses.to_csv(out_dir / "cumulative_dose.csv")
    colours = _figures.arm_colours(plan)
    titles = dict(zip(tables, curves))
    return {
        "scale": "RECIST 1.1 (sphere-volume form)" if human else "mRECIST (Gao et al. 2015)",
        "interval": settings.assessment_interval, "reference": reference, "start": start, "human": human,
        "classes": list(counts.columns),
        "responses": [{"arm": arm, "colour": colours[arm], "counts": [int(c) for c in counts.loc[arm]],
                       "n": int(counts.loc[arm].sum())} for arm in arms],
        "events": [{"title": titles[key], "rows": [
            {"arm": arm, "colour": colours[arm], "events": int(row["events"]), "median": row["median [day]"],
             "hr": row.get("hazard ratio", np.nan), "lower": row.get("lower 95% CI", np.nan),
             "upper": row.get("upper 95% CI", np.nan), "p": row.get("log-rank p", np.nan)}
            for arm, row in table.iterrows()]} for key, table in tables.items()],
        "doses": [{"arm": arm, "colour": colours[arm], "agent": agent, **{k.split(" [")[0].split(",")[0]: v
                   for k, v in row.items()}} for (arm, agent), row in doses.iterrows()],
        "figure": survival_figure(curves, colours),
    }
