"""The command line: bad input gives one actionable line and exit code 2; a small study runs end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import xarray as xr
import yaml

from chemohost.cli import main
from chemohost.io import load_results

SMALL = {
    "name": "small test study",
    "model": {"growth": "gompertz", "damage": "simeoni_transit"},
    "parameter_sets": ["Benzekry2014LLC", "Simeoni2004", "Eiseman1994", "RMM1"],
    "cohort": {"size": 12, "seed": 3},
    "arms": {"vehicle": "none", "paclitaxel": "paclitaxel 25 mg/kg iv q7d x2 from day 8"},
    "duration": 16,
}


def run_cli(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["chemohost", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def write_study(tmp_path, **changes):
    study = {**SMALL, **changes}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"arms": {"a": "paclitaxel 25 mg/kgg iv q7d"}}, ["mg/kgg", "accepted"]),
        ({"arms": {"a": "paclitaxol 25 mg/kg iv q7d"}}, ["paclitaxol", "did you mean 'paclitaxel'"]),
        ({"arms": {"a": "paclitaxel -5 mg/kg iv q7d"}}, ["-5"]),
        ({"arms": {"a": "paclitaxel 0 mg/kg iv q7d"}}, ["positive"]),
        ({"arms": {"a": "paclitaxel 25 L iv q7d"}}, ["'L'", "mg/kg"]),
        ({"arms": {"a": "paclitaxel 25 mg/kg iv q7d zz"}}, ["zz"]),
        ({"model": {"growht": "gompertz"}}, ["growht", "did you mean 'growth'"]),
        ({"model": {"growth": "gompertzz"}}, ["gompertzz", "did you mean 'gompertz'"]),
        ({"parameter_sets": ["Benzekry2014LLX"]}, ["Benzekry2014LLX", "did you mean"]),
        ({"parameters": {"Gompertz initial growth rate [1/week]": 1.0}}, ["Gompertz initial growth rate [1/week]"]),
        ({"duratoin": 3}, ["duratoin", "did you mean 'duration'"]),
        ({"duration": -1}, ["duration"]),
        ({"cohort": {"size": 0}}, ["cohort.size"]),
        ({"arms": {}}, ["arms"]),
    ],
)
def test_bad_study_gives_one_line_and_exit_2(tmp_path, monkeypatch, capsys, changes, expected):
    code, out, err = run_cli(monkeypatch, capsys, "run", write_study(tmp_path, **changes), "--out", tmp_path / "o")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in expected:
        assert fragment in lines[0]


def test_missing_required_field(tmp_path, monkeypatch, capsys):
    path = tmp_path / "incomplete.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "arms": {"v": "none"}}))
    code, _, err = run_cli(monkeypatch, capsys, "check", path)
    assert code == 2 and "duration" in err and "Field required" in err


def test_invalid_yaml(tmp_path, monkeypatch, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\narms: [unclosed\n")
    code, _, err = run_cli(monkeypatch, capsys, "check", path)
    assert code == 2 and "not valid YAML" in err and "line" in err


def test_missing_study_file(tmp_path, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "run", tmp_path / "nope.yaml")
    assert code == 2 and "does not exist" in err


def test_unwritable_output_folder(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(monkeypatch, capsys, "run", write_study(tmp_path), "--out", blocker / "sub")
    assert code == 2 and "output folder" in err and str(blocker) in err


def test_unknown_command_option(monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "run", "--patinets", "3")
    assert code == 2 and "--patinets" in err


def test_check_reports_placeholders(tmp_path, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "check", write_study(tmp_path))
    assert code == 0 and "valid" in out and "placeholders" in out


def test_cite_lists_exactly_the_sources_used(tmp_path, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "cite", write_study(tmp_path))
    assert code == 0
    for key in ("Simeoni2004", "Eiseman1994", "Benzekry2014", "Dormand1980"):
        assert f"[{key}]" in out
    for unused in ("Friberg2002", "Hahnfeldt1999", "Sladek1984"):
        assert f"[{unused}]" not in out


def test_equations_listing(tmp_path, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "equations", write_study(tmp_path), "--format", "latex")
    assert code == 0 and r"\begin{align}" in out and r"\alpha_0" in out


def test_run_small_study_end_to_end(tmp_path, monkeypatch, capsys):
    out_dir = tmp_path / "results"
    code, out, err = run_cli(monkeypatch, capsys, "run", write_study(tmp_path), "--out", out_dir, "--no-progress")
    assert code in (0, None), err
    assert (out_dir / "report.html").is_file()
    ds = load_results(out_dir / "results.nc")
    assert set(ds["Tumour volume [mm3]"].dims) == {"arm", "patient", "time"}
    assert list(ds["arm"].values) == ["vehicle", "paclitaxel"]
    assert ds.sizes["patient"] == 12
    final = ds["Tumour volume [mm3]"].isel(time=-1).median("patient")
    assert float(final.sel(arm="paclitaxel")) < float(final.sel(arm="vehicle"))
    assert ds.attrs["seed"] == 3
    raw = xr.load_dataset(out_dir / "results.nc", engine="h5netcdf")  # on disk: CF-style names and units
    assert raw["tumour_volume"].attrs["units"] == "mm3" and raw["solver_status"].attrs["units"] == "1"
    numeric = [n for n, v in raw.variables.items() if v.dtype.kind in "fiu"]
    assert [n for n in numeric if "units" not in raw[n].attrs] == []
    assert not [n for n in raw.variables if str(n).endswith("_")]


@pytest.mark.parametrize("example", sorted(p.name for p in (Path(__file__).resolve().parents[1] / "examples").glob("*.yaml")))
def test_every_example_study_is_valid(monkeypatch, capsys, example):
    path = Path(__file__).resolve().parents[1] / "examples" / example
    code, out, err = run_cli(monkeypatch, capsys, "check", path)
    assert code in (0, None) and "valid" in out, err
