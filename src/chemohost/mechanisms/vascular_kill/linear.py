from __future__ import annotations

from ...core import Declaration, Mechanism, Q, register_mechanism
from ...drugs import get_drug
from ...quantities import ENDOTHELIAL_KILL, plasma
from .._defaults import declared


@register_mechanism
class LinearEndothelialKill(Mechanism):
    r"""Linear endothelial kill: h_K += e·C, the drug removes capacity at rate e·C·K.

    ``e`` [mL/ng/day] is the drug's endothelial kill potency and C [ng/mL] its
    plasma concentration. For Hahnfeldt's antiangiogenic agents (TNP-470,
    endostatin, angiostatin) the library's PK uses V = 1 L/kg, so C/1000 [ng/mL
    → mg/L] equals Hahnfeldt's drug level g [mg/kg] and e is Hahnfeldt's e/1000
    (Hahnfeldt et al. 1999); for cytotoxic drugs it is the endothelial kill
    e_chemo behind metronomic scheduling (Hahnfeldt, Folkman & Hlatky 2003).
    Acts only with a ``vasculature`` option.
    """

    family = "vascular_kill"
    name = "linear"
    per_drug = True
    requires = {"vasculature": ("hahnfeldt", "donofrio_gandolfi")}
    citations = ("Hahnfeldt1999", "Hahnfeldt2003")

    def __init__(self, drug: str, species: str = "mouse"):
        super().__init__(drug=drug, species=species)

    def declare(self) -> Declaration:
        drug = get_drug(self.settings["drug"])
        pk_set = drug.pk_parameter_set_name(self.settings["species"])
        sets = tuple(s for s in (pk_set, "RMM1") if s)
        e = declared(f"{drug.display_name} endothelial kill potency [mL/ng/day]", f"e_{{{drug.symbol}}}",
                     sets=sets, species=self.settings["species"],
                     description="per-capita loss rate of the vascular capacity per unit plasma concentration")
        name = f"{drug.display_name} endothelial kill hazard [1/day]"
        return Declaration(
            parameters=[e],
            variables={name: e.sym * Q(plasma(drug.key))},
            summands={ENDOTHELIAL_KILL: Q(name)},
            symbols={name: rf"h_{{K,{drug.symbol}}}"},
        )
