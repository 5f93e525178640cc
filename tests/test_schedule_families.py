"""Schedule families (MTD, dose-dense, weekly, metronomic) and equal-cumulative-dose rescaling."""

from __future__ import annotations

import doctest

import pytest

import chemohost.regimen._families as families
from chemohost.regimen import (
    AgentSchedule,
    Regimen,
    RegimenError,
    dose_dense,
    equal_cumulative_dose,
    metronomic,
    metronomic_daily,
    mtd,
    weekly,
)

BW = 0.02  # body weight [kg] of a 20 g mouse


def times(regimen: Regimen, until: float = 200.0) -> list[float]:
    return [event.time for event in regimen.dose_events(until, body_weight=BW, body_surface_area=1.8)]


def integrated(regimen: Regimen, until: float, **size) -> dict[str, float]:
    """Total drug per agent [mg] integrated from the dose record: bolus amounts + rate × duration."""
    totals: dict[str, float] = {}
    for event in regimen.dose_events(until, **size):
        totals[event.agent] = totals.get(event.agent, 0.0) + event.amount + event.rate * event.duration
    return totals


def test_doctests():
    assert doctest.testmod(families).failed == 0


def test_mtd_q21d_x4():
    regimen = mtd("paclitaxel", 25, "mg/kg", cycles=4)
    assert times(regimen) == [0.0, 21.0, 42.0, 63.0]
    assert [e.amount for e in regimen.dose_events(100, body_weight=BW)] == pytest.approx([0.5] * 4)
    assert str(regimen) == "paclitaxel 25 mg/kg iv bolus q21d x4"


def test_dose_dense_and_weekly_times():
    assert times(dose_dense("doxorubicin", 60, "mg/m2", cycles=4, start=5)) == [5.0, 19.0, 33.0, 47.0]
    assert times(weekly("paclitaxel", 80, "mg/m2", end=28)) == [0.0, 7.0, 14.0, 21.0]
    assert times(weekly("paclitaxel", 80, "mg/m2"), until=15) == [0.0, 7.0, 14.0]


def test_mtd_infusion():
    regimen = mtd("paclitaxel", 175, "mg/m2", cycles=2, duration=0.125)
    events = regimen.dose_events(60, body_surface_area=1.8)
    assert [(e.time, e.route, e.duration) for e in events] == [
        (0.0, "iv_infusion", 0.125),
        (21.0, "iv_infusion", 0.125),
    ]
    assert sum(e.total_amount for e in events) == pytest.approx(2 * 175 * 1.8)


def test_metronomic_continuous_and_daily():
    cont = metronomic("cyclophosphamide", 20, "mg/kg/day", start=10, end=40)
    (event,) = cont.dose_events(100, body_weight=BW)
    assert (event.time, event.route, event.rate, event.duration) == (10.0, "oral", pytest.approx(0.4), 30.0)
    daily = metronomic_daily("cyclophosphamide", 20, "mg/kg", start=10, end=15)
    assert times(daily) == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert {e.route for e in daily.dose_events(100, body_weight=BW)} == {"oral"}


def test_bolus_to_continuous_equal_cumulative_dose():
    reference = mtd("paclitaxel", 25, "mg/kg", every=7, cycles=3) + mtd("dc101", 800, "ug", every=3, end=21)
    until = 28.0
    matched = equal_cumulative_dose(reference, "metronomic", until, start=0, end=21)
    assert matched.agents == ("paclitaxel", "dc101")
    assert all(s.is_continuous for s in matched)
    assert [s.dose_unit for s in matched] == ["mg/kg/day", "ug/day"]
    ref, new = integrated(reference, until, body_weight=BW), integrated(matched, until, body_weight=BW)
    for agent in reference.agents:
        assert new[agent] == pytest.approx(ref[agent], rel=1e-12)
    assert matched.schedules[0].dose == pytest.approx(25 * 3 / 21, rel=1e-12)


def test_q21d_to_weekly_equal_cumulative_dose():
    reference = mtd("docetaxel", 75, "mg/m2", cycles=4)
    until = 84.0
    matched = equal_cumulative_dose(reference, "weekly", until, body_surface_area=1.8)
    assert times(matched, until) == [7.0 * k for k in range(12)]
    ref, new = integrated(reference, until, body_surface_area=1.8), integrated(matched, until, body_surface_area=1.8)
    assert new["docetaxel"] == pytest.approx(ref["docetaxel"], rel=1e-12)
    assert matched.schedules[0].dose == pytest.approx(25.0, rel=1e-12)
    assert matched.cumulative_dose(until, body_surface_area=1.8) == pytest.approx(
        reference.cumulative_dose(until, body_surface_area=1.8), rel=1e-12
    )


def test_equal_cumulative_dose_mixed_bases_needs_body_size():
    reference = mtd("gemcitabine", 1000, "mg/m2", cycles=3, every=7)
    with pytest.raises(RegimenError, match="body_weight"):
        equal_cumulative_dose(reference, "metronomic_daily", 21, unit="mg/kg")
    size = dict(body_weight=70, body_surface_area=1.8)
    matched = equal_cumulative_dose(reference, "metronomic_daily", 21, unit="mg/kg", **size)
    assert integrated(matched, 21, **size)["gemcitabine"] == pytest.approx(3000 * 1.8, rel=1e-12)


def test_equal_cumulative_dose_infusion_cut_at_until():
    reference = Regimen((AgentSchedule.continuous("fluorouracil", 1200, "mg/m2/day", start=0, end=2),))
    matched = equal_cumulative_dose(reference, "dose_dense", 1.5, duration=1.0, cycles=1)
    size = dict(body_surface_area=1.8)
    assert integrated(matched, 1.5, **size)["fluorouracil"] == pytest.approx(1200 * 1.5 * 1.8, rel=1e-12)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message
    return message


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: mtd("paclitaxel", -1, "mg/kg"), "dose must be a number greater than 0"),
        (lambda: mtd("paclitaxel", 25, "mg/kg/day"), "only valid with continuous"),
        (lambda: weekly("paclitaxel", 25, "mg/kg", every=0), "interval"),
        (lambda: metronomic("cyclophosphamide", 20, "mg/kg"), "rate unit"),
        (lambda: metronomic("cyclophosphamide", 20, "mg/kg/day", start=10, end=5), "end"),
        (lambda: mtd("paclitaxel", 25, "mg/kg", route="oral", duration=0.1), "infusion"),
        (lambda: equal_cumulative_dose(mtd("paclitaxel", 25, "mg/kg"), "weekley", 30), "did you mean 'weekly'"),
        (lambda: equal_cumulative_dose(mtd("paclitaxel", 25, "mg/kg"), "weekly", 30, dose=3), "sets dose itself"),
        (lambda: equal_cumulative_dose(mtd("paclitaxel", 25, "mg/kg"), "metronomic", 30, cycles=3), "cycles"),
        (lambda: equal_cumulative_dose(Regimen(), "weekly", 30), "vehicle"),
        (lambda: equal_cumulative_dose("paclitaxel 25 mg/kg iv", "weekly", 30), "must be a Regimen"),
        (lambda: equal_cumulative_dose(mtd("paclitaxel", 25, "mg/kg", start=40), "weekly", 30), "no drug before"),
        (lambda: equal_cumulative_dose(mtd("paclitaxel", 25, "mg/kg"), "weekly", 30, start=35), "gives no drug"),
        (
            lambda: equal_cumulative_dose(mtd("paclitaxel", 25, "mg/kg"), "weekly", 30, unit="mg/kilo"),
            "unknown dose unit",
        ),
    ],
)
def test_bad_input_one_line_error(call, match):
    with pytest.raises(RegimenError) as error:
        call()
    assert match in one_line(error)
