"""Host toxicity (model option ``toxicity``): neutrophil models driven by the drugs' myelosuppression.

- ``friberg``: Friberg 2002 transit model, progenitors → 3 transits → blood, with (Circ0/Circ)^γ feedback;
- ``quartino``: Quartino 2014 model with 4 transits and endogenous G-CSF, which it exposes as the host
  effector ``"G-CSF [-]"`` (G/G0).

Each drug's effect E on progenitor proliferation comes from its per-drug
``myelosuppression`` law (``linear``, ``emax``). :func:`neutropenia_grade`
grades simulated counts by CTCAE v5.
"""

from ._base import BASELINE as BASELINE
from ._base import MEAN_TRANSIT_TIME as MEAN_TRANSIT_TIME
from ._base import MYELOSUPPRESSION as MYELOSUPPRESSION
from ._base import PROGENITORS as PROGENITORS
from ._base import PROLIFERATION as PROLIFERATION
from ._base import transit as transit
from .friberg import Friberg as Friberg
from .grading import GRADE as GRADE
from .grading import neutropenia_grade as neutropenia_grade
from .quartino import GCSF as GCSF
from .quartino import Quartino as Quartino
