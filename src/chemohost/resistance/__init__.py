"""Evolutionary resistance models: Zhang et al. 2017 adaptive-therapy discrete map [V-code, Zhang2017]."""

from __future__ import annotations

from ._zhang2017 import ZHANG2017_R, Zhang2017Result, zhang2017_competition, zhang2017_map

__all__ = ["ZHANG2017_R", "Zhang2017Result", "zhang2017_competition", "zhang2017_map"]
