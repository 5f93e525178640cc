"""Every bad input is answered: property-based checks over regimen strings, study YAML, data files and CLI options.

Each generated input is either accepted (and then usable within the
documented bounds of :mod:`chemohost.limits`) or refused with a
:class:`~chemohost.ChemohostError` whose message is one line of bounded length
naming the input; the command line answers with exit code 2, that line and no
traceback, and writes nothing. The cases run through the cheap validating paths
(parsers, ``load_study`` / ``plan_study``, ``chemohost check``); the end-to-end
runs, including killed and concurrent ones, are in ``test_bad_input_cli.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chemohost as ch
from chemohost._errors import ArgumentError, ChemohostError, LimitError, quote
from chemohost.calibration import DataFileError
from chemohost.calibration._import import read_nonmem, read_tidy, tidy_benzekry2014
from chemohost.io import OutputFolderError, load_results, output_folder
from chemohost.limits import MAX_DOSE_EVENTS, MAX_PATIENTS, MAX_SEED
from chemohost.regimen import Regimen, RegimenError
from chemohost.study import StudyError, load_study, plan_study
from test_cli import SMALL as CLI_STUDY
from test_cli import run_cli

MAX_MESSAGE = 1200  # one line: quoted input is cut to ~200 characters, the rest is the explanation

SMALL = {**CLI_STUDY, "cohort": {"size": 4, "seed": 3}}


def cases(n: int):
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_answered(error: BaseException, *names: str) -> str:
    """``error`` is a ChemohostError with one short line that contains every one of ``names``."""
    assert isinstance(error, ChemohostError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert "\n" not in message and 0 < len(message) <= MAX_MESSAGE, message[:2000]
    for name in names:
        assert name in message, (name, message)
    return message


# -- the quoting helper ----------------------------------------------------------------------------------------------

@cases(20)
@given(st.one_of(st.text(max_size=5000), st.binary(max_size=5000), st.lists(st.text(max_size=20), max_size=40)))
def test_quote_cuts_any_input_to_about_200_characters(value):
    quoted = quote(value)
    assert len(quoted) <= 260
    if isinstance(value, str) and len(value) <= 200:
        assert quoted == repr(value)


# -- regimen strings -------------------------------------------------------------------------------------------------

WORDS = ["paclitaxel", "gemcitabine", "cyclophosphamide", "dc101", "paclitaxol", "none", "vehicle", "", "   \t ",
         "25", "0", "-5", "1e308", "1e300", "nan", "inf", "9" * 60, "0.0001", ".5", "1e-300",
         "mg/kg", "mg", "ug", "mg/m2", "mg/kg/day", "L", "iv", "oral", "ip", "sc", "bolus", "over", "30", "min",
         "continuous", "q7d", "q0.0001d", "q0.0000001d", "q3w", "qd", "daily", "x3", "x100000000", "x0", "x2.5",
         "from", "to", "until", "day", "days", "on", "at", "once", "1-5", "1,8,15", "1-100000000", "8-1",
         "+", ";", ",", "-"]
REGIMENS = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=0, max_size=14).map(" ".join),
    st.text(max_size=300),
    st.sampled_from(["", "   \t ", "x" * 100_000, "paclitaxel 25 mg/kg iv on days 1-100000000 q28d",
                     "paclitaxel 25 mg/kg iv on day " + "9" * 60, "paclitaxel 25 mg/kg iv q0.0000001d",
                     "paclitaxel 1e308 mg/kg iv once", "paclitaxel 25 mg/kg iv on days 1-" + "9" * 5000]),
)


@cases(120)
@given(REGIMENS)
def test_regimen_strings_are_read_or_refused_by_name(text):
    try:
        regimen = Regimen.parse(text)
    except RegimenError as error:
        assert_answered(error, "regimen")
        return
    until = 90.0
    try:
        events = regimen.dose_events(until, body_weight=0.02, body_surface_area=0.08)
    except LimitError as error:
        assert regimen.count_administrations(until) > MAX_DOSE_EVENTS
        assert_answered(error, "regimen", f"{MAX_DOSE_EVENTS:,}")
        return
    assert len(events) <= regimen.count_administrations(until) <= MAX_DOSE_EVENTS
    assert all(math.isfinite(e.time) and math.isfinite(e.amount) and math.isfinite(e.rate) for e in events)


@cases(30)
@given(st.floats(1e-9, 1e-3), st.integers(2, 10**12))
def test_absurd_schedules_are_counted_not_built(interval, count):
    """A dense or long schedule is refused from its count, before any event exists (no hang, no memory)."""
    regimen = Regimen.parse(f"paclitaxel 25 mg/kg iv q{interval:.10f}d")
    with pytest.raises(LimitError) as info:
        regimen.dose_events(400.0, body_weight=0.02)
    assert_answered(info.value, f"{MAX_DOSE_EVENTS:,}", "q")
    with pytest.raises(RegimenError) as info:
        Regimen.parse(f"paclitaxel 25 mg/kg iv q1d x{count + MAX_DOSE_EVENTS}")
    assert_answered(info.value, f"x{count + MAX_DOSE_EVENTS}")


# -- study settings --------------------------------------------------------------------------------------------------

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**100), 2**100),
                    st.sampled_from([0, -1, 1e-9, 1e-300, 1e9, 2**63, 2**80, "abc", [], {}, None, True]))
MUTATIONS = st.one_of(
    st.tuples(st.sampled_from(["duration", "output_interval"]), NUMBERS),
    st.tuples(st.sampled_from(["cohort.size", "cohort.seed"]), NUMBERS),
    st.tuples(st.sampled_from(["solver.rtol", "solver.atol"]), NUMBERS),
    st.tuples(st.just("outcomes.assessment_interval"), NUMBERS),
    st.tuples(st.just("parameters.Gompertz initial growth rate [1/day]"), NUMBERS),
    st.tuples(st.just("parameters.Paclitaxel central volume [L]"), st.sampled_from([1e-300, float("inf"), 1e300])),
    st.tuples(st.just("model.drugs"), st.sampled_from([{"paclitaxel": "linear"}, ["paclitaxel", 5], 5, "x",
                                                       {"paclitaxel": {"kill": "lineer"}}])),
    st.tuples(st.just("model.growth"), st.sampled_from([{"name": "gompertz", "bogus": 1}, 5, ["gompertz"],
                                                        {"name": "gompertzz"}])),
    st.tuples(st.just("model.metastasis"), st.sampled_from([{"name": "cohorts", "cohorts": 100_000},
                                                            {"name": "cohorts", "cohorts": -1}])),
    st.tuples(st.just("arms.a.rules"), st.sampled_from([[{"adaptive": "x"}], [{"adaptive": 5}], [5], "x",
                                                        [{"adaptive": {"stop_below": "abc"}}],
                                                        [{"adaptive": {"agents": 5}}], [{"adaptiv": {}}]])),
    st.tuples(st.just("arms.a.procedures"), st.sampled_from([["resection on day 17 leaving abc%"],
                                                             [{"resection": {"day": 17, "residual": "abc"}}],
                                                             [{"resection": {"day": float("nan")}}],
                                                             ["resection on day 1e300"], [5], 5])),
    st.tuples(st.just("arms.a.regimen"), REGIMENS),
)


def mutate(study: dict, path: str, value) -> dict:
    out = yaml.safe_load(yaml.safe_dump(study))
    *parents, last = path.split(".", 2) if path.startswith(("parameters.", "arms.")) else path.split(".")
    if path.startswith("arms.a."):
        out["arms"]["a"] = {"regimen": "paclitaxel 25 mg/kg iv q7d x2 from day 8"}
        parents, last = ["arms", "a"], path.split(".")[2]
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return out


@cases(60)
@given(MUTATIONS)
def test_study_settings_are_planned_or_refused_by_field(mutation):
    path, value = mutation
    study = mutate(SMALL, path, value)
    try:
        plan = plan_study(load_study(study))
    except ChemohostError as error:
        field = {"parameters": "parameter", "model.drugs": "drug", "arms.a.regimen": "regimen"}.get(
            path if not path.startswith("parameters.") else "parameters", path)
        assert_answered(error, field.split(".")[-1])
        return
    # accepted: within the documented bounds
    assert 1 <= plan.config.cohort.size <= MAX_PATIENTS and 0 <= plan.config.cohort.seed <= MAX_SEED
    assert math.isfinite(plan.config.duration) and np.isfinite(plan.table["value"].to_numpy(float)).all()


def test_tumour_absent_with_a_resection_is_refused():
    study = mutate(SMALL, "arms.a.procedures", ["resection on day 17"])
    study["model"] = {"tumour": "absent", "growth": "none"}
    study["parameter_sets"] = ["Eiseman1994"]
    with pytest.raises(ChemohostError) as info:
        plan_study(load_study(study))
    assert_answered(info.value, "resection")


# -- study files -----------------------------------------------------------------------------------------------------

def nested(depth: int) -> str:
    return "name: x\nduration: 5\narms: {a: none}\nmodel: " + "[" * depth + "]" * depth + "\n"


def alias_bomb(levels: int) -> str:
    lines = ["name: x", "duration: 5", "arms: {a: none}", "model:", "  metastasis:", "    cohorts: &a0 [1,1,1,1,1,1,1,1,1]"]
    lines += [f"    c{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


STUDY_FILES = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8")),
    st.text(alphabet="abcé:-[]{}&*!, \n\t#'\"", max_size=300).map(lambda t: t.encode("utf-8")),
    st.sampled_from(["latin-1", "utf-16", "utf-32"]).map(lambda enc: "name: café\nduration: 5\narms: {a: none}\n"
                                                         .encode(enc)),
    st.integers(51, 5000).map(lambda d: nested(d).encode()),
    st.integers(2, 9).map(lambda levels: alias_bomb(levels).encode()),
    st.sampled_from(["name: x\nduration: 5\nduration: 6\narms: {a: none}\n",
                     "name: x\nduration: 5\narms: {a: none, a: paclitaxel 25 mg/kg iv}\n",
                     "name: x\nduration: 5\narms:\n  a: none\n  a: none\n"]).map(str.encode),
)


@cases(40)
@given(STUDY_FILES)
def test_study_files_are_read_or_refused_by_name(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("study") / "study.yaml"
    path.write_bytes(content)
    try:
        load_study(path)
    except StudyError as error:
        assert_answered(error, "study.yaml")


@pytest.mark.parametrize(("content", "fragment"), [
    (nested(5000), "nested more than"),
    (alias_bomb(9), "alias"),
    ("name: x\nduration: 5\nduration: 6\narms: {a: none}\n", "duplicate key 'duration'"),
    ("name: x\nduration: 5\narms: {a: none, a: paclitaxel 25 mg/kg iv}\n", "duplicate key 'a'"),
])
def test_yaml_structure_that_a_study_never_needs_is_refused(tmp_path, content, fragment):
    path = tmp_path / "study.yaml"
    path.write_text(content)
    with pytest.raises(StudyError) as info:
        load_study(path)
    assert_answered(info.value, "study.yaml", fragment)


# -- data files ------------------------------------------------------------------------------------------------------

TIDY = "subject,time,observable,value\nm1,0,Tumour volume [mm3],50\nm1,3,Tumour volume [mm3],80\n"
DATA_LINES = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(["m1", "", "abc", "-5", "nan", "inf", "1e308", "Tumour volume [mm3]", "volume",
                              "left", "x" * 5000]), min_size=1, max_size=6).map(",".join),
)


@cases(30)
@given(st.one_of(st.binary(max_size=300), st.lists(DATA_LINES, max_size=4).map(
    lambda lines: (TIDY + "\n".join(lines)).encode())))
def test_tidy_data_files_are_read_or_refused_by_line(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("data") / "data.csv"
    path.write_bytes(content)
    try:
        data = read_tidy(path)
    except DataFileError as error:
        assert_answered(error, "data.csv")
        return
    assert np.isfinite(data["time"]).all() and (data.loc[data["observable"] != "", "value"] >= 0).all()


@cases(10)
@given(st.integers(MAX_DOSE_EVENTS + 1, 10**12))
def test_nonmem_additional_doses_are_counted_before_expansion(tmp_path_factory, addl):
    path = tmp_path_factory.mktemp("nonmem") / "pk.csv"
    path.write_text(f"ID,TIME,DV,AMT,EVID,CMT,II,ADDL\n1,0,.,10,1,1,1,{addl}\n1,1,5,.,0,1,.,.\n")
    with pytest.raises(DataFileError) as info:
        read_nonmem(path, time_unit="h", observables={1: "Tumour volume [mm3]"}, agents={1: "paclitaxel"})
    assert_answered(info.value, "ADDL", "pk.csv")


@pytest.mark.parametrize(("name", "content"), [
    ("data.csv", "subject,time,observable,value\nm1,0,Tumour volume [mm3]," + "x" * 5_000_000 + "\n"),
    ("growth.txt", "ID\tTime\tObservation\n1\t0\t" + "z" * 5_000_000 + "\n"),
])
def test_a_5_mb_data_line_gives_a_short_message(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataFileError) as info:
        read_tidy(path) if name.endswith(".csv") else tidy_benzekry2014(path=path)
    assert_answered(info.value, name, "5000000 characters")


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_missing_or_folder_data_file(tmp_path, kind):
    path = tmp_path / "nope.csv" if kind == "missing" else tmp_path
    with pytest.raises(DataFileError) as info:
        read_tidy(path)
    assert_answered(info.value, str(path))


@cases(10)
@given(st.binary(max_size=2000))
def test_garbage_results_file_is_refused(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("nc") / "results.nc"
    path.write_bytes(content)
    with pytest.raises(ChemohostError) as info:
        load_results(path)
    assert_answered(info.value, "results.nc")


# -- Python API ------------------------------------------------------------------------------------------------------

BAD_ARGUMENTS = st.one_of(
    st.tuples(st.just("n_patients"), st.one_of(st.integers(max_value=0), st.integers(MAX_PATIENTS + 1, 2**70),
                                               st.floats(), st.just("10"))),
    st.tuples(st.just("chunk_size"), st.one_of(st.integers(max_value=0), st.floats(), st.just("5"))),
    st.tuples(st.just("threads"), st.one_of(st.integers(max_value=0), st.floats())),
    st.tuples(st.just("max_step"), st.one_of(st.floats(max_value=0), st.just(float("nan")), st.just("1"))),
    st.tuples(st.just("t0"), st.sampled_from([float("nan"), float("inf"), "0"])),
    st.tuples(st.sampled_from(["rtol", "atol"]), st.one_of(st.floats(min_value=1.5), st.floats(max_value=0),
                                                           st.just(float("nan")), st.just(1e6))),
    st.tuples(st.just("times"), st.sampled_from([["0", "1"], "abc", [0, float("nan")], [3, 1], [[0, 1], [2]]])),
    st.tuples(st.just("model"), st.sampled_from(["gompertz", None, 5, {"growth": "gompertz"}])),
)


@cases(40)
@given(BAD_ARGUMENTS)
def test_simulate_refuses_bad_arguments_by_name(shared_model, argument):
    name, value = argument
    model = shared_model("gompertz_capacity")
    kwargs = {"model": model, "regimen": None, "parameters": {}, "times": [0.0, 1.0], name: value}
    with pytest.raises(ChemohostError) as info:
        ch.simulate(kwargs.pop("model"), kwargs.pop("regimen"), kwargs.pop("parameters"), kwargs.pop("times"),
                    **kwargs)
    assert_answered(info.value, name)


def test_bad_argument_types_are_also_type_errors():
    with pytest.raises(TypeError):
        ch.simulate("gompertz", None, {}, [0.0, 1.0])
    assert issubclass(ArgumentError, ChemohostError)


@pytest.mark.parametrize("value", [float("inf"), 1e-300, float("nan")])
def test_non_finite_or_extreme_parameters_never_reach_the_kernel(shared_model, value):
    model = shared_model("gompertz_capacity")
    with pytest.raises(ChemohostError) as info:
        ch.simulate(model, None, {model.parameter_names[0]: value}, [0.0, 1.0])
    assert_answered(info.value, model.parameter_names[0])


# -- command line ----------------------------------------------------------------------------------------------------

def assert_cli_refused(code, err, *names):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) <= MAX_MESSAGE + 60, err[:3000]
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], (name, lines[0])


CLI_OPTIONS = st.one_of(
    st.tuples(st.just("--patients"), st.one_of(st.integers(max_value=0), st.integers(MAX_PATIENTS + 1, 10**40),
                                               st.text(alphabet="abc.-e9 ", min_size=1, max_size=20).filter(
                                                   lambda t: not t.strip().isdigit() or int(t) > MAX_PATIENTS))),
    st.tuples(st.just("--seed"), st.one_of(st.integers(max_value=-1), st.integers(MAX_SEED + 1, 10**40),
                                           st.sampled_from(["x", "1.5", "9" * 30]))),
)


@cases(25)
@given(CLI_OPTIONS)
def test_cli_options_out_of_bounds_exit_2_and_write_nothing(tmp_path_factory, monkeypatch, capsys, option):
    name, value = option
    folder = tmp_path_factory.mktemp("cli")
    study = folder / "study.yaml"
    study.write_text(yaml.safe_dump(SMALL))
    code, _, err = run_cli(monkeypatch, capsys, "run", study, "--out", folder / "out", name, value)
    assert_cli_refused(code, err, name)
    assert not (folder / "out").exists()


@cases(15)
@given(st.sampled_from(["check", "cite", "equations", "run"]), STUDY_FILES)
def test_cli_commands_on_bad_study_files(tmp_path_factory, monkeypatch, capsys, command, content):
    folder = tmp_path_factory.mktemp("cli")
    study = folder / "study.yaml"
    study.write_bytes(content)
    code, _, err = run_cli(monkeypatch, capsys, command, study, *(["--out", folder / "out"] if command == "run" else []))
    assert_cli_refused(code, err, "study.yaml")
    assert not (folder / "out").exists()


@pytest.mark.parametrize(("variable", "value", "fragment"), [
    ("NUMBA_NUM_THREADS", "abc", "NUMBA_NUM_THREADS"),
    ("NUMBA_NUM_THREADS", "0", "NUMBA_NUM_THREADS"),
    ("CHEMOHOST_CACHE_DIR", "{study}/cache", "CHEMOHOST_CACHE_DIR"),
    ("CHEMOHOST_MAX_RESULT_GB", "-1", "CHEMOHOST_MAX_RESULT_GB"),
])
def test_cli_refuses_a_bad_environment(tmp_path, monkeypatch, capsys, variable, value, fragment):
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(SMALL))
    monkeypatch.setenv(variable, value.format(study=study))
    code, _, err = run_cli(monkeypatch, capsys, "check", study)
    assert_cli_refused(code, err, fragment)


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"duration": float("inf")}, "duration"),
    ({"duration": 1e9}, "duration"),
    ({"output_interval": 1e-9}, "output_interval"),
    ({"outcomes": {"assessment_interval": 1e-7}}, "assessment_interval"),
    ({"cohort": {"size": 100_000_000}}, "cohort.size"),
    ({"cohort": {"size": 2**63}}, "cohort.size"),
    ({"cohort": {"seed": 2**80}}, "cohort.seed"),
    ({"solver": {"rtol": 1e6, "atol": 1e6}}, "rtol"),
    ({"model": {"growth": {"name": "gompertz", "bogus": 1}, "damage": "simeoni_transit"}}, "bogus"),
    ({"arms": {"a": "paclitaxel 25 mg/kg iv q0.0000001d"}}, "q0.0000001d"),
])
def test_cli_check_refuses_sizes_past_the_bounds(tmp_path, monkeypatch, capsys, changes, fragment):
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({**SMALL, **changes}))
    code, _, err = run_cli(monkeypatch, capsys, "check", study)
    assert_cli_refused(code, err, fragment)


def test_cli_fit_refuses_missing_and_folder_data(tmp_path, monkeypatch, capsys):
    fit_study = Path(__file__).resolve().parents[1] / "examples" / "pdx_paclitaxel_fit.yaml"
    data = tmp_path / "data.csv"
    data.write_bytes(bytes(range(256)))
    for path in (tmp_path / "missing.csv", data.parent / "sub", data):
        path.parent.mkdir(exist_ok=True)
        code, _, err = run_cli(monkeypatch, capsys, "fit", fit_study, path, "--out", tmp_path / "out")
        assert_cli_refused(code, err, str(path))
    assert not (tmp_path / "out").exists()


# -- output folders written as a unit ---------------------------------------------------------------------------------

@pytest.mark.parametrize("atomic_exchange", [True, False])
def test_an_error_leaves_the_output_folder_as_it_was(tmp_path, monkeypatch, atomic_exchange):
    if not atomic_exchange:  # systems without renameat2: two renames, the old folder kept until the second succeeds
        monkeypatch.setattr("chemohost.io._exchange", lambda new, folder: False)
    target = tmp_path / "out"
    for run in ("earlier run", "first run"):
        with output_folder(target) as folder:
            (folder / "report.html").write_text(run)
    assert (target / "report.html").read_text() == "first run"
    with pytest.raises(ChemohostError), output_folder(target) as folder:
        (folder / "report.html").write_text("second run")
        (folder / "results.nc.partial").write_text("half")
        raise ChemohostError("failed half way")
    assert sorted(p.name for p in target.iterdir()) == [".chemohost-output", "report.html"]
    assert (target / "report.html").read_text() == "first run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary sibling, no lock left


def test_a_new_folder_appears_only_when_the_run_succeeds(tmp_path):
    target = tmp_path / "new"
    with pytest.raises(ChemohostError), output_folder(target) as folder:
        (folder / "summary.csv").write_text("x")
        raise ChemohostError("failed")
    assert not target.exists()


def test_a_held_folder_is_refused_and_a_stale_lock_reclaimed(tmp_path):
    target = tmp_path / "out"
    with output_folder(target), pytest.raises(OutputFolderError, match="another chemohost run"), \
            output_folder(target):
        pass
    (tmp_path / ".out.lock").write_text("999999999")  # left by a killed run: no process holds it
    (tmp_path / ".out.partial-999999999").mkdir()
    with output_folder(target) as folder:
        (folder / "report.html").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_with_files_chemohost_did_not_write_is_not_replaced(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(OutputFolderError, match="notes.txt"), output_folder(tmp_path / "mine"):
        pass
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
