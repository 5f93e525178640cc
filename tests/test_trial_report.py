"""``chemohost report TRIAL_OUTPUT``: the trial report from a Zarr store, read lazily; bad input exits 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("lifelines")
pytest.importorskip("zarr")

from trial_standin import endpoints  # noqa: E402

from chemohost.report import open_trial_endpoints, write_trial_report  # noqa: E402
from chemohost.trial import load_trial, simulate_patients  # noqa: E402


@pytest.fixture(scope="module")
def trial_output(tmp_path_factory):
    """A trial output folder as ``chemohost run TRIAL.yaml`` leaves it: ``data.zarr`` chunked along patient,
    with a stored trajectory that the report must not read."""
    folder = tmp_path_factory.mktemp("trial")
    ds = endpoints(600, seed=3, follow_up=1500.0, weights=np.linspace(0.5, 1.5, 600))
    ds["tumour_size"] = (("patient", "arm", "time"), np.ones((600, 3, 4), np.float32))
    ds = ds.assign_coords(time=[0.0, 21.0, 42.0, 63.0])
    ds.chunk({"patient": 256}).to_zarr(folder / "data.zarr", consolidated=False)
    return folder


def test_endpoints_open_lazily_without_trajectories(trial_output):
    ds = open_trial_endpoints(trial_output)
    assert "tumour_size" not in ds and "os" in ds and "panel" in ds
    assert ds["os"].chunks is not None  # dask-backed: nothing loaded yet


def test_report_writes_html_and_tables(trial_output, tmp_path, cli):
    code, out, err = cli("report", trial_output, "--out", tmp_path, "--sizes", "40,120", "--resamples", "20")
    assert code in (0, None), err
    html = (tmp_path / "trial_report.html").read_text()
    for part in ("Survival by arm", "Forest plot", "Power curves", "chemo + blocker vs chemo", "AUC (held out)"):
        assert part in html
    hazards = pd.read_csv(tmp_path / "hazard_ratios.csv")
    assert set(hazards["arm"]) == {"chemo", "chemo + blocker", "other"}
    auc = pd.read_csv(tmp_path / "score_auc.csv")
    assert auc.loc[0, "lower"] > 0.5  # the stand-in's benefit depends on the panel
    power = pd.read_csv(tmp_path / "power_curve.csv")
    assert set(power["comparison"]) == {"chemo vs chemo + blocker", "chemo vs other"}
    assert "wrote" in out


@pytest.mark.parametrize(("args", "match"), [
    (["--reference", "placebo"], "unknown arm 'placebo'"),
    (["--blocker-pair", "chemo + blocker"], "--blocker-pair"),
    (["--sizes", "10,x"], "--sizes"),
])
def test_bad_options_exit_2(trial_output, tmp_path, cli, args, match):
    code, _, err = cli("report", trial_output, "--out", tmp_path, *args)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1


def test_folder_without_a_store_exits_2(tmp_path, cli):
    code, _, err = cli("report", tmp_path)
    assert code == 2 and "Zarr store" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_report_on_the_reference_trial(tmp_path):
    """The built-in NSCLC trial through the whole read-out chain: every arm has a finite HR with a CI around it,
    the two 'X + blocker' pairs are found and scored."""
    ds = simulate_patients(load_trial("nsclc"), 0, 256)
    write_trial_report(ds, tmp_path, sizes=[100, 200], resamples=50)
    hazards = pd.read_csv(tmp_path / "hazard_ratios.csv").set_index(["endpoint", "arm"])
    others = hazards[hazards["hazard ratio"] != 1.0]
    assert len(others) == 2 * (ds.sizes["arm"] - 1)
    assert ((others["lower CI"] <= others["hazard ratio"]) & (others["hazard ratio"] <= others["upper CI"])).all()
    scored = pd.read_csv(tmp_path / "score_auc.csv")
    assert sorted(scored["without"]) == ["docetaxel", "paclitaxel"]
    assert ((scored["lower"] <= scored["auc"]) & (scored["auc"] <= scored["upper"])).all()
