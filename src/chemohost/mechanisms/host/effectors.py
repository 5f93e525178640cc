"""Drug-induced host effector signals (SDF-1, G-CSF, VEGF-A, IL-1β, IL-6, MMP-9, EV niche signal)."""

from __future__ import annotations

import math

import sympy

from ..._errors import OptionError, unknown
from ...core import Declaration, Mechanism, Q, State, register_mechanism
from ...drugs import get_drug
from ...parameters import parameter_sets
from ...quantities import EFFECTORS, EXOGENOUS_GCSF, IL1_SIGNALLING, MMP9_ACTIVITY, blockade, effector, plasma
from .._defaults import declared

HOST_SETS = ("RMM1Host",)
SYMBOL = {"sdf1": "S", "gcsf": "G", "vegf": "V_g", "il1b": "I_1", "il6": "I_6", "mmp9": "M_m", "ev": "E_v"}
ACTIVITY = {"il1b": (IL1_SIGNALLING, "il1r"), "mmp9": (MMP9_ACTIVITY, "mmp9")}
"""Effectors whose downstream action a blocker can stop: the activity is 1 + (X − 1)·(1 − blockade)."""
TRANSITS = 3


def _has_default(name: str) -> bool:
    return any(name in parameter_sets[s].values for s in HOST_SETS if s in parameter_sets)


@register_mechanism
class IndirectResponse(Mechanism):
    r"""Host effector signals as drug-stimulated indirect responses (Jusko), relative to baseline.

    dX/dt = k_X·[1 + Σ_d Emax_{X,d}·C_d^h/(EC50_{X,d}^h + C_d^h) + Σ_d Emax^{del}_{X,d}·T_{3,d}] − k_X·X,
    k_X = ln 2/t½_X, X = 1 at rest. The delayed term passes a drug's stimulus
    C^n/(C^n + EC50^n) through three transit compartments (mean transit time τ), giving
    the rebound a few days after MTD cyclophosphamide or the late peak after a
    vascular-disrupting agent. Drug–effector pairs absent from the potency table
    (parameter set ``RMM1Host``) have no induction; add the pair's Emax and EC50
    to a parameter set to switch it on. G-CSF is left to ``toxicity: quartino``
    when that is chosen (neutropenia then raises it); G-CSF given as a drug adds to it.

    IL-1β and MMP-9 act through their activities I_1^{act} = 1 + (I_1 − 1)·(1 − b_IL1R) and
    M_m^{act} = 1 + (M_m − 1)·(1 − b_MMP9), which blockers lower.
    """

    family = "effectors"
    name = "indirect_response"
    citations = ("Shaked2008", "Bertolini2003", "Taylor2012", "GingisVelitski2011", "Voloshin2015", "Keklikoglou2019")
    uses_drugs = True
    uses_options = True

    def __init__(self, species="mouse", drugs=(), model_options=None, channels=None):
        channels = list(EFFECTORS) if channels is None else list(channels)
        for c in channels:
            if c not in EFFECTORS:
                raise OptionError("effectors: " + unknown("channel", c, EFFECTORS))
        toxicity = (model_options or {}).get("toxicity")
        toxicity = toxicity.get("name") if isinstance(toxicity, dict) else toxicity
        if toxicity == "quartino" and "gcsf" in channels:
            channels.remove("gcsf")
        super().__init__(species=species, drugs=tuple(drugs), channels=tuple(channels))

    def declare(self):
        species = self.settings["species"]
        agents = [get_drug(d) for d in self.settings["drugs"]]
        agents = [a for a in agents if not a.is_blocker]
        decl = Declaration(summands={EXOGENOUS_GCSF: 0, blockade("il1r"): 0, blockade("mmp9"): 0},
                           symbols={EXOGENOUS_GCSF: r"G_{exo}", blockade("il1r"): r"b_{IL1R}",
                                    blockade("mmp9"): r"b_{MMP9}"})

        def par(name, symbol, description, bounds=(0.0, math.inf)):
            p = declared(name, symbol, sets=HOST_SETS, species=species, bounds=bounds, description=description)
            decl.parameters.append(p)
            return p.sym

        delayed = {}
        for agent in agents:
            ec50_name = f"{agent.display_name} delayed induction EC50 [ng/mL]"
            if not _has_default(ec50_name):
                continue
            ec50 = par(ec50_name, rf"EC^{{del}}_{{50,{agent.symbol}}}", "concentration of half-maximal delayed stimulus")
            tau = par(f"{agent.display_name} delayed induction transit time [day]", rf"\tau_{{{agent.symbol}}}",
                      "mean transit time of the delayed host stimulus")
            hill = par(f"{agent.display_name} delayed induction Hill coefficient [-]", rf"h^{{del}}_{{{agent.symbol}}}",
                       "steepness of the delayed stimulus (high: only MTD exposure triggers it)")
            c = Q(plasma(agent.key))
            stages = [State(f"{agent.display_name} delayed host stimulus {i} [-]", rf"T_{{{i},{agent.symbol}}}", 0.0,
                            f"stage {i} of the delayed stimulus") for i in range(1, TRANSITS + 1)]
            k = TRANSITS / tau
            upstream = c**hill / (c**hill + ec50**hill)
            for stage in stages:
                decl.states.append(stage)
                decl.rhs[stage.name] = k * (upstream - stage.sym)
                upstream = stage.sym
            delayed[agent.key] = stages[-1].sym

        for key in self.settings["channels"]:
            label, sym = EFFECTORS[key], SYMBOL[key]
            half_life = par(f"{label} response half-life [day]", rf"t_{{1/2,{sym}}}", f"effective half-life of the {label} response")
            k = sympy.log(2) / half_life
            stimulus = sympy.Integer(0)
            hill_name = f"{label} induction Hill coefficient [-]"
            hill = None
            for agent in agents:
                emax_name = f"{agent.display_name} {label} induction Emax [-]"
                if _has_default(emax_name):
                    hill = hill if hill is not None else par(hill_name, rf"h_{{{sym}}}", "steepness of induction")
                    emax = par(emax_name, rf"E^{{{sym}}}_{{max,{agent.symbol}}}", f"maximal {label} induction by {agent.key}")
                    ec50 = par(f"{agent.display_name} {label} induction EC50 [ng/mL]", rf"EC^{{{sym}}}_{{50,{agent.symbol}}}",
                               f"{agent.key} concentration of half-maximal {label} induction")
                    c = Q(plasma(agent.key))
                    stimulus += emax * c**hill / (ec50**hill + c**hill)
                delayed_name = f"{agent.display_name} {label} delayed induction Emax [-]"
                if agent.key in delayed and _has_default(delayed_name):
                    emax = par(delayed_name, rf"E^{{{sym},del}}_{{max,{agent.symbol}}}", f"delayed {label} induction by {agent.key}")
                    stimulus += emax * delayed[agent.key]
            state = State(f"{label} signal [-]" if key == "gcsf" else effector(label), sym, 1.0,
                          f"plasma {label} relative to baseline")
            decl.states.append(state)
            decl.rhs[state.name] = k * (1 + stimulus) - k * state.sym
            if key == "gcsf":  # endogenous response plus G-CSF given as a drug
                decl.variables[effector(label)] = state.sym + Q(EXOGENOUS_GCSF)
                decl.symbols[effector(label)] = r"G_{tot}"
            if key in ACTIVITY:
                name, channel = ACTIVITY[key]
                decl.variables[name] = 1 + (state.sym - 1) * (1 - Q(blockade(channel)))
                decl.symbols[name] = rf"{sym}^{{act}}"
        return decl
