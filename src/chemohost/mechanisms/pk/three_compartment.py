from __future__ import annotations

from ...core import register_mechanism
from ._base import Compartmental


@register_mechanism
class ThreeCompartment(Compartmental):
    __doc__ = "Three-compartment linear PK (drug amounts in mg, concentration in ng/mL).\n\n" + (Compartmental.__doc__ or "")

    name = "three_compartment"
    compartments = 3
