"""Model exchange with SBML (Systems Biology Markup Language), Level 3 Version 2.

Export (:func:`to_sbml`, :meth:`chemohost.Model.to_sbml`, ``chemohost export sbml``)
writes a model, one patient's parameters and a regimen as an SBML document derived
from the same resolved equations the batch engine compiles. Needs ``python-libsbml``
(the ``sbml`` extra).
"""

from ._export import NAMESPACE as NAMESPACE
from ._export import check_sbml as check_sbml
from ._export import export_study as export_study
from ._export import sbml_ids as sbml_ids
from ._export import to_sbml as to_sbml
