"""SBML import: analytic time courses, events located on the step, refusals and bad documents.

Every model here is a small SBML Level 3 Version 2 document written in the
test, simulated by chemohost and compared with its closed-form solution.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("libsbml")

import chemohost as ch  # noqa: E402
from chemohost.cli import main  # noqa: E402
from chemohost.sbml import SbmlError, load, trajectory  # noqa: E402
from chemohost.study import load_study, plan_study, run_study  # noqa: E402

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">')
MATH = 'xmlns="http://www.w3.org/1998/Math/MathML"'


def sbml(body: str, head: str = HEAD) -> str:
    return f'{head}<model id="m">{body}</model></sbml>'


def ci(x):
    return f"<ci>{x}</ci>"


def cn(x):
    return f"<cn>{x}</cn>"


def apply(op, *args):
    return f"<apply><{op}/>{''.join(args)}</apply>"


def math_(x):
    return f"<math {MATH}>{x}</math>"


TIME = '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">t</csymbol>'
DELAY = '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/delay">delay</csymbol>'


DECAY = sbml(
    '<listOfCompartments><compartment id="V" spatialDimensions="3" size="2" constant="true"/></listOfCompartments>'
    '<listOfSpecies><species id="A" compartment="V" initialConcentration="3" hasOnlySubstanceUnits="false" '
    'boundaryCondition="false" constant="false"/><species id="B" compartment="V" initialAmount="0" '
    'hasOnlySubstanceUnits="true" boundaryCondition="false" constant="false"/></listOfSpecies>'
    '<listOfParameters><parameter id="k" value="0.7" constant="true"/></listOfParameters>'
    '<listOfReactions><reaction id="R" reversible="false"><listOfReactants>'
    '<speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants><listOfProducts>'
    '<speciesReference species="B" stoichiometry="2" constant="true"/></listOfProducts>'
    f'<kineticLaw>{math_(apply("times", ci("V"), ci("k"), ci("A")))}</kineticLaw></reaction></listOfReactions>'
)
"""A → 2 B with rate V·k·[A]: [A](t) = 3 e^{−kt}, B(t) = 2·V·3·(1 − e^{−kt}) (amount)."""


def test_first_order_reaction_matches_its_closed_form():
    model = load(DECAY)
    t = np.linspace(0, 5, 11)
    sim = trajectory(model, t, ["A", "B", "A"], amounts=["B"], concentrations=["A"])
    a = 3 * np.exp(-0.7 * t)
    np.testing.assert_allclose(sim[:, 0], a, rtol=1e-8)
    np.testing.assert_allclose(sim[:, 1], 2 * 2 * (3 - a), rtol=1e-8, atol=1e-12)
    assert model.parameter_names == ["V [-]", "k [-]"]
    assert model.state_names == ["A amount [-]", "B [-]"]
    assert model.sbml_names["A"] == "A concentration [-]"


SAWTOOTH = sbml(
    '<listOfParameters><parameter id="x" value="0" constant="false"/><parameter id="r" value="1.5" constant="true"/>'
    '<parameter id="n" value="0" constant="false"/></listOfParameters>'
    f'<listOfRules><rateRule variable="x">{math_(ci("r"))}</rateRule></listOfRules>'
    '<listOfEvents><event id="reset" useValuesFromTriggerTime="true">'
    f'<trigger initialValue="false" persistent="true">{math_(apply("geq", ci("x"), cn(2)))}</trigger>'
    f'<listOfEventAssignments><eventAssignment variable="x">{math_(cn(0))}</eventAssignment>'
    f'<eventAssignment variable="n">{math_(apply("plus", ci("n"), cn(1)))}</eventAssignment>'
    '</listOfEventAssignments></event></listOfEvents>'
)
"""x' = r, reset to 0 whenever x reaches 2: x(t) = r·t mod 2, n counts the resets (at t = 2k/r)."""


def test_state_events_are_located_on_the_step_and_cascade_free():
    model = load(SAWTOOTH)
    t = np.linspace(0, 9.9, 34)
    sim = trajectory(model, t, ["x", "n"])
    period = 2 / 1.5
    np.testing.assert_allclose(sim[:, 0], 1.5 * np.mod(t, period), atol=1e-9)
    np.testing.assert_array_equal(sim[:, 1], np.floor(t / period + 1e-12))


def test_the_batch_entry_point_simulates_a_model_with_events_for_a_cohort():
    model = load(SAWTOOTH)
    rates = np.array([1.0, 2.0, 4.0])
    ds = ch.simulate(model, parameters={"r [-]": rates}, times=[0.0, 1.5, 3.3], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ds["n [-]"].values[:, -1], np.floor(3.3 * rates / 2))
    assert (ds["solver_status"].values == 0).all()


def _with_math(xml_math: str) -> str:
    return sbml('<listOfParameters><parameter id="p" constant="false"/></listOfParameters>'
                f'<listOfRules><assignmentRule variable="p">{math_(xml_math)}</assignmentRule></listOfRules>')


@pytest.mark.parametrize(("xml_math", "expected"), [
    (apply("rem", cn(-7), cn(3)), -1.0),  # sign of the dividend (C fmod), unlike Python's %
    (apply("quotient", cn(-7), cn(3)), -2.0),
    (apply("times", "<true/>", cn(3)), 3.0),  # a boolean used as a number
    (apply("root", "<degree><cn>3</cn></degree>", cn(27)), 3.0),
    (apply("log", "<logbase><cn>2</cn></logbase>", cn(8)), 3.0),
    (apply("arccot", cn(1)), math.pi / 4),
    (apply("factorial", cn(5)), 120.0),
    ("<piecewise><piece><cn>1</cn><cn>0</cn></piece><otherwise><cn>2</cn></otherwise></piecewise>", 2.0),
    (apply("max", cn(1), cn(4), cn(2)), 4.0),
    (apply("implies", "<false/>", "<false/>"), 1.0),
    (apply("xor", "<true/>", "<true/>", "<true/>"), 1.0),
    ("<csymbol encoding=\"text\" definitionURL=\"http://www.sbml.org/sbml/symbols/avogadro\">a</csymbol>",
     6.02214179e23),
])
def test_mathml_operators_follow_the_sbml_definitions(xml_math, expected):
    value = trajectory(load(_with_math(xml_math)), [0.0], ["p"])[0, 0]
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("body", "named"), [
    ('<listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>'
     f'<listOfRules><algebraicRule>{math_(ci("x"))}</algebraicRule></listOfRules>', "algebraic rule"),
    ('<listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>'
     '<listOfEvents><event id="late" useValuesFromTriggerTime="true"><trigger initialValue="true" persistent="true">'
     f'{math_(apply("gt", TIME, cn(1)))}</trigger><delay>{math_(cn(1))}</delay><listOfEventAssignments>'
     f'<eventAssignment variable="x">{math_(cn(2))}</eventAssignment></listOfEventAssignments></event></listOfEvents>',
     "event 'late': event delays"),
    ('<listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>'
     f'<listOfRules><rateRule variable="x">{math_("<apply>" + DELAY + ci("x") + cn(1) + "</apply>")}</rateRule>'
     '</listOfRules>', "rate rule for 'x': unsupported MathML element 'delay'"),
])
def test_unsupported_constructs_are_refused_naming_the_element(body, named):
    with pytest.raises(SbmlError, match=named):
        load(sbml(body))


def test_fast_reactions_are_refused_naming_the_reaction():
    head = HEAD.replace("version2", "version1").replace('version="2"', 'version="1"')
    body = ('<listOfCompartments><compartment id="c" constant="true" size="1"/></listOfCompartments>'
            '<listOfSpecies><species id="S" compartment="c" initialAmount="1" hasOnlySubstanceUnits="true" '
            'boundaryCondition="false" constant="false"/></listOfSpecies><listOfReactions>'
            '<reaction id="quick" reversible="false" fast="true"><listOfReactants><speciesReference species="S" '
            f'stoichiometry="1" constant="true"/></listOfReactants><kineticLaw>{math_(ci("S"))}</kineticLaw>'
            '</reaction></listOfReactions>')
    with pytest.raises(SbmlError, match="reaction 'quick': fast reactions is not supported"):
        load(sbml(body, head))


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                  '<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">'
                  '<model id="m"><notes>&lol2;</notes></model></sbml>')


@pytest.mark.parametrize(("text", "message"), [
    ("<sbml xmlns=", "malformed XML"),
    ('<?xml version="1.0"?><html><body/></html>', "not an SBML document (its root element is <html>"),
    ('<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level1" level="1" version="2">'
     '<model name="m"/></sbml>',
     "SBML Level 1 is not supported"),
    (_with_math("<frobnicate/>"), "Invalid MathML.*<frobnicate> cannot be used"),
    (BILLION_LAUGHS, "DOCTYPE/ENTITY declarations are not accepted"),
])
def test_bad_documents_give_one_line_errors_and_exit_2(tmp_path, monkeypatch, capsys, text, message):
    path = tmp_path / "model.xml"
    path.write_text(text)
    with pytest.raises(SbmlError, match=message.replace("(", r"\(")):
        load(path)
    monkeypatch.setattr(sys, "argv", ["chemohost", "sbml", "check", str(path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.xml"]  # nothing written


def test_a_file_over_the_size_bound_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from chemohost.sbml import _import

    path = tmp_path / "big.xml"
    path.write_text(DECAY)
    monkeypatch.setattr(_import, "MAX_BYTES", 100)
    with pytest.raises(SbmlError, match=f"is {path.stat().st_size} bytes; the limit is 100 bytes"):
        load(path)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_any_text_either_imports_or_raises_an_sbml_error(text):
    try:
        load("<" + text)
    except SbmlError as exc:
        assert "\n" not in str(exc)


THRESHOLD = sbml(
    '<listOfCompartments><compartment id="c" spatialDimensions="3" size="1" constant="true"/></listOfCompartments>'
    '<listOfSpecies><species id="X" compartment="c" initialAmount="0" hasOnlySubstanceUnits="true" '
    'boundaryCondition="false" constant="false"/></listOfSpecies>'
    '<listOfParameters><parameter id="k" value="0.5" constant="true"/>'
    '<parameter id="below" value="0" constant="false"/></listOfParameters>'
    '<listOfReactions><reaction id="out" reversible="false"><listOfReactants><speciesReference species="X" '
    f'stoichiometry="1" constant="true"/></listOfReactants><kineticLaw>{math_(apply("times", ci("k"), ci("X")))}'
    '</kineticLaw></reaction></listOfReactions>'
    '<listOfEvents><event id="low" useValuesFromTriggerTime="true"><trigger initialValue="true" persistent="true">'
    f'{math_(apply("and", apply("lt", ci("X"), cn(1)), apply("gt", TIME, cn(1))))}'
    f'</trigger><listOfEventAssignments><eventAssignment variable="below">{math_(TIME)}'
    '</eventAssignment></listOfEventAssignments></event></listOfEvents>')
"""One-compartment drug X [mg] eliminated at rate k [1/day]; an event records the time X falls below 1 mg."""


def test_a_study_doses_an_imported_species_and_an_event_marks_the_threshold(tmp_path):
    (tmp_path / "drug.xml").write_text(THRESHOLD)
    study = tmp_path / "study.yaml"
    study.write_text("name: sbml study\nmodel: {sbml: drug.xml, doses: {gemcitabine: X}}\ncohort: {size: 2}\n"
                     "covariates: {'Body weight [kg]': 0.02}\n"
                     "arms: {dosed: gemcitabine 100 mg/kg iv bolus on day 2}\nduration: 10\noutput_interval: 1\n")
    config = load_study(study)
    plan = plan_study(config)
    ds = run_study(config, plan=plan)
    x = ds["X [-]"].sel(arm="dosed").values[0]
    t = ds["time"].values
    np.testing.assert_allclose(x, np.where(t >= 2, 2.0 * np.exp(-0.5 * (t - 2)), 0.0), rtol=1e-5, atol=1e-9)
    crossing = 2 + math.log(2.0) / 0.5  # X = 2 e^{-k(t-2)} reaches 1 mg
    assert ds["below [-]"].sel(arm="dosed").values[0, -1] == pytest.approx(crossing, rel=1e-6)


def test_a_study_names_a_dose_target_that_is_not_a_state(tmp_path):
    (tmp_path / "decay.xml").write_text(DECAY)
    study = tmp_path / "study.yaml"
    study.write_text("name: s\nmodel: {sbml: decay.xml, doses: {gemcitabine: k}}\n"
                     "arms: {a: none}\nduration: 1\n")
    with pytest.raises(ch.ChemohostError, match="'k' \\(for gemcitabine\\) is not a state of the SBML model; "
                       "states: A, B"):
        plan_study(load_study(study))


def test_calibration_recovers_an_imported_rate_constant_per_subject():
    from chemohost.calibration import IndividualFitter

    model = load(THRESHOLD)
    model.dose_into("gemcitabine", "X")
    times = np.arange(3.0, 10.0)
    truth = np.array([0.3, 0.6])
    amount = 2.0 * np.exp(-np.outer(truth, times - 2))  # 100 mg/kg × 0.02 kg on day 2
    noisy = amount * np.exp(np.random.default_rng(1).normal(0.0, 0.03, amount.shape))
    data = {"subject": np.repeat(["a", "b"], times.size), "time": np.tile(times, 2), "observable": "X [-]",
            "value": noisy.ravel(), "group": "dosed"}
    fit = IndividualFitter(model, observables=["X [-]"], error_model="lognormal", estimate=["k [-]"],
                           fixed={"Body weight [kg]": 0.02}, bounds={"k [-]": (0.01, 5.0)}, n_starts=1, seed=0,
                           regimens={"dosed": "gemcitabine 100 mg/kg iv bolus on day 2"}).fit(pd.DataFrame(data))
    np.testing.assert_allclose(fit.params_["k [-]"], truth, rtol=0.03)


def test_chemohost_check_validates_a_study_of_an_imported_model(tmp_path, monkeypatch, capsys):
    (tmp_path / "drug.xml").write_text(THRESHOLD)
    study = tmp_path / "study.yaml"
    study.write_text("name: s\nmodel: {sbml: drug.xml, doses: {gemcitabine: X}}\n"
                     "arms: {a: gemcitabine 10 mg/kg iv bolus on day 1}\nduration: 3\n")
    monkeypatch.setattr(sys, "argv", ["chemohost", "check", str(study)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    assert "valid — 1 arms, 2 states, 2 parameters" in capsys.readouterr().out
