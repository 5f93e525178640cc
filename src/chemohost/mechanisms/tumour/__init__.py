"""The tumour's cell compartments (model option ``cell_cycle``)."""

from .proliferating_quiescent import ProliferatingQuiescent as ProliferatingQuiescent
from .single import SingleCompartment as SingleCompartment
