"""The de Pillis 2006 tumour–immune mechanism (``immune: de_pillis_2006``).

What is checked, and against what:

- the two patient sets hold the MODEL_SPEC §8.1 numbers, and K = 1/(b·ρ);
- without tumour the immune system rests at its analytic steady state
  C* = α/β, N* = e·C*/f, L* = 0 (v_L = 0);
- a tiny tumour decays at the rate of the linearised model: for patient 9 the
  effector:target ratio L/T grows without bound, so T ∝ exp((a − φ·(c·N* + d))·t);
  for patient 10 it settles at λ* solving λ·(m + a − c·N* − D(λ)) = r1·N* + r2·C*,
  so T ∝ exp((a − c·N* − D(λ*))·t);
- the critical initial burden: patient 9 clears 10 mm3 within 10 days, patient 10
  escapes from 2 mm3 (its threshold is near 1.06 mm3, patient 9's near 18.5 mm3,
  numbers cross-checked with an independent SciPy integration of the paper's
  equations); swapping d, l, s, m between the patients swaps the behaviour,
  swapping k, q, p, α, β does not;
- chemotherapy kills circulating lymphocytes and NK cells exactly as
  K·(1 − exp(−C_p/C_ref)) against a SciPy reference, and leaves the tumour's
  kill hazard to the immune system (no double counting by default);
- a myeloid suppression signal weakens immune kill: slower clearance, escape.

The paper's figures were not available, so the patient 9/10 outcomes are the
model's predictions, not digitised curves.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

import chemohost as ch
from chemohost.parameters import get_parameter_set

OPTIONS = {"growth": "logistic", "immune": "de_pillis_2006", "drugs": {"paclitaxel": {"pk": "one_compartment"}}}
TIGHT = {"rtol": 1e-9, "atol": 1e-16, "method": "stiff"}
STIFF = {"method": "stiff"}  # q·T and p·T reach ~10^3 /day near the carrying capacity

W = "Tumour volume [mm3]"
W0 = "Initial tumour volume [mm3]"
NK, CD8, LYMPH = "NK cells [cells]", "CD8+ T cells [cells]", "Circulating lymphocytes [cells]"
S0 = "Baseline myeloid suppression signal [-]"
CELLS_PER_MM3 = 1e6
D_L_S_M = ["Maximal CD8+ T-cell kill rate [1/day]", "CD8+ T-cell kill exponent [-]",
           "CD8+ T-cell kill steepness coefficient [-]", "CD8+ T-cell death rate [1/day]"]
K_Q_P_ALPHA_BETA = ["CD8+ T-cell recruitment steepness coefficient [cells^2/day^2]",
                    "CD8+ T-cell inactivation rate by tumour cells [1/cell/day]",
                    "NK-cell inactivation rate by tumour cells [1/cell/day]",
                    "Circulating lymphocyte production rate [cells/day]", "Circulating lymphocyte death rate [1/day]"]

# MODEL_SPEC §8.1, written out here independently of the parameter files
SHARED = dict(a=0.431, b=1.02e-9, c=6.41e-11, e=2.08e-7, f=4.12e-2, g=1.25e-2, h=2.02e7, j=2.49e-2, r1=1.1e-7,
              r2=6.5e-11, u=3e-10, KT=0.9, KN=0.6, KL=0.6, KC=0.6)
PATIENT = {
    9: dict(d=2.34, l=2.09, k=3.66e7, m=0.204, q=1.42e-6, p=3.42e-6, s=8.39e-2, alpha=7.5e8, beta=0.012),
    10: dict(d=1.88, l=1.81, k=5.66e7, m=9.12, q=1.59e-6, p=3.59e-6, s=0.512, alpha=5e8, beta=0.008),
}
NAMES = {
    "c": "NK-cell kill rate of tumour cells [1/cell/day]", "d": D_L_S_M[0], "l": D_L_S_M[1], "s": D_L_S_M[2],
    "e": "NK-cell production rate from circulating lymphocytes [1/day]", "f": "NK-cell death rate [1/day]",
    "g": "Maximal NK-cell recruitment rate by tumour cells [1/day]",
    "h": "NK-cell recruitment steepness coefficient [cells^2]", "p": K_Q_P_ALPHA_BETA[2], "m": D_L_S_M[3],
    "j": "Maximal CD8+ T-cell recruitment rate by lysed tumour cells [1/day]",
    "k": K_Q_P_ALPHA_BETA[0], "q": K_Q_P_ALPHA_BETA[1],
    "r1": "CD8+ T-cell stimulation rate by NK-lysed tumour cells [1/cell/day]",
    "r2": "CD8+ T-cell stimulation rate by circulating lymphocytes [1/cell/day]",
    "u": "CD8+ T-cell inactivation rate by NK cells [1/cell^2/day]", "alpha": K_Q_P_ALPHA_BETA[3],
    "beta": K_Q_P_ALPHA_BETA[4], "KT": "de Pillis tumour chemotherapy kill rate [1/day]",
    "KN": "NK-cell chemotherapy kill rate [1/day]", "KL": "CD8+ T-cell chemotherapy kill rate [1/day]",
    "KC": "Circulating lymphocyte chemotherapy kill rate [1/day]", "a": "Logistic growth rate [1/day]",
}


@pytest.fixture(scope="module")
def model():
    return ch.Model(OPTIONS)


def patient(model, n: int, **overrides) -> dict[str, float]:
    """Patient ``n``'s parameter set, restricted to the model's parameters, with overrides."""
    values = get_parameter_set(f"dePillis2006Patient{n}").to_dict()
    return {**{k: v for k, v in values.items() if k in model.parameter_names}, **overrides}


def batch(rows: list[dict[str, float]]) -> dict[str, np.ndarray]:
    """Per-patient columns; every row must give the same parameters."""
    assert all(row.keys() == rows[0].keys() for row in rows)
    return {name: np.array([row[name] for row in rows]) for name in rows[0]}


def spec(n: int) -> dict[str, float]:
    return {**SHARED, **PATIENT[n]}


# ---------------------------------------------------------------------------------------- parameter sets
@pytest.mark.parametrize("n", [9, 10])
def test_patient_sets_hold_the_model_spec_values(n):
    values = get_parameter_set(f"dePillis2006Patient{n}").to_dict()
    for key, expected in spec(n).items():
        if key in NAMES:
            assert values[NAMES[key]] == pytest.approx(expected, rel=1e-12), key
    b, rho = spec(n)["b"], values["Tumour cell density [cells/mm3]"]
    assert values["Carrying capacity [mm3]"] == pytest.approx(1 / (b * rho), rel=1e-6)


def test_defaults_come_from_patient_9(model):
    for key in ("d", "m", "s", "alpha"):
        p = model.parameter(NAMES[key])
        assert p.default == PATIENT[9][key] and p.source.startswith("dePillis2006Patient9:") and p.tag == "V-code"
    scale = model.parameter("Paclitaxel de Pillis drug scale [ng/mL]")
    assert scale.default == 1000.0 and scale.tag == "proposed"


# ---------------------------------------------------------------------------------------- steady state
def test_tumour_free_immune_system_stays_at_its_steady_state(model):
    rows = [patient(model, n, **{W0: 0.0}) for n in (9, 10)]
    ds = ch.simulate(model, None, batch(rows), np.linspace(0, 365, 13), rtol=1e-10, atol=1e-12)
    for i, n in enumerate((9, 10)):
        p = spec(n)
        c_star = p["alpha"] / p["beta"]  # 6.25e10 for both patients
        n_star = p["e"] * c_star / p["f"]
        np.testing.assert_allclose(ds[LYMPH].values[i], c_star, rtol=1e-9)
        np.testing.assert_allclose(ds[NK].values[i], n_star, rtol=1e-9)
        np.testing.assert_array_equal(ds[CD8].values[i], 0.0)  # L* = 0: u·N*·L² + m·L = v_L = 0
        np.testing.assert_array_equal(ds[W].values[i], 0.0)


# ---------------------------------------------------------------------------------------- small tumours
def _small_tumour_rate(n: int, phi: float = 1.0) -> float:
    """Growth exponent of a tiny tumour from the linearised model (T → 0 at the tumour-free steady state)."""
    p = spec(n)
    c_star = p["alpha"] / p["beta"]
    n_star = p["e"] * c_star / p["f"]
    recruitment = p["r1"] * n_star + p["r2"] * c_star  # CD8+ T cells made per tumour cell per day

    def D(ratio):
        return phi * p["d"] * ratio ** p["l"] / (p["s"] + ratio ** p["l"])

    base = p["a"] - phi * p["c"] * n_star
    if p["m"] + base - phi * p["d"] < 0:  # λ = L/T grows without bound: D saturates at φ·d
        return base - phi * p["d"]
    ratio = brentq(lambda x: x * (p["m"] + base - D(x)) - recruitment, 1e-9, 1e6)
    return base - D(ratio)


def test_small_tumour_decays_at_the_linearised_rate(model):
    rows = [patient(model, 9, **{W0: 1e-4}), patient(model, 10, **{W0: 1e-4}),
            patient(model, 9, **{W0: 1e-4, S0: 1.0})]
    windows = [(2.0, 6.0), (10.0, 40.0), (3.0, 10.0)]
    expected = [_small_tumour_rate(9), _small_tumour_rate(10), _small_tumour_rate(9, phi=0.5)]
    times = np.unique(np.concatenate([[0.0], *windows]))
    ds = ch.simulate(model, None, batch(rows), times, **TIGHT)
    assert (ds.solver_status.values == 0).all()
    for i, ((t1, t2), rate) in enumerate(zip(windows, expected)):
        w = ds[W].sel(time=[t1, t2]).values[i]
        assert math.log(w[1] / w[0]) / (t2 - t1) == pytest.approx(rate, rel=1e-3)
    # patient 9: -1.909 /day (CD8+ kill saturated); patient 10: -0.175 /day; patient 9, kill halved: -0.739 /day
    assert expected[0] == pytest.approx(0.431 - 6.41e-11 * 3.1553e5 - 2.34, rel=1e-4)
    assert -0.2 < expected[1] < -0.15
    assert expected[2] == pytest.approx(0.431 - 0.5 * (6.41e-11 * 3.1553e5 + 2.34), rel=1e-4)


def test_patient_9_controls_a_burden_patient_10_escapes_from(model):
    swap_dlsm_9 = {k: v for k, v in patient(model, 10).items() if k in D_L_S_M}
    swap_dlsm_10 = {k: v for k, v in patient(model, 9).items() if k in D_L_S_M}
    swap_other = {k: v for k, v in patient(model, 10).items() if k in K_Q_P_ALPHA_BETA}
    cases = {  # (label, initial volume [mm3]) -> parameters
        ("9", 10.0): patient(model, 9),
        ("9", 40.0): patient(model, 9),
        ("10", 0.5): patient(model, 10),
        ("10", 2.0): patient(model, 10),
        ("10", 10.0): patient(model, 10),
        ("9 with 10's d, l, s, m", 10.0): patient(model, 9, **swap_dlsm_9),
        ("10 with 9's d, l, s, m", 10.0): patient(model, 10, **swap_dlsm_10),
        ("9 with 10's k, q, p, alpha, beta", 10.0): patient(model, 9, **swap_other),
    }
    rows = [{**values, W0: w0} for (_, w0), values in cases.items()]
    ds = ch.simulate(model, None, batch(rows), [0.0, 10.0, 60.0, 100.0], **STIFF)
    assert (ds.solver_status.values == 0).all()
    cells = ds[W] * CELLS_PER_MM3
    capacity = 1 / 1.02e-9
    outcome = {}
    for i, label in enumerate(cases):
        final = float(cells.sel(time=100.0)[i])
        outcome[label] = "cleared" if final < 1.0 else "escaped" if final > 0.9 * capacity else "neither"
    assert outcome == {
        ("9", 10.0): "cleared", ("9", 40.0): "escaped",
        ("10", 0.5): "cleared", ("10", 2.0): "escaped", ("10", 10.0): "escaped",
        ("9 with 10's d, l, s, m", 10.0): "escaped",
        ("10 with 9's d, l, s, m", 10.0): "cleared",
        ("9 with 10's k, q, p, alpha, beta", 10.0): "cleared",
    }
    # patient 9 clears 10 mm3 (1e7 cells) within 10 days; patient 10 needs over 60 days for 0.5 mm3
    assert float(cells.sel(time=10.0)[0]) < 1.0
    assert float(cells.sel(time=60.0)[2]) > 1.0


# ---------------------------------------------------------------------------------------- chemotherapy
def test_chemotherapy_kills_lymphocytes_and_nk_cells_as_de_pillis(model):
    scale = "Paclitaxel de Pillis drug scale [ng/mL]"
    rows = [patient(model, 9, **{W0: 0.0, scale: 1000.0}), patient(model, 9, **{W0: 0.0, scale: 1e4}),
            patient(model, 10, **{W0: 1.0, scale: 1000.0})]
    times = np.array([0.0, 0.25, 1.0, 3.0, 10.0, 30.0])
    ds = ch.simulate(model, "paclitaxel 25 mg/kg iv once at day 0", {**batch(rows), "Body weight [kg]": 0.02}, times,
                     **TIGHT)
    assert (ds.solver_status.values == 0).all()
    lymph, nk = ds[LYMPH].values, ds[NK].values
    c_star = 7.5e8 / 0.012
    assert lymph[0, 1] < 0.9 * c_star and nk[0, -1] < nk[0, 0]  # the drug kills lymphocytes and NK cells
    assert lymph[1].min() > lymph[0].min()  # a larger drug scale (weaker drug in de Pillis units) kills fewer
    assert np.all(np.diff(lymph[0, 2:]) > 0)  # recovery towards α/β once the drug is gone

    # reference: the de Pillis C and N equations (T = 0) driven by the analytic one-compartment plasma curve
    par = dict(zip(ds.parameter.values, ds.parameter_value.values[0]))
    v1, cl = par["Paclitaxel central volume [L]"], par["Paclitaxel clearance [L/day]"]
    p = spec(9)
    for i, scale in enumerate((1000.0, 1e4)):
        def rhs(t, y):
            kill = 1 - math.exp(-(1000 * 0.5 / v1) * math.exp(-cl / v1 * t) / scale)
            c, n = y
            return [p["alpha"] - p["beta"] * c - p["KC"] * kill * c, p["e"] * c - p["f"] * n - p["KN"] * kill * n]

        ref = solve_ivp(rhs, (0, times[-1]), [c_star, p["e"] * c_star / p["f"]], t_eval=times, method="LSODA",
                        rtol=1e-11, atol=1e-3)
        np.testing.assert_allclose(lymph[i], ref.y[0], rtol=1e-6)
        np.testing.assert_allclose(nk[i], ref.y[1], rtol=1e-6)
    # by default the drug acts on the tumour only through its own kill law (none here), not through K_T
    np.testing.assert_allclose(ds["Tumour kill hazard [1/day]"].values[2], ds["Immune kill hazard [1/day]"].values[2],
                               rtol=1e-12)


def test_tumour_drug_kill_is_opt_in():
    default = ch.Model(OPTIONS)
    opted = ch.Model({**OPTIONS, "immune": {"name": "de_pillis_2006", "tumour_drug_kill": True}})
    kt = NAMES["KT"]
    assert kt not in default.parameter_names and kt in opted.parameter_names
    hazard = opted.variables["Tumour kill hazard [1/day]"]
    assert any(s.name == kt for s in hazard.free_symbols)
    assert opted.parameter(kt).default == 0.9
    # without drugs the drug-kill parameters drop out of the model
    assert not {NAMES["KN"], NAMES["KL"], NAMES["KC"]} & set(ch.Model({"immune": "de_pillis_2006"}).parameter_names)


# ---------------------------------------------------------------------------------------- MDSC extension
def test_myeloid_suppression_weakens_immune_kill(model):
    signals = [0.0, 1.0, 3.0]
    rows = [patient(model, 9, **{W0: 10.0, S0: s}) for s in signals]
    ds = ch.simulate(model, None, batch(rows), [0.0, 1.0, 10.0, 60.0], **STIFF)
    np.testing.assert_allclose(ds["Immune suppression factor [-]"].values[:, 0], [1.0, 0.5, 0.25])
    burden = ds[W].sel(time=10.0).values
    assert burden[0] < burden[1] < burden[2]  # higher burden the stronger the suppression
    assert ds[W].sel(time=60.0).values[2] > 0.9 * 980  # patient 9 escapes from 10 mm3 when kill is quartered
    assert ds[W].sel(time=60.0).values[1] * CELLS_PER_MM3 < 1.0  # ... but still clears it when kill is halved


# ---------------------------------------------------------------------------------------- bad input
def test_unknown_setting_is_named_with_the_accepted_ones():
    with pytest.raises(ch.ChemohostError, match=r"unknown setting 'tumour_drug_kil'.*did you mean 'tumour_drug_kill'"):
        ch.Model({"immune": {"name": "de_pillis_2006", "tumour_drug_kil": True}})
    with pytest.raises(ch.ChemohostError, match=r"'tumour_drug_kill' must be true or false, got 'yes'"):
        ch.Model({"immune": {"name": "de_pillis_2006", "tumour_drug_kill": "yes"}})
