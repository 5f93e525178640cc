"""Fate of killed tumour cells (model option ``damage``)."""

from .instant import Instant as Instant
from .simeoni_transit import SimeoniTransit as SimeoniTransit
