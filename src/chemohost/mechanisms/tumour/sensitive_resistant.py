from __future__ import annotations

from ...core import Declaration, Mechanism, State, register_mechanism
from ...quantities import (DAMAGED_VOLUME, INITIAL_VOLUME, KILL_FLUX, KILL_HAZARD, PROTECTION, QUIESCENT_KILL_HAZARD,
                           REPOPULATION, TUMOUR_VOLUME, VIABLE_VOLUME, B, H, P, R)
from .._defaults import declared
from .single import SYMBOLS

SENSITIVE = "Sensitive tumour volume [mm3]"
RESISTANT = "Resistant tumour volume [mm3]"
RESISTANT_FRACTION = "Resistant fraction [-]"
DRUG_INDUCED_MUTATION = "Drug-induced mutation probability per kill hazard [day]"


@register_mechanism
class SensitiveResistant(Mechanism):
    r"""Drug-sensitive and resistant clones sharing one growth law (Goldie–Coldman; MODEL_SPEC §4.1, §4.2).

    dS/dt = r·(1 + b)·S·(1 − μ) − h·(1 − P)·S and
    dR/dt = r·(1 + b)·R + μ·r·(1 + b)·S − ρ·h·(1 − P)·R, with
    μ = μ_0 + μ_h·h·(1 − P), where r = r(W) is the growth law's per-capita rate
    of the total volume (so both clones compete for the same space), μ the
    probability that a division of a sensitive cell yields a resistant one, and
    ρ ∈ [0, 1] the resistant cells' drug sensitivity relative to the sensitive
    ones (ρ = 0: fully resistant). μ_0 is the spontaneous (Goldie–Coldman)
    mutation probability; μ_h [day] makes it rise with the effective kill
    hazard h·(1 − P) the sensitive cells are exposed to (drug-induced
    mutagenesis, acquired resistance; 0 by default, and meant for
    μ_h·h ≪ 1). The mutation flux μ·r·(1 + b)·S is the deterministic
    expectation of the branching process; it stands for divisions only while
    r > 0 (below the growth law's plateau), which is where it is meant to be
    used. Killed cells leave at the flux h·(1 − P)·(S + ρ·R).
    """

    family = "tumour"
    name = "sensitive_resistant"
    citations = ("GoldieColdman1979",)

    def declare(self):
        sets = ("Resistance",)
        v0 = declared(INITIAL_VOLUME, "V_0", sets=("Benzekry2014LLC",),
                      description="tumour volume at the start of the simulation")
        fr = declared("Initial resistant fraction [-]", "f_R", sets=sets, bounds=(0.0, 1.0),
                      description="share of the initial volume made of resistant cells")
        mu = declared("Resistance mutation probability [-]", r"\mu_0", sets=sets, bounds=(0.0, 1.0),
                      description="probability that a division of a sensitive cell gives a resistant cell, without drug")
        mu_h = declared(DRUG_INDUCED_MUTATION, r"\mu_h", sets=sets,
                        description="rise of the mutation probability per unit effective kill hazard")
        rho = declared("Resistant relative drug sensitivity [-]", r"\rho", sets=sets, bounds=(0.0, 1.0),
                       description="kill hazard of resistant cells relative to sensitive ones (0: fully resistant)")
        s = State(SENSITIVE, "S", (1 - fr.sym) * v0.sym, "tumour volume of drug-sensitive cycling cells")
        r = State(RESISTANT, "R_{res}", fr.sym * v0.sym, "tumour volume of drug-resistant cycling cells")
        S, Rs = s.sym, r.sym
        growth = R * (1 + B)
        kill = H * (1 - P)
        mutation = mu.sym + mu_h.sym * kill
        return Declaration(
            states=[s, r],
            parameters=[v0, fr, mu, mu_h, rho],
            rhs={
                s.name: growth * S * (1 - mutation) - kill * S,
                r.name: growth * Rs + mutation * growth * S - rho.sym * kill * Rs,
            },
            variables={KILL_FLUX: kill * (S + rho.sym * Rs), VIABLE_VOLUME: S + Rs,
                       RESISTANT_FRACTION: Rs / (S + Rs)},
            summands={TUMOUR_VOLUME: S + Rs, KILL_HAZARD: 0, QUIESCENT_KILL_HAZARD: 0, PROTECTION: 0,
                      REPOPULATION: 0, DAMAGED_VOLUME: 0},
            symbols={**SYMBOLS, RESISTANT_FRACTION: "f_{res}"},
        )


__all__ = ["SensitiveResistant", "SENSITIVE", "RESISTANT", "RESISTANT_FRACTION", "DRUG_INDUCED_MUTATION"]
