from __future__ import annotations

import math

import sympy

from ..._errors import OptionError, unknown
from ...core import Declaration, Mechanism, Parameter, Q, State, register_mechanism
from ...drugs import get_drug
from ...quantities import KILL_HAZARD, MYELOID_SUPPRESSION, QUIESCENT_KILL_HAZARD, TUMOUR_VOLUME, plasma
from .._defaults import declared

NK_CELLS = "NK cells [cells]"
CD8_CELLS = "CD8+ T cells [cells]"
LYMPHOCYTES = "Circulating lymphocytes [cells]"
TUMOUR_CELLS = "Tumour cells [cells]"
CHEMOTHERAPY_LEVEL = "de Pillis chemotherapy level [-]"
CD8_KILL = "CD8+ T-cell kill rate [1/day]"
SUPPRESSION = "Immune suppression factor [-]"
IMMUNE_KILL_HAZARD = "Immune kill hazard [1/day]"

SETS = ("dePillis2006Patient9",)
SETTINGS = {"tumour_drug_kill": False}
"""Settings of the mechanism and their defaults (``immune: {name: de_pillis_2006, tumour_drug_kill: true}``)."""

CELL_FLOOR = sympy.Float(1e-6)
"""cells: L and T enter D as sqrt(X^2 + 1e-6^2), so D and its Jacobian stay finite where L or T is 0
(D -> 0 as L -> 0, D -> d as T -> 0); the relative change of D is below 1e-12 once L and T exceed one cell."""

DRUG_SCALE_DEFAULT = 1000.0
"""ng/mL: de Pillis's drug level M read as plasma drug in mg/L (1 mg/L = 1000 ng/mL)."""

# key: (name, LaTeX symbol, description)
_PARAMETERS = {
    "rho": ("Tumour cell density [cells/mm3]", r"\rho_T", "tumour cells per mm3 of tumour volume (T = rho*W)"),
    "c": ("NK-cell kill rate of tumour cells [1/cell/day]", "c_N", "tumour kill per NK cell"),
    "d": ("Maximal CD8+ T-cell kill rate [1/day]", "d_L", "saturation level of the CD8+ T-cell kill rate D"),
    "l": ("CD8+ T-cell kill exponent [-]", r"\ell", "exponent of the effector:target ratio L/T in D"),
    "s": ("CD8+ T-cell kill steepness coefficient [-]", "s_L",
          "value of (L/T)^l at which the CD8+ T-cell kill rate is half maximal"),
    "e": ("NK-cell production rate from circulating lymphocytes [1/day]", "e_N",
          "fraction of circulating lymphocytes becoming NK cells per day"),
    "f": ("NK-cell death rate [1/day]", "f_N", "natural turnover of NK cells"),
    "g": ("Maximal NK-cell recruitment rate by tumour cells [1/day]", "g_N", "tumour-stimulated NK proliferation"),
    "h": ("NK-cell recruitment steepness coefficient [cells^2]", "h_N",
          "squared tumour size at which NK recruitment is half maximal"),
    "p": ("NK-cell inactivation rate by tumour cells [1/cell/day]", "p_N", "NK cells lost per tumour-cell encounter"),
    "m": ("CD8+ T-cell death rate [1/day]", "m_L", "natural turnover of CD8+ T cells"),
    "j": ("Maximal CD8+ T-cell recruitment rate by lysed tumour cells [1/day]", "j_L",
          "CD8+ T-cell recruitment driven by the CD8+ lysis flux D*T"),
    "k": ("CD8+ T-cell recruitment steepness coefficient [cells^2/day^2]", "k_L",
          "squared lysis flux (D*T)^2 at which CD8+ recruitment is half maximal"),
    "q": ("CD8+ T-cell inactivation rate by tumour cells [1/cell/day]", "q_L",
          "CD8+ T cells lost per tumour-cell encounter"),
    "r1": ("CD8+ T-cell stimulation rate by NK-lysed tumour cells [1/cell/day]", "r_1",
           "CD8+ T cells primed by tumour debris from NK kill"),
    "r2": ("CD8+ T-cell stimulation rate by circulating lymphocytes [1/cell/day]", "r_2",
           "CD8+ T cells primed by circulating lymphocyte-tumour encounters"),
    "u": ("CD8+ T-cell inactivation rate by NK cells [1/cell^2/day]", "u_L",
          "NK regulation of CD8+ T cells, quadratic in L"),
    "alpha": ("Circulating lymphocyte production rate [cells/day]", r"\alpha_C", "constant lymphocyte supply"),
    "beta": ("Circulating lymphocyte death rate [1/day]", r"\beta_C", "natural turnover of circulating lymphocytes"),
    "KN": ("NK-cell chemotherapy kill rate [1/day]", "K_N", "maximal drug kill of NK cells"),
    "KL": ("CD8+ T-cell chemotherapy kill rate [1/day]", "K_L", "maximal drug kill of CD8+ T cells"),
    "KC": ("Circulating lymphocyte chemotherapy kill rate [1/day]", "K_C",
           "maximal drug kill of circulating lymphocytes"),
    "L0": ("Initial CD8+ T cells [cells]", "L_0",
           "tumour-specific CD8+ T cells at the start (0 in a tumour-free host)"),
    "S50": ("Myeloid suppression half-effect signal [-]", "S_{50}",
            "myeloid suppression signal that halves NK and CD8+ T-cell kill"),
    "S0": ("Baseline myeloid suppression signal [-]", "S_0",
           "chronic myeloid excess present without any host-response mechanism"),
}
_TUMOUR_DRUG_KILL = ("de Pillis tumour chemotherapy kill rate [1/day]", "K_T",
                     "maximal drug kill of tumour cells in de Pillis's own kill term")


@register_mechanism
class DePillis2006(Mechanism):
    r"""de Pillis 2006 tumour–immune model: NK cells, CD8+ T cells and circulating lymphocytes.

    With tumour cells T = ρ·W [cells] (W the tumour volume [mm3], ρ = 10⁶ cells/mm3),
    the immune kill is a per-capita hazard on the tumour, added to its summed kill
    hazard (so it passes through the ``damage`` option like drug kill):

    h_I = φ·c·N + D,  D = φ·d·(L/T)^l / (s + (L/T)^l),  φ = 1/(1 + S/S50),

    dN/dt = e·C − f·N + g·T²/(h + T²)·N − p·N·T − K_N·(1 − e^{−M})·N,
    dL/dt = −m·L + j·(D·T)²/(k + (D·T)²)·L − q·L·T + (r1·N + r2·C)·T − u·N·L²
            − K_L·(1 − e^{−M})·L,
    dC/dt = α − β·C − K_C·(1 − e^{−M})·C,

    where M = Σ_drugs C_drug/C_ref,drug is de Pillis's drug level built from every
    drug of the model (C_ref [ng/mL] per drug; default 1000 ng/mL, i.e. M in mg/L).
    The immune system starts at its tumour-free steady state C* = α/β,
    N* = e·α/(β·f), L(0) = L_0 (L* = 0 without tumour). In D, L and T are read as
    sqrt(X² + ε²) with ε = 10⁻⁶ cells, so D → 0 without CD8+ T cells, D → d
    without tumour cells, and D and its Jacobian stay finite at L = 0 or T = 0.

    Tumour growth stays with the ``growth`` option (de Pillis: logistic,
    a = 0.431 /day, K = 1/(b·ρ) = 980 mm3 in the ``dePillis2006Patient9/10`` sets).
    De Pillis's drug kill of the tumour, K_T·(1 − e^{−M}), is off by default — the
    drugs' ``kill`` laws already kill the tumour — and is added with the setting
    ``tumour_drug_kill: true`` (then give the drugs ``kill: none`` to avoid counting
    drug kill twice). IL-2 and cell infusions (v_I = v_L = 0) are not modelled.

    MDSC extension [proposed]: the myeloid suppression signal S (summand
    ``"Myeloid suppression signal [-]"``; S_0 here, plus (M_c − 1) from a host-cell
    mechanism) divides NK and CD8+ kill by 1 + S/S50; the suppressed D also drives
    CD8+ recruitment.

    Like drug kill, immune kill is reduced by the host's tumour protection (1 − P),
    and T counts all of W, damaged (Simeoni transit) cells included. Near the
    carrying capacity q·T and p·T reach ~10³ /day: simulate with ``method="stiff"``.
    """

    family = "immune"
    name = "de_pillis_2006"
    citations = ("dePillis2006",)
    uses_drugs = True

    def __init__(self, species: str = "mouse", drugs: tuple[str, ...] = (), **settings) -> None:
        where = f"model options, immune: {self.name}"
        for key, value in settings.items():
            if key not in SETTINGS:
                raise OptionError(f"{where}: {unknown('setting', key, SETTINGS)}")
            if not isinstance(value, bool):
                raise OptionError(f"{where}: '{key}' must be true or false, got {value!r}")
        super().__init__(species=species, drugs=tuple(drugs), **{**SETTINGS, **settings})

    def _drug_scale(self, drug) -> Parameter:
        name = f"{drug.display_name} de Pillis drug scale [ng/mL]"
        symbol = rf"C^{{ref}}_{{{drug.symbol}}}"
        description = "plasma concentration that counts as one unit of de Pillis's drug level M"
        scale = declared(name, symbol, sets=SETS, bounds=(0.0, math.inf), description=description)
        if scale.required:
            scale = Parameter(name, symbol, DRUG_SCALE_DEFAULT,
                              "chemohost default: de Pillis's drug level M read as plasma drug in mg/L "
                              "(1 mg/L = 1000 ng/mL); the paper's unit of M is unverified here",
                              "proposed", scale.bounds, description)
        return scale

    def declare(self) -> Declaration:
        par = {key: declared(name, symbol, sets=SETS, description=text)
               for key, (name, symbol, text) in _PARAMETERS.items()}
        v = {key: p.sym for key, p in par.items()}
        drugs = [get_drug(d) for d in self.settings["drugs"]]
        scales = [self._drug_scale(drug) for drug in drugs]
        params = [*par.values(), *scales]

        N = State(NK_CELLS, "N", v["e"] * v["alpha"] / (v["beta"] * v["f"]),
                  "natural killer cells, at their tumour-free steady state e*alpha/(beta*f) at the start")
        L = State(CD8_CELLS, "L", v["L0"], "tumour-specific cytotoxic CD8+ T cells")
        C = State(LYMPHOCYTES, "C", v["alpha"] / v["beta"],
                  "circulating lymphocytes, at their steady state alpha/beta at the start")
        n, lym, c = N.sym, L.sym, C.sym
        T, M, D, phi, S = (Q(x) for x in (TUMOUR_CELLS, CHEMOTHERAPY_LEVEL, CD8_KILL, SUPPRESSION, MYELOID_SUPPRESSION))

        chemo = sympy.Add(*(Q(plasma(drug.key)) / scale.sym for drug, scale in zip(drugs, scales)))
        drug_kill = 1 - sympy.exp(-M)  # 0 without drugs (M = 0)
        lym_l, tum_l = ((x**2 + CELL_FLOOR**2) ** (v["l"] / 2) for x in (lym, T))  # L^l, T^l, finite slopes at 0
        cd8 = v["d"] * lym_l / (v["s"] * tum_l + lym_l)
        lysis = D * T

        hazard = Q(IMMUNE_KILL_HAZARD)
        if self.settings["tumour_drug_kill"]:
            kt = declared(*_TUMOUR_DRUG_KILL[:2], sets=SETS, description=_TUMOUR_DRUG_KILL[2])
            params.append(kt)
            hazard = hazard + kt.sym * drug_kill
        variables = {
            TUMOUR_CELLS: v["rho"] * Q(TUMOUR_VOLUME),
            CHEMOTHERAPY_LEVEL: chemo,
            SUPPRESSION: 1 / (1 + S / v["S50"]),
            CD8_KILL: phi * cd8,
            IMMUNE_KILL_HAZARD: phi * v["c"] * n + D,
        }
        rhs = {
            N.name: v["e"] * c - v["f"] * n + v["g"] * T**2 / (v["h"] + T**2) * n - v["p"] * n * T
            - v["KN"] * drug_kill * n,
            L.name: -v["m"] * lym + v["j"] * lysis**2 / (v["k"] + lysis**2) * lym - v["q"] * lym * T
            + (v["r1"] * n + v["r2"] * c) * T - v["u"] * n * lym**2 - v["KL"] * drug_kill * lym,
            C.name: v["alpha"] - v["beta"] * c - v["KC"] * drug_kill * c,
        }
        return Declaration(
            states=[N, L, C],
            parameters=params,
            variables=variables,
            summands={KILL_HAZARD: hazard, QUIESCENT_KILL_HAZARD: hazard, MYELOID_SUPPRESSION: v["S0"]},
            rhs=rhs,
            symbols={TUMOUR_CELLS: "T", CHEMOTHERAPY_LEVEL: "M", CD8_KILL: "D", SUPPRESSION: r"\varphi",
                     IMMUNE_KILL_HAZARD: "h_I", MYELOID_SUPPRESSION: "S"},
        )


__all__ = ["DePillis2006", "MYELOID_SUPPRESSION", "NK_CELLS", "CD8_CELLS", "LYMPHOCYTES", "TUMOUR_CELLS"]
