"""Drug pharmacokinetics (MODEL_SPEC §2), one instance per drug."""

from .one_compartment import OneCompartment as OneCompartment
from .three_compartment import ThreeCompartment as ThreeCompartment
from .two_compartment import TwoCompartment as TwoCompartment
