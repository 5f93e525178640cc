"""SBML export: the document libSBML accepts, libRoadRunner simulates like chemohost, and loses no provenance.

libRoadRunner (CVODE) is an independent solver of the exported equations and
events, so agreement at tight tolerances checks the export (equations, units of
time, events, chemohost's conventions) rather than restating a result.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import yaml

import chemohost as ch
from chemohost.procedures import parse_procedures
from chemohost.core import Q
from chemohost.sbml import NAMESPACE, check_sbml, sbml_ids, to_sbml
from chemohost.sbml._export import _Formula

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")

RTOL, ATOL = 1e-10, 1e-12  # both solvers
MATCH_RTOL, MATCH_ATOL = 1e-5, 1e-9  # the round-trip tolerance


def roadrunner_states(text: str, ids: list[str], times: np.ndarray) -> np.ndarray:
    """libRoadRunner's CVODE with Adams-Moulton steps: its default BDF fails the corrector's convergence test
    shortly after the reference study's resection (day 18.4), where Adams integrates to the end."""
    rr = roadrunner.RoadRunner(text)
    rr.integrator.setValue("stiff", False)
    rr.integrator.relative_tolerance = RTOL
    rr.integrator.absolute_tolerance = ATOL
    rr.integrator.maximum_num_steps = 1_000_000
    rr.timeCourseSelections = ["time", *ids]
    return np.asarray(rr.simulate(times=times))[:, 1:]


def state_matrix(ds, model) -> np.ndarray:
    """The first patient's states ``(T, N)`` in ``model.state_names`` order, taking stacked states (metastasis
    cohorts along ``cohort``) from their stacked variable."""
    where = {m: (stack.name, stack.dim, k) for stack in model.result_stacks for k, m in enumerate(stack.members)}
    columns = []
    for name in model.state_names:
        if name in ds:
            columns.append(ds[name].values[0])
        else:
            var, dim, k = where[name]
            columns.append(ds[var].isel({dim: k}).values[0])
    return np.stack(columns, axis=1)


def assert_round_trip(model, regimen, parameters, times, **options):
    """Chemohost's trajectories and libRoadRunner's on the exported SBML agree for every state and time."""
    ds = ch.simulate(model, regimen, parameters, times, rtol=RTOL, atol=ATOL, save=model.state_names,
                     max_steps=2_000_000, covariates=options.get("covariates"), procedures=options.get("procedures"))
    text = to_sbml(model, regimen, parameters, until=float(times[-1]), **options)
    ids = sbml_ids(model)
    theirs = roadrunner_states(text, [ids[n] for n in model.state_names], times)
    ours = state_matrix(ds, model)
    excess = np.abs(ours - theirs) - (MATCH_ATOL + MATCH_RTOL * np.abs(theirs))
    t, j = np.unravel_index(np.argmax(excess), excess.shape)
    assert excess.max() <= 0, (f"'{model.state_names[j]}' at day {times[t]}: chemohost {ours[t, j]!r}, "
                               f"libRoadRunner {theirs[t, j]!r}")
    return text


# ------------------------------------------------------------------------------ formula printer
X, Y = Q("Volume x [mm3]"), Q("Volume y [mm3]")
CASES = {
    "piecewise": sympy.Piecewise((X, X > Y), (2 * Y, sympy.And(Y >= 1, sympy.Not(sympy.Eq(X, 3)))), (-X, True)),
    "max": sympy.Max(X, Y, 2),
    "min": sympy.Min(X, Y),
    "heaviside": sympy.Heaviside(X - 2) + sympy.Heaviside(Y - 1, 0),
    "log_exp_pow": sympy.log(X) * sympy.exp(-Y / 3) + X ** sympy.Rational(3, 2) / Y ** 2 + sympy.sqrt(Y),
    "x_log_x": X * sympy.log(X),
    "numbers": sympy.pi * X + sympy.Rational(1, 3) - sympy.Float(1.2345678901234567e-300),
}


def _expected(expr, x, y):
    """The kernel's value of ``expr``: log(0) is log(1e-300), as in the generated kernel."""
    safe = expr.replace(sympy.log, lambda a: sympy.Function("LOG0")(a))
    f = sympy.lambdify((X, Y), safe, modules=[{"LOG0": lambda a: math.log(a) if a > 0 else math.log(1e-300)},
                                              "math"])
    return float(f(x, y))


@pytest.mark.parametrize(("x", "y"), [(0.0, 1.0), (3.0, 1.0), (0.5, 4.0), (2.0, 2.0), (3.0, 0.5)])
def test_formula_printer_evaluates_like_the_kernel(x, y):
    """Every construct the printer writes evaluates in libRoadRunner to SymPy's value (log finite at 0)."""
    ids = {X.name: "x", Y.name: "y"}
    printer = _Formula(ids)
    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    for sid, value in (("x", x), ("y", y)):
        p = m.createParameter()
        p.setId(sid), p.setValue(value), p.setConstant(True)
    for name, expr in CASES.items():
        p = m.createParameter()
        p.setId(name), p.setConstant(False)
        rule = m.createAssignmentRule()
        rule.setVariable(name)
        ast = libsbml.parseL3Formula(printer(expr))
        assert ast is not None, (name, libsbml.getLastParseL3Error())
        rule.setMath(ast)
    rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(doc))
    for name, expr in CASES.items():
        assert rr[name] == pytest.approx(_expected(expr, x, y), rel=1e-14, abs=1e-300), name


def test_formula_printer_refuses_what_it_cannot_write():
    with pytest.raises(ch.ChemohostError, match="gamma"):
        _Formula({X.name: "x"})(sympy.gamma(X))
    with pytest.raises(ch.ChemohostError, match="does not define"):
        _Formula({})(X)


# --------------------------------------------------------------------------------- round trip
def test_round_trip_bolus_infusion_and_resection(shared_model):
    """A Gompertz tumour (a log of its volume) with boluses, a continuous infusion and a resection:
    libRoadRunner on the exported SBML reproduces chemohost within 1e-5 relative at every output time,
    including the dosing and resection days (states reported after the event) and after the resection
    (the volume is 0, where the log takes chemohost's finite convention)."""
    model = shared_model("paclitaxel")
    regimen = "paclitaxel 20 mg/kg iv bolus q7d x2 from day 2 + paclitaxel 3 mg/kg/day iv continuous from day 3 to day 6"
    times = np.arange(0.0, 20.01, 0.25)
    text = assert_round_trip(model, regimen, {}, times, covariates={"Body weight [kg]": 0.02},
                             procedures=parse_procedures(["resection on day 14"]))
    doc = libsbml.readSBMLFromString(text)
    assert doc.getLevel() == 3 and doc.getVersion() == 2
    assert doc.getModel().getNumEvents() == 2 + 2 + 1  # boluses, infusion edges, resection


def test_round_trip_oral_doses_scaled_by_bioavailability(shared_model):
    """Oral doses go to a depot scaled by the bioavailability parameter, which the SBML event refers to."""
    model = shared_model("paclitaxel_oral")
    parameters = {"Paclitaxel absorption rate [1/day]": 12.0, "Paclitaxel oral bioavailability [-]": 0.3}
    text = assert_round_trip(model, "paclitaxel 10 mg/kg oral q2d x3 from day 1 + paclitaxel 2 mg/kg/day oral "
                             "continuous from day 2 to day 5", parameters, np.arange(0.0, 8.01, 0.125),
                             covariates={"Body weight [kg]": 0.02})
    assert "Paclitaxel_oral_bioavailability" in text.split("<listOfEvents>")[1]


def test_document_passes_libsbml_checks_and_keeps_provenance(shared_model):
    model = shared_model("paclitaxel")
    text = to_sbml(model, "paclitaxel 20 mg/kg iv q7d x2", {"Gompertz deceleration rate [1/day]": 0.09},
                   covariates={"Body weight [kg]": 0.02}, until=14)
    errors, _ = check_sbml(text)
    assert errors == []
    sm = libsbml.readSBMLFromString(text).getModel()
    ids = sbml_ids(model)
    for p in model.parameters:
        element = sm.getParameter(ids[p.name])
        assert element.getConstant() and element.getName() == p.name
        expected = 0.09 if p.name == "Gompertz deceleration rate [1/day]" else p.default
        assert element.getValue() == pytest.approx(expected, rel=1e-14)
        node = element.getAnnotation().getChild(0)
        assert node.getURI() == NAMESPACE
        attrs = {node.getAttrName(i): node.getAttrValue(i) for i in range(node.getAttributesLength())}
        assert attrs["unit"] == p.unit and attrs["tag"] == p.tag and attrs["source"] == p.source
        assert attrs.get("citation", "") == (p.citation or "")
        assert (float(attrs["lower"]), float(attrs["upper"])) == tuple(map(float, p.bounds))
    for s in model.states:
        assert sm.getRateRule(ids[s.name]) is not None
    for name in model.output_names:
        assert sm.getAssignmentRule(ids[name]) is not None
    # units: a volume in mm3 is 1e-9 m^3 and time is in days
    volume = sm.getUnitDefinition(sm.getParameter(ids["Proliferating tumour volume [mm3]"]).getUnits())
    unit = volume.getUnit(0)
    assert (libsbml.UnitKind_toString(unit.getKind()), unit.getExponent(), unit.getScale()) == ("metre", 3, -3)
    day = sm.getUnitDefinition(sm.getTimeUnits()).getUnit(0)
    assert (libsbml.UnitKind_toString(day.getKind()), day.getMultiplier()) == ("second", 86400)


def test_to_sbml_refuses_a_cohort_and_unknown_parameters(shared_model):
    model = shared_model("paclitaxel")
    with pytest.raises(ch.ChemohostError, match="one patient"):
        to_sbml(model, None, {"Gompertz deceleration rate [1/day]": [0.1, 0.2]})
    with pytest.raises(ch.ChemohostError, match="Gompertz decelaration"):
        to_sbml(model, None, {"Gompertz decelaration rate [1/day]": 0.1})


# ------------------------------------------------------------------------------------- the CLI
SMALL = {
    "name": "small export study",
    "model": {"growth": "gompertz", "damage": "simeoni_transit"},
    "parameter_sets": ["Benzekry2014LLC", "Simeoni2004", "Eiseman1994", "RMM1"],
    "covariates": {"Body weight [kg]": 0.02},
    "cohort": {"size": 12, "seed": 3},
    "arms": {"vehicle": "none", "paclitaxel": {"regimen": "paclitaxel 25 mg/kg iv q7d x2 from day 8",
                                              "procedures": ["resection on day 20"]},
             "adaptive": {"regimen": "paclitaxel 25 mg/kg iv q7d x2 from day 8",
                          "rules": [{"adaptive": {"stop_below": 1.0, "resume_above": 2.0}}]}},
    "duration": 24,
}


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    return path


def test_cli_exports_an_arm_and_a_cohort_table(cli, study, tmp_path):
    import pandas as pd

    out = tmp_path / "arm.xml"
    code, stdout, _ = cli("export", "sbml", study, "--arm", "paclitaxel", "--out", out,
                              "--patients", 5)
    assert code in (0, None), stdout
    assert "0 errors" in stdout
    assert check_sbml(out.read_text())[0] == []
    sm = libsbml.readSBMLFromString(out.read_text()).getModel()
    table = pd.read_csv(tmp_path / "arm.patients.tsv", sep="\t")
    assert list(table["patient"]) == list(range(5))
    assert set(table.columns[1:]) <= {sm.getParameter(i).getId() for i in range(sm.getNumParameters())}
    assert table.shape[1] - 1 == sum(sm.getParameter(i).getConstant() for i in range(sm.getNumParameters()))
    assert table.iloc[:, 1:].nunique().max() > 1  # patients differ (the study's variability)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--arm", "paclitaxl"], ["unknown arm 'paclitaxl'", "vehicle"]),
        (["--arm", "adaptive"], ["dosing rules"]),
        ([], ["--arm is needed", "vehicle"]),
        (["--arm", "vehicle", "--out", "{tmp}/missing/model.xml"], ["does not exist"]),
        (["--arm", "vehicle", "--out", "{tmp}"], ["is a folder"]),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(cli, study, tmp_path, args, expected):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "model.xml")]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, _, err = cli("export", "sbml", study, *args)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    for fragment in expected:
        assert fragment in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


# ----------------------------------------------------------------------- the reference study
@pytest.mark.slow
def test_reference_study_round_trip_every_arm():
    """Every arm of the built-in reference study (99 states, 31 metastasis cohorts with timed windows,
    boluses, continuous oral and s.c. dosing, a resection): libRoadRunner on the exported SBML matches
    chemohost's typical patient for every state at every output time within 1e-5 relative (1e-9 absolute)."""
    from chemohost.study import plan_study, reference_study

    config = reference_study()
    plan = plan_study(config)
    model = plan.model
    typical = {n: float(plan.table.loc[n, "value"]) for n in model.parameter_names}
    times = np.round(np.arange(0.0, config.duration + 1e-9, config.output_interval), 10)
    for arm, regimen in plan.regimens.items():
        text = assert_round_trip(model, regimen, typical, times, covariates=plan.covariates,
                                 procedures=plan.procedures[arm], provenance=plan.table)
        assert check_sbml(text)[0] == [], arm


def test_export_then_import_reproduces_the_original(shared_model):
    """A model exported to SBML and imported back (events, rate rules, assignment rules) simulates, through
    ``chemohost.simulate``, to the original trajectories within 1e-5 relative (1e-9 absolute)."""
    from chemohost.sbml import load, trajectory

    model = shared_model("paclitaxel")
    regimen = "paclitaxel 20 mg/kg iv bolus q7d x2 from day 2 + paclitaxel 3 mg/kg/day iv continuous from day 3 to day 6"
    times = np.arange(0.0, 20.01, 0.25)
    procedures = parse_procedures(["resection on day 14"])
    original = ch.simulate(model, regimen, {}, times, rtol=RTOL, atol=ATOL, save=model.state_names,
                           covariates={"Body weight [kg]": 0.02}, procedures=procedures)
    text = to_sbml(model, regimen, {}, until=float(times[-1]), covariates={"Body weight [kg]": 0.02},
                   procedures=procedures)
    imported = load(text)
    ids = sbml_ids(model)
    again = trajectory(imported, times, [ids[n] for n in model.state_names], backend="kernel")
    ours = state_matrix(original, model)
    np.testing.assert_allclose(again, ours, rtol=MATCH_RTOL, atol=MATCH_ATOL)
