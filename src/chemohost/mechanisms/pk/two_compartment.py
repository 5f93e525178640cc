from __future__ import annotations

from ...core import register_mechanism
from ._base import Compartmental


@register_mechanism
class TwoCompartment(Compartmental):
    __doc__ = "Two-compartment linear PK (drug amounts in mg, concentration in ng/mL).\n\n" + (Compartmental.__doc__ or "")

    name = "two_compartment"
    compartments = 2
