"""Robustness of conclusions (issue 12 item 4): share of draws in which a check holds, against a closed form."""

from __future__ import annotations

import math
import sys

import pytest

import chemohost.sensitivity._robustness as robustness_module
from chemohost.cli import main
from chemohost.parameters import ParameterSet, ParameterValue, register_parameter_set
from chemohost.report import write_report
from chemohost.sensitivity import read_robustness, robustness
from chemohost.study import load_study, plan_study, run_study
from chemohost.validation import Check
from test_sensitivity import STUDY as SENSITIVITY_STUDY
from test_sensitivity import RATE, T

VOLUME = "Tumour volume [mm3]"
LOW, HIGH = 0.2, 0.5
register_parameter_set(ParameterSet("RobustnessTestPlaceholder", "a placeholder growth rate with a declared range", {
    RATE: ParameterValue(0.35, "1/day", "U", "test placeholder", range=(LOW, HIGH), range_rationale="test range"),
}), overwrite=True)
STUDY = {**SENSITIVITY_STUDY, "parameter_sets": ["Eiseman1994", "RobustnessTestPlaceholder"]}
LIMITS = {"T1": 20.0, "T2": 200.0}  # V(T) = 1·exp(λT) < limit  ⇔  λ < ln(limit)/T


def toy_checks(results):
    """Two conclusions on the control arm's end volume; one holds for a third of the growth-rate range, one always."""
    if "arm" not in results.dims or "control" not in set(map(str, results.arm.values)):
        return []
    v = float(results[VOLUME].sel(arm="control").isel(time=-1).median("patient"))
    return [Check(cid, f"end volume below {limit:g} mm3", "closed form", f"V({T:g}) < {limit:g}", f"{v:.3g}",
                  v < limit) for cid, limit in LIMITS.items()]


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(robustness_module, "study_checks", toy_checks)


def expected_share(limit: float) -> float:
    return min(1.0, max(0.0, (math.log(limit) / T - LOW) / (HIGH - LOW)))


def test_share_of_draws_matches_the_closed_form(registry):
    table = robustness([load_study(STUDY)], draws=1000)
    assert list(table.index) == ["T1", "T2"]
    t1, t2 = table.loc["T1"], table.loc["T2"]
    assert t1["draws"] >= 1000 and t1["parameters"] == 1  # only the ranged placeholder is sampled
    assert t1["holds"] == pytest.approx(expected_share(LIMITS["T1"]), abs=0.01)
    assert t1["fragile"] and not t1["holds at study values"]  # λ = 0.35 → V = 33 mm3
    assert t1["matters most"].startswith(f"{RATE} (ST 1.0")
    assert t2["holds"] == 1.0 and not t2["fragile"] and t2["matters most"].startswith("none: it holds")
    assert t1["solver failures"] == 0 and t1["assumed ranges"] == 0


def test_validate_robustness_prints_and_writes_the_table(registry, monkeypatch, capsys, tmp_path):
    import chemohost.sensitivity._robustness as module

    monkeypatch.setattr(module, "default_studies", lambda: [load_study(STUDY)])
    monkeypatch.setattr(sys, "argv", ["chemohost", "validate", "--robustness", "--draws", "200", "--out", tmp_path])
    with pytest.raises(SystemExit) as info:
        main()
    out = capsys.readouterr().out
    assert info.value.code in (0, None)
    assert "T1   FRAGILE holds in" in out and "T2   robust  holds in 100.0%" in out
    table = read_robustness(tmp_path / "robustness.csv")
    assert table.loc["T1", "fragile"] and table.loc["T1", "draws"] >= 200


def test_report_shows_robustness_in_the_banner(registry, tmp_path):
    table = robustness([load_study(STUDY)], draws=200)
    table.to_csv(tmp_path / "robustness.csv")
    plan = plan_study(load_study(STUDY))
    results = run_study(plan.config, plan=plan)
    html = write_report(results, plan, tmp_path / "report", robustness=read_robustness(tmp_path / "robustness.csv")
                        ).read_text(encoding="utf-8")
    assert "parameter values are placeholders</strong>" in html
    share = f"{100 * table.loc['T1', 'holds']:.0f}%"
    assert f"T1 (holds in {share} of draws,\n    <strong>fragile</strong>): {RATE} (ST" in html


def test_bad_robustness_input(tmp_path):
    from chemohost._errors import ChemohostError
    from chemohost.sensitivity import SensitivityError

    with pytest.raises(SensitivityError, match="draws must be a positive integer"):
        robustness([load_study(STUDY)], draws=0)
    with pytest.raises(SensitivityError, match="in none of the studies' models"):
        robustness([load_study(STUDY)], ranges={"Warp factor [-]": (1, 2)})
    with pytest.raises(ChemohostError, match="cannot read it"):
        read_robustness(tmp_path / "missing.csv")


@pytest.mark.slow
def test_every_reference_conclusion_is_measured_over_1000_draws():
    """V15–V20 over the built-in studies, placeholders without a declared range given an assumed ×/÷2 spread."""
    table = robustness(draws=1000, spread=2)
    assert {"V15", "V16", "V17", "V18", "V19", "V20"} <= set(table.index)
    assert (table["draws"] >= 1000).all()
    assert (table["fragile"] == (table["holds"] < 0.8)).all()
