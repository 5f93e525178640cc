"""Study report: the HTML holds every section, the CSVs the read-outs, the exposure table the analytic PK."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from markupsafe import escape

from chemohost._errors import ChemohostError
from chemohost.citations import get_citation
from chemohost.host_profile import host_response_profile
from chemohost.report import (concentration_profiles, exposure_summary, neutrophil_summary, tumour_summary,
                              write_report)
from chemohost.report._markdown import equations_html
from chemohost.study import load_study, plan_study, reference_study, run_study

ARMS = {
    "vehicle": "none",
    "paclitaxel MTD": "paclitaxel 25 mg/kg iv bolus q7d x2 from day 8",
    "gemcitabine": "gemcitabine 120 mg/kg iv bolus q3d x3 from day 8",
}
# The reference study's drugs, listed in its order, so the model (and its compiled kernel) is the reference one.
DRUGS = {"paclitaxel": {"kill": "linear"}, "gemcitabine": {"kill": "linear"},
         "cyclophosphamide": {"kill": "linear", "extravascular": ["oral"]}}
PLACEHOLDER_TAGS = ("U", "proposed")


def small_plan(arms: dict[str, str]):
    study = reference_study().model_dump()
    study.update(name="small report study", arms=arms, duration=20, cohort={**study["cohort"], "size": 20},
                 model={**study["model"], "drugs": DRUGS})
    return plan_study(load_study(study))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    plan = small_plan(ARMS)
    results = run_study(plan.config, plan=plan)
    profiles = concentration_profiles(plan)
    out = tmp_path_factory.mktemp("report")
    path = write_report(results, plan, out, profiles=profiles)
    return {"plan": plan, "results": results, "profiles": profiles, "out": out, "path": path,
            "html": path.read_text(encoding="utf-8")}


def test_writes_the_four_files(report):
    assert report["path"] == report["out"] / "report.html"
    for name in ("report.html", "summary.csv", "parameters.csv", "equations.md"):
        assert (report["out"] / name).stat().st_size > 0
    assert (report["out"] / "equations.md").read_text(encoding="utf-8") == report["plan"].model.equations()
    parameters = pd.read_csv(report["out"] / "parameters.csv", index_col="parameter")
    assert list(parameters.index) == report["plan"].model.parameter_names


def test_html_is_self_contained_with_one_image_per_figure(report):
    html = report["html"]
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    images = re.findall(r'<img alt="([^"]+)" src="([^"]+)"', html)
    alts = [alt for alt, _ in images]
    for figure in ("Tumour volume per arm", "Median tumour volume", "Plasma concentration"):
        assert sum(alt.startswith(figure) for alt in alts) == 1, figure
    assert len(set(alts)) == len(alts)  # no figure twice
    assert all(src.startswith("data:image/png;base64,") for _, src in images)
    assert '<link rel="stylesheet"' not in html and "<style>" in html


def test_html_names_study_arms_and_settings(report):
    html, plan = report["html"], report["plan"]
    assert str(escape(plan.config.name)) in html
    for arm, regimen in plan.regimens.items():
        assert str(escape(arm)) in html and str(escape(str(regimen))) in html
    assert f"seed {plan.config.cohort.seed}" in html and "dopri5" in html


def test_html_cites_exactly_the_run_citations(report):
    html = report["html"]
    keys = json.loads(report["results"].attrs["citations"])
    for key in keys:
        assert str(escape(str(get_citation(key)))) in html
        assert f'id="ref-{key}"' in html
    assert len(re.findall(r'<li id="ref-', html)) == len(keys)


def test_placeholders_are_marked(report):
    html, table = report["html"], report["plan"].table
    placeholders = table.index[table["tag"].isin(PLACEHOLDER_TAGS)]
    assert len(placeholders) > 0
    for name in placeholders:
        assert re.search(rf'<tr class="placeholder">\s*<td>{re.escape(str(escape(name)))}</td>', html), name
    verified = table.index[~table["tag"].isin(PLACEHOLDER_TAGS)]
    for name in verified:
        assert not re.search(rf'<tr class="placeholder">\s*<td>{re.escape(str(escape(name)))}</td>', html), name
    assert f"{len(placeholders)} of {len(table)}" in html


def test_equation_block_is_rendered(report):
    html = report["html"]
    assert '<section id="equations">' in html
    assert html.count('<div class="math">\\[') >= len(report["plan"].model.states)
    assert "$$" not in html and "mathjax" in html.lower()


def test_summary_has_one_row_per_arm_with_tc_and_tgi(report):
    summary = pd.read_csv(report["out"] / "summary.csv", index_col="arm")
    assert list(summary.index) == list(ARMS)
    tc = [c for c in summary.columns if c.startswith("T/C")]
    tgi = [c for c in summary.columns if c.startswith("TGI")]
    assert tc and tgi and tc[-1] == "T/C day 20"
    assert (summary.loc["vehicle", tc] == 1.0).all()
    assert (summary.loc["vehicle", tgi] == 0.0).all()
    assert summary.loc["paclitaxel MTD", "T/C day 20"] < 1.0
    assert summary.loc["paclitaxel MTD", "TGI day 20"] > 0.0
    assert (summary["solver failures"] == 0).all()
    median = report["results"]["Tumour volume [mm3]"].isel(time=-1).median("patient")
    assert summary.loc["paclitaxel MTD", "T/C day 20"] == pytest.approx(
        float(median.sel(arm="paclitaxel MTD") / median.sel(arm="vehicle")))


def test_no_vehicle_arm_means_no_tc(tmp_path):
    plan = small_plan({arm: text for arm, text in ARMS.items() if arm != "vehicle"})
    results = run_study(plan.config, plan=plan)
    summary = tumour_summary(results, plan)
    assert not [c for c in summary.columns if c.startswith(("T/C", "TGI"))]
    write_report(results, plan, tmp_path, profiles=concentration_profiles(plan, step=0.05))
    assert "T/C" not in pd.read_csv(tmp_path / "summary.csv").columns.str.cat()
    assert ">T/C<" not in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_exposure_matches_one_compartment_bolus(report):
    """Cmax = D/V and AUC per dose = D/CL for an iv bolus into one compartment."""
    plan, table = report["plan"], report["plan"].table["value"]
    exposure = exposure_summary(report["profiles"], plan).set_index("drug")
    dose_mg = 25 * plan.covariates["Body weight [kg]"]
    row = exposure.loc["Paclitaxel"]
    assert row["administrations"] == 2
    assert row["Cmax [ng/mL]"] == pytest.approx(1000 * dose_mg / table["Paclitaxel central volume [L]"], rel=1e-6)
    auc = 1000 * dose_mg / table["Paclitaxel clearance [L/day]"] * 24
    assert row["AUC per dose [ng·h/mL]"] == pytest.approx(auc, rel=1e-4)
    assert row["Tmax after dose [h]"] == 0.0


def test_profiles_resolve_the_paclitaxel_peak(report):
    profiles, table = report["profiles"], report["plan"].table["value"]
    assert set(profiles.dims) == {"arm", "time"}
    assert list(profiles["arm"].values) == list(ARMS)
    assert np.all(np.diff(profiles["time"].to_numpy()) <= 0.01 + 1e-9)
    conc = profiles["Plasma paclitaxel [ng/mL]"]
    assert float(conc.sel(arm="vehicle").max()) == 0.0
    peak = float(conc.sel(arm="paclitaxel MTD", time=8.0))
    assert peak == pytest.approx(float(conc.max()))
    k = table["Paclitaxel clearance [L/day]"] / table["Paclitaxel central volume [L]"]
    assert float(conc.sel(arm="paclitaxel MTD", time=8.05)) == pytest.approx(peak * math.exp(-0.05 * k), rel=1e-4)


def test_mismatched_plan_is_refused(report, tmp_path):
    other = small_plan({"vehicle": "none"})
    with pytest.raises(ChemohostError, match="arms"):
        write_report(report["results"], other, tmp_path, profiles=report["profiles"])


def test_markdown_converter():
    html = str(equations_html("### Growth (`growth: gompertz`)\n\n$$ \\frac{dV}{dt} = r V $$\n\n"
                              "| symbol | quantity |\n|---|---|\n| $V$ | Tumour volume [mm3] |\n"))
    assert "<h3>Growth (<code>growth: gompertz</code>)</h3>" in html
    assert '<div class="math">\\[ \\frac{dV}{dt} = r V \\]</div>' in html
    assert "<th>symbol</th>" in html and '<td><span class="math">\\(V\\)</span></td>' in html


# --- host response --------------------------------------------------------------------------------------------
HOST_ARMS = {
    "vehicle": "none",
    "paclitaxel MTD": "paclitaxel 25 mg/kg iv bolus q7d x2 from day 8",
    "paclitaxel + anti-VEGFR2": "paclitaxel 25 mg/kg iv bolus q7d x2 from day 8 + DC101 800 ug iv q3d from day 8",
}
HOST_FIGURES = ("Effector signals", "Circulating and homed cells", "Circulating neutrophils per arm",
                "Target coverage", "Median vascular carrying capacity")
TUMOUR_FREE = {
    "name": "tumour-free host conditioning",
    "model": {"species": "mouse", "tumour": "absent", "growth": "none", "effectors": "indirect_response",
              "host_cells": "bmdc"},
    "parameter_sets": ["Eiseman1994", "Gemcitabine2020Mouse", "RMM1Host"],
    "covariates": {"Body weight [kg]": 0.02},
    "cohort": {"size": 10, "seed": 3},
    "arms": {"vehicle": "none", "paclitaxel": "paclitaxel 25 mg/kg iv bolus q7d x2 from day 7",
             "gemcitabine": "gemcitabine 120 mg/kg iv bolus q3d x4 from day 7"},
    "duration": 20,
}


@pytest.fixture(scope="module")
def host_report(tmp_path_factory):
    """The reference study's model (host response, neutrophils, vasculature) with a blocker arm, 10 patients."""
    study = reference_study().model_dump()
    study.update(name="small host-response study", arms=HOST_ARMS, duration=20,
                 cohort={**study["cohort"], "size": 10})
    plan = plan_study(load_study(study))
    results = run_study(plan.config, plan=plan)
    out = tmp_path_factory.mktemp("host_report")
    path = write_report(results, plan, out, profiles=concentration_profiles(plan, step=0.02))
    return {"plan": plan, "results": results, "out": out, "html": path.read_text(encoding="utf-8")}


def test_host_section_follows_drug_exposure(host_report):
    html = host_report["html"]
    assert '<a href="#host">Host response</a>' in html
    positions = [html.index(f'<section id="{name}">') for name in ("tumour", "outcomes", "exposure", "host",
                                                                      "metastasis", "equations")]
    assert positions == sorted(positions)
    assert re.search(r"<h2>5\. Host response</h2>", html) and re.search(r"<h2>7\. Equations</h2>", html)


def test_host_report_has_an_image_for_each_host_figure(host_report):
    images = dict(re.findall(r'<img alt="([^"]+)" src="(data:image/png;base64,[^"]+)"', host_report["html"]))
    for figure in HOST_FIGURES:
        assert sum(alt.startswith(figure) for alt in images) == 1, figure
    # tumour panels and medians, Kaplan–Meier, concentrations; metastasis counts and sizes
    assert len(images) == 6 + len(HOST_FIGURES)


def test_profile_table_shows_median_log2_fold_changes(host_report):
    html, out = host_report["html"], host_report["out"]
    profile = pd.read_csv(out / "host_response.csv")
    expected = host_response_profile(host_report["results"])
    assert list(profile.columns) == list(expected.columns) and len(profile) == len(expected)
    assert "log2" in html
    tables = re.findall(r'<table class="profile">.*?</table>', html, flags=re.S)
    assert len(tables) == 2  # 24 h after the first dose and day 1 of cycle 2; pre-treatment is 0 by definition
    assert "24 h after first dose (day 9)" in tables[0]
    assert "Not profiled (no dose): vehicle" in html  # the vehicle arm has no protocol times
    row = expected[(expected["arm"] == "paclitaxel MTD") & (expected["time point"] == "24 h after first dose")]
    cep = row.set_index("quantity").loc["Circulating endothelial progenitors [-]", "log2 fold change (median)"]
    assert cep > 0.1  # paclitaxel mobilises CEPs within a day (Shaked 2008)
    cell = re.search(r"<td>Circulating endothelial progenitors</td><td[^>]*style=\"([^\"]*)\"[^>]*>([^<]+)</td>",
                     tables[0])
    assert cell[2] == f"+{cep:.2f}" and "rgba(202, 0, 32" in cell[1]  # red: up
    assert re.search(r"<td[^>]*style=\"[^\"]*rgba\(5, 113, 176[^>]*>−", tables[1])  # blue: down (neutrophils)


def test_neutrophil_table_and_human_threshold_caveat(host_report):
    html, out = host_report["html"], host_report["out"]
    assert "<h3>Neutrophils</h3>" in html and "grade ≥ 3" in html and "% of baseline" in html
    assert "CTCAE grades are defined for human patients" in html
    table = pd.read_csv(out / "neutrophils.csv", index_col="arm")
    assert list(table.index) == list(HOST_ARMS)
    assert table.loc["vehicle", "nadir / baseline"] == pytest.approx(1.0, abs=1e-3)
    # human CTCAE thresholds: the C57BL/6 baseline (0.24 x10^9/L, Silva-Santana 2020) is already below grade 3's 1.0
    assert table.loc["vehicle", "fraction grade >= 3"] == float(table.loc["vehicle", "baseline [1e9/L]"] < 1.0)
    assert "is already grade" in html
    assert np.isnan(table.loc["vehicle", "time of nadir [day]"])
    assert table.loc["paclitaxel MTD", "nadir / baseline"] < 0.9
    assert 8 < table.loc["paclitaxel MTD", "time of nadir [day]"] <= 20


def test_neutrophil_summary_on_known_counts():
    counts = np.array([[[1.0, 0.8, 0.4, 0.9], [2.0, 1.9, 0.9, 2.0]],   # arm a: nadirs 0.4 (grade 4), 0.9 (grade 3)
                       [[2.5, 2.5, 2.5, 2.5], [2.5, 2.5, 2.5, 2.5]]])  # arm b: no change
    ds = xr.Dataset({"Circulating neutrophils [1e9/L]": (("arm", "patient", "time"), counts)},
                    coords={"arm": ["a", "b"], "patient": [0, 1], "time": [0.0, 1.0, 2.0, 3.0]})
    table = neutrophil_summary(ds)
    a, b = table.loc["a"], table.loc["b"]
    assert a["baseline [1e9/L]"] == 1.5 and a["median nadir [1e9/L]"] == pytest.approx(0.65)
    assert a["nadir / baseline"] == pytest.approx((0.4 + 0.45) / 2) and a["time of nadir [day]"] == 2.0
    assert a["fraction grade >= 3"] == 1.0 and a["fraction grade 4"] == 0.5
    assert b["nadir / baseline"] == 1.0 and np.isnan(b["time of nadir [day]"])
    assert b["fraction grade >= 3"] == 0.0


def test_tumour_free_study_reports_exposure_and_host_response(tmp_path):
    plan = plan_study(load_study(TUMOUR_FREE))
    results = run_study(plan.config, plan=plan)
    assert "Tumour volume [mm3]" not in results
    html = write_report(results, plan, tmp_path, profiles=concentration_profiles(plan, step=0.02)).read_text("utf-8")
    assert '<section id="tumour">' not in html and 'href="#tumour"' not in html and "T/C" not in html
    assert '<section id="exposure">' in html and '<section id="host">' in html and "log2" in html
    assert re.search(r"<h2>2\. Drug exposure</h2>", html) and re.search(r"<h2>3\. Host response</h2>", html)
    alts = re.findall(r'<img alt="([^"]+)"', html)
    assert any(a.startswith("Effector signals") for a in alts)
    assert any(a.startswith("Circulating and homed") for a in alts)
    assert not any(a.startswith(("Tumour volume", "Median tumour", "Circulating neutrophils")) for a in alts)
    summary = pd.read_csv(tmp_path / "summary.csv", index_col="arm")
    assert list(summary.index) == list(TUMOUR_FREE["arms"]) and list(summary.columns) == ["regimen", "solver failures"]
    assert (tmp_path / "host_response.csv").exists() and not (tmp_path / "neutrophils.csv").exists()
    assert (summary["solver failures"] == 0).all()
