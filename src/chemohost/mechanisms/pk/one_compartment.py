from __future__ import annotations

from ...core import register_mechanism
from ._base import Compartmental


@register_mechanism
class OneCompartment(Compartmental):
    __doc__ = "One-compartment linear PK (drug amounts in mg, concentration in ng/mL).\n\n" + (Compartmental.__doc__ or "")

    name = "one_compartment"
    compartments = 1
