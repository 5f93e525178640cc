"""``chemohost fit``: the PDX paclitaxel example on the real PDXE data, small synthetic fits (a law and a
chemohost model with a regimen), and one-line errors with exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import chemohost as ch
from chemohost.calibration import CLOSED_FORMS, DataFileError, shared_data_dir
from chemohost.cli import app, main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TV = "Tumour volume [mm3]"
GROWTH = "Exponential growth rate [1/day]"

LAW_STUDY = {
    "name": "synthetic exponential",
    "law": "exponential",
    "observables": [{"quantity": TV, "error": {"model": "proportional"}}],
    "estimate": {GROWTH: {"bounds": [0.01, 2.0]}},
    "fit": {"n_starts": 1},
    "compare": [{"name": "gompertz", "law": "gompertz",
                 "estimate": {"Gompertz initial growth rate [1/day]": {"bounds": [0.01, 5.0]},
                              "Gompertz deceleration rate [1/day]": {"bounds": [1e-4, 1.0]}}}],
}


def run_cli(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["chemohost", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def write(tmp_path, study: dict, rows: pd.DataFrame):
    study_path, data_path = tmp_path / "fit.yaml", tmp_path / "data.csv"
    study_path.write_text(yaml.safe_dump(study, sort_keys=False))
    rows.to_csv(data_path, index=False)
    return study_path, data_path


@pytest.fixture(scope="module")
def exponential_rows():
    t = np.arange(1.0, 15.0, 1.0)
    rng = np.random.default_rng(0)
    frames = [pd.DataFrame({"subject": s, "time": t, "observable": TV,
                            "value": np.exp(CLOSED_FORMS["exponential"].evaluate(t, [[a]])[0]) * (1 + 0.05 * rng.normal(size=t.size))})
              for s, a in (("a", 0.3), ("b", 0.4))]
    return pd.concat(frames, ignore_index=True)


def test_fit_writes_the_report_and_tables(tmp_path, monkeypatch, capsys, exponential_rows):
    study, data = write(tmp_path, LAW_STUDY, exponential_rows)
    code, out, err = run_cli(monkeypatch, capsys, "fit", study, data, "--out", tmp_path / "out", "--seed", "2")
    assert code == 0, err
    assert "2 subjects, 28 observations" in out and "best of 2 models: synthetic exponential" in out
    folder = tmp_path / "out"
    for name in ("report.html", "estimates.csv", "parameters.csv", "statistics.csv", "predictions.csv",
                 "ranking.csv", "held.csv"):
        assert (folder / name).is_file(), name
    estimates = pd.read_csv(folder / "parameters.csv", index_col="subject")
    np.testing.assert_allclose(estimates[GROWTH], [0.3, 0.4], rtol=0.03)
    html = (folder / "report.html").read_text()
    assert "Model ranking" in html and "Individual fits" in html and "Akaike H (1974)" in html
    assert html.count("data:image/png;base64,") == 2


@pytest.mark.parametrize(("change", "words"), [
    ({"estimte": {}}, ["estimte", "did you mean 'estimate'"]),
    ({"law": None}, ["exactly one of 'law'"]),
    ({"law": "gompertzz"}, ["gompertzz", "did you mean 'gompertz'"]),
    ({"observables": [{"quantity": TV, "error": {"model": "gaussian"}}]}, ["observables.0.error.model"]),
    ({"estimate": {"Exponential growth rate [1/week]": {}}}, ["[1/week]"]),
    ({"groups": {"x": {"regimen": "paclitaxel 25 mg/kg iv"}}}, ["groups.x.regimen", "takes no doses"]),
])
def test_bad_fit_study_gives_one_line_and_exit_2(tmp_path, monkeypatch, capsys, exponential_rows, change, words):
    study, data = write(tmp_path, {**LAW_STUDY, **change}, exponential_rows)
    code, out, err = run_cli(monkeypatch, capsys, "fit", study, data, "--out", tmp_path / "out")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert all(w in err for w in words), err


def test_bad_data_file_gives_line_and_column(tmp_path, monkeypatch, capsys, exponential_rows):
    rows = exponential_rows.astype({"value": object})
    rows.loc[5, "value"] = "n/a"
    study, data = write(tmp_path, LAW_STUDY, rows)
    code, out, err = run_cli(monkeypatch, capsys, "fit", study, data, "--out", tmp_path / "out")
    assert code == 2 and "data.csv line 7, column 'value'" in err and err.count("\n") == 1, err


def test_fit_help_teaches_the_formats_and_an_example():
    result = CliRunner().invoke(app, ["fit", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for word in ("pdx_paclitaxel_fit.yaml", "tidy", "nonmem", "petab", "pdxe", "--out", "estimate"):
        assert word in text, word


@pytest.mark.slow
def test_fit_a_chemohost_model_under_a_regimen(tmp_path, monkeypatch, capsys, shared_model):
    """Model options plus a group regimen: paclitaxel is added to the model from the regimen (linear kill)."""
    model = shared_model("simeoni")
    lam = "Simeoni exponential growth rate [1/day]"
    regimen = "paclitaxel 30 mg/kg iv q4d x3 from day 8"
    times = np.arange(0.0, 25.0, 2.0)
    truth = np.array([0.22, 0.3])
    ds = ch.simulate(model, regimen, {"Body weight [kg]": 0.02, "Initial tumour volume [mm3]": 40.0, lam: truth},
                     times, rtol=1e-10)
    noise = np.exp(np.random.default_rng(3).normal(0, 0.05, (2, times.size)))
    rows = pd.DataFrame({"subject": np.repeat(["r0", "r1"], times.size), "time": np.tile(times, 2),
                         "observable": TV, "value": (ds[TV].values * noise).ravel(), "group": "paclitaxel"})
    study = {
        "name": "simeoni synthetic",
        "model": {"growth": "simeoni", "damage": "simeoni_transit"},
        "parameters": {"Initial tumour volume [mm3]": 40.0},
        "covariates": {"Body weight [kg]": 0.02},
        "estimate": {lam: {"bounds": [0.01, 2.0]}},
        "groups": {"paclitaxel": {"regimen": regimen}},
        "fit": {"n_starts": 1},
    }
    path, data = write(tmp_path, study, rows)
    code, out, err = run_cli(monkeypatch, capsys, "fit", path, data, "--out", tmp_path / "out")
    assert code == 0, err
    estimates = pd.read_csv(tmp_path / "out" / "parameters.csv", index_col="subject")
    np.testing.assert_allclose(estimates[lam], truth, rtol=0.05)
    held = pd.read_csv(tmp_path / "out" / "held.csv", index_col="parameter")
    assert held.loc["Paclitaxel kill potency [mL/ng/day]", "tag"] == "V-code"  # default with its provenance
    assert held.loc["Initial tumour volume [mm3]", "tag"] == "user"


@pytest.mark.slow
def test_fit_pk_from_a_nonmem_file_with_its_own_doses(tmp_path, monkeypatch, capsys, shared_model):
    """NONMEM doses (AMT in mg, ADDL/II in hours) drive the model; the paclitaxel clearance is recovered."""
    model = shared_model("paclitaxel")
    clearance, plasma = "Paclitaxel clearance [L/day]", "Plasma paclitaxel [ng/mL]"
    hours = np.array([0.25, 1.0, 3.0, 6.0, 168.5, 170.0, 174.0])
    lines = ["ID,TIME,DV,AMT,EVID,CMT,II,ADDL"]
    for subject, cl in (("1", 0.08), ("2", 0.12)):
        ds = ch.simulate(model, "paclitaxel 0.5 mg iv q7d x2", {clearance: cl}, hours / 24, rtol=1e-10)
        lines.append(f"{subject},0,.,0.5,1,1,168,1")
        lines += [f"{subject},{h},{c * (1 + 0.03 * (-1) ** i):.6g},.,0,2,.,." for i, (h, c) in
                  enumerate(zip(hours, ds[plasma].values[0]))]
    (tmp_path / "pk.csv").write_text("\n".join(lines) + "\n")
    study = {
        "name": "paclitaxel PK", "model": {"drugs": {"paclitaxel": {}}},
        "observables": [{"quantity": plasma, "error": {"model": "proportional"}}],
        "estimate": {clearance: {"bounds": [0.001, 10.0]}},
        "data": {"format": "nonmem", "time_unit": "h", "observables": plasma, "agents": {1: "paclitaxel"}},
        "fit": {"n_starts": 1},
    }
    (tmp_path / "pk.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    code, out, err = run_cli(monkeypatch, capsys, "fit", tmp_path / "pk.yaml", tmp_path / "pk.csv", "--out",
                             tmp_path / "out")
    assert code == 0, err
    estimates = pd.read_csv(tmp_path / "out" / "parameters.csv", index_col="subject")
    np.testing.assert_allclose(estimates[clearance], [0.08, 0.12], rtol=0.03)


@pytest.mark.data
def test_pdx_paclitaxel_example_runs_from_the_cli(tmp_path):
    try:
        folder = shared_data_dir() / "pdxe_gao2015"
    except DataFileError as exc:
        pytest.skip(f"shared data not available: {exc}")
    out = tmp_path / "pdx_fit"
    result = CliRunner().invoke(app, ["fit", str(EXAMPLES / "pdx_paclitaxel_fit.yaml"), str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "39 subjects" in result.output
    ranking = pd.read_csv(out / "ranking.csv", index_col="model")
    assert ranking.index[0] == "PDXE breast cancer, paclitaxel vs untreated"  # the paclitaxel effect is supported
    assert ranking.loc["no treatment effect", "delta AIC"] > 100
    estimates = pd.read_csv(out / "parameters.csv", index_col="subject")
    assert 0.01 < estimates["Treatment kill rate [1/day]"].median() < estimates["Exponential growth rate [1/day]"].max()
    statistics = pd.read_csv(out / "statistics.csv", index_col="subject")
    assert statistics["converged"].mean() > 0.9
    predictions = pd.read_csv(out / "predictions.csv", keep_default_na=False)
    assert (predictions["censoring"] == "left").sum() > 0  # complete responses kept as censored points
    assert (out / "report.html").stat().st_size > 10_000
