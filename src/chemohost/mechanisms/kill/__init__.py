"""Drug effects on tumour cells (MODEL_SPEC §3), one instance per drug."""

from .emax import Emax as Emax
from .linear import Linear as Linear
from .norton_simon import NortonSimon as NortonSimon
