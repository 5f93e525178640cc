"""chemohost — simulate, calibrate and compare what chemotherapy does to a tumour through the host."""

from ._errors import ChemohostError as ChemohostError
from .model import Model as Model
from .engine import simulate as simulate
from .provenance import __version__ as __version__
from . import sbml as _sbml  # noqa: F401  (registers Model.to_sbml; libSBML itself loads on first use)
