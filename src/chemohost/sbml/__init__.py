"""Model exchange with SBML (Systems Biology Markup Language).

Import (:func:`load`, study key ``model: {sbml: file.xml}``, ``chemohost sbml check``)
reads an SBML Level 2 or 3 document into a model the engine simulates like any
other. Export (:func:`to_sbml`, :meth:`chemohost.Model.to_sbml`, ``chemohost export sbml``)
writes a model, one patient's parameters and a regimen as an SBML Level 3 Version 2
document derived from the same resolved equations the batch engine compiles.
Both need ``python-libsbml`` (the ``sbml`` extra), imported on first use.
"""

from ..model import register_exporter
from ._errors import SbmlError as SbmlError
from ._export import NAMESPACE as NAMESPACE
from ._export import SbmlExportError as SbmlExportError
from ._export import check_sbml as check_sbml
from ._export import sbml_ids as sbml_ids
from ._export import to_sbml as to_sbml
from ._import import MAX_BYTES as MAX_BYTES
from ._import import SbmlModel as SbmlModel
from ._import import load as load
from ._import import study_model as study_model
from ._trajectory import trajectory as trajectory

register_exporter("sbml", to_sbml)
