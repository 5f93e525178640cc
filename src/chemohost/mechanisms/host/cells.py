"""Bone-marrow-derived cells: mobilisation, drug kill, homing to the damaged tumour, and their effects on it."""

from __future__ import annotations

import math

import sympy

from ..._errors import OptionError, unknown
from ...core import Declaration, Mechanism, Q, State, register_mechanism
from ...drugs import get_drug
from ...quantities import (CEP, DAMAGED_VOLUME, DAMAGE_SIGNAL, HOMED_EPC, HOMED_MYELOID, IL1_SIGNALLING, MYELOID,
                           MYELOID_SUPPRESSION, PERMEABILITY, PROTECTION, REPOPULATION, TUMOUR_VOLUME, VASCULAR_SUPPORT,
                           blockade, effector, plasma)
from .._defaults import declared
from .effectors import HOST_SETS, _has_default

COUPLINGS = ("vasculogenesis", "protection", "repopulation", "permeability")
TINY_VOLUME = 1e-6  # mm3; keeps the damage fraction finite in a tumour-free host


@register_mechanism
class BoneMarrowDerivedCells(Mechanism):
    r"""Circulating and tumour-homed endothelial progenitors (CEPs) and myeloid cells.

    Circulating cells, relative to baseline:
    dE_c/dt = k_E·[1 + σ_S·(S − 1)·(1 − b_CXCR4) + σ_G·(G − 1) + σ_V·(V_g − 1)·(1 − b_VEGFR2)] − k_E·E_c − Σ_d κ_{E,d}(C_d)·E_c,
    dM_c/dt = k_M·[1 + σ_{MG}·(G − 1) + σ_{M6}·(I_6 − 1) + σ_{ME}·(E_v − 1)] − k_M·M_c − Σ_d κ_{M,d}(C_d)·M_c,
    with direct drug kill κ(C) = κ_max·C/(EC50 + C). Homing to the tumour rises with
    its damage signal D_T = 1 + ν·V_dam/W (the killed-cell pool of the damage chain):
    dB_E/dt = δ_B·[E_c·D_T·(1 − b_VEGFR2) − B_E] and
    dB_M/dt = δ_M·[M_c·D_T·(1 + c·(E_v − 1))·(1 − b_CCR2)·e^{−c_I·(I_1^{act} − 1)} − B_M] (1 at rest).
    B_M counts the pro-tumour (M2-like) homed myeloid cells; IL-1 signalling
    I_1^{act} restrains their recruitment (c_I), so blocking the IL-1 receptor after
    paclitaxel leaves more M2 cells in the tumour (Voloshin 2015 [V abstract]:
    paclitaxel + anakinra tumours hold more M2 macrophages than paclitaxel alone).
    Effects on the tumour are deviations from the untreated host in which growth
    and kill were fitted (zero at rest): vasculogenic support b_E·(B_E − 1) + b_I·(I_1^{act} − 1)·(1 − b_VEGFR2)
    of the carrying capacity (homed EPCs, and IL-1β from paclitaxel-treated macrophages,
    angiogenic through VEGF-A/VEGFR2: blocking IL-1 slightly slows the primary, Voloshin 2015);
    protection P_max·[B'/(B50 + B') − 1/(B50 + 1)] of tumour cells from drug kill,
    with B' = (1 − b_CSF1R)·B_M; a repopulation boost ε_g·(B' − 1) of the growth rate; and the
    vascular permeability φ_perm = e^{ε_φ·(B' − 1)} (M2 cells make vessels leaky,
    read by the metastasis mechanisms). Each coupling can be left out with the
    ``couplings`` setting. b_X are the blockades of adjuvant agents (0 without them).
    """

    family = "host_cells"
    name = "bmdc"
    citations = ("Shaked2008", "Shaked2005", "Bertolini2003", "Nakasone2012", "DiazMontero2009", "Stoll2003")
    uses_drugs = True
    requires = {"effectors": "indirect_response"}

    def __init__(self, species="mouse", drugs=(), couplings=COUPLINGS):
        couplings = (couplings,) if isinstance(couplings, str) else tuple(couplings)
        for c in couplings:
            if c not in COUPLINGS:
                raise OptionError("host_cells: " + unknown("coupling", c, COUPLINGS))
        super().__init__(species=species, drugs=tuple(drugs), couplings=couplings)

    def declare(self):
        species = self.settings["species"]
        agents = [a for a in (get_drug(d) for d in self.settings["drugs"]) if not a.is_blocker]
        channels = ("vegfr2", "cxcr4", "ccr2", "csf1r")
        decl = Declaration(summands={blockade(c): 0 for c in channels},
                           symbols={blockade(c): rf"b_{{{c.upper()}}}" for c in channels})

        def par(name, symbol, description, bounds=(0.0, math.inf)):
            p = declared(name, symbol, sets=HOST_SETS, species=species, bounds=bounds, description=description)
            decl.parameters.append(p)
            return p.sym

        S, G, Vg, I6, Ev = (Q(effector(x)) for x in ("SDF-1", "G-CSF", "VEGF-A", "IL-6", "EV niche signal"))
        b = {c: Q(blockade(c)) for c in channels}

        def direct_kill(cell: str, sym: str):
            total = 0
            for agent in agents:
                rate_name = f"{agent.display_name} {cell} kill rate [1/day]"
                if not _has_default(rate_name):
                    continue
                rate = par(rate_name, rf"\kappa^{{{sym}}}_{{{agent.symbol}}}", f"maximal kill of {cell}s by {agent.key}")
                ec50 = par(f"{agent.display_name} {cell} kill EC50 [ng/mL]", rf"EC^{{\kappa {sym}}}_{{50,{agent.symbol}}}",
                           f"{agent.key} concentration of half-maximal {cell} kill")
                c = Q(plasma(agent.key))
                total += rate * c / (ec50 + c)
            return total

        # circulating endothelial progenitors
        k_e = math.log(2) / par("CEP response half-life [day]", r"t_{1/2,E}", "half-life of circulating CEPs")
        sig_s = par("CEP mobilisation by SDF-1 [-]", r"\sigma_S", "CEP rise per unit SDF-1 rise")
        sig_g = par("CEP mobilisation by G-CSF [-]", r"\sigma_G", "CEP rise per unit G-CSF rise")
        sig_v = par("CEP mobilisation by VEGF-A [-]", r"\sigma_V", "CEP rise per unit VEGF-A rise")
        e_c = State(CEP, "E_c", 1.0, "circulating endothelial progenitors relative to baseline")
        mobilisation = 1 + sig_s * (S - 1) * (1 - b["cxcr4"]) + sig_g * (G - 1) + sig_v * (Vg - 1) * (1 - b["vegfr2"])
        decl.rhs[e_c.name] = k_e * mobilisation - k_e * e_c.sym - direct_kill("CEP", "E") * e_c.sym

        # circulating myeloid cells (monocytes, MDSCs)
        k_m = math.log(2) / par("Myeloid response half-life [day]", r"t_{1/2,M}", "half-life of circulating myeloid cells")
        sm_g = par("Myeloid mobilisation by G-CSF [-]", r"\sigma_{MG}", "myeloid rise per unit G-CSF rise")
        sm_6 = par("Myeloid mobilisation by IL-6 [-]", r"\sigma_{M6}", "myeloid rise per unit IL-6 rise")
        sm_e = par("Myeloid mobilisation by EV signal [-]", r"\sigma_{ME}", "myeloid rise per unit EV-signal rise")
        m_c = State(MYELOID, "M_c", 1.0, "circulating myeloid cells relative to baseline")
        decl.rhs[m_c.name] = (k_m * (1 + sm_g * (G - 1) + sm_6 * (I6 - 1) + sm_e * (Ev - 1)) - k_m * m_c.sym
                              - direct_kill("myeloid cell", "M") * m_c.sym)

        # homing to the damaged tumour
        nu = par("Damage-driven homing gain [-]", r"\nu", "homing rise per unit damaged fraction of the tumour")
        damage = 1 + nu * Q(DAMAGED_VOLUME) / (Q(TUMOUR_VOLUME) + TINY_VOLUME)
        d_b = par("Homed EPC turnover rate [1/day]", r"\delta_B", "loss rate of homed endothelial progenitors")
        d_m = par("Homed myeloid turnover rate [1/day]", r"\delta_M", "loss rate of homed myeloid cells")
        c_ccl2 = par("EV-driven myeloid homing gain [-]", r"c_{CCL2}", "CCL2-like homing rise per unit EV-signal rise")
        c_il1 = par("IL-1 restraint of M2 homing [-]", r"c_I", "log-fall of M2 myeloid homing per unit IL-1-signalling rise")
        b_e = State(HOMED_EPC, "B_E", 1.0, "endothelial progenitors homed to the tumour, relative to baseline")
        b_m = State(HOMED_MYELOID, "B_M", 1.0, "myeloid cells homed to the tumour, relative to baseline")
        decl.rhs[b_e.name] = d_b * (e_c.sym * Q(DAMAGE_SIGNAL) * (1 - b["vegfr2"]) - b_e.sym)
        decl.rhs[b_m.name] = d_m * (m_c.sym * Q(DAMAGE_SIGNAL) * (1 + c_ccl2 * (Ev - 1)) * (1 - b["ccr2"])
                                    * sympy.exp(-c_il1 * (Q(IL1_SIGNALLING) - 1)) - b_m.sym)
        decl.states += [e_c, m_c, b_e, b_m]
        decl.summands[MYELOID_SUPPRESSION] = m_c.sym - 1  # MDSC excess blunting immune kill (immune option)
        decl.variables[DAMAGE_SIGNAL] = damage
        decl.symbols[DAMAGE_SIGNAL] = "D_T"

        # effects on the tumour, zero in the untreated host
        active_myeloid = (1 - b["csf1r"]) * b_m.sym
        if "vasculogenesis" in self.settings["couplings"]:
            b_epc = par("EPC vasculogenic support [1/day]", "b_E", "carrying-capacity gain per unit homed-EPC excess")
            b_il1 = par("IL-1 angiogenic support [1/day]", r"b_I", "carrying-capacity gain per unit IL-1-signalling excess")
            decl.summands[VASCULAR_SUPPORT] = (b_epc * (b_e.sym - 1)
                                               + b_il1 * (Q(IL1_SIGNALLING) - 1) * (1 - b["vegfr2"]))
        if "protection" in self.settings["couplings"]:
            p_max = par("Maximal myeloid protection [-]", r"P_{max}", "largest fraction of drug kill homed myeloid cells block",
                        bounds=(0.0, 1.0))
            b50 = par("Myeloid protection half-saturation [-]", r"B_{50}", "homed-myeloid level of half-maximal protection")
            decl.summands[PROTECTION] = p_max * (active_myeloid / (b50 + active_myeloid) - 1 / (b50 + 1))
        if "repopulation" in self.settings["couplings"]:
            eps_g = par("Myeloid repopulation gain [-]", r"\varepsilon_g", "growth-rate gain per unit homed-myeloid excess")
            decl.summands[REPOPULATION] = eps_g * (active_myeloid - 1)
        if "permeability" in self.settings["couplings"]:
            eps_p = par("Myeloid permeability gain [-]", r"\varepsilon_\varphi",
                        "log-rise of vascular permeability per unit homed-myeloid excess")
            decl.variables[PERMEABILITY] = sympy.exp(eps_p * (active_myeloid - 1))
            decl.symbols[PERMEABILITY] = r"\varphi_{perm}"
        return decl
