from __future__ import annotations

from ...core import Declaration, Mechanism, register_mechanism


@register_mechanism
class Instant(Mechanism):
    """Killed cells leave the tumour at once (log-kill)."""

    family = "damage"
    name = "instant"

    def declare(self):
        return Declaration()
