"""PEtab problems in and out: read, simulate, fit and write PEtab v1 parameter-estimation problems.

:func:`load` reads a PEtab v1 problem (YAML file, SBML model, conditions,
observables, measurements, parameters) with the ``petab`` library into a
:class:`PetabProblem` whose :meth:`~PetabProblem.simulate`,
:meth:`~PetabProblem.chi2` and :meth:`~PetabProblem.llh` follow PEtab's
definitions; :func:`fit_problem` fits it with chemohost's multi-start bounded
optimiser (``chemohost fit petab problem.yaml``); :func:`export_fit` writes a
chemohost fit study and its data as a PEtab problem (``chemohost export petab``).
Needs ``petab`` and ``python-libsbml`` (the ``petab`` extra), imported on first use.
"""

from ._errors import PetabError as PetabError
from ._problem import PetabProblem as PetabProblem
from ._problem import load as load
from ._fit import PetabFit as PetabFit
from ._fit import fit_problem as fit_problem
from ._export import export_fit as export_fit
from ._export import lint as lint
