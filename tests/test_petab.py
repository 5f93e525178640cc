"""PEtab problems in and out: the PEtab v1 test suite, bad input, the Benzekry LLC round trip.

The test suite is read from ``../shared/conformance/petab-test-suite`` (the
repository's sibling ``shared`` folder, or the parent of ``$CHEMOHOST_SHARED_DATA``);
the tests that need it skip only when that folder is absent.
"""

from __future__ import annotations

import math
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


# ------------------------------------------------------------------------------------- a problem of our own
MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="decay">
    <listOfCompartments><compartment id="c" size="1" spatialDimensions="3" constant="true"/></listOfCompartments>
    <listOfSpecies>
      <species id="A" compartment="c" initialConcentration="2" hasOnlySubstanceUnits="false"
               boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfParameters><parameter id="k" value="0.5" constant="true"/></listOfParameters>
    <listOfReactions>
      <reaction id="r" reversible="false">
        <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
          <apply><times/><ci>c</ci><ci>k</ci><ci>A</ci></apply></math></kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>
"""
K_TRUE, A0, TIMES = 0.3, 2.0, (0.0, 1.0, 2.0, 4.0, 8.0)


def _tables(**changes) -> dict[str, str]:
    measurements = "observableId\tsimulationConditionId\ttime\tmeasurement\tnoiseParameters\n" + "".join(
        f"obs_a\tc0\t{t}\t{A0 * math.exp(-K_TRUE * t)!r}\tsd\n" for t in TIMES)
    tables = {
        "model.xml": MODEL,
        "conditions.tsv": "conditionId\tc\nc0\t1\n",
        "measurements.tsv": measurements,
        "observables.tsv": "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation\n"
                           "obs_a\tscale * A\tnoiseParameter1_obs_a\tlin\n",
        "parameters.tsv": "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n"
                          "k\tlog10\t0.01\t10\t0.5\t1\nscale\tlin\t0.5\t2\t1\t0\nsd\tlin\t0.01\t1\t0.1\t0\n",
        "problem.yaml": "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n- sbml_files: [model.xml]\n"
                        "  condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
                        "  observable_files: [observables.tsv]\n",
    }
    tables.update(changes)
    return tables


def _write(folder: Path, **changes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in _tables(**changes).items():
        if text is not None:
            (folder / name).write_text(text)
    return folder / "problem.yaml"


@pytest.fixture(scope="module")
def decay(tmp_path_factory):
    return load(_write(tmp_path_factory.mktemp("decay")))


def test_simulation_and_likelihood_are_analytic(decay):
    """A → ∅ at rate k: A(t) = A0·e^{−k·t}; with data exactly at k = 0.3 and σ = 0.1 the residuals and the
    log-likelihood are closed forms (normal, lin)."""
    f = A0 * np.exp(-0.5 * np.array(TIMES))
    y = A0 * np.exp(-K_TRUE * np.array(TIMES))
    np.testing.assert_allclose(decay.simulate()["simulation"], f, rtol=1e-8)
    assert decay.chi2() == pytest.approx(np.sum(((y - f) / 0.1) ** 2), rel=1e-7)
    want = np.sum(-np.log(0.1) - 0.5 * np.log(2 * np.pi) - 0.5 * ((y - f) / 0.1) ** 2)
    assert decay.llh() == pytest.approx(want, rel=1e-7)
    assert decay.llh([math.log10(K_TRUE)]) == pytest.approx(len(TIMES) * (-np.log(0.1) - 0.5 * np.log(2 * np.pi)),
                                                          rel=1e-7)


def test_fit_recovers_the_rate_on_its_log10_scale(decay, tmp_path):
    """Noise-free data at k = 0.3: chemohost's multi-start optimiser finds k on the declared log10 scale."""
    from chemohost.petab import fit_problem

    fit = fit_problem(decay, n_starts=2, seed=1)
    assert fit.estimates.set_index("parameterId").loc["k", "estimate"] == pytest.approx(K_TRUE, rel=1e-4)
    assert fit.objective == pytest.approx(-decay.llh([math.log10(K_TRUE)]), abs=1e-6)
    paths = fit.write(tmp_path / "out")
    assert all(p.stat().st_size > 0 for p in paths.values())
    trace = pd.read_csv(paths["objective_trace.tsv"], sep="\t")
    assert np.all(np.diff(trace["best so far"]) <= 0) and trace["best so far"].iloc[-1] <= fit.objective + 1e-9


# ------------------------------------------------------------------------------------------- bad input
BAD = {
    "missing file": ({"observables.tsv": None}, "problem.yaml: problems[0]: observable_files[0]: file"),
    "unknown observable": ({"measurements.tsv": "observableId\tsimulationConditionId\ttime\tmeasurement\t"
                            "noiseParameters\nobs_a\tc0\t0\t1\tsd\nobs_z\tc0\t1\t1\tsd\n"},
                           "measurements.tsv, row 2, observableId: unknown observable 'obs_z'"),
    "unknown symbol": ({"observables.tsv": "observableId\tobservableFormula\tnoiseFormula\nobs_a\tA\t"
                        "sigma_x * A\n"}, "observables.tsv, row 1 (obs_a), noiseFormula: unknown symbol 'sigma_x'"),
    "__import__": ({"observables.tsv": "observableId\tobservableFormula\tnoiseFormula\nobs_a\t__import__(os)\t"
                    "1\n"}, "observables.tsv, row 1 (obs_a), observableFormula: call of '__import__'"),
    "attribute access": ({"observables.tsv": "observableId\tobservableFormula\tnoiseFormula\nobs_a\tA.real\t"
                          "1\n"}, "observables.tsv, row 1 (obs_a), observableFormula: cannot parse 'A.real'"),
    "missing column": ({"measurements.tsv": "observableId\tsimulationConditionId\tmeasurement\nobs_a\tc0\t1\n"},
                       "measurements.tsv: column 'time' is missing"),
    "lower above upper": ({"parameters.tsv": "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\t"
                           "estimate\nk\tlin\t0.5\t0.1\t0.3\t1\nscale\tlin\t0.5\t2\t1\t0\nsd\tlin\t0.01\t1\t0.1\t0\n"},
                          "parameters.tsv, row 1 (k), lowerBound: 0.5 is above upperBound 0.1"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_problem_is_one_line_naming_file_row_and_field(case, tmp_path, cli):
    changes, message = BAD[case]
    path = _write(tmp_path, **changes)
    with pytest.raises(PetabError) as info:
        load(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    code, out, err = cli("fit", "petab", path, "--out", tmp_path / "out")
    assert code == 2 and err.startswith("error: ") and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_formulas_are_never_evaluated():
    """Any text either parses through the whitelist into known symbols or is a one-line PetabError."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from chemohost.petab._formula import parse_formula

    known = {"A", "k", "noiseParameter1_obs"}
    pieces = st.sampled_from(["A", "k", "x", "__import__", "(", ")", ".", "os", "*", "+", "^", "**", "exp(",
                              "log(", "'", ";", "lambda", ",", "1", "2.5e3", " ", "[", "]", "__class__"])

    @settings(max_examples=30, deadline=None)
    @given(st.lists(pieces, max_size=12).map("".join))
    def check(text):
        try:
            expr = parse_formula(text, "observables.tsv, row 1, observableFormula", known.__contains__)
        except PetabError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("observables.tsv, row 1, observableFormula")
        else:
            assert {s.name for s in expr.free_symbols} <= known

    check()


# --------------------------------------------------------------------------------- Benzekry LLC round trip
LLC_STUDY = ROOT / "examples" / "benzekry_llc_fit.yaml"
LLC_DATA = SHARED / "data" / "benzekry2014_growth" / "lung_vol_data.txt"
needs_llc = pytest.mark.skipif(not LLC_DATA.is_file(), reason="shared Benzekry 2014 data absent")


@pytest.fixture(scope="module")
def llc_round_trip(tmp_path_factory):
    """The Benzekry LLC Gompertz fit (one start per mouse), exported with its estimates as nominal values."""
    from chemohost.calibration import load_fit_study, plan_fit
    from chemohost.calibration._study_fit import load_fit_data
    from chemohost.petab import export_fit

    config = load_fit_study(LLC_STUDY)
    config = load_fit_study({**config.model_dump(), "compare": [], "fit": {**config.fit.model_dump(), "n_starts": 1}})
    fitted = plan_fit(config).fitter.clone().fit(load_fit_data(config, LLC_DATA))
    paths = export_fit(config, LLC_DATA, tmp_path_factory.mktemp("llc"), estimates=fitted.params_)
    return fitted, paths


@needs_llc
def test_benzekry_llc_round_trip_keeps_the_objective(llc_round_trip):
    """Export → petab lint → re-import: chemohost's PEtab objective at the fitted parameters equals the fit's own
    negative log-likelihood within 1e-6 relative (PEtab's log-normal density is chemohost's)."""
    from chemohost.petab import lint

    fitted, paths = llc_round_trip
    assert lint(paths["problem"]) == []
    problem = load(paths["problem"])
    assert len(problem.conditions) == len(fitted.params_) == 20
    assert len(problem.estimated) == 3 * 20
    total = float(fitted.loglik_.sum())
    assert problem.objective() == pytest.approx(-total, rel=1e-6)


@needs_llc
def test_cli_export_petab_writes_a_linted_problem(cli, tmp_path):
    code, out, err = cli("export", "petab", LLC_STUDY, LLC_DATA, "--out", tmp_path / "llc")
    assert code == 0, err
    assert "petab lint: passed" in out
    parameters = pd.read_csv(tmp_path / "llc" / "parameters.tsv", sep="\t")
    assert set(parameters["parameterScale"]) <= {"lin", "log"}
    assert (parameters["lowerBound"] <= parameters["upperBound"]).all()
    code, _, err = cli("export", "petab", LLC_STUDY, tmp_path / "missing.txt", "--out", tmp_path / "x")
    assert code == 2 and "missing.txt" in err and "Traceback" not in err


@needs_llc
@pytest.mark.slow
def test_pypesto_objective_on_the_exported_problem_agrees(llc_round_trip):
    """pyPESTO (its RoadRunner objective) on the exported problem: the same objective as chemohost's fit within
    1e-6 relative (RoadRunner's default tolerances)."""
    pytest.importorskip("pypesto")
    import pypesto.petab

    fitted, paths = llc_round_trip
    problem = load(paths["problem"])
    objective = pypesto.petab.PetabImporter(problem.petab, simulator_type="roadrunner").create_problem().objective
    got = float(objective(np.asarray(problem.petab.x_nominal_free_scaled)))
    assert got == pytest.approx(-float(fitted.loglik_.sum()), rel=1e-6)


def test_laplace_error_model_matches_scipy_density_and_distribution():
    """chemohost's LaplaceError (PEtab's laplace noise): its log-density and, for censored points, its log
    distribution function are scipy.stats.laplace's."""
    from scipy import stats

    from chemohost.calibration import LaplaceError

    y, f = np.array([1.0, 2.5, -3.0, 0.2, 4.0, -1.0]), np.array([1.5, 2.0, 0.0, 0.0, 1.0, 1.0])
    censoring = np.array([0, 0, 1, 1, 2, 2])
    b = 0.7
    want = stats.laplace.logpdf(y, loc=f, scale=b)
    want = np.where(censoring == 1, stats.laplace.logcdf(y, loc=f, scale=b), want)
    want = np.where(censoring == 2, stats.laplace.logsf(y, loc=f, scale=b), want)
    model = LaplaceError()
    np.testing.assert_allclose(model.loglik(y, f, {"sigma": b}, censoring), want, rtol=1e-12)


PRIOR_CASES = [("normal", "0.4;0.1"), ("laplace", "0.4;0.1"), ("logNormal", "-1.0;0.5"), ("logLaplace", "-1.0;0.5"),
               ("uniform", "0.01;10"), ("parameterScaleNormal", "-0.5;0.2")]


@pytest.mark.parametrize("kind,parameters", PRIOR_CASES)
def test_objective_adds_the_log_prior(kind, parameters, tmp_path):
    """objective = −(llh + ln prior): priors on the linear scale equal petab.v1.priors' densities; a
    parameterScale prior is the density of the scaled value (PEtab v1: "on the parameter scale")."""
    from petab.v1.priors import Prior

    table = ("parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\tobjectivePriorType\t"
             f"objectivePriorParameters\nk\tlog10\t0.01\t10\t0.5\t1\t{kind}\t{parameters}\n"
             "scale\tlin\t0.5\t2\t1\t0\t\t\nsd\tlin\t0.01\t1\t0.1\t0\t\t\n")
    problem = load(_write(tmp_path, **{"parameters.tsv": table}))
    x = [math.log10(0.3)]
    a, b = (float(v) for v in parameters.split(";"))
    if kind.startswith("parameterScale"):
        want = -0.5 * math.log(2 * math.pi * b * b) - 0.5 * ((x[0] - a) / b) ** 2
    else:
        want = -Prior(kind, (a, b), bounds=(0.01, 10), transformation="log10", _bounds_truncate=False).neglogprior(0.3)
    assert problem.log_prior(x) == pytest.approx(want, rel=1e-12)
    assert problem.objective(x) == pytest.approx(-problem.llh(x) - want, rel=1e-12)


def test_cli_fit_petab_writes_estimates_trace_and_plot(tmp_path, cli):
    """chemohost fit petab PROBLEM.yaml: the PEtab form of the fit command (the STUDY DATA form is unchanged)."""
    path = _write(tmp_path / "problem")
    code, out, err = cli("fit", "petab", path, "--out", tmp_path / "fit", "--starts", "1")
    assert code == 0, err
    assert "1 parameters estimated from 5 measurements" in out
    estimates = pd.read_csv(tmp_path / "fit" / "estimates.tsv", sep="\t").set_index("parameterId")
    assert estimates.loc["k", "estimate"] == pytest.approx(K_TRUE, rel=1e-4)
    assert (tmp_path / "fit" / "fit.png").stat().st_size > 0
    assert (tmp_path / "fit" / "objective_trace.tsv").is_file()
