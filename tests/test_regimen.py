"""Regimen strings, schedule objects and their expansion to dose events."""

from __future__ import annotations

import dataclasses
import doctest
from functools import partial

import pytest

import chemohost.regimen
import chemohost.regimen._agents
from chemohost.regimen import AgentSchedule, DoseEvent, Regimen, RegimenError

# A fixed alias table, so that these tests do not depend on chemohost.drugs.
AGENTS = {
    "paclitaxel": "paclitaxel",
    "taxol": "paclitaxel",
    "docetaxel": "docetaxel",
    "gemcitabine": "gemcitabine",
    "cisplatin": "cisplatin",
    "cyclophosphamide": "cyclophosphamide",
    "ctx": "cyclophosphamide",
    "fluorouracil": "fluorouracil",
    "5-fu": "fluorouracil",
    "dc101": "dc101",
    "anti-vegfr2": "dc101",
    "ccr2_antagonist": "ccr2_antagonist",
}
parse = partial(Regimen.parse, known_agents=AGENTS)

BW = 0.02  # mouse body weight [kg]
BSA = 1.8  # adult body-surface area [m2]

EXAMPLES = [
    "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10",
    "gemcitabine 1000 mg/m2 iv over 30 min on days 1,8,15 q28d x6",
    "cyclophosphamide 20 mg/kg/day oral continuous from day 10 to day 40",
    "DC101 800 ug iv q3d from day 10",
    "docetaxel 100 mg/m2 iv over 1 h on day 0",
    "paclitaxel 175 mg/m2 iv over 3 h q3w x6",
    "paclitaxel 2.5 mg/kg/day iv continuous from day 10 to day 31",
    "5-FU 425 mg/m2 iv bolus on days 1-5 q4w x10",
    "gemcitabine 120 mg/kg ip q3d x4 from day 10",
    "cisplatin 5 mg/kg iv once at day 12",
    "paclitaxel 25 mg/kg iv q7d x3 from day 10 + DC101 800 ug ip q3d from day 10",
    "paclitaxel 40 mg/kg ip on day 1; gemcitabine 60 mg/kg ip q3d x4 from day 3",
    "fluorouracil 400 mg/m2 iv bolus q14d x6 + 5-FU 2400 mg/m2 iv over 46 h q14d x6",
    "ccr2_antagonist 2 mg sc daily from day 9 to day 30",
    "paclitaxel 0.1 mg iv over 0.123456 days q1d from day -2.5",
    "vehicle",
]


def times(events: list[DoseEvent]) -> list[float]:
    return [event.time for event in events]


# -- expansion of the documented examples --------------------------------------


def test_weekly_bolus_from_day_10():
    events = parse("paclitaxel 25 mg/kg iv bolus q7d x3 from day 10").dose_events(until=60, body_weight=BW)
    assert times(events) == [10, 17, 24]
    for event in events:
        assert (event.agent, event.route, event.rate, event.duration) == ("paclitaxel", "iv_bolus", 0, 0)
        assert event.amount == pytest.approx(0.5)


def test_cycle_days_with_infusion():
    events = parse("gemcitabine 1000 mg/m2 iv over 30 min on days 1,8,15 q28d x6").dose_events(
        until=365, body_surface_area=BSA
    )
    assert times(events) == [28 * cycle + day for cycle in range(6) for day in (0, 7, 14)]
    duration = 30 / 1440
    for event in events:
        assert (event.route, event.amount) == ("iv_infusion", 0)
        assert event.duration == pytest.approx(duration)
        assert event.rate == pytest.approx(1000 * BSA / duration)
        assert event.total_amount == pytest.approx(1800)


def test_continuous_oral_rate():
    (event,) = parse("cyclophosphamide 20 mg/kg/day oral continuous from day 10 to day 40").dose_events(
        until=100, body_weight=BW
    )
    assert (event.time, event.route, event.amount, event.duration) == (10, "oral", 0, 30)
    assert event.rate == pytest.approx(0.4)


def test_continuous_iv_is_an_infusion():
    (event,) = parse("paclitaxel 2.5 mg/kg/day iv continuous from day 10 to day 31").dose_events(50, body_weight=BW)
    assert (event.time, event.route, event.duration) == (10, "iv_infusion", 21)
    assert event.rate == pytest.approx(0.05)


def test_open_ended_repeats_until_the_simulation_end():
    events = parse("DC101 800 ug iv q3d from day 10").dose_events(until=30)
    assert times(events) == [10, 13, 16, 19, 22, 25, 28]
    assert {event.agent for event in events} == {"dc101"}
    assert [event.amount for event in events] == pytest.approx([0.8] * 7)


def test_single_infusion_on_day_0():
    (event,) = parse("docetaxel 100 mg/m2 iv over 1 h on day 0").dose_events(10, body_surface_area=BSA)
    assert (event.time, event.duration) == (0, pytest.approx(1 / 24))
    assert event.rate == pytest.approx(180 * 24)


def test_three_weekly_infusions():
    events = parse("paclitaxel 175 mg/m2 iv over 3 h q3w x6").dose_events(365, body_surface_area=2.0)
    assert times(events) == [0, 21, 42, 63, 84, 105]
    assert [event.rate for event in events] == pytest.approx([350 / 0.125] * 6)
    assert [event.duration for event in events] == pytest.approx([0.125] * 6)


def test_day_range_cycles():
    events = parse("5-FU 425 mg/m2 iv bolus on days 1-5 q4w x10").dose_events(400, body_surface_area=BSA)
    assert times(events) == [28 * cycle + day for cycle in range(10) for day in range(5)]
    assert {event.agent for event in events} == {"fluorouracil"}
    assert [event.amount for event in events] == pytest.approx([425 * BSA] * 50)


def test_intraperitoneal_course():
    events = parse("gemcitabine 120 mg/kg ip q3d x4 from day 10").dose_events(60, body_weight=BW)
    assert times(events) == [10, 13, 16, 19]
    assert {event.route for event in events} == {"ip"}
    assert [event.amount for event in events] == pytest.approx([2.4] * 4)


def test_single_dose_at_a_day():
    (event,) = parse("cisplatin 5 mg/kg iv once at day 12").dose_events(60, body_weight=BW)
    assert (event.time, event.route, event.amount) == (12, "iv_bolus", pytest.approx(0.1))


def test_combination_events_are_merged_in_time_order():
    regimen = parse(EXAMPLES[10])
    events = regimen.dose_events(until=20, body_weight=BW)
    assert [(event.time, event.agent) for event in events] == [
        (10, "paclitaxel"),
        (10, "dc101"),
        (13, "dc101"),
        (16, "dc101"),
        (17, "paclitaxel"),
        (19, "dc101"),
    ]


# -- time window ---------------------------------------------------------------


def test_doses_at_or_after_until_are_dropped():
    regimen = parse("paclitaxel 25 mg/kg iv q7d x3 from day 10")
    assert times(regimen.dose_events(until=24, body_weight=BW)) == [10, 17]
    assert regimen.dose_events(until=10, body_weight=BW) == []


def test_end_day_is_exclusive():
    assert times(parse("paclitaxel 1 mg iv q7d to day 21").dose_events(100)) == [0, 7, 14]
    assert times(parse("paclitaxel 1 mg iv q7d x10 until day 15").dose_events(100)) == [0, 7, 14]
    cycles = parse("gemcitabine 1 mg iv on days 1-5 q7d until day 10")
    assert times(cycles.dose_events(100)) == [0, 1, 2, 3, 4, 7, 8, 9]
    assert times(cycles.dose_events(until=9)) == [0, 1, 2, 3, 4, 7, 8]


def test_continuous_and_infusions_are_clipped_to_until():
    (continuous,) = parse("cyclophosphamide 20 mg/kg/day oral continuous from day 10").dose_events(25, body_weight=BW)
    assert (continuous.time, continuous.duration) == (10, 15)
    (infusion,) = parse("docetaxel 100 mg iv over 2 days").dose_events(0.5)
    assert infusion.duration == 0.5
    assert infusion.rate == pytest.approx(50)


def test_cycle_days_start_with_from_day():
    events = parse("gemcitabine 1 mg iv on days 1,8 q21d x2 from day 5").dose_events(100)
    assert times(events) == [5, 12, 26, 33]
    assert times(parse("gemcitabine 1 mg iv on days 1-3").dose_events(100)) == [0, 1, 2]


def test_cycle_day_with_cycle_length():
    assert times(parse("docetaxel 1 mg iv on day 1 q21d x3").dose_events(100)) == [0, 21, 42]


def test_single_day_is_absolute_time():
    assert times(parse("docetaxel 1 mg iv on day 2.5").dose_events(100)) == [2.5]
    assert times(parse("docetaxel 1 mg iv on days 3").dose_events(100)) == [2]  # day 3 of a cycle starting at 0


def test_open_ended_continuous_runs_to_until():
    (event,) = parse("paclitaxel 2 mg/day ip continuous from day 4").dose_events(until=10)
    assert (event.time, event.route, event.rate, event.duration) == (4, "ip", 2, 6)
    assert parse("paclitaxel 2 mg/day sc continuous from day 4").dose_events(until=4) == []


# -- cumulative dose and combinations -------------------------------------------


def test_cumulative_dose():
    regimen = parse(EXAMPLES[10]) + parse("cyclophosphamide 20 mg/kg/day oral continuous from day 10 to day 40")
    totals = regimen.cumulative_dose(until=100, body_weight=BW)
    assert list(totals) == ["paclitaxel", "dc101", "cyclophosphamide"]
    assert totals["paclitaxel"] == pytest.approx(1.5)
    assert totals["dc101"] == pytest.approx(0.8 * 30)  # days 10, 13, ..., 97
    assert totals["cyclophosphamide"] == pytest.approx(12.0)
    early = regimen.cumulative_dose(until=5, body_weight=BW)
    assert early == {"paclitaxel": 0.0, "dc101": 0.0, "cyclophosphamide": 0.0}
    assert parse(EXAMPLES[1]).cumulative_dose(365, body_surface_area=BSA) == {"gemcitabine": pytest.approx(18 * 1800)}


def test_combining_regimens():
    paclitaxel = parse("paclitaxel 25 mg/kg iv q7d x3 from day 10")
    dc101 = parse("DC101 800 ug ip q3d from day 10")
    both = paclitaxel + dc101
    assert both == parse(EXAMPLES[10])
    assert both == parse("paclitaxel 25 mg/kg iv q7d x3 from day 10 ; DC101 800 ug ip q3d from day 10")
    assert both.agents == ("paclitaxel", "dc101")
    assert len(both) == 2
    assert list(both) == [*paclitaxel, *dc101]
    assert Regimen.none() + paclitaxel == paclitaxel == paclitaxel + Regimen.none()
    assert parse("vehicle + DC101 800 ug ip q3d from day 10") == dc101
    assert parse(EXAMPLES[12]).agents == ("fluorouracil",)


@pytest.mark.parametrize("text", ["", "   ", "vehicle", "None", "untreated", "CONTROL", "vehicle + control"])
def test_no_treatment(text):
    regimen = parse(text)
    assert regimen == Regimen.none()
    assert (len(regimen), regimen.agents, str(regimen)) == (0, (), "none")
    assert regimen.dose_events(until=10) == []
    assert regimen.cumulative_dose(until=10) == {}


# -- canonical strings -----------------------------------------------------------


@pytest.mark.parametrize("text", EXAMPLES)
def test_round_trip(text):
    regimen = parse(text)
    assert parse(str(regimen)) == regimen
    assert str(parse(str(regimen))) == str(regimen)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (EXAMPLES[0], "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10"),
        (EXAMPLES[1], "gemcitabine 1000 mg/m2 iv over 30 min on days 1,8,15 q28d x6"),
        (EXAMPLES[4], "docetaxel 100 mg/m2 iv over 1 h on day 0"),
        (EXAMPLES[5], "paclitaxel 175 mg/m2 iv over 3 h q21d x6"),
        (EXAMPLES[7], "fluorouracil 425 mg/m2 iv bolus on days 1-5 q28d x10"),
        (EXAMPLES[9], "cisplatin 5 mg/kg iv bolus on day 12"),
        (EXAMPLES[2], "cyclophosphamide 20 mg/kg/day oral continuous from day 10 to day 40"),
        (EXAMPLES[10], "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10 + dc101 800 ug ip q3d from day 10"),
        ("docetaxel 1 mg iv over 24 h on days 1,2,3,5,6 q9d", "docetaxel 1 mg iv over 1 day on days 1-3,5,6 q9d"),
    ],
)
def test_canonical_string(text, canonical):
    assert str(parse(text)) == canonical


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("paclitaxel 175 mg/m2 iv over 3 h q3w x6", "paclitaxel 175 mg/m2 iv infusion over 180 min q21d x6"),
        ("paclitaxel 25 mg/kg iv weekly x3", "paclitaxel 25 mg/kg iv bolus q1w x3"),
        ("cyclophosphamide 150 mg/kg ip qod x3", "CTX 150 mg/kg ip q2d x3"),
        ("gemcitabine 1 mg iv daily x5", "gemcitabine 1 mg iv qd x5"),
        ("paclitaxel 25 mg/kg iv q7d x3 from day 10", "  PACLITAXEL   25mg/kg  I.V.\tQ7D x 3 FROM DAY 10 "),
        ("taxol 25 mg/kg iv q7d", "paclitaxel 25 mg/kg intravenous q7d"),
        ("dc101 800 ug ip q3d", "anti-VEGFR2 800 µg ip q3d"),
        ("dc101 800 mcg ip q3d", "DC101 0.8e3 μg ip q3d"),
        ("gemcitabine 1000 mg/m^2 iv over 0.5 hours", "gemcitabine 1e3 mg/m² iv over 30 minutes"),
        ("cyclophosphamide 20 mg/kg/d po continuous", "cyclophosphamide 20 mg/kg/day oral continuous from day 0"),
        ("cisplatin 5 mg/kg iv once at day 12", "cisplatin 5 mg/kg iv at day 12"),
        ("cisplatin 5 mg/kg iv on day 12", "cisplatin 5 mg/kg iv bolus from day 12"),
        ("cisplatin 5 mg/kg iv once", "cisplatin 5 mg/kg iv"),
        ("gemcitabine 1 mg iv on days 1,8,15 q28d", "gemcitabine 1 mg iv q28d on days 15, 1, 8"),
        ("paclitaxel 1 mg iv q7d to day 21", "paclitaxel 1 mg iv until day 21 q7d"),
        ("paclitaxel 1e+3 ug iv", "paclitaxel 1000 ug iv on day 0"),
        ("paclitaxel 1 mg iv q7d x3", "paclitaxel 1 mg iv q7d ×3"),
    ],
)
def test_equivalent_spellings(text, same_as):
    assert parse(text) == parse(same_as)


def test_units_in_mg():
    assert parse("paclitaxel 2 g iv").dose_events(1)[0].amount == pytest.approx(2000)
    assert parse("paclitaxel 500 ng iv").dose_events(1)[0].amount == pytest.approx(5e-4)
    assert parse("paclitaxel 100 ug/kg iv").dose_events(1, body_weight=BW)[0].amount == pytest.approx(2e-3)
    assert parse("paclitaxel 1 g/kg iv").dose_events(1, body_weight=BW)[0].amount == pytest.approx(20)
    assert parse("paclitaxel 100 ug/m2 iv").dose_events(1, body_surface_area=BSA)[0].amount == pytest.approx(0.18)
    assert parse("paclitaxel 50 mg/day oral continuous").dose_events(2)[0].rate == pytest.approx(50)
    assert parse("paclitaxel 50 ug/day sc continuous").dose_events(2)[0].rate == pytest.approx(0.05)
    assert parse("paclitaxel 50 mg/m2/day iv continuous").dose_events(2, body_surface_area=2)[0].rate == 100


# -- programmatic constructors ---------------------------------------------------


def test_constructors_match_the_parser():
    assert AgentSchedule.bolus("paclitaxel", 25, "mg/kg", every=7, count=3, start=10) == parse(EXAMPLES[0]).schedules[0]
    assert AgentSchedule.bolus("gemcitabine", 120, "mg/kg", 3, 4, 10, route="ip") == parse(EXAMPLES[8]).schedules[0]
    infusion = AgentSchedule.infusion("paclitaxel", 175, "mg/m2", 3 / 24, every=21, count=6)
    assert infusion == parse(EXAMPLES[5]).schedules[0]
    assert AgentSchedule.continuous("cyclophosphamide", 20, "mg/kg/day", 10, 40) == parse(EXAMPLES[2]).schedules[0]
    assert AgentSchedule.continuous(
        "paclitaxel", 2.5, "mg/kg/day", start=10, end=31, route="iv_infusion"
    ) == parse(EXAMPLES[6]).schedules[0]
    gemcitabine = AgentSchedule.cycles("gemcitabine", 1000, "mg/m2", duration=30 / 1440)
    assert gemcitabine == parse(EXAMPLES[1]).schedules[0]
    assert AgentSchedule.cycles("fluorouracil", 425, "mg/m2", range(1, 6), 28, 10) == parse(EXAMPLES[7]).schedules[0]
    assert Regimen([gemcitabine]) == parse(EXAMPLES[1])
    assert str(Regimen([gemcitabine])) == EXAMPLES[1]


def test_objects_are_frozen_and_hashable():
    regimen = parse(EXAMPLES[10])
    with pytest.raises(dataclasses.FrozenInstanceError):
        regimen.schedules[0].dose = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        regimen.dose_events(30, body_weight=BW)[0].time = 1.0
    assert len({regimen, parse(str(regimen))}) == 1
    assert repr(regimen) == f"Regimen.parse({str(regimen)!r})"


def test_total_amount():
    assert DoseEvent(1.0, "paclitaxel", "iv_infusion", 0.0, 48.0, 0.125).total_amount == 6.0
    assert DoseEvent(1.0, "paclitaxel", "iv_bolus", 0.5, 0.0, 0.0).total_amount == 0.5


# -- agent names ---------------------------------------------------------------


def test_known_agents_are_case_insensitive_and_accept_canonical_names():
    table = {"Abraxane": "nab_paclitaxel"}
    assert Regimen.parse("ABRAXANE 1 mg iv", known_agents=table).agents == ("nab_paclitaxel",)
    assert Regimen.parse("nab_paclitaxel 1 mg iv", known_agents=table).agents == ("nab_paclitaxel",)


def test_default_agents_are_the_drug_library_aliases():
    regimen = Regimen.parse("5fu 1 mg iv + plerixafor 1 mg sc + il1ra 1 mg sc + G-CSF 5 ug/kg sc daily x5")
    assert regimen.agents == ("fluorouracil", "amd3100", "anakinra", "gcsf")


def test_default_agents_come_from_chemohost_drugs(monkeypatch):
    monkeypatch.setattr(chemohost.regimen._agents, "agent_aliases", lambda: {"abraxane": "nab_paclitaxel"})
    assert Regimen.parse("Abraxane 1 mg iv").agents == ("nab_paclitaxel",)
    with pytest.raises(RegimenError, match="accepted: nab_paclitaxel"):
        Regimen.parse("paclitaxel 1 mg iv")


def test_docstring_examples():
    for module in (chemohost.regimen, chemohost.regimen._regimen):
        assert doctest.testmod(module).failed == 0


# -- errors ----------------------------------------------------------------------


def test_error_message_format():
    text = "paclitaxel 25 mg/kgg iv q7d"
    with pytest.raises(RegimenError) as error:
        parse(text)
    assert str(error.value) == (
        "regimen 'paclitaxel 25 mg/kgg iv q7d': unknown dose unit 'mg/kgg' (token 3, column 15); "
        "accepted: mg, g, ug, ng, mg/kg, ug/kg, g/kg, mg/m2, ug/m2, mg/kg/day, mg/m2/day, mg/day, ug/day"
    )
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "paclitaxl 25 mg/kg iv",
            [
                "unknown agent 'paclitaxl' (token 1, column 1)",
                "did you mean 'paclitaxel'? accepted: ",
                "fluorouracil (5-fu)",
            ],
        ),
        ("paclitaxel", ["missing dose after 'paclitaxel' (token 1", "write e.g. 'paclitaxel 25 mg/kg iv'"]),
        ("paclitaxel mg/kg iv", ["missing dose before unit 'mg/kg' (token 2, column 12)"]),
        ("paclitaxel abc mg/kg iv", ["dose must be a number, got 'abc' (token 2, column 12)", "write e.g. '25'"]),
        ("paclitaxel 0 mg/kg iv", ["dose must be a number greater than 0, got '0' (token 2", "positive dose"]),
        ("paclitaxel -25 mg/kg iv", ["greater than 0, got '-25' (token 2"]),
        ("paclitaxel 25", ["missing dose unit after '25' (token 2", "accepted: mg, g,"]),
        ("paclitaxel 25 mg/kg", ["missing route after 'mg/kg' (token 3", "accepted: iv, iv bolus, iv over N"]),
        ("paclitaxel 25 mg/kg ivv q7d", ["unknown route 'ivv' (token 4, column 21)", "accepted: iv,"]),
        ("paclitaxel 25 mg/kg q7d x3", ["missing route before 'q7d' (token 4", "accepted: iv,"]),
        (
            "paclitaxel 25 mg/kg iv q7d fortnightly",
            ["unexpected 'fortnightly' (token 6", "accepted schedule terms: qNd"],
        ),
        (
            "paclitaxel 25 mg/kg iv q7d x3 from day 10 10",
            ["unexpected '10' (token 10, column 43)", "accepted schedule"],
        ),
        ("paclitaxel 25 mg/kg iv q7d x0", ["count 'x0' (token 6, column 28) is not a whole number", "'x3'"]),
        ("paclitaxel 25 mg/kg iv q7d x2.5", ["count 'x2.5' (token 6"]),
        ("paclitaxel 25 mg/kg iv q7d xx", ["unexpected 'xx' (token 6"]),
        (
            "paclitaxel 25 mg/kg iv q7d from day 10 to day 5",
            ["end 'to day 5' (token 9, column 40) must be later than the start (day 10)"],
        ),
        (
            "paclitaxel 25 mg/kg/day iv q7d",
            ["rate unit 'mg/kg/day' (token 3, column 15) is only valid with continuous", "'oral continuous'"],
        ),
        (
            "paclitaxel 2 mg/kg oral continuous",
            ["continuous dosing needs a rate unit, got 'mg/kg' (token 3", "accepted rate units: mg/kg/day"],
        ),
        (
            "paclitaxel 2 mg/kg/day oral continuous q7d",
            ["continuous dosing takes no dosing interval, got 'q7d' (token 6"],
        ),
        (
            "paclitaxel 2 mg/kg/day iv bolus continuous",
            ["continuous dosing cannot be 'iv bolus continuous' (token 4", "'iv continuous'"],
        ),
        ("paclitaxel 2 mg/kg/day iv q7d continuous", ["'continuous' (token 6, column 31) must follow the route"]),
        (
            "paclitaxel 25 mg/kg iv q7d q3d",
            ["duplicate dosing interval 'q3d' (token 6", "'q7d' is already given at token 5"],
        ),
        ("paclitaxel 25 mg/kg iv x3 q7d x4", ["duplicate dose count 'x4' (token 7", "'x3' is already given"]),
        ("paclitaxel 25 mg/kg iv q7d from day 1 from day 2", ["duplicate start day 'from day 2'"]),
        ("paclitaxel 25 mg/kg iv q7d to day 9 until day 8", ["duplicate end day 'until day 8'"]),
        ("paclitaxel 25 mg/kg iv on day 3 at day 4", ["duplicate dosing day 'at day 4'"]),
        ("paclitaxel 25 mg/kg iv x3", ["count 'x3' (token 5, column 24) needs a dosing interval", "'q7d'"]),
        ("paclitaxel 25 mg/kg iv once q7d", ["dosing interval 'q7d' (token 6", "contradicts 'once'"]),
        (
            "paclitaxel 25 mg/kg iv on day 3 from day 4",
            ["'from day 4' (token 8", "sets the start a second time", "'on day 3'"],
        ),
        ("paclitaxel 25 mg/kg iv on day 3 to day 9", ["end 'to day 9' (token 8", "repeating or continuous"]),
        ("paclitaxel 25 mg/kg iv from 10", ["expected 'day' after 'from' (token 5", "found '10'", "'from day 10'"]),
        ("paclitaxel 25 mg/kg iv q7d from day", ["missing day after 'from day' (token 6"]),
        (
            "paclitaxel 25 mg/kg iv bolus over 3 h",
            ["route 'iv bolus' takes no infusion duration, got 'over 3 h' (token 6"],
        ),
        ("paclitaxel 25 mg/kg oral over 3 h", ["route 'oral' takes no infusion duration"]),
        (
            "paclitaxel 25 mg/kg iv infusion",
            ["an iv infusion needs a duration, got 'iv infusion' (token 4", "'iv over 30 min'"],
        ),
        (
            "paclitaxel 25 mg/kg iv over 3 fortnights",
            ["unknown duration unit 'fortnights' (token 7", "accepted: min, h"],
        ),
        ("paclitaxel 25 mg/kg iv over 0 h", ["infusion duration 'over 0 h' (token 5"]),
        ("paclitaxel 25 mg/kg iv over 2 days daily", ["infusion 'over 2 days' (token 5", "longer than the 1-day gap"]),
        (
            "gemcitabine 1 mg iv on days 1,8,29 q28d",
            ["cycle day 29 in 'on days 1,8,29' (token 5", "beyond the 28-day cycle"],
        ),
        ("gemcitabine 1 mg iv on days 0,7 q28d", ["cycle days 'on days 0,7' (token 5", "day 1 is the cycle start"]),
        ("gemcitabine 1 mg iv on days 8,8", ["must be distinct whole days"]),
        ("gemcitabine 1 mg iv on days 5-1", ["day range '5-1' in 'on days 5-1' (token 5, column 21) runs backwards"]),
        ("gemcitabine 1 mg iv on days 1,,8", ["cannot read the day list 'on days 1,,8'"]),
        ("gemcitabine 1 mg iv on days 1.5-3", ["cannot read the day list 'on days 1.5-3'"]),
        ("gemcitabine 1 mg iv on days 1,8 x3", ["count 'x3'", "needs a dosing interval", "cycle length"]),
        ("gemcitabine 1 mg iv q0d", ["dosing interval must be more than 0 days, got 'q0d' (token 5"]),
        ("paclitaxel 25 mg/kg iv; ; DC101 1 mg ip", ["empty agent clause (clause 2, column 24)", "remove the extra"]),
        ("paclitaxel 25 mg/kg iv + DC101 1 mg ip q3d x0", ["count 'x0' (clause 2, token 6, column 44)"]),
    ],
)
def test_errors(text, expected):
    with pytest.raises(RegimenError) as error:
        parse(text)
    message = str(error.value)
    assert message.startswith(f"regimen {text!r}: ")
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message


def test_multiline_input_gives_a_one_line_error():
    with pytest.raises(RegimenError) as error:
        parse("paclitaxel 25 mg/kg iv\n  q7d xyz")
    assert "\n" not in str(error.value)
    assert "unexpected 'xyz' (token 6, column 30)" in str(error.value)


def test_missing_covariates_are_named():
    with pytest.raises(RegimenError, match=r"body_weight is missing.*body_weight=0.02"):
        parse("paclitaxel 25 mg/kg iv").dose_events(until=10)
    with pytest.raises(RegimenError, match=r"body_surface_area is missing"):
        parse("gemcitabine 1000 mg/m2 iv").dose_events(until=10, body_weight=BW)
    with pytest.raises(RegimenError, match=r"body_weight must be a positive number \[kg\]"):
        parse("paclitaxel 25 mg iv").dose_events(until=10, body_weight=-1.0)
    with pytest.raises(RegimenError, match=r"until must be a finite time \[day\]"):
        parse("DC101 800 ug ip q3d").dose_events(until=float("inf"))
    with pytest.raises(RegimenError, match=r"until must be a finite time"):
        Regimen.none().dose_events(until=None)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: AgentSchedule.bolus("paclitaxel", -1, "mg/kg"), "dose must be a number greater than 0, got dose=-1.0"),
        (lambda: AgentSchedule.bolus("paclitaxel", 1, "mg/kgg"), "unknown dose unit dose_unit='mg/kgg'; accepted: mg,"),
        (
            lambda: AgentSchedule.bolus("paclitaxel", 1, "mg", route="iv"),
            "unknown route route='iv'; accepted: iv_bolus",
        ),
        (lambda: AgentSchedule.bolus("pacli taxel", 1, "mg"), "agent must be a name"),
        (lambda: AgentSchedule.bolus("paclitaxel", 1, "mg", count=3), "count count=3 needs a dosing interval"),
        (lambda: AgentSchedule.bolus("paclitaxel", 1, "mg", every=7, count=2.0), "is not a whole number"),
        (lambda: AgentSchedule.continuous("paclitaxel", 1, "mg/kg"), "continuous dosing needs a rate unit"),
        (lambda: AgentSchedule.continuous("paclitaxel", 1, "mg/day", 5, 5), "end end=5.0 must be later than the start"),
        (
            lambda: AgentSchedule.infusion("paclitaxel", 1, "mg", duration=-1),
            "infusion duration infusion_duration=-1.0",
        ),
        (lambda: AgentSchedule.cycles("paclitaxel", 1, "mg", days=(1, 1.5)), "cycle_days=(1, 1.5)"),
    ],
)
def test_constructor_errors(build, expected):
    with pytest.raises(RegimenError) as error:
        build()
    assert expected in str(error.value)
    assert str(error.value).startswith("AgentSchedule ")


def test_type_errors_say_how_to_build_a_regimen():
    with pytest.raises(TypeError, match=r"Regimen\.parse"):
        Regimen("paclitaxel 25 mg/kg iv")
    with pytest.raises(TypeError, match="AgentSchedule objects"):
        Regimen([1])
    with pytest.raises(TypeError, match="expects a string"):
        Regimen.parse(25)
