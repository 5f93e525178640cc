from __future__ import annotations

import sympy

from ...core import Declaration, Mechanism, State, register_mechanism
from ...quantities import (DAMAGED_VOLUME, KILL_FLUX, KILL_HAZARD, PROTECTION, QUIESCENT_KILL_HAZARD, REPOPULATION,
                           TUMOUR_VOLUME, VIABLE_VOLUME, B, H, P)
from .._defaults import declared
from .sensitive_resistant import RESISTANT_FRACTION
from .single import SYMBOLS

POPULATIONS = {"T+": "T^{+}", "TP": "T^{P}", "T-": "T^{-}"}
"""Zhang 2017's populations and their LaTeX labels: T+ (needs TP), TP (supports T+), T− (independent)."""


def population_volume(population: str) -> str:
    """``"T- tumour volume [mm3]"``: the state of one of the populations ``"T+"``, ``"TP"``, ``"T-"``."""
    return f"{population} tumour volume [mm3]"


@register_mechanism
class LotkaVolterra(Mechanism):
    r"""Three competing populations (Zhang et al. 2017; MODEL_SPEC §4.4, continuous form).

    dx_i/dt = r_i·(1 + b)·x_i·(1 − Σ_j a_ij·x_j/K_i) − σ_i·h·(1 − P)·x_i for
    i ∈ {T+, TP, T−}, with a_ii = 1, fixed capacities K_TP and K_T− [mm3] and
    K_T+ = X·x_TP: TP cells produce the factor T+ cells need, so the T+ capacity
    grows with them. a_ij [-] is the competitive effect of population j on i,
    r_i [1/day] the per-capita growth rate at low density, and σ_i [-] the
    population's sensitivity to the summed kill hazard h of the drugs (T−:
    0, resistant). b (repopulation boost) and P (protection) are the host
    response's effects, 0 without host mechanisms. The reference discrete map
    x ← x + x·G (:func:`chemohost.resistance.zhang2017_map`) is this equation's
    forward-Euler step of one "generation", read as one day. Killed cells leave
    at the flux h·(1 − P)·Σ_i σ_i·x_i; the tumour volume is Σ_i x_i and the
    resistant fraction x_T−/Σ_i x_i. T+ needs TP: with x_TP = 0 its capacity
    is 0, so start T+ only beside TP.
    """

    family = "tumour"
    name = "lotka_volterra"
    citations = ("Zhang2017",)
    requires = {"growth": "none", "drugs.kill": ("none", "linear", "emax")}

    def declare(self):
        sets = ("Zhang2017",)
        keys = list(POPULATIONS)
        states, params, rate, sens, capacity = [], [], {}, {}, {}
        for key, label in POPULATIONS.items():
            x0 = declared(f"Initial {key} volume [mm3]", f"x_{{{label},0}}", sets=sets,
                          description=f"{key} volume at the start of the simulation")
            states.append(State(population_volume(key), f"x_{{{label}}}", x0.sym, f"volume of {key} cells"))
            r = declared(f"{key} growth rate [1/day]", f"r_{{{label}}}", sets=sets,
                         description=f"per-capita growth rate of {key} cells at low density")
            s = declared(f"{key} relative drug sensitivity [-]", rf"\sigma_{{{label}}}", sets=sets,
                         bounds=(0.0, 1.0), description=f"kill hazard of {key} cells relative to the drugs' hazard")
            params += [x0, r, s]
            rate[key], sens[key] = r.sym, s.sym
            if key != "T+":
                k = declared(f"{key} carrying capacity [mm3]", f"K_{{{label}}}", sets=sets,
                             description=f"volume at which {key} cells stop growing on their own")
                params.append(k)
                capacity[key] = k.sym
        support = declared("T+ capacity per TP volume [-]", "X", sets=sets,
                           description="T+ carrying capacity provided per unit TP volume")
        params.append(support)
        x = {key: st.sym for key, st in zip(keys, states)}
        capacity["T+"] = support.sym * x["TP"]
        crowding = {key: x[key] for key in keys}
        for i in keys:
            for j in keys:
                if i == j:
                    continue
                a = declared(f"Competition of {j} on {i} [-]", f"a_{{{POPULATIONS[i]}{POPULATIONS[j]}}}", sets=sets,
                             description=f"competitive effect of a unit of {j} volume on {i} cells")
                params.append(a)
                crowding[i] = crowding[i] + a.sym * x[j]
        kill = H * (1 - P)
        rhs = {st.name: rate[k] * (1 + B) * x[k] * (1 - crowding[k] / capacity[k]) - sens[k] * kill * x[k]
               for k, st in zip(keys, states)}
        total = sympy.Add(*x.values())
        return Declaration(
            states=states,
            parameters=params,
            rhs=rhs,
            variables={KILL_FLUX: kill * sympy.Add(*(sens[k] * x[k] for k in keys)), VIABLE_VOLUME: total,
                       RESISTANT_FRACTION: x["T-"] / total},
            summands={TUMOUR_VOLUME: total, KILL_HAZARD: 0, QUIESCENT_KILL_HAZARD: 0, PROTECTION: 0,
                      REPOPULATION: 0, DAMAGED_VOLUME: 0},
            symbols={**SYMBOLS, RESISTANT_FRACTION: "f_{res}"},
        )


__all__ = ["LotkaVolterra", "POPULATIONS", "population_volume"]
