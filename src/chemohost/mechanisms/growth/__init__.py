"""Tumour growth laws (MODEL_SPEC §1)."""

from .exponential import Exponential as Exponential
from .generalised_logistic import GeneralisedLogistic as GeneralisedLogistic
from .gompertz import Gompertz as Gompertz
from .gompertz_capacity import GompertzCapacity as GompertzCapacity
from .hahnfeldt import Hahnfeldt as Hahnfeldt
from .logistic import Logistic as Logistic
from .none import NoGrowth as NoGrowth
from .power_law import PowerLaw as PowerLaw
from .simeoni import Simeoni as Simeoni
from .von_bertalanffy import VonBertalanffy as VonBertalanffy
