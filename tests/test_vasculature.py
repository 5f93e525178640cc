"""Vascular carrying capacity, Hahnfeldt growth and endothelial kill: VALIDATION V1 and V2.

The Hahnfeldt et al. 1999 model is ``growth: hahnfeldt`` + ``vasculature:
hahnfeldt``; its antiangiogenic agents are library drugs with ``vascular_kill:
linear`` whose one-compartment PK (V = 1 L/kg) reproduces Hahnfeldt's drug level
g [mg/kg] as C/1000 [ng/mL]. Read-outs come from simulated trajectories with
pulsed (bolus) dosing. Targets and tolerances are those of VALIDATION.md; the
regimens are written per kg and given to a 20 g mouse, and the result must not
depend on that body weight.
"""

from __future__ import annotations

import numpy as np
import pytest

import chemohost as ch
from chemohost.quantities import ENDOTHELIAL_KILL, TUMOUR_VOLUME, VASCULAR_CAPACITY, VASCULAR_SUPPORT
from chemohost.parameters import get_parameter_set

AGENTS = ("tnp-470", "endostatin", "angiostatin")
SETS = {"tnp-470": "Hahnfeldt1999TNP470", "endostatin": "Hahnfeldt1999Endostatin",
        "angiostatin": "Hahnfeldt1999Angiostatin"}
TIGHT = {"rtol": 1e-8, "atol": 1e-9}
MOUSE = {"Body weight [kg]": 0.02}
V0 = "Initial tumour volume [mm3]"
K0 = "Initial vascular carrying capacity [mm3]"
START = {V0: 180.0}  # with the default K0 = 625 mm3: the V-code example start state (radivot/canceR)


@pytest.fixture(scope="module")
def hahnfeldt():
    """Hahnfeldt 1999 with its three agents (one compiled kernel for all of V1 and V2)."""
    return ch.Model({"growth": "hahnfeldt", "vasculature": "hahnfeldt",
                     "drugs": {a: {"vascular_kill": "linear"} for a in AGENTS}})


@pytest.fixture(scope="module")
def donofrio():
    return ch.Model({"growth": "hahnfeldt", "vasculature": "donofrio_gandolfi",
                     "drugs": {"endostatin": {"vascular_kill": "linear"}}})


def _run(model, regimen, times, parameters=START, covariates=MOUSE):
    ds = ch.simulate(model, regimen, parameters, times, covariates=covariates, **TIGHT)
    assert (ds["solver_status"] == 0).all()
    return ds


def _table1(agent: str) -> tuple[float, float]:
    """Hahnfeldt's published (e [1/day per mg/kg], clr [1/day]) of an agent, from its set."""
    values = get_parameter_set(SETS[agent]).resolve(body_weight=1.0)
    display = ch.drugs.get_drug(agent).display_name
    return (values[f"{display} endothelial kill per drug level [kg/(mg*day)]"],
            values[f"{display} drug-level clearance rate [1/day]"])


# ----------------------------------------------------------------------------- structure
def test_defaults_are_hahnfeldt_table_1(hahnfeldt):
    values = hahnfeldt.default_parameters()
    assert values["Hahnfeldt tumour growth rate [1/day]"] == 0.192
    assert values["Vascular stimulation rate [1/day]"] == 5.85
    assert values["Vascular inhibition rate [1/(day*mm2)]"] == 0.00873
    assert values["Spontaneous vascular loss rate [1/day]"] == 0.0
    assert values[K0] == 625.0
    assert all(hahnfeldt.parameter(n).tag == "V" for n in ("Vascular stimulation rate [1/day]", K0))


def test_agent_sets_convert_the_published_values():
    """CL/V = clr and the potency is e/1000 [mL/ng/day] (V = 1 L/kg makes C/1000 = g), per agent."""
    table = {"tnp-470": (1.3, 10.1), "endostatin": (0.66, 1.7), "angiostatin": (0.15, 0.38)}
    for agent, (e, clr) in table.items():
        assert _table1(agent) == (e, clr)
        pset = get_parameter_set(SETS[agent])
        display = ch.drugs.get_drug(agent).display_name
        values = pset.resolve(body_weight=0.02)
        assert values[f"{display} central volume [L]"] == pytest.approx(0.02, rel=1e-12)
        assert values[f"{display} clearance [L/day]"] / values[f"{display} central volume [L]"] == pytest.approx(clr)
        assert values[f"{display} endothelial kill potency [mL/ng/day]"] == pytest.approx(e / 1000, rel=1e-12)
        assert pset.values[f"{display} endothelial kill potency [mL/ng/day]"].tag == "C"
        agent_record = ch.drugs.get_drug(agent)
        assert agent_record.drug_class == "antiangiogenic" and agent_record.pk_parameter_set("mouse") is pset


def test_endothelial_kill_is_summed_over_drugs(hahnfeldt):
    kill = hahnfeldt.variables[ENDOTHELIAL_KILL]
    for agent in AGENTS:
        display = ch.drugs.get_drug(agent).display_name
        assert ch.core.Q(f"{display} endothelial kill potency [mL/ng/day]") in kill.free_symbols
    assert hahnfeldt.variables[VASCULAR_SUPPORT] == 0


def test_cytotoxic_endothelial_kill_needs_a_potency():
    """e_chemo of a cytotoxic drug without a chemohost value (5-FU) has no default: the user must give it."""
    model = ch.Model({"species": "human", "growth": "hahnfeldt", "vasculature": "donofrio_gandolfi",
                      "drugs": {"fluorouracil": {"vascular_kill": "linear"}}})
    p = model.parameter("Fluorouracil endothelial kill potency [mL/ng/day]")
    assert p.required and p.tag == "U"
    with pytest.raises(ch.ChemohostError, match=r"'Fluorouracil endothelial kill potency \[mL/ng/day\]' has no default"):
        ch.simulate(model, None, START, [0.0, 1.0])


# ----------------------------------------------------------------------------- V1
def test_v1_set_point_analytic(hahnfeldt):
    """V1: V* = K* = (b/d)^{3/2} = 17,347 mm3 (0.01%), the paper's ~17,400 within 1%."""
    values = hahnfeldt.default_parameters()
    b, d = values["Vascular stimulation rate [1/day]"], values["Vascular inhibition rate [1/(day*mm2)]"]
    set_point = (b / d) ** 1.5
    assert set_point == pytest.approx(17347, rel=1e-4)
    assert set_point == pytest.approx(17400, rel=1e-2)
    fixed = get_parameter_set("Hahnfeldt1999").values["Carrying capacity [mm3]"].value  # gompertz_capacity's K
    assert fixed == pytest.approx(set_point, rel=1e-4)


def test_v1_untreated_growth(hahnfeldt):
    """V1: from V = 180, K = 625: V(10) = 3,701, K(10) = 10,015, V(30) = 15,312 (0.5%); then the set point."""
    ds = _run(hahnfeldt, None, [0.0, 10.0, 30.0, 400.0])
    v, k = ds[TUMOUR_VOLUME].values[0], ds[VASCULAR_CAPACITY].values[0]
    assert v[1] == pytest.approx(3701, rel=5e-3)
    assert k[1] == pytest.approx(10015, rel=5e-3)
    assert v[2] == pytest.approx(15312, rel=5e-3)
    assert (v[3], k[3]) == pytest.approx((17347, 17347), rel=1e-4)


# ----------------------------------------------------------------------------- V2
def test_v2_drug_level_follows_hahnfeldt_convention(hahnfeldt):
    """Each bolus adds its dose [mg/kg] to g = C/1000, which decays at clr; the kill hazard is e·g."""
    ds = _run(hahnfeldt, "tnp-470 30 mg/kg iv", [0.0, 0.5])
    e, clr = _table1("tnp-470")
    g = ds["Plasma tnp-470 [ng/mL]"].values[0] / 1000
    assert g == pytest.approx([30.0, 30.0 * np.exp(-clr * 0.5)], rel=1e-6)
    assert ds["TNP-470 endothelial kill hazard [1/day]"].values[0] == pytest.approx(e * g, rel=1e-12)


def test_v2_tnp470_set_point_from_any_start(hahnfeldt):
    """V2: TNP-470 30 mg/kg q.o.d. → 12,323 mm3 just before each dose for t ≥ 200 d (0.5%), from any start.

    Pitfall check: the mean-field shortcut ((b − e·D/(clr·τ))/d)^{3/2} gives 9,512; a simulation near
    that value is not dosing in pulses.
    """
    before = np.arange(200.0, 241.0, 2.0) - 1e-9
    cycle = np.linspace(240.0, 242.0, 401)[1:-1]
    starts = {V0: [180.0, 1000.0, 30000.0], K0: [625.0, 1000.0, 30000.0]}
    ds = _run(hahnfeldt, "tnp-470 30 mg/kg iv q2d", np.r_[0.0, before, cycle], starts)
    v = ds[TUMOUR_VOLUME].values
    pre, within = v[:, 1 : 1 + before.size], v[:, 1 + before.size :]
    assert pre == pytest.approx(np.full_like(pre, 12323), rel=5e-3)
    assert pre == pytest.approx(np.full_like(pre, 12300), rel=2e-2)  # the paper's "≈ 12,300"
    assert within.min(axis=1) == pytest.approx([11626] * 3, rel=5e-3)
    assert within.max(axis=1) == pytest.approx([12324] * 3, rel=5e-3)

    values = hahnfeldt.default_parameters()
    e, clr = _table1("tnp-470")
    b, d = values["Vascular stimulation rate [1/day]"], values["Vascular inhibition rate [1/(day*mm2)]"]
    mean_field = ((b - e * 30 / (clr * 2)) / d) ** 1.5
    assert mean_field == pytest.approx(9512, rel=1e-3)
    assert np.all(np.abs(pre / mean_field - 1) > 0.2)


def test_v2_angiostatin_converges_slowly(hahnfeldt):
    """V2: angiostatin 14 mg/kg/day from V = 180: 252 / 238 / 236.4 / 236.4 at 200 / 500 / 1,000 / 2,000 d (1%)."""
    ds = _run(hahnfeldt, "angiostatin 14 mg/kg iv q1d", [0.0, 200.0, 500.0, 1000.0, 2000.0])
    v = ds[TUMOUR_VOLUME].values[0, 1:]
    assert v == pytest.approx([252, 238, 236.4, 236.4], rel=1e-2)
    assert v[2:] == pytest.approx([240, 240], rel=3e-2)  # the paper's ≈ 240 after ≥ 1,000 d


def test_v2_angiostatin_overshoot(hahnfeldt):
    """V2: from 177 and 400 mm3 the tumour first overshoots to ≈ 301 (day ~12) and ≈ 591 (day ~7) (2%)."""
    times = np.r_[0.0, np.arange(0.05, 40.0, 0.05)]
    ds = _run(hahnfeldt, "angiostatin 14 mg/kg iv q1d", times, {V0: [177.0, 400.0]})
    v = ds[TUMOUR_VOLUME].values
    peak = v.max(axis=1)
    assert peak == pytest.approx([301, 591], rel=2e-2)
    assert times[v.argmax(axis=1)] == pytest.approx([12, 7], abs=1.0)
    assert np.all(v[:, -1] < 0.97 * peak)  # then declines (slowly) toward ≈ 236


def test_v2_endostatin_regression(hahnfeldt):
    """V2: endostatin 20 mg/kg/day: V(10 / 50 / 100) = 116.5 / 17.4 / 1.80 with the t = 0 dose,
    168.4 / 24.4 / 2.50 without it (2%)."""
    times = [0.0, 10.0, 50.0, 100.0]
    with_first = _run(hahnfeldt, "endostatin 20 mg/kg iv q1d", times)
    without_first = _run(hahnfeldt, "endostatin 20 mg/kg iv q1d from day 1", times)
    assert with_first[TUMOUR_VOLUME].values[0, 1:] == pytest.approx([116.5, 17.4, 1.80], rel=2e-2)
    assert without_first[TUMOUR_VOLUME].values[0, 1:] == pytest.approx([168.4, 24.4, 2.50], rel=2e-2)


def test_v2_does_not_depend_on_body_weight(hahnfeldt):
    """Doses per kg and the 1 L/kg volume scale together: a 20 g, a 35 g mouse and a 70 kg body agree."""
    weights = np.array([0.02, 0.035, 70.0])
    times = np.r_[0.0, np.linspace(1.0, 60.0, 60)]
    ds = _run(hahnfeldt, "tnp-470 30 mg/kg iv q2d + angiostatin 14 mg/kg iv q1d", times,
              covariates={"Body weight [kg]": weights})
    v = ds[TUMOUR_VOLUME].values
    assert v[1:] == pytest.approx(np.broadcast_to(v[0], v[1:].shape), rel=1e-6)
    conc = ds["Plasma angiostatin [ng/mL]"].values
    assert conc[1:] == pytest.approx(np.broadcast_to(conc[0], conc[1:].shape), rel=1e-6)


# ----------------------------------------------------------------------------- d'Onofrio–Gandolfi
def test_donofrio_gandolfi_untreated_set_point(donofrio):
    """Same set point as Hahnfeldt's model ((b − μ)/d)^{3/2} = 17,347 mm3 with the default b, d, μ = 0."""
    ds = _run(donofrio, None, [0.0, 2000.0])
    assert ds[TUMOUR_VOLUME].values[0, -1] == pytest.approx(17347, rel=1e-3)
    assert ds[VASCULAR_CAPACITY].values[0, -1] == pytest.approx(17347, rel=1e-3)


def test_donofrio_gandolfi_stays_well_posed_as_the_tumour_vanishes(donofrio):
    """Endostatin 20 mg/kg/day eradicates the tumour: V and K fall to 0 over 2,000 d without NaN or failure."""
    times = np.array([0.0, 10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0])
    ds = _run(donofrio, "endostatin 20 mg/kg iv q1d", times)
    v, k = ds[TUMOUR_VOLUME].values[0], ds[VASCULAR_CAPACITY].values[0]
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(k))
    assert np.all(v >= 0) and np.all(k >= 0)
    assert np.all(np.diff(v[:5]) < 0) and np.all(np.diff(k[:5]) < 0)
    assert v[3] < 1e-50 and v[-1] < 1e-300  # far below one cell (1e-6 mm3)
    assert np.all(np.isfinite(ds["Tumour per-capita growth rate [1/day]"].values[0, :5]))


# ----------------------------------------------------------------------------- bad input
def test_hahnfeldt_growth_needs_a_vasculature():
    with pytest.raises(ch.ChemohostError, match=r"growth: hahnfeldt needs a 'vasculature' choice; "
                                                r"it needs vasculature: hahnfeldt or vasculature: donofrio_gandolfi"):
        ch.Model({"growth": "hahnfeldt"})


@pytest.mark.parametrize("vasculature", ["hahnfeldt", "donofrio_gandolfi"])
@pytest.mark.parametrize("growth", [None, "gompertz", "gompertz_capacity"])
def test_vasculature_needs_hahnfeldt_growth(vasculature, growth):
    options = {"vasculature": vasculature, **({"growth": growth} if growth else {})}
    with pytest.raises(ch.ChemohostError, match=rf"vasculature: {vasculature} conflicts with growth: "
                                                rf"{growth or 'gompertz'}; it needs growth: hahnfeldt"):
        ch.Model(options)


def test_unknown_vasculature_suggests_the_right_one():
    with pytest.raises(ch.ChemohostError, match=r"did you mean 'donofrio_gandolfi'\?"):
        ch.Model({"growth": "hahnfeldt", "vasculature": "donofrio_gandolf"})
