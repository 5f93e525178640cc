"""Metastasis (MODEL_SPEC §7): size-structured metastases seeded by the primary, other metastases or an inoculum."""

from .cohorts import EmissionCohorts as EmissionCohorts
