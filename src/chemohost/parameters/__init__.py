"""Parameter sets as citable data.

A :class:`ParameterSet` holds values keyed by canonical parameter names — sentences
ending in the canonical unit in brackets (``"Gompertz deceleration rate [1/day]"``).
Each :class:`ParameterValue` keeps the number in its source's unit with a provenance
tag (``V``, ``V-code``, ``C``, ``U``, ``proposed``) and a source. Built-in sets live
in ``chemohost/data/parameter_sets/*.yaml`` and are named ``AuthorYear``.

>>> from chemohost.parameters import get_parameter_set
>>> study = get_parameter_set("Benzekry2014LLC") | get_parameter_set("Eiseman1994")
>>> values = study.resolve(body_weight=0.02)
>>> round(values["Paclitaxel central volume [L]"], 5)
0.00647
"""

from ._errors import MissingCovariateError as MissingCovariateError
from ._errors import ParameterSetFileError as ParameterSetFileError
from ._errors import UnitConversionError as UnitConversionError
from ._errors import UnknownParameterError as UnknownParameterError
from ._errors import UnknownParameterSetError as UnknownParameterSetError
from ._registry import get_parameter_set as get_parameter_set
from ._registry import parameter_sets as parameter_sets
from ._registry import register_parameter_set as register_parameter_set
from ._schema import load_parameter_set as load_parameter_set
from ._set import ParameterSet as ParameterSet
from ._units import parse_bracket_unit as parse_bracket_unit
from ._units import ureg as ureg
from ._value import TAGS as TAGS
from ._value import ParameterValue as ParameterValue
from ._variability import Correlation as Correlation
from ._variability import LogNormalVariability as LogNormalVariability
