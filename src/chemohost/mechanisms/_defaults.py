"""Parameter declarations whose defaults are read from the registered parameter sets.

Numbers live in one place — the citable parameter sets under
``chemohost/data/parameter_sets`` — and a mechanism's declared default is the
value of the first listed set that has the parameter, with that set's source,
provenance tag and citation. A parameter no set provides gets ``nan`` (tag
``U``) and must be supplied by the user.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..core import Parameter
from ..drugs import default_covariates
from ..parameters import parameter_sets

NO_DEFAULT = "no literature value in chemohost; give one in the study's parameters"


def declared(
    name: str,
    symbol: str,
    *,
    sets: Sequence[str] = (),
    species: str = "mouse",
    bounds: tuple[float, float] = (0.0, math.inf),
    description: str = "",
) -> Parameter:
    """Declare parameter ``name`` with its default from the first of ``sets`` that holds it."""
    for set_name in sets:
        pset = parameter_sets.get(set_name)
        if pset is None or name not in pset.values:
            continue
        cov = {k: v.value for k, v in default_covariates(species).items()}
        value = float(pset.resolve(body_weight=cov.get("Body weight [kg]"),
                                   body_surface_area=cov.get("Body surface area [m2]"))[name])
        pv = pset.values[name]
        source = f"{pset.name}: {pv.source}"
        citation = next(iter(pset.citations_of(name)), None)
        per = pset.covariate_of(name)
        return Parameter(name, symbol, value, source, pv.tag, bounds, description, citation,
                         per=per, per_value=cov[per] if per else math.nan)
    return Parameter(name, symbol, math.nan, NO_DEFAULT, "U", bounds, description)
