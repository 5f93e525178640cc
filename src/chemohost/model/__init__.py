"""The model layer: mechanisms composed by an options mapping and resolved into equations."""

from ._model import DEFAULT_OPTIONS as DEFAULT_OPTIONS
from ._model import Model as Model
from ._model import drug_options as drug_options
from ._model import register_exporter as register_exporter
