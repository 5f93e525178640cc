"""chemohost — simulate, calibrate and compare what chemotherapy does to a tumour through the host."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chemohost")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"

from ._errors import ChemohostError as ChemohostError
from .model import Model as Model
from .engine import simulate as simulate
