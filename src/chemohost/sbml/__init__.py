"""Model exchange with SBML (Systems Biology Markup Language).

Import (:func:`load`, study key ``model: {sbml: file.xml}``, ``chemohost sbml check``)
reads an SBML Level 2 or 3 document into a model the engine simulates like any
other. Needs ``python-libsbml`` (the ``sbml`` extra).
"""

from ._errors import SbmlError as SbmlError
from ._import import MAX_BYTES as MAX_BYTES
from ._import import SbmlModel as SbmlModel
from ._import import load as load
from ._import import study_model as study_model
from ._trajectory import trajectory as trajectory
