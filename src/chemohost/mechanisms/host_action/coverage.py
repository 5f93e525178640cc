from __future__ import annotations

from ..._errors import OptionError
from ...core import Declaration, Mechanism, Q, register_mechanism
from ...drugs import get_drug
from ...quantities import blockade, coverage, plasma
from .._defaults import declared


@register_mechanism
class Coverage(Mechanism):
    r"""An adjuvant blocker occupying its host channels: coverage c = C/(C + IC50).

    The coverage adds to the blockade b of each channel the agent blocks
    (VEGFR2 for DC101, CXCR4 for AMD3100, …; MODEL_SPEC §5.2), and the host
    mechanisms scale that channel by (1 − b). With no host mechanisms in the
    model a blocker has nothing to act on, which is an error.
    """

    family = "host_action"
    name = "coverage"
    per_drug = True
    requires = {"host_cells": "bmdc", "effectors": "indirect_response"}

    def __init__(self, drug: str, species: str = "mouse"):
        super().__init__(drug=drug, species=species)

    def declare(self):
        agent = get_drug(self.settings["drug"])
        if not agent.blocks:
            raise OptionError(f"host_action: coverage needs an adjuvant blocker; '{agent.key}' blocks no host channel")
        sets = [agent.pk_parameter_set_name(self.settings["species"]) or ""]
        ic50 = declared(f"{agent.display_name} coverage IC50 [ng/mL]", rf"IC_{{50,{agent.symbol}}}", sets=sets,
                        species=self.settings["species"], description="concentration occupying half of the target")
        c = Q(plasma(agent.key))
        name = coverage(agent.display_name)
        return Declaration(
            parameters=[ic50],
            variables={name: c / (c + ic50.sym)},
            summands={blockade(ch): Q(name) for ch in agent.blocks},
            symbols={name: rf"c_{{{agent.symbol}}}"},
        )
