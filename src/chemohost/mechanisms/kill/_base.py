"""Common form of a drug kill law: a per-capita hazard on tumour cells."""

from __future__ import annotations

from typing import ClassVar

import sympy

from ...core import Declaration, Mechanism, Parameter, Q, get_mechanism
from ...drugs import get_drug
from ...quantities import KILL_HAZARD, QUIESCENT_KILL_HAZARD, plasma
from .._defaults import declared


class KillLaw(Mechanism):
    """A drug's kill hazard κ(C) [1/day], added to the tumour's summed hazard.

    Proliferating cells see κ(C); quiescent cells see f_Q·κ(C), with f_Q = 0 for
    phase-specific drugs. The quiescent kill fraction f_Q is a parameter only
    where the model's ``tumour`` option has a quiescent compartment that reads
    the quiescent hazard (``has_quiescent``); elsewhere it would change nothing.
    """

    family: ClassVar[str] = "kill"
    per_drug: ClassVar[bool] = True
    uses_options: ClassVar[bool] = True
    default_sets: ClassVar[tuple[str, ...]] = ("Simeoni2004", "RMM1")

    def __init__(self, drug: str, species: str = "mouse", model_options=None):
        tumour = (model_options or {}).get("tumour")
        tumour = tumour.get("name") if isinstance(tumour, dict) else tumour
        extra = {"tumour": tumour} if isinstance(tumour, str) else {}
        super().__init__(drug=drug, species=species, **extra)

    def _quiescent(self) -> bool:
        """Whether the tumour reads the quiescent kill hazard (true when the tumour is not known)."""
        tumour = self.settings.get("tumour")
        return tumour is None or getattr(get_mechanism("tumour", tumour), "has_quiescent", False)

    def parameters(self, D: str, sub: str) -> list[Parameter]:  # pragma: no cover - interface
        raise NotImplementedError

    def hazard(self, conc: sympy.Expr, p: list[sympy.Symbol]) -> sympy.Expr:  # pragma: no cover
        raise NotImplementedError

    def declare(self) -> Declaration:
        drug = get_drug(self.settings["drug"])
        params = self.parameters(drug.display_name, drug.symbol)
        kappa = self.hazard(Q(plasma(drug.key)), [p.sym for p in params])
        name = f"{drug.display_name} kill hazard [1/day]"
        declaration = dict(variables={name: kappa}, symbols={name: rf"\kappa_{{{drug.symbol}}}"})
        if not self._quiescent():
            return Declaration(parameters=params, summands={KILL_HAZARD: Q(name)}, **declaration)
        fq = declared(f"{drug.display_name} quiescent kill fraction [-]", f"f_{{Q,{drug.symbol}}}",
                      sets=self.default_sets, bounds=(0.0, 1.0),
                      description="kill of quiescent relative to proliferating cells (0: phase-specific)")
        if fq.required:
            value, note = (0.0, "phase-specific drug") if drug.phase_specific else (1.0, "not phase-specific")
            fq = Parameter(fq.name, fq.symbol, value, f"chemohost default: {note} (drug library)", "proposed",
                           fq.bounds, fq.description)
        return Declaration(parameters=[*params, fq],
                           summands={KILL_HAZARD: Q(name), QUIESCENT_KILL_HAZARD: fq.sym * Q(name)}, **declaration)
