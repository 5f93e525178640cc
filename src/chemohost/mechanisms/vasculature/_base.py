"""Common form of a vascular capacity: a state K [mm3] with drug-kill and vasculogenesis terms."""

from __future__ import annotations

from typing import ClassVar

import sympy

from ...core import Declaration, Mechanism, Parameter, Q, State
from .._defaults import declared
from ...quantities import ENDOTHELIAL_KILL, TUMOUR_VOLUME, VASCULAR_CAPACITY, VASCULAR_SUPPORT

SYMBOLS = {VASCULAR_CAPACITY: "K", ENDOTHELIAL_KILL: "h_K", VASCULAR_SUPPORT: "s_K"}


class Vasculature(Mechanism):
    r"""A vascular carrying capacity dK/dt = f(K, W) − h_K·K + s_K·K.

    ``f`` is the untreated law of the subclass; h_K [1/day] is the summed
    endothelial kill hazard of the drugs (``"Endothelial kill hazard [1/day]"``,
    0 without ``vascular_kill``) and s_K [1/day] the vasculogenic support from
    homed endothelial progenitors (``"Vasculogenic support rate [1/day]"``, 0
    without host mechanisms). W is the tumour volume.
    """

    family: ClassVar[str] = "vasculature"
    requires: ClassVar[dict[str, str]] = {"growth": "hahnfeldt"}
    default_sets: ClassVar[tuple[str, ...]] = ("Hahnfeldt1999",)

    def parameters(self) -> list[Parameter]:  # pragma: no cover - interface
        raise NotImplementedError

    def untreated(self, capacity: sympy.Expr, volume: sympy.Expr, p: dict[str, sympy.Symbol]) -> sympy.Expr:
        """dK/dt without drugs and host cells [mm3/day]."""
        raise NotImplementedError  # pragma: no cover

    def declare(self) -> Declaration:
        k0 = declared("Initial vascular carrying capacity [mm3]", "K_0", sets=self.default_sets,
                      description="vascular carrying capacity at the start of the simulation")
        params = self.parameters()
        k = State(VASCULAR_CAPACITY, SYMBOLS[VASCULAR_CAPACITY], k0.sym,
                  "tumour volume the current vasculature can support")
        K = k.sym
        f = self.untreated(K, Q(TUMOUR_VOLUME), {p.symbol: p.sym for p in params})
        return Declaration(
            states=[k],
            parameters=[k0, *params],
            rhs={k.name: f - Q(ENDOTHELIAL_KILL) * K + Q(VASCULAR_SUPPORT) * K},
            summands={ENDOTHELIAL_KILL: 0, VASCULAR_SUPPORT: 0},
            symbols={ENDOTHELIAL_KILL: SYMBOLS[ENDOTHELIAL_KILL], VASCULAR_SUPPORT: SYMBOLS[VASCULAR_SUPPORT]},
        )


def inhibition_rate(sets: tuple[str, ...]) -> Parameter:
    """d [1/(day*mm2)]: endogenous inhibition of K by the tumour, d·K·W^{2/3} (shared by both forms)."""
    return declared("Vascular inhibition rate [1/(day*mm2)]", "d_K", sets=sets,
                    description="loss of capacity per unit tumour surface (W^(2/3)) from tumour-secreted inhibitors")


def loss_rate(symbol: str, sets: tuple[str, ...]) -> Parameter:
    """λ2 or μ [1/day]: spontaneous per-capita loss of K (shared by both forms)."""
    return declared("Spontaneous vascular loss rate [1/day]", symbol, sets=sets,
                    description="per-capita loss of capacity without tumour signals or drugs")
