"""The host response (MODEL_SPEC §5): effector signals and bone-marrow-derived cells."""

from .cells import BoneMarrowDerivedCells as BoneMarrowDerivedCells
from .effectors import IndirectResponse as IndirectResponse
