from __future__ import annotations

from ...core import Declaration, Mechanism, State, register_mechanism
from ...quantities import (DAMAGED_VOLUME, INITIAL_VOLUME, KILL_FLUX, KILL_HAZARD, PROTECTION, QUIESCENT_KILL_HAZARD,
                           REPOPULATION, TUMOUR_VOLUME, VIABLE_VOLUME, B, H, P, R)
from .._defaults import declared
from .single import PROLIFERATING, SYMBOLS

PERSISTER = "Persister tumour volume [mm3]"
PERSISTER_FRACTION = "Persister fraction [-]"


@register_mechanism
class Persisters(Mechanism):
    r"""Cycling cells and reversible drug-tolerant persisters (MODEL_SPEC §4.3; Sharma et al. 2010).

    dS/dt = r·(1 + b)·S − h·(1 − P)·S − s_SP·S + s_PS·D and
    dD/dt = s_SP·S − s_PS·D − ρ_P·h·(1 − P)·D, with switching into the
    persister state s_SP = s_0·h/(h + h_50) rising with the summed kill hazard h
    of the drugs (a drug-induced, non-genetic switch, 0 without drug) and a
    constant switch back s_PS. Persisters do not divide and are killed at the
    fraction ρ_P ≪ 1 of the cycling cells' hazard, so a lethal exposure leaves a
    small reservoir (about 0.3% of cells in Sharma 2010) that returns to the
    cycle and regrows the tumour once the drug is gone. Killed cells leave at
    the flux h·(1 − P)·(S + ρ_P·D).
    """

    family = "tumour"
    name = "persisters"
    citations = ("Sharma2010",)

    def declare(self):
        sets = ("Resistance",)
        v0 = declared(INITIAL_VOLUME, "V_0", sets=("Benzekry2014LLC",),
                      description="tumour volume at the start of the simulation")
        s0 = declared("Maximal persister switching rate [1/day]", "s_0", sets=sets,
                      description="rate of entry into the persister state at a saturating kill hazard")
        h50 = declared("Persister switching half-saturation hazard [1/day]", "h_{50}", sets=sets,
                       description="kill hazard at which entry into the persister state is half-maximal")
        sps = declared("Persister reversion rate [1/day]", "s_{PS}", sets=sets,
                       description="rate at which persisters return to the cycling state")
        rho = declared("Persister relative drug sensitivity [-]", r"\rho_P", sets=sets, bounds=(0.0, 1.0),
                       description="kill hazard of persisters relative to cycling cells")
        s = State(PROLIFERATING, "x_1", v0.sym, "tumour volume of cycling, drug-sensitive cells")
        d = State(PERSISTER, "D", 0.0, "tumour volume of non-dividing drug-tolerant persisters")
        S, D = s.sym, d.sym
        kill = H * (1 - P)
        switch = s0.sym * H / (H + h50.sym)
        return Declaration(
            states=[s, d],
            parameters=[v0, s0, h50, sps, rho],
            rhs={
                s.name: R * (1 + B) * S - kill * S - switch * S + sps.sym * D,
                d.name: switch * S - sps.sym * D - rho.sym * kill * D,
            },
            variables={KILL_FLUX: kill * (S + rho.sym * D), VIABLE_VOLUME: S + D,
                       PERSISTER_FRACTION: D / (S + D)},
            summands={TUMOUR_VOLUME: S + D, KILL_HAZARD: 0, QUIESCENT_KILL_HAZARD: 0, PROTECTION: 0,
                      REPOPULATION: 0, DAMAGED_VOLUME: 0},
            symbols={**SYMBOLS, PERSISTER_FRACTION: "f_D"},
        )


__all__ = ["Persisters", "PERSISTER", "PERSISTER_FRACTION"]
