from __future__ import annotations

from ...core import Declaration, Mechanism, register_mechanism
from ...quantities import (DAMAGED_VOLUME, KILL_FLUX, KILL_HAZARD, PROTECTION, QUIESCENT_KILL_HAZARD, REPOPULATION,
                           TUMOUR_VOLUME, VIABLE_VOLUME)
from .single import SYMBOLS


@register_mechanism
class Absent(Mechanism):
    """No tumour: a tumour-free host, as in host-conditioning experiments.

    The tumour volume, kill flux and viable volume are zero, so host mechanisms
    that read the tumour see no tumour; drugs still act on the host.
    """

    family = "tumour"
    name = "absent"
    requires = {"growth": "none", "damage": "instant", "drugs.kill": "none"}

    def declare(self):
        return Declaration(
            variables={KILL_FLUX: 0, VIABLE_VOLUME: 0},
            summands={TUMOUR_VOLUME: 0, KILL_HAZARD: 0, QUIESCENT_KILL_HAZARD: 0, PROTECTION: 0, REPOPULATION: 0,
                      DAMAGED_VOLUME: 0},
            symbols={**SYMBOLS},
        )
