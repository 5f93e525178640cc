from __future__ import annotations

import sympy

from ...core import Declaration, Mechanism, Q, State, register_mechanism
from .._defaults import declared
from ...quantities import EXOGENOUS_GCSF, effector
from ._base import (BASELINE, MEAN_TRANSIT_TIME, MYELOSUPPRESSION, NEUTROPHILS, PROGENITORS, PROLIFERATION,
                    QUARTINO_SETS, SYMBOLS, transit)

N_TRANSIT = 4
GCSF = "Plasma G-CSF [pg/mL]"


@register_mechanism
class Quartino(Mechanism):
    r"""Quartino 2014 neutropenia with endogenous G-CSF: 4 transit compartments, G-CSF feedback.

    dProl/dt = k_tr·Prol·(1 − E)·g^γ − k_tr·g^β·Prol, dTr_i/dt = k_tr·g^β·(Tr_{i−1} − Tr_i),
    dCirc/dt = k_tr·g^β·Tr4 − k_circ·Circ and dG/dt = k_in − (k_e + k_ANC·Circ)·G, with
    g = G/G0 + G_exo the host effector ``"G-CSF [-]"`` (G_exo: G-CSF given as a
    drug, 0 without it), k_tr = 5/MTT, k_circ = ln 2/t½ and
    k_in = G0·(k_e + k_ANC·Circ0) so that the baseline is a steady state
    (Prol = Tr_i = k_circ·Circ0/k_tr). Neutrophils clear G-CSF, so neutropenia
    raises G-CSF, which speeds proliferation (``γ``) and maturation (``β``);
    E [-] is the summed, uncapped drug effect of the ``myelosuppression`` laws
    (Quartino et al. 2014; MODEL_SPEC §8.3).
    """

    family = "toxicity"
    name = "quartino"
    citations = ("Quartino2014",)

    def __init__(self, species: str = "mouse"):
        super().__init__(species=species)

    def declare(self):
        species = self.settings["species"]
        sets = QUARTINO_SETS[species]

        def par(name, symbol, description):
            return declared(name, symbol, sets=sets, species=species, description=description)

        circ0 = par(BASELINE, r"N_{c,0}", "circulating neutrophil count before treatment (10⁹ cells/L)")
        mtt = par(MEAN_TRANSIT_TIME, r"\mathrm{MTT}", "mean time from proliferating progenitor to the blood")
        half_life = par("Circulating neutrophil half-life [day]", r"t_{1/2,N}", "half-life of neutrophils in blood")
        gamma = par("G-CSF proliferation exponent [-]", r"\gamma_G", "effect of G-CSF on progenitor proliferation")
        beta = par("G-CSF maturation exponent [-]", r"\beta_G", "effect of G-CSF on the speed of maturation")
        ke = par("G-CSF elimination rate [1/day]", r"k_e", "G-CSF elimination other than by neutrophils")
        kanc = par("G-CSF clearance per neutrophil [nL/day]", r"k_{ANC}",
                   "G-CSF elimination rate per circulating neutrophil count (receptor-mediated uptake)")
        g0 = par("Baseline plasma G-CSF [pg/mL]", r"G_0", "plasma G-CSF before treatment")
        ktr = (N_TRANSIT + 1) / mtt.sym
        kcirc = sympy.log(2) / half_life.sym
        reserve = kcirc * circ0.sym / ktr  # steady-state content of each marrow compartment
        chain = [State(PROGENITORS, SYMBOLS[PROGENITORS], reserve, "proliferating neutrophil precursors"),
                 *(State(transit(i), rf"N_{{t,{i}}}", reserve, f"maturing neutrophils, stage {i}")
                   for i in range(1, N_TRANSIT + 1)),
                 State(NEUTROPHILS, SYMBOLS[NEUTROPHILS], circ0.sym, "absolute neutrophil count in blood")]
        g_state = State(GCSF, "G", g0.sym, "endogenous G-CSF in plasma")
        x, G = [s.sym for s in chain], g_state.sym
        g = Q(effector("G-CSF"))  # endogenous G/G0 plus G-CSF given as a drug
        kin = g0.sym * (ke.sym + kanc.sym * circ0.sym)
        maturation = ktr * g**beta.sym
        rhs = {PROGENITORS: Q(PROLIFERATION) * (1 - Q(MYELOSUPPRESSION)) - maturation * x[0]}
        rhs.update({s.name: maturation * (x[i - 1] - x[i]) for i, s in enumerate(chain[:-1]) if i > 0})
        rhs[NEUTROPHILS] = maturation * x[-2] - kcirc * x[-1]
        rhs[GCSF] = kin - (ke.sym + kanc.sym * x[-1]) * G
        return Declaration(
            states=[*chain, g_state],
            parameters=[circ0, mtt, half_life, gamma, beta, ke, kanc, g0],
            rhs=rhs,
            variables={effector("G-CSF"): G / g0.sym + Q(EXOGENOUS_GCSF), PROLIFERATION: ktr * x[0] * g**gamma.sym},
            summands={MYELOSUPPRESSION: 0, EXOGENOUS_GCSF: 0},
            symbols={effector("G-CSF"): r"\hat{G}", PROLIFERATION: SYMBOLS[PROLIFERATION],
                     MYELOSUPPRESSION: SYMBOLS[MYELOSUPPRESSION], EXOGENOUS_GCSF: r"G_{exo}"},
        )
