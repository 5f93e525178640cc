"""The tumour's cell compartments (model option ``tumour``)."""

from .absent import Absent as Absent
from .proliferating_quiescent import ProliferatingQuiescent as ProliferatingQuiescent
from .single import SingleCompartment as SingleCompartment
