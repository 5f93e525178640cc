"""Built-in mechanisms; importing this package registers them.

One mechanism per module, grouped by family:

- ``growth``: tumour growth laws (per-capita growth rate of the tumour);
- ``tumour``: the tumour's cell compartments (single, proliferating/quiescent, or absent for a tumour-free host);
- ``damage``: what happens to killed cells (instant removal, Simeoni transit chain);
- ``pk``: drug pharmacokinetics (1–3 compartments, optional absorption and saturable elimination);
- ``kill``: drug effect on tumour cells (linear, Emax, Norton–Simon);
- ``metastasis``: size-structured metastases by emission-time cohorts.
"""

from . import damage as damage
from . import growth as growth
from . import host as host
from . import host_action as host_action
from . import immune as immune
from . import kill as kill
from . import metastasis as metastasis
from . import myelosuppression as myelosuppression
from . import pk as pk
from . import toxicity as toxicity
from . import tumour as tumour
from . import vascular_kill as vascular_kill
from . import vasculature as vasculature
