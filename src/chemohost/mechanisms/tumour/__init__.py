"""The tumour's cell compartments (model option ``tumour``)."""

from .absent import Absent as Absent
from .lotka_volterra import LotkaVolterra as LotkaVolterra
from .persisters import Persisters as Persisters
from .proliferating_quiescent import ProliferatingQuiescent as ProliferatingQuiescent
from .sensitive_resistant import SensitiveResistant as SensitiveResistant
from .single import SingleCompartment as SingleCompartment
