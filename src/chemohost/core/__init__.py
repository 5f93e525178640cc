"""Declarations and the mechanism base: states, parameters, inputs, named quantities' symbols and the mechanism registry.

The model that composes mechanisms lives one layer up, in :mod:`chemohost.model`.
"""

from ._declarations import TIME as TIME
from ._declarations import Declaration as Declaration
from ._declarations import DoseTarget as DoseTarget
from ._declarations import Input as Input
from ._declarations import Parameter as Parameter
from ._declarations import Q as Q
from ._declarations import ResultStack as ResultStack
from ._declarations import State as State
from ._declarations import StateEvent as StateEvent
from ._declarations import TimedInput as TimedInput
from ._declarations import unit_of as unit_of
from ._mechanism import Mechanism as Mechanism
from ._mechanism import get_mechanism as get_mechanism
from ._mechanism import mechanism_registry as mechanism_registry
from ._mechanism import register_mechanism as register_mechanism
