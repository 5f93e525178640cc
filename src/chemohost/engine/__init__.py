"""The batch engine: compiled per-patient adaptive integration with explicit dosing events."""

from ._codegen import Kernel as Kernel
from ._codegen import compile_model as compile_model
from ._codegen import generate_source as generate_source
from ._events import AddToState as AddToState
from ._events import ScaleState as ScaleState
from ._events import StateEvent as StateEvent
from ._batch import resolve_parameters as resolve_parameters
from ._simulate import simulate as simulate
