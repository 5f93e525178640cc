from __future__ import annotations

from ...core import Declaration, Mechanism, Q, State, register_mechanism
from .._defaults import declared
from ._base import (BASELINE, DEFAULT_SETS, MEAN_TRANSIT_TIME, MYELOSUPPRESSION, NEUTROPHILS, PROGENITORS,
                    PROLIFERATION, SYMBOLS, transit)

N_TRANSIT = 3


@register_mechanism
class Friberg(Mechanism):
    r"""Friberg 2002 neutropenia: progenitors → 3 transit compartments → circulating neutrophils.

    dProl/dt = k_tr·Prol·(1 − E)·(Circ0/Circ)^γ − k_tr·Prol,
    dTr_i/dt = k_tr·(Tr_{i−1} − Tr_i), dCirc/dt = k_tr·(Tr3 − Circ), with
    k_tr = (n + 1)/MTT = 4/MTT; every compartment starts at Circ0 (steady state).
    ``Circ0`` [10⁹/L] is the baseline count, ``MTT`` [day] the mean time from
    progenitor to blood, ``γ`` [-] the strength of the rebound feedback, and
    E [-] the summed drug effect of the ``myelosuppression`` laws, uncapped
    (Friberg et al. 2002; MODEL_SPEC §8.2).
    """

    family = "toxicity"
    name = "friberg"
    citations = ("Friberg2002",)

    def __init__(self, species: str = "mouse"):
        super().__init__(species=species)

    def declare(self):
        sets = DEFAULT_SETS[self.settings["species"]]
        circ0 = declared(BASELINE, r"N_{c,0}", sets=sets, species=self.settings["species"],
                         description="circulating neutrophil count before treatment (10⁹ cells/L)")
        mtt = declared(MEAN_TRANSIT_TIME, r"\mathrm{MTT}", sets=sets, species=self.settings["species"],
                       description="mean time from proliferating progenitor to circulating neutrophil")
        gamma = declared("Neutrophil feedback exponent [-]", r"\gamma", sets=sets, species=self.settings["species"],
                         description="strength of the rebound feedback (Circ0/Circ)^γ on proliferation")
        chain = [State(PROGENITORS, SYMBOLS[PROGENITORS], circ0.sym, "proliferating neutrophil precursors"),
                 *(State(transit(i), rf"N_{{t,{i}}}", circ0.sym, f"maturing neutrophils, stage {i}")
                   for i in range(1, N_TRANSIT + 1)),
                 State(NEUTROPHILS, SYMBOLS[NEUTROPHILS], circ0.sym, "absolute neutrophil count in blood")]
        x = [s.sym for s in chain]
        ktr = (N_TRANSIT + 1) / mtt.sym
        rhs = {PROGENITORS: Q(PROLIFERATION) * (1 - Q(MYELOSUPPRESSION)) - ktr * x[0]}
        rhs.update({s.name: ktr * (x[i - 1] - x[i]) for i, s in enumerate(chain) if i > 0})
        return Declaration(
            states=chain,
            parameters=[circ0, mtt, gamma],
            rhs=rhs,
            variables={PROLIFERATION: ktr * x[0] * (circ0.sym / x[-1]) ** gamma.sym},
            summands={MYELOSUPPRESSION: 0},
            symbols={PROLIFERATION: SYMBOLS[PROLIFERATION], MYELOSUPPRESSION: SYMBOLS[MYELOSUPPRESSION]},
        )
