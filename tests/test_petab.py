"""PEtab problems in and out: the PEtab v1 test suite, bad input, the Benzekry LLC round trip.

The test suite is read from ``../shared/conformance/petab-test-suite`` (the
repository's sibling ``shared`` folder, or the parent of ``$CHEMOHOST_SHARED_DATA``);
the tests that need it skip only when that folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("libsbml")
pytest.importorskip("petab")

from chemohost.petab import PetabError, load  # noqa: E402
from conftest import shared_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = shared_dir() or ROOT.parent / "shared"
SUITE = SHARED / "conformance" / "petab-test-suite" / "v1.0.0"
CASES = [f"{i:04d}" for i in range(1, 21)]
needs_suite = pytest.mark.skipif(not SUITE.is_dir(), reason="shared PEtab test suite absent")


# ------------------------------------------------------------------------------------------- test suite
@needs_suite
@pytest.mark.parametrize("case", CASES)
def test_petab_test_suite_case(case):
    """Each PEtab v1.0.0 case: simulations, χ² and log-likelihood at the nominal parameters within the case's
    tolerances (the expected values are the suite's, computed by PEtab's reference implementation)."""
    folder = SUITE / case
    solution = yaml.safe_load((folder / f"_{case}_solution.yaml").read_text())
    problem = load(folder / f"_{case}.yaml")
    got = problem.simulate()
    expected = pd.concat([pd.read_csv(folder / f, sep="\t") for f in solution["simulation_files"]],
                         ignore_index=True)
    keys = [c for c in ("observableId", "preequilibrationConditionId", "simulationConditionId", "time")
            if c in expected]
    assert got[keys].astype(str).values.tolist() == expected[keys].astype(str).values.tolist()
    np.testing.assert_allclose(got["simulation"], expected["simulation"], rtol=0, atol=solution["tol_simulations"])
    assert abs(problem.chi2() - solution["chi2"]) <= solution["tol_chi2"]
    assert abs(problem.llh() - solution["llh"]) <= solution["tol_llh"]


@needs_suite
def test_llh_matches_petab_reference_for_every_scale_and_distribution():
    """chemohost's own χ² and log-likelihood equal petab.v1.calculate's on chemohost's simulation for normal and
    Laplace noise on the lin, log and log10 scales (case 0007's problem with its transformation swapped)."""
    import petab.v1 as petab

    problem = load(SUITE / "0007" / "_0007.yaml")
    sim = problem.simulate().rename(columns={"simulation": "simulation"})
    for distribution in ("normal", "laplace"):
        for transformation in ("lin", "log", "log10"):
            observables = problem.observables.assign(noiseDistribution=distribution,
                                                     observableTransformation=transformation)
            for o in problem._observables:
                object.__setattr__(problem._observables[o], "distribution", distribution)
                object.__setattr__(problem._observables[o], "transformation", transformation)
            want_llh = petab.calculate_llh(problem.measurements, sim, observables, problem.parameters)
            want_chi2 = petab.calculate_chi2(problem.measurements, sim, observables, problem.parameters)
            assert problem.llh() == pytest.approx(want_llh, rel=1e-12)
            assert problem.chi2() == pytest.approx(want_chi2, rel=1e-12)
