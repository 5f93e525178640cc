"""The YAML schema of a parameter-set file, validated with pydantic.

.. code-block:: yaml

    name: Eiseman1994
    description: Paclitaxel in male CD2F1 mice, 22.5 mg/kg i.v.; one-compartment equivalent.
    citations: [Eiseman1994]
    values:
      "Paclitaxel clearance [L/day]": {value: 3.25, unit: mL/min/kg, tag: V, source: "..."}
      "Some placeholder [1/day]": {value: 0.5, unit: 1/day, tag: U, source: "...",
                                   range: [0.1, 2.0], range_rationale: "..."}
    variability:                 # optional, log-normal
      omega:
        "Paclitaxel clearance [L/day]": {value: 0.3, tag: U, source: "..."}
      correlations:
        - parameters: [...]
          matrix: [[1, 0.9], [0.9, 1]]
          tag: C
          source: "..."
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .._errors import ChemohostError, did_you_mean
from ._errors import ParameterSetFileError
from ._set import ParameterSet
from ._value import TAGS, USER_TAG, ParameterValue
from ._variability import Correlation, LogNormalVariability

__all__ = ["load_parameter_set", "NAME_PATTERN"]

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9]*$"


class _Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str
    source: str = Field(min_length=1)
    citation: str | None = None
    note: str | None = None

    @field_validator("tag")
    @classmethod
    def check_tag(cls, tag: str) -> str:
        if tag == USER_TAG:
            raise ValueError(f"tag '{USER_TAG}' is reserved for ParameterSet.with_overrides(); use one of {', '.join(TAGS)}")
        if tag not in TAGS:
            raise ValueError(f"unknown provenance tag '{tag}'{did_you_mean(tag, TAGS)}; accepted: {', '.join(TAGS)}")
        return tag


class _Value(_Provenance):
    value: float
    unit: str = Field(min_length=1)
    range: tuple[float, float] | None = None
    range_rationale: str | None = None


class _Omega(_Provenance):
    value: float = Field(ge=0)


class _Correlation(_Provenance):
    parameters: list[str] = Field(min_length=2)
    matrix: list[list[float]]


class _Variability(BaseModel):
    model_config = ConfigDict(extra="forbid")

    omega: dict[str, _Omega]
    correlations: list[_Correlation] = Field(default_factory=list)


class _SetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(min_length=1)
    citations: list[str] = Field(default_factory=list)
    values: dict[str, _Value] = Field(min_length=1)
    variability: _Variability | None = None


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(f'"{part}"' if isinstance(part, str) and " " in part else str(part) for part in loc)


def load_parameter_set(path: str | Path) -> ParameterSet:
    """Read and validate one parameter-set YAML file.

    Raises :class:`ParameterSetFileError` naming the file and the offending field,
    or the :class:`ParameterSet` error (unit mismatch, …) prefixed by the file.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterSetFileError(f"{path}: cannot read parameter set ({exc})".replace("\n", " ")) from None
    try:
        spec = _SetFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ParameterSetFileError(f"{path}: {problems}") from None
    if spec.name != path.stem:
        raise ParameterSetFileError(f"{path}: name '{spec.name}' must match the file name '{path.stem}'")
    try:
        return _build(spec)
    except ChemohostError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _build(spec: _SetFile) -> ParameterSet:
    values = {n: ParameterValue(**v.model_dump()) for n, v in spec.values.items()}
    variability = None
    if spec.variability is not None:
        omega = {n: ParameterValue(unit="-", **o.model_dump()) for n, o in spec.variability.omega.items()}
        blocks = tuple(Correlation(**c.model_dump()) for c in spec.variability.correlations)
        variability = LogNormalVariability(omega, blocks)
    return ParameterSet(spec.name, spec.description, values, tuple(spec.citations), variability)
