"""Built-in mechanisms; importing this package registers them.

One mechanism per module, grouped by family:

- ``growth``: tumour growth laws (per-capita growth rate of the tumour);
- ``tumour``: the tumour's cell compartments (single, proliferating/quiescent, or absent for a tumour-free host);
- ``damage``: what happens to killed cells (instant removal, Simeoni transit chain);
- ``pk``: drug pharmacokinetics (1–3 compartments, optional absorption and saturable elimination);
- ``kill``: drug effect on tumour cells (linear, Emax, Norton–Simon).
"""

from . import damage as damage
from . import growth as growth
from . import kill as kill
from . import pk as pk
from . import tumour as tumour
