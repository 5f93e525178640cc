"""Common form of a myelosuppression law: a drug's fractional inhibition of neutrophil progenitor proliferation."""

from __future__ import annotations

from typing import ClassVar

import sympy

from ...core import Declaration, Mechanism, Parameter, Q
from ...drugs import get_drug
from ...quantities import plasma_molar
from ..toxicity._base import DEFAULT_SETS, MYELOSUPPRESSION, PROLIFERATION, QUARTINO_SETS

SETS_BY_TOXICITY: dict[str, dict[str, tuple[str, ...]]] = {"friberg": DEFAULT_SETS, "quartino": QUARTINO_SETS}
"""Where a drug's potency defaults come from: the set fitted with the chosen toxicity model (Friberg's otherwise)."""


class MyelosuppressionLaw(Mechanism):
    """A drug's effect E_d(C) [-] on neutrophil progenitors, added to the toxicity model's summed effect E.

    C is the plasma concentration in µM (``"Plasma docetaxel [uM]"``); the
    toxicity model multiplies progenitor proliferation by (1 − E), E = Σ_d E_d,
    without a cap. The law also reports ``"{Drug} myelosuppressive flux
    [1e9/L/day]"`` = E_d·(progenitor proliferation), the production the drug
    removes, so a combination shows which drug drives the nadir. Needs a
    ``toxicity`` model in the options.
    """

    family: ClassVar[str] = "myelosuppression"
    per_drug: ClassVar[bool] = True
    requires = {"toxicity": ("friberg", "quartino")}
    uses_options: ClassVar[bool] = True
    """Potencies are fitted jointly with a neutrophil model (docetaxel: 8.58 /µM with Friberg's,
    17.2 /µM with Quartino's), so the defaults follow the model's ``toxicity`` choice when the
    model passes its options."""

    def __init__(self, drug: str, species: str = "mouse", model_options=None):
        toxicity = (model_options or {}).get("toxicity")
        toxicity = toxicity.get("name") if isinstance(toxicity, dict) else toxicity
        extra = {"toxicity": toxicity} if toxicity in SETS_BY_TOXICITY else {}
        super().__init__(drug=drug, species=species, **extra)

    def parameters(self, D: str, sub: str, sets: tuple[str, ...]) -> list[Parameter]:  # pragma: no cover
        raise NotImplementedError

    def effect(self, conc: sympy.Expr, p: list[sympy.Symbol]) -> sympy.Expr:  # pragma: no cover
        raise NotImplementedError

    def declare(self) -> Declaration:
        drug = get_drug(self.settings["drug"])
        sets = SETS_BY_TOXICITY.get(self.settings.get("toxicity"), DEFAULT_SETS)[self.settings["species"]]
        params = self.parameters(drug.display_name, drug.symbol, sets)
        effect = f"{drug.display_name} myelosuppressive effect [-]"
        loss = f"{drug.display_name} myelosuppressive flux [1e9/L/day]"
        return Declaration(
            parameters=params,
            variables={effect: self.effect(Q(plasma_molar(drug.key)), [p.sym for p in params]),
                       loss: Q(effect) * Q(PROLIFERATION)},
            summands={MYELOSUPPRESSION: Q(effect)},
            symbols={effect: f"E_{{{drug.symbol}}}", loss: rf"\Pi_{{{drug.symbol}}}"},
        )
