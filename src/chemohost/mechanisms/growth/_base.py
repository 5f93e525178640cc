"""Common form of a growth law: it defines the tumour's per-capita growth rate r(W)."""

from __future__ import annotations

from typing import ClassVar

import sympy

from ...core import Declaration, Mechanism, Parameter
from ...quantities import GROWTH_RATE, W


class GrowthLaw(Mechanism):
    """A growth law dV/dt = r(V)·V, written through its per-capita rate r.

    The law reads the total tumour volume W (``"Tumour volume [mm3]"``) and
    defines ``"Tumour per-capita growth rate [1/day]"``; the tumour's cell
    compartments apply it to the proliferating cells, so a law written for the
    whole tumour also drives the Simeoni damage chain and the
    proliferating/quiescent split.
    """

    family: ClassVar[str] = "growth"
    default_sets: ClassVar[tuple[str, ...]] = ("Benzekry2014LLC",)

    def parameters(self) -> list[Parameter]:  # pragma: no cover - interface
        raise NotImplementedError

    def rate(self, volume: sympy.Expr, p: dict[str, sympy.Symbol]) -> sympy.Expr:  # pragma: no cover
        raise NotImplementedError

    def declare(self) -> Declaration:
        params = self.parameters()
        rate = self.rate(W, {p.symbol: p.sym for p in params})
        return Declaration(parameters=params, variables={GROWTH_RATE: rate}, symbols={GROWTH_RATE: "r"})
