from __future__ import annotations

from ...core import Declaration, Mechanism, Q, register_mechanism
from ...drugs import get_drug
from ...quantities import EXOGENOUS_GCSF, plasma
from .._defaults import declared


@register_mechanism
class GcsfSupport(Mechanism):
    r"""G-CSF given as a drug: adds C/C_ref to the G-CSF signal (relative to its baseline)."""

    family = "host_action"
    name = "gcsf_support"
    per_drug = True
    requires = {"effectors": "indirect_response"}

    def __init__(self, drug: str, species: str = "mouse"):
        super().__init__(drug=drug, species=species)

    def declare(self):
        agent = get_drug(self.settings["drug"])
        sets = [agent.pk_parameter_set_name(self.settings["species"]) or ""]
        ref = declared(f"{agent.display_name} reference concentration [ng/mL]", rf"C^{{ref}}_{{{agent.symbol}}}",
                       sets=sets, species=self.settings["species"],
                       description="exogenous concentration that adds one baseline's worth of G-CSF signal")
        return Declaration(parameters=[ref], summands={EXOGENOUS_GCSF: Q(plasma(agent.key)) / ref.sym})
