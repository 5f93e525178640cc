"""The schedule-comparison example end to end from the CLI, and study files with rules and procedures."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from typer.testing import CliRunner

from chemohost.cli import app
from chemohost.io import load_results
from chemohost.study import StudyError, load_study, plan_study

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "schedules.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("schedules")
    result = CliRunner().invoke(app, ["run", str(EXAMPLE), "--out", str(out), "--patients", "16", "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


def test_the_example_reports_survival_responses_and_doses(run):
    html = (run / "report.html").read_text()
    for text in ("Outcomes", "Kaplan–Meier", "Time to a tumour volume of 1500 mm³", "Response classes",
                 "Cumulative dose", "rule: adaptive therapy", "Host response", "neutrophil"):
        assert text in html, text
    config = load_study(EXAMPLE)
    arms = list(config.arms)
    responses = pd.read_csv(run / "responses.csv", index_col=0)
    assert list(responses.index) == arms and (responses.sum(axis=1) == 16).all()
    events = pd.read_csv(run / "time_to_event.csv")
    assert list(events["arm"]) == arms
    hr = events.set_index("arm")["hazard ratio"]
    assert np.isnan(hr["MTD"]) and hr["vehicle"] > 1  # the reference, and an untreated arm does worse


def test_schedules_have_equal_cumulative_dose_and_adaptive_gives_less(run):
    doses = pd.read_csv(run / "cumulative_dose.csv").set_index(["arm", "agent"])["planned [mg]"]
    paclitaxel = doses.xs("paclitaxel", level="agent")
    np.testing.assert_allclose(paclitaxel, 200 * 0.02, rtol=1e-4)  # 200 mg/kg x 0.02 kg in every paclitaxel arm
    results = load_results(run / "results.nc")
    record = results["Dose amount [mg]"]
    for arm in ("adaptive", "adaptive + anti-VEGFR2"):
        given = record.sel(arm=arm).where(record["agent"] == "paclitaxel", 0).sum("dose")
        assert float(given.max()) <= 4.0 + 1e-9 and float(given.min()) < 4.0
        per_dose = record.sel(arm=arm).where(record["agent"] == "paclitaxel").values
        assert set(np.unique(per_dose[np.isfinite(per_dose)]).round(12)) <= {0.0, 0.25}  # 12.5 mg/kg or held


def test_rules_and_procedures_in_study_files_are_checked():
    base = {"name": "x", "duration": 20, "model": {"growth": "gompertz"}, "parameter_sets": ["Benzekry2014LLC"],
            "arms": {"a": {"regimen": "none", "rules": [{"adaptve": {}}]}}}
    with pytest.raises(StudyError, match="arms.a.rules: unknown rule 'adaptve'.*adaptive"):
        plan_study(load_study(base))
    base["arms"] = {"a": {"regimen": "none", "rules": [{"toxicity": {"threshold": 1}}]}}
    with pytest.raises(StudyError, match="unknown field 'threshold'"):
        plan_study(load_study(base))
    base["arms"] = {"a": {"regimen": "none", "procedures": ["resection at noon"]}}
    with pytest.raises(StudyError, match="resection on day 21"):
        plan_study(load_study(base))
    base["arms"] = {"a": "none"}
    base["outcomes"] = {"reference_arm": "b"}
    with pytest.raises(StudyError, match="reference_arm 'b' is not an arm"):
        load_study(base)
