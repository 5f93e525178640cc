"""``write_report``: one self-contained HTML study report plus its tables as CSV and the equations as Markdown."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import pandas as pd
import xarray as xr
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .._errors import ChemohostError
from ..citations import UnknownCitationError, get_citation
from ..drugs import get_drug
from ..host_profile import host_quantities, host_response_profile
from ..parameters import TAGS
from ..quantities import NEUTROPHILS, TUMOUR_VOLUME, VASCULAR_CAPACITY
from ..sensitivity import FRAGILE_BELOW, PLACEHOLDER_TAGS
from ..study import StudyPlan
from ..targets import target_checks
from ..validation import reference_checks
from . import _figures, _host
from ._markdown import equations_html
from ._metastasis import metastasis_section
from ._outcomes import outcomes_context
from ._profiles import concentration_profiles
from ._robustness import robustness_rows
from ._summary import arms_table, exposure_summary, readout_times, treatment_start, tumour_summary, vehicle_arm

__all__ = ["write_report"]

TAG_MEANINGS = {
    "V": "seen in the primary source (paper, table, drug label)",
    "V-code": "seen in a public implementation that cites the paper (second-hand)",
    "C": "computed from verified equations or public data",
    "U": "unverified placeholder (standard practice or recollection)",
    "proposed": "a chemohost structure or default with no literature value",
    "user": "set in the study file, overriding the parameter sets",
}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _number(value, digits: int = 3) -> str:
    """``value`` for a table cell: significant ``digits``, thousands separators, ×10ⁿ beyond 10⁶ or below 10⁻³."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    if abs(value) >= 10 ** digits:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _percent(value) -> str:
    """A fraction as a whole percentage, ``–`` for none."""
    return "–" if value is None or math.isnan(value) else f"{100 * value:.0f}%"


def _check_matches(results: xr.Dataset, plan: StudyPlan) -> None:
    """Raise unless ``results`` were simulated from ``plan``'s model and arms."""
    fingerprint = results.attrs.get("model_fingerprint")
    if fingerprint != plan.model.fingerprint:
        raise ChemohostError(
            f"the results come from model {fingerprint} but the plan builds model {plan.model.fingerprint}; "
            "pass the plan the results were run with (plan_study(config) of the same study)"
        )
    arms = [str(a) for a in results["arm"].values]
    if arms != list(plan.regimens):
        raise ChemohostError(f"the results hold arms {arms} but the plan has arms {list(plan.regimens)}; "
                             "pass the plan the results were run with")


def _arm_rows(plan: StudyPlan, colours: dict[str, str]) -> list[dict]:
    """Arms with their regimen and cumulative doses, grouped for the arms table."""
    table = arms_table(plan)
    rows = []
    for arm, group in table.groupby("arm", sort=False):
        doses = [
            {"agent": get_drug(r["agent"]).display_name, "administrations": r["administrations"],
             "mg": _number(r["cumulative dose [mg]"]), "mg_per_kg": _number(r["cumulative dose [mg/kg]"])}
            for _, r in group.iterrows() if pd.notna(r["agent"])
        ]
        extras = [f"procedure: {x}" for x in plan.procedures.get(arm, ())]
        extras += [f"rule: {x}" for x in plan.rules.get(arm, ())]
        rows.append({"arm": arm, "regimen": group["regimen"].iloc[0], "colour": colours[arm], "doses": doses,
                     "extras": extras})
    return rows


def _readout_rows(summary: pd.DataFrame, times: list[float], colours: dict[str, str]) -> list[dict]:
    """The tumour read-outs of :func:`tumour_summary` as formatted cells, one row per arm."""
    rows = []
    for arm, r in summary.iterrows():
        cells = []
        for t in times:
            label = f"day {t:g}"
            cells.append({
                "median": _number(r[f"median {label} [mm3]"]),
                "band": f"{_number(r[f'5% {label} [mm3]'])}–{_number(r[f'95% {label} [mm3]'])}",
                "tc": _percent(r.get(f"T/C {label}")),
                "tgi": _percent(r.get(f"TGI {label}")),
            })
        rows.append({"arm": arm, "colour": colours[arm], "failures": int(r["solver failures"]), "cells": cells})
    return rows


def _exposure_rows(exposure: pd.DataFrame, colours: dict[str, str]) -> list[dict]:
    """The drug-exposure table as formatted cells."""
    return [
        {"drug": r["drug"], "arm": r["arm"], "colour": colours[r["arm"]], "administrations": r["administrations"],
         "cmax": _number(r["Cmax [ng/mL]"]), "tmax": _number(r["Tmax after dose [h]"], 2),
         "auc_dose": _number(r["AUC per dose [ng·h/mL]"]), "auc_total": _number(r["AUC 0–end [ng·h/mL]"])}
        for _, r in exposure.iterrows()
    ]


def _parameter_rows(plan: StudyPlan, numbers: dict[str, int]) -> list[dict]:
    """Every model parameter with its typical value, variability and provenance, placeholders flagged."""
    rows = []
    for name, r in plan.table.iterrows():
        keys = [k.strip() for k in r["citations"].split(",") if k.strip()]
        rows.append({
            "name": name, "symbol": r["symbol"], "value": _number(r["value"], 4), "unit": r["unit"],
            "omega": _number(r["omega"]) if r["omega"] > 0 else "–", "tag": r["tag"],
            "placeholder": r["tag"] in PLACEHOLDER_TAGS, "source": r["source"], "set": r["set"],
            "citations": [(k, numbers.get(k)) for k in keys],
        })
    return rows


def _citation_rows(keys: list[str]) -> list[dict]:
    """References for ``keys``, in order; a key missing from the registry is listed as such."""
    rows = []
    for key in keys:
        try:
            citation = get_citation(key)
        except UnknownCitationError:
            rows.append({"key": key, "text": "not in chemohost's citation registry", "doi": None})
            continue
        rows.append({"key": key, "text": str(citation), "doi": citation.doi})
    return rows


def _figures_for(results: xr.Dataset, plan: StudyPlan, profiles: xr.Dataset, host: dict | None) -> dict[str, str]:
    """Every figure of the report, as base64 PNG; the tumour and host figures only where the model has them."""
    figures = {}
    capacity = VASCULAR_CAPACITY in results.data_vars
    if TUMOUR_VOLUME in results.data_vars:
        figures["volume_panels"] = _figures.tumour_volume_panels(results, plan)
        figures["volume_medians"] = _figures.tumour_volume_medians(results, plan, compact=capacity)
    if capacity:
        figures["capacity"] = _figures.capacity_figure(results, plan)
    if treatment_start(plan) is not None:
        figures["concentrations"] = _figures.concentration_figure(profiles, plan)
    if host is None:
        return figures
    if host["effectors"]:
        figures["effectors"] = _figures.host_signal_figure(results, plan, host["effectors"])
    if host["cells"]:
        figures["cells"] = _figures.host_signal_figure(results, plan, host["cells"])
    if host["neutrophils"] is not None:
        figures["neutrophils"] = _figures.neutrophil_figure(results, plan)
    if host["blockers"]:
        figures["coverage"] = _figures.coverage_figure(results, plan, profiles, host["blockers"])
    return figures


def _host_context(results: xr.Dataset, plan: StudyPlan, profile: pd.DataFrame, neutrophils: pd.DataFrame | None,
                  profiles: xr.Dataset, colours: dict[str, str]) -> dict:
    """What the host-response section shows: quantities that change, the profile tables, neutrophils, blockers."""
    arms = [str(a) for a in results["arm"].values]
    effectors, cells = _host.effector_names(results), _host.cell_names(results)
    flat = _host.unchanged(results, effectors + cells)
    blockers = _host.blocker_arms(plan, results)
    species = plan.model.options.get("species", "")
    return {
        "effectors": [n for n in effectors if n not in flat],
        "cells": [n for n in cells if n not in flat],
        "effectors_flat": [_host.quantity_label(n) for n in effectors if n in flat],
        "cells_flat": [_host.quantity_label(n) for n in cells if n in flat],
        "tables": _host.profile_tables(profile, arms, colours),
        "unprofiled": [a for a in arms if a not in set(profile.get("arm", []))],
        "gradient": _host.legend_gradient(), "saturation": _host.SATURATION,
        "neutrophils": None if neutrophils is None else _host.neutrophil_rows(neutrophils, colours, _number, _percent),
        "anc_baseline": None if neutrophils is None else float(neutrophils["baseline [1e9/L]"].iloc[0]),
        "anc_baseline_grade": None if neutrophils is None else _host.baseline_grade(neutrophils),
        "grade3": _host.GRADE3, "grade4": _host.GRADE4,
        "species": species, "human": species == "human",
        "blockers": blockers,
        "coverage_fine": all(n in profiles for names in blockers.values() for n in names),
    }


def _render(context: dict) -> str:
    """Fill ``templates/report.html`` with ``context``."""
    env = Environment(loader=PackageLoader("chemohost.report", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = _number
    return env.get_template("report.html").render(**context)


def write_report(results: xr.Dataset, plan: StudyPlan, out_dir: str | Path, *,
                 profiles: xr.Dataset | None = None, robustness: pd.DataFrame | None = None) -> Path:
    """Write a study's report into ``out_dir`` and return the path of ``report.html``.

    ``report.html`` is one self-contained file (figures inline as PNG, CSS
    inline; MathJax from a CDN renders the equations, whose LaTeX stays
    readable offline): study settings, arms and cumulative doses, tumour
    volume over time with the read-outs of :func:`tumour_summary`, drug
    exposure of the typical patient, equations, parameters with their
    provenance, the references used and the run's provenance. Beside it go
    ``summary.csv`` (:func:`tumour_summary`), ``parameters.csv`` (the
    parameter table) and ``equations.md`` (:meth:`chemohost.Model.equations`).

    When the model has host quantities (:func:`chemohost.host_profile.host_quantities`)
    a host-response section follows the drug exposure: effector signals and
    cells over time, the host-response profile (also written as
    ``host_response.csv``), neutrophils with their nadir and CTCAE grade (also
    ``neutrophils.csv``) and the target coverage of adjuvant blockers. A study
    without a tumour (``tumour: absent``) has no tumour-volume section, and its
    ``summary.csv`` lists only each arm's regimen and solver failures.

    Parameters
    ----------
    results:
        The output of :func:`chemohost.study.run_study` for ``plan``.
    plan:
        The study plan the results were run with.
    out_dir:
        Folder to write into; created if missing.
    profiles:
        Fine-grid concentrations from :func:`concentration_profiles`;
        computed with its defaults (0.01-day grid) when not given.
    robustness:
        The table of :func:`chemohost.sensitivity.robustness` (``chemohost validate
        --robustness`` writes it as ``robustness.csv``): the share of draws in which
        each conclusion holds goes beside the validation tables, and the placeholder
        banner names the parameters that matter most for each conclusion.
    """
    _check_matches(results, plan)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if profiles is None:
        profiles = concentration_profiles(plan)
    times = readout_times(results, plan)
    summary = tumour_summary(results, plan, times)
    exposure = exposure_summary(profiles, plan)
    equations = plan.model.equations()
    summary.to_csv(out / "summary.csv")
    plan.table.to_csv(out / "parameters.csv")
    (out / "equations.md").write_text(equations, encoding="utf-8")

    colours = _figures.arm_colours(plan)
    host = None
    if host_quantities(results):
        profile = host_response_profile(results, plan.config.profile_times)
        profile.to_csv(out / "host_response.csv", index=False)
        neutrophils = None
        if NEUTROPHILS in results.data_vars:
            neutrophils = _host.neutrophil_summary(results)
            neutrophils.to_csv(out / "neutrophils.csv")
        host = _host_context(results, plan, profile, neutrophils, profiles, colours)
        host["checks"] = reference_checks(results) + target_checks(results)
        custom = plan.config.profile_times or {}
        host["custom_times"] = ", ".join(f"{label}: day {day:g}" for label, day in custom.items())
    metastasis = metastasis_section(results, plan, colours, out, _number, _percent)
    has_tumour = TUMOUR_VOLUME in results.data_vars
    citations = list(dict.fromkeys(json.loads(results.attrs.get("citations", "[]"))))
    numbers = {key: i for i, key in enumerate(citations, start=1)}
    parameters = _parameter_rows(plan, numbers)
    config = plan.config
    control = vehicle_arm(plan)
    context = {
        "study": {
            "name": config.name, "description": config.description,
            "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "version": results.attrs.get("chemohost_version", "unknown"),
            "cohort_size": results.attrs.get("cohort_size", config.cohort.size),
            "seed": results.attrs.get("seed", config.cohort.seed), "variability": config.cohort.variability,
            "solver": results.attrs.get("solver", config.solver.method),
            "rtol": results.attrs.get("rtol", config.solver.rtol),
            "atol": results.attrs.get("atol", config.solver.atol),
            "parameter_sets": config.parameter_sets, "covariates": plan.covariates, "duration": config.duration,
            "output_interval": config.output_interval, "failures": int((results["solver_status"] != 0).sum()),
        },
        "arms": _arm_rows(plan, colours),
        "control": control,
        "start": treatment_start(plan),
        "times": times,
        "has_tumour": has_tumour,
        "readouts": _readout_rows(summary, times, colours) if has_tumour else [],
        "has_tc": has_tumour and control is not None,
        "has_tgi": any(c.startswith("TGI") for c in summary.columns),
        "host": host,
        "metastasis": metastasis,
        "outcomes": outcomes_context(results, plan, out) if has_tumour else None,
        "exposure": _exposure_rows(exposure, colours),
        "profile_step_min": float(profiles.attrs.get("step", float("nan"))) * 24 * 60,
        "figures": _figures_for(results, plan, profiles, host),
        "equations": equations_html(equations),
        "parameters": parameters,
        "placeholders": sum(p["placeholder"] for p in parameters),
        "robustness": robustness_rows(robustness), "fragile_below": FRAGILE_BELOW,
        "tags": [(tag, TAG_MEANINGS.get(tag, ""), tag in PLACEHOLDER_TAGS) for tag in (*TAGS, "user")],
        "citations": _citation_rows(citations),
        "provenance": {
            "versions": json.loads(results.attrs.get("versions", "{}")),
            "fingerprint": plan.model.fingerprint,
            "model_options": json.dumps(plan.model.options, indent=2),
            "study_config": json.dumps(config.model_dump(), indent=2),
        },
    }
    path = out / "report.html"
    path.write_text(_render(context), encoding="utf-8")
    return path
