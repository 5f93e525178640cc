"""Study report: the HTML holds every section, the CSVs the read-outs, the exposure table the analytic PK."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from chemohost._errors import ChemohostError
from chemohost.citations import get_citation
from chemohost.report import concentration_profiles, exposure_summary, tumour_summary, write_report
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
    images = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(images) == 3  # tumour panels, tumour medians, drug concentrations
    assert all(src.startswith("data:image/png;base64,") for src in images)
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
