"""Host toxicity: Friberg 2002 and Quartino 2014 neutrophil models, myelosuppression laws, CTCAE grading.

VALIDATION V4 is read from simulated trajectories on a 0.01-day grid (nadir,
day-21 count, rebound maximum), with the targets and tolerances of
VALIDATION.md. Two models are compiled (Friberg and Quartino, each with
docetaxel three-compartment PK), once per module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import xarray as xr

import chemohost as ch
from chemohost.quantities import NEUTROPHILS, effector
from chemohost.mechanisms.toxicity import GCSF, GRADE, MYELOSUPPRESSION, PROGENITORS, neutropenia_grade, transit
from chemohost.parameters import get_parameter_set

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
GRID = np.round(np.arange(0.0, 25.0 + 1e-9, 0.01), 10)  # days; nadir and rebound read on this grid
DOCETAXEL = {"docetaxel": {"pk": "three_compartment", "myelosuppression": "linear"}}
HOST = {"species": "human", "tumour": "absent", "growth": "none"}  # a tumour-free patient
G_CSF = effector("G-CSF")
SLOPE = "Docetaxel myelosuppression slope [1/uM]"


def _options(toxicity: str) -> dict:
    return {**HOST, "toxicity": toxicity, "drugs": DOCETAXEL}


@pytest.fixture(scope="module")
def friberg():
    return ch.Model(_options("friberg"))


@pytest.fixture(scope="module")
def quartino():
    return ch.Model(_options("quartino"))


@pytest.fixture(scope="module")
def quartino_parameters():
    """Quartino's own docetaxel potency (the model's default is Friberg's until per-drug laws see the options)."""
    return {SLOPE: get_parameter_set("Quartino2014").resolve()[SLOPE]}


# ----------------------------------------------------------------------------- V4
def _regimen(dose: float, route: str) -> str:
    return f"docetaxel {dose:g} mg iv over 1 h on day 0" if route == "infusion" else f"docetaxel {dose:g} mg iv on day 0"


@pytest.fixture(scope="module")
def v4_runs(friberg):
    runs = {}
    for dose in (180, 135):
        for route in ("infusion", "bolus"):
            ds = ch.simulate(friberg, _regimen(dose, route), None, GRID, **TIGHT)
            assert (ds["solver_status"] == 0).all()
            runs[dose, route] = ds
    return runs


def _readouts(ds: xr.Dataset) -> dict[str, float]:
    anc = ds[NEUTROPHILS].values[0]
    i = int(np.argmin(anc))
    after = GRID > GRID[i]
    j = int(np.argmax(np.where(after, anc, -np.inf)))
    return {"nadir": anc[i], "nadir_day": GRID[i], "day21": anc[np.searchsorted(GRID, 21.0)],
            "rebound": anc[j], "rebound_day": GRID[j]}


V4 = [  # dose [mg], route, nadir [1e9/L], its day, ANC day 21, rebound maximum, its day
    (180, "bolus", 0.896, 7.55, 6.21, 6.28, 19.8),
    (180, "infusion", 0.896, 7.57, 6.21, 6.28, 19.8),
    (135, "bolus", 1.354, 7.25, 5.92, 5.97, 19.7),
    (135, "infusion", 1.354, 7.27, 5.92, 5.97, 19.7),
]


@pytest.mark.parametrize("dose, route, nadir, nadir_day, day21, rebound, rebound_day", V4,
                         ids=[f"{d}mg-{r}" for d, r, *_ in V4])
def test_v4_friberg_docetaxel_nadir_recovery_rebound(v4_runs, dose, route, nadir, nadir_day, day21, rebound,
                                                     rebound_day):
    """V4: nadir, day-21 count and rebound of a single docetaxel dose (ANC ±0.02 ·10⁹/L, times ±0.2 d)."""
    got = _readouts(v4_runs[dose, route])
    assert got["nadir"] == pytest.approx(nadir, abs=0.02)
    assert got["nadir_day"] == pytest.approx(nadir_day, abs=0.2)
    assert got["day21"] == pytest.approx(day21, abs=0.02)
    assert got["rebound"] == pytest.approx(rebound, abs=0.02)
    assert got["rebound_day"] == pytest.approx(rebound_day, abs=0.2)


def test_v4_effect_is_uncapped_and_infusion_close_to_bolus(v4_runs):
    """V4: E reaches ≈ 38 at the end of the 180-mg 1-h infusion (uncapped); the bolus nadir is within 0.02 d."""
    e = v4_runs[180, "infusion"][MYELOSUPPRESSION].values[0]
    assert 37.0 < e.max() < 39.0
    assert abs(GRID[np.argmax(e)] - 1 / 24) <= 0.01
    for dose in (180, 135):
        infusion, bolus = _readouts(v4_runs[dose, "infusion"]), _readouts(v4_runs[dose, "bolus"])
        assert abs(infusion["nadir_day"] - bolus["nadir_day"]) <= 0.02 + 1e-9
        assert infusion["nadir"] == pytest.approx(bolus["nadir"], abs=1e-3)


def test_v4_defaults_are_the_published_values(friberg):
    """V4 runs on defaults: Circ0 5.05, k_tr = 4/MTT = 1.0823 /day, γ 0.161, slope 8.58 /µM (Friberg2002, V-code)."""
    p = {q.name: q for q in friberg.parameters}
    assert p["Baseline neutrophil count [1/nL]"].default == 5.05
    assert 4 / p["Neutrophil mean transit time [day]"].default == pytest.approx(1.0823, abs=1e-4)
    assert p["Neutrophil feedback exponent [-]"].default == 0.161
    assert p[SLOPE].default == 8.58 and p[SLOPE].tag == "V-code" and p[SLOPE].source.startswith("Friberg2002:")
    assert {"Friberg2002", "Bruno1996"} <= set(friberg.citations)


def test_friberg_progenitor_balance_and_drug_attribution(v4_runs):
    """The chain starts at Circ0 and the drug's attributed flux is E·proliferation (one drug: all of it)."""
    ds = v4_runs[180, "infusion"]
    for name in (PROGENITORS, transit(1), transit(2), transit(3), NEUTROPHILS):
        assert ds[name].values[0, 0] == pytest.approx(5.05, rel=1e-12)
    flux = ds["Docetaxel myelosuppressive flux [1e9/L/day]"].values[0]
    expected = ds[MYELOSUPPRESSION].values[0] * ds["Neutrophil progenitor proliferation [1e9/L/day]"].values[0]
    np.testing.assert_allclose(flux, expected, rtol=1e-12)


def test_friberg_without_drug_stays_at_baseline(friberg):
    ds = ch.simulate(friberg, None, None, [0.0, 10.0, 60.0], **TIGHT)
    for name in (PROGENITORS, transit(1), transit(2), transit(3), NEUTROPHILS):
        np.testing.assert_allclose(ds[name].values, 5.05, rtol=1e-12)


def test_neutropenia_grade_of_the_v4_runs(v4_runs):
    """CTCAE worst grade: grade 3 after 100 mg/m² (nadir 0.90), grade 2 after 75 mg/m² (nadir 1.35)."""
    worst = {dose: neutropenia_grade(v4_runs[dose, "infusion"][NEUTROPHILS]).max("time").item() for dose in (180, 135)}
    assert worst == {180: 3.0, 135: 2.0}


# ----------------------------------------------------------------------------- Quartino
def test_quartino_baseline_is_a_steady_state(quartino, quartino_parameters):
    """No drug: every compartment and G-CSF stay at baseline to 1e-9 (k_in is set from the baseline)."""
    ds = ch.simulate(quartino, None, quartino_parameters, [0.0, 1.0, 10.0, 60.0], **TIGHT)
    values = get_parameter_set("Quartino2014").resolve()
    k_circ = math.log(2) / values["Circulating neutrophil half-life [day]"]
    k_tr = 5 / values["Neutrophil mean transit time [day]"]
    reserve = k_circ * 3.53 / k_tr
    assert reserve == pytest.approx(9.297876, abs=1e-6)  # radivot/myelo quartino14.R: kcirc*Circ0/ktr
    expected = {PROGENITORS: reserve, **{transit(i): reserve for i in (1, 2, 3, 4)}, NEUTROPHILS: 3.53, GCSF: 24.3}
    for name, value in expected.items():
        np.testing.assert_allclose(ds[name].values, value, rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(ds[G_CSF].values, 1.0, atol=1e-9)


def test_quartino_neutropenia_raises_gcsf(quartino, quartino_parameters):
    """After docetaxel G-CSF rises while neutrophils fall: G/G0 peaks above 1 near the ANC nadir, then both recover."""
    times = np.round(np.arange(0.0, 30.0 + 1e-9, 0.01), 10)
    ds = ch.simulate(quartino, "docetaxel 135 mg iv over 1 h on day 0", quartino_parameters, times, rtol=1e-8,
                     atol=1e-10)
    assert (ds["solver_status"] == 0).all()
    anc, g = ds[NEUTROPHILS].values[0], ds[G_CSF].values[0]
    nadir_day, peak_day = times[np.argmin(anc)], times[np.argmax(g)]
    assert anc.min() < 0.5 * 3.53 and g.max() > 2.0
    assert abs(peak_day - nadir_day) <= 0.5
    falling = (times > 1.0) & (times < nadir_day)
    assert np.all(np.diff(anc[falling]) < 0) and np.all(np.diff(g[falling]) > 0)
    assert g[0] == pytest.approx(1.0, abs=1e-12) and abs(g[-1] - 1) < abs(g.max() - 1) / 4
    np.testing.assert_allclose(g, ds[GCSF].values[0] / 24.3, rtol=1e-12)  # G-CSF [-] = G/G0 without exogenous G-CSF


def test_quartino_defaults_and_effector(quartino):
    p = {q.name: q for q in quartino.parameters}
    assert p["Baseline neutrophil count [1/nL]"].default == 3.53
    assert p["Neutrophil mean transit time [day]"].default == pytest.approx(133 / 24)
    assert p["Circulating neutrophil half-life [day]"].default == pytest.approx(7 / 24)
    assert p["G-CSF elimination rate [1/day]"].default == pytest.approx(0.592 * 24)
    assert p["G-CSF clearance per neutrophil [nL/day]"].default == pytest.approx(5.64 * 24)
    assert (p["G-CSF proliferation exponent [-]"].default, p["G-CSF maturation exponent [-]"].default) == (0.444, 0.234)
    assert all(q.tag == "V-code" for name, q in p.items() if not name.startswith("Docetaxel"))
    assert G_CSF in quartino.output_names and "Quartino2014" in quartino.citations


def test_myelosuppression_potency_follows_the_toxicity_model():
    """Docetaxel's slope is fitted with each neutrophil model: 8.58 /µM (Friberg), 17.2 /µM (Quartino)."""
    from chemohost.mechanisms.myelosuppression import LinearMyelosuppression

    def slope(options):
        (par,) = LinearMyelosuppression(drug="docetaxel", species="human", model_options=options).declare().parameters
        return par.default, par.source.split(":")[0]

    assert slope({"toxicity": "quartino"}) == (17.2, "Quartino2014")
    assert slope({"toxicity": {"name": "friberg"}}) == (8.58, "Friberg2002")
    assert slope(None) == (8.58, "Friberg2002")


# ----------------------------------------------------------------------------- laws, mouse, grading
def test_emax_law_equation_and_required_potencies():
    model = ch.Model({**HOST, "toxicity": "friberg",
                      "drugs": {"docetaxel": {"pk": "three_compartment", "myelosuppression": "emax"}}})
    emax, ec50, conc = (sympy.Symbol(n, real=True) for n in (
        "Docetaxel myelosuppression Emax [-]", "Docetaxel myelosuppression EC50 [uM]", "Plasma docetaxel [uM]"))
    pk = model.variables["Plasma docetaxel [uM]"]
    assert sympy.simplify(model.variables[MYELOSUPPRESSION] - (emax * conc / (ec50 + conc)).subs(conc, pk)) == 0
    assert all(model.parameter(n.name).required for n in (emax, ec50))  # no literature values in chemohost
    with pytest.raises(ch.ChemohostError, match=r"Docetaxel myelosuppression Emax \[-\]' has no default"):
        ch.simulate(model, None, None, [0.0, 1.0])


def test_mouse_neutrophils_are_marked_placeholders():
    model = ch.Model({"species": "mouse", "tumour": "absent", "growth": "none", "toxicity": "friberg",
                      "drugs": {"paclitaxel": {"myelosuppression": "linear"}}})
    system = [p for p in model.parameters if p.name.startswith(("Baseline neutrophil", "Neutrophil"))]
    assert len(system) == 3 and all(p.source.startswith("MouseNeutrophils:") for p in system)
    tags = {p.name: p.tag for p in system}  # baseline: Silva-Santana 2020 Table 3; MTT: Pillay 2010 lifetime
    assert tags == {"Baseline neutrophil count [1/nL]": "C", "Neutrophil mean transit time [day]": "C",
                    "Neutrophil feedback exponent [-]": "U"}
    assert 2.0 <= model.parameter("Neutrophil mean transit time [day]").default <= 4.0
    assert model.parameter("Paclitaxel myelosuppression slope [1/uM]").required
    quartino = ch.Model({"species": "mouse", "tumour": "absent", "growth": "none", "toxicity": "quartino"})
    assert quartino.parameter("G-CSF elimination rate [1/day]").required


@pytest.mark.parametrize("anc, grade", [
    (5.0, 0), (2.0, 0), (1.999, 1), (1.5, 1), (1.499, 2), (1.0, 2), (0.999, 3), (0.5, 3), (0.499, 4), (0.0, 4),
])
def test_neutropenia_grade_ctcae_v5_boundaries(anc, grade):
    assert neutropenia_grade(anc) == grade


def test_neutropenia_grade_is_vectorised_and_keeps_labels():
    counts = np.array([[2.5, 1.8, 1.2], [0.7, 0.3, np.nan]])
    grades = neutropenia_grade(counts)
    assert grades.shape == (2, 3)
    np.testing.assert_array_equal(grades[0], [0, 1, 2])
    np.testing.assert_array_equal(grades[1, :2], [3, 4])
    assert np.isnan(grades[1, 2])  # a failed solver run stays unknown, not grade 0
    da = xr.DataArray(counts, dims=("patient", "time"), coords={"time": [0.0, 7.0, 21.0]})
    graded = neutropenia_grade(da)
    assert graded.name == GRADE and graded.dims == ("patient", "time") and graded.time.values.tolist() == [0, 7, 21]
    assert graded.max("time").values.tolist() == [2.0, 4.0]


def test_neutropenia_grade_lower_limit_of_normal():
    assert neutropenia_grade(1.9, lln=1.8) == 0 and neutropenia_grade(1.7, lln=1.8) == 1
    assert neutropenia_grade(1.3, lln=1.2) == 2  # below 1.5 is grade 2 whatever the LLN


@pytest.mark.parametrize("anc, lln, match", [
    (-0.1, 2.0, r"non-negative"),
    (1.0, 0.0, r"lower limit of normal must be a positive number"),
    (1.0, float("nan"), r"lower limit of normal must be a positive number"),
])
def test_neutropenia_grade_bad_input(anc, lln, match):
    with pytest.raises(ch.ChemohostError, match=match):
        neutropenia_grade(anc, lln=lln)


# ----------------------------------------------------------------------------- bad options
def test_myelosuppression_without_a_toxicity_model_is_an_error():
    with pytest.raises(ch.ChemohostError) as info:
        ch.Model({"species": "human", "drugs": {"docetaxel": {"myelosuppression": "linear"}}})
    message = str(info.value)
    assert "myelosuppression: linear of drug 'docetaxel' needs a 'toxicity' choice" in message
    assert "toxicity: friberg or toxicity: quartino" in message


@pytest.mark.parametrize("options, suggestion", [
    ({"toxicity": "fribreg"}, "friberg"),
    ({"toxicity": "quartin"}, "quartino"),
    ({"toxicity": "friberg", "drugs": {"docetaxel": {"myelosupression": "linear"}}}, "myelosuppression"),
    ({"toxicity": "friberg", "drugs": {"docetaxel": {"myelosuppression": "lineer"}}}, "linear"),
])
def test_typos_suggest_the_right_choice(options, suggestion):
    with pytest.raises(ch.ChemohostError, match=rf"did you mean '{suggestion}'\?"):
        ch.Model({"species": "human", **options})
