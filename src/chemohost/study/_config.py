"""Study files: a small YAML validated with pydantic, errors naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, field_validator, model_validator

from .._errors import ChemohostError, quote
from .._yaml_config import load_config
from ..limits import ATOL_RANGE, MAX_DURATION, MAX_PATIENTS, MAX_SEED, RTOL_RANGE

__all__ = ["ArmConfig", "OutcomesConfig", "StudyConfig", "CohortConfig", "SolverConfig", "load_study", "StudyError"]


class StudyError(ChemohostError):
    """An invalid or incomplete study file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CohortConfig(_Strict):
    """The virtual cohort: size, seed and which inter-individual variability to use."""

    size: int = Field(200, ge=1, le=MAX_PATIENTS, description="patients (animals) per arm; every arm gets the same "
                      "patients (at most chemohost.limits.MAX_PATIENTS; beyond it run a chunked trial)")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seed of every random draw (0 to 2**63 - 1); stored with the "
                      "results")
    variability: bool = Field(True, description="draw log-normal variability from the parameter sets")


class SolverConfig(_Strict):
    method: str = Field("dopri5", description="dopri5 (explicit, default) or rosenbrock23 (stiff)")
    rtol: FiniteFloat = Field(1e-6, ge=RTOL_RANGE[0], le=RTOL_RANGE[1],
                              description="relative tolerance, chemohost.limits.RTOL_RANGE")
    atol: FiniteFloat = Field(1e-9, gt=ATOL_RANGE[0], le=ATOL_RANGE[1],
                              description="absolute tolerance, chemohost.limits.ATOL_RANGE")


class OutcomesConfig(_Strict):
    """How the report reads outcomes: assessment schedule, volume endpoint and the reference arm."""

    assessment_interval: FiniteFloat = Field(3.5, gt=0, description="days between tumour assessments from the first dose "
                                       "(calipers twice a week by default)")
    endpoint_volume: FiniteFloat | None = Field(None, gt=0, description="tumour volume [mm3] whose time to reach is a "
                                          "survival endpoint (mouse studies: 1500 when not given)")
    reference_arm: str | None = Field(None, description="arm the hazard ratios are against (default: the vehicle "
                                      "arm, else the first arm)")


class ArmConfig(_Strict):
    """An arm given in full: its regimen, procedures and dosing rules."""

    regimen: str = Field("none", description="regimen string ('none' for vehicle)")
    procedures: list[Any] = Field(default_factory=list, description="e.g. 'resection on day 21', "
                                  "'inoculation of 1e6 cells on day 1'")
    rules: list[dict[str, Any]] = Field(default_factory=list, description="dosing rules such as "
                                        "{adaptive: {stop_below: 0.5, resume_above: 1.0}} or {toxicity: {}}")


class StudyConfig(_Strict):
    """A study: model, parameters, cohort, arms and duration.

    ``arms`` maps an arm name to a regimen string (``"none"`` for vehicle) or to
    an :class:`ArmConfig` with procedures and dosing rules;
    ``parameter_sets`` are merged in order (later sets win) and ``parameters``
    overrides single values in the unit in brackets of their names.
    """

    name: str
    description: str = ""
    model: dict[str, Any] = Field(default_factory=dict)
    parameter_sets: list[str] = Field(default_factory=list)
    parameters: dict[str, FiniteFloat] = Field(default_factory=dict)
    covariates: dict[str, FiniteFloat] = Field(default_factory=dict)
    cohort: CohortConfig = CohortConfig()
    arms: dict[str, str | ArmConfig]
    duration: FiniteFloat = Field(gt=0, le=MAX_DURATION, description="days simulated from t = 0 (at most "
                                  "chemohost.limits.MAX_DURATION)")
    output_interval: FiniteFloat = Field(0.25, gt=0, description="spacing of saved times [day]")
    solver: SolverConfig = SolverConfig()
    backend: str = Field("numba", pattern="^(numba|jax)$", description="numba (compiled CPU kernel, default) or "
                         "jax (the same equations on a GPU when JAX sees one; needs chemohost[jax])")
    outputs: list[str] | None = None
    outcomes: OutcomesConfig = OutcomesConfig()
    profile_times: dict[str, FiniteFloat] | None = Field(
        None, description="label → day of the host-response profile (default: pre-treatment, 24 h after the "
                          "first dose, day 1 of cycle 2)")

    @field_validator("arms")
    @classmethod
    def _arms_not_empty(cls, arms: dict[str, str | ArmConfig]) -> dict[str, ArmConfig]:
        if not arms:
            raise ValueError("a study needs at least one arm")
        return {name: ArmConfig(regimen=arm) if isinstance(arm, str) else arm for name, arm in arms.items()}

    @field_validator("model")
    @classmethod
    def _drugs_are_a_mapping(cls, model: dict[str, Any]) -> dict[str, Any]:
        drugs = model.get("drugs")
        if drugs is None:
            return model
        if isinstance(drugs, list) and all(isinstance(d, str) for d in drugs):
            drugs = {d: {} for d in drugs}
        if not (isinstance(drugs, dict) and all(isinstance(v, dict) or v is None for v in drugs.values())):
            raise ValueError(f"model.drugs maps agent names to their options, e.g. {{paclitaxel: {{kill: linear}}}} "
                             f"or {{paclitaxel: {{}}}}, got {quote(drugs, 80)}")
        return {**model, "drugs": drugs}

    @model_validator(mode="after")
    def _reference_is_an_arm(self):
        ref = self.outcomes.reference_arm
        if ref is not None and ref not in self.arms:
            raise ValueError(f"outcomes.reference_arm '{ref}' is not an arm; arms: {', '.join(self.arms)}")
        return self


def load_study(source: str | Path | dict) -> StudyConfig:
    """Read and validate a study from a YAML path or a mapping."""
    config = load_config(source, StudyConfig, StudyError, "study", "name, arms, duration")
    sbml = config.model.get("sbml")
    if isinstance(sbml, str) and not isinstance(source, dict) and not Path(sbml).is_absolute():
        # model: {sbml: file.xml} is read relative to the study file
        config = config.model_copy(update={"model": {**config.model, "sbml": str(Path(source).parent / sbml)}})
    return config
