"""SBML import against references outside chemohost: the SBML Test Suite and libRoadRunner on BioModels.

Both read ``../shared`` (from the repository root, or the parent of
``$CHEMOHOST_SHARED_DATA``) and skip cleanly where it is absent.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("libsbml")

from chemohost.sbml import SbmlError, load, trajectory  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ["CHEMOHOST_SHARED_DATA"]).parent if os.environ.get("CHEMOHOST_SHARED_DATA") \
    else ROOT.parent / "shared"
SUITE = SHARED / "conformance" / "sbml-test-suite"
BIOMODELS = SHARED / "data" / "biomodels_sbml"

needs_suite = pytest.mark.skipif(not (SUITE / "index.tsv").is_file(), reason="shared SBML Test Suite absent")
needs_biomodels = pytest.mark.skipif(not BIOMODELS.is_dir(), reason="shared BioModels folder absent")


def _runner():
    spec = importlib.util.spec_from_file_location("sbml_test_suite", ROOT / "benchmarks" / "sbml_test_suite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sbml_test_suite"] = module  # its worker function is pickled by reference
    spec.loader.exec_module(module)
    return module


def _sample(runner, rows) -> list[str]:
    """One case per component or test tag (the first in the index that carries it among the cases reporting
    at most 100 times, which keeps the sample fast; the slow test runs the rest): a fixed, varied sample."""
    chosen: list[str] = []
    tags = sorted({t for r in rows for t in [*r["components"], *r["tests"]]})
    short = [r for r in rows if runner.read_settings(SUITE / "cases" / r["case"] / f"{r['case']}-settings.txt")
             ["steps"] <= 100]
    for tag in tags:
        case = next((r["case"] for r in short if tag in r["components"] or tag in r["tests"]), None)
        if case is not None and case not in chosen:
            chosen.append(case)
    return chosen


@needs_suite
def test_a_sample_of_test_suite_cases_passes():
    runner = _runner()
    rows = runner.read_index(SUITE)
    sample = _sample(runner, rows)
    assert len(sample) >= 25
    results = runner.run([r for r in rows if r["case"] in sample], SUITE, workers=1, timeout=60)
    failed = [(r["case"], r["status"], r["message"]) for r in results if r["status"] != "pass"]
    assert not failed


@needs_suite
@pytest.mark.slow
def test_at_least_95_percent_of_the_test_suite_passes():
    runner = _runner()
    results = runner.run(runner.read_index(SUITE), SUITE, workers=2, timeout=120)
    passed = sum(r["status"] == "pass" for r in results)
    assert len(results) == 1082
    assert passed >= 0.95 * len(results), runner.tag_table(results)


# natural spans in each file's own time unit (SOURCE.md), within which libRoadRunner's CVODE at
# rtol 1e-12 integrates the model; Chareyron2009 stiffens past t = 30, where CVODE gives up
SPANS = {
    "BIOMD0000000234.xml": 30.0,  # weeks: six 3-week gemcitabine cycles and follow-up
    "BIOMD0000000521.xml": 100.0,  # months
    "BIOMD0000000671.xml": 100.0,  # days
    "BIOMD0000000762.xml": 100.0,  # days
    "BIOMD0000000776.xml": 100.0,  # days
    "BIOMD0000000825.xml": 100.0,
    "BIOMD0000000909.xml": 100.0,  # days
    "MODEL2001160002.xml": 30.0,
    "MODEL2001200002.xml": 30.0,
    "MODEL2211040001.xml": 1.8e6,  # seconds: three weeks of granulopoiesis
}


@needs_biomodels
def test_the_ten_biomodels_files_import():
    files = sorted(p.name for p in BIOMODELS.glob("*.xml"))
    assert files == sorted(SPANS)
    for name in files:
        try:
            model = load(BIOMODELS / name)
        except SbmlError as exc:  # a refusal must name what is not supported
            assert "not supported" in str(exc), exc
            continue
        assert model.states or model.parameters


def _compare_with_roadrunner(name: str, backend: str = "scipy") -> float:
    """Largest |chemohost − libRoadRunner| / (1e-5 |libRoadRunner| + 1e-9) over every species amount,
    parameter and compartment at 101 times over the model's span."""
    roadrunner = pytest.importorskip("roadrunner")
    path = BIOMODELS / name
    rr = roadrunner.RoadRunner(str(path))
    species = [*rr.model.getFloatingSpeciesIds(), *rr.model.getBoundarySpeciesIds()]
    ids = [*species, *rr.model.getGlobalParameterIds(), *rr.model.getCompartmentIds()]
    times = np.linspace(0.0, SPANS[name], 101)
    rr.integrator.relative_tolerance = 1e-12
    rr.integrator.absolute_tolerance = 1e-16
    rr.integrator.setValue("maximum_num_steps", 10**6)
    rr.timeCourseSelections = ["time", *ids]
    reference = np.asarray(rr.simulate(times=times))[:, 1:]
    ours = trajectory(load(path), times, ids, amounts=species, backend=backend, rtol=1e-11, atol=1e-16)
    # the criterion: 1e-5 relative, 1e-9 absolute (values that vanish); ≤ 1 passes
    return float(np.max(np.abs(ours - reference) / (1e-5 * np.abs(reference) + 1e-9)))


@needs_biomodels
def test_kuznetsov1994_matches_libroadrunner():
    assert _compare_with_roadrunner("BIOMD0000000762.xml") <= 1.0


@needs_biomodels
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SPANS))
def test_every_biomodels_time_course_matches_libroadrunner(name):
    assert _compare_with_roadrunner(name) <= 1.0


@needs_biomodels
@pytest.mark.slow
@pytest.mark.parametrize("name", ["BIOMD0000000762.xml", "BIOMD0000000909.xml"])
def test_the_compiled_batch_kernel_matches_libroadrunner_on_biomodels(name):
    assert _compare_with_roadrunner(name, backend="kernel") <= 1.0
