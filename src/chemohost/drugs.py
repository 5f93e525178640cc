"""The drug library: cytotoxic drugs, adjuvant blockers and default body sizes.

Names are case-insensitive and alias-aware (``"Taxol"``, ``"5-FU"``, ``"CTX"``);
the data live in ``chemohost/data/drugs.yaml``.

>>> from chemohost.drugs import get_drug
>>> drug = get_drug("Taxol")
>>> drug.key, drug.display_name, drug.pk_parameter_set("mouse").name
('paclitaxel', 'Paclitaxel', 'Eiseman1994')
>>> drug.default_pk_model("human")
'one_compartment'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import ChemohostError, unknown
from .parameters import ParameterSet, ParameterValue, get_parameter_set

__all__ = [
    "Blocker",
    "Drug",
    "PKDefault",
    "SPECIES",
    "UnknownDrugError",
    "agent_aliases",
    "blocker_names",
    "default_covariates",
    "drug_names",
    "get_blocker",
    "get_drug",
]

SPECIES = ("mouse", "human")
_FILE = Path(__file__).parent / "data" / "drugs.yaml"
_PK_MODELS = {1: "one_compartment", 2: "two_compartment", 3: "three_compartment"}


class UnknownDrugError(ChemohostError, KeyError):
    """A drug or blocker name that is neither a canonical key nor an alias."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _check_species(species: str) -> None:
    if species not in SPECIES:
        raise ChemohostError(unknown("species", species, SPECIES))


@dataclass(frozen=True)
class PKDefault:
    """The default PK parameter set of a drug in one species and its compartment count."""

    parameter_set: str | None
    compartments: int


@dataclass(frozen=True)
class Drug:
    """A cytotoxic drug.

    Parameters
    ----------
    key:
        Canonical lower-case key (``"paclitaxel"``); model options and results use it.
    display_name:
        Name used in parameter names and labels (``"Paclitaxel"``), as in
        ``"Paclitaxel clearance [L/day]"``.
    symbol:
        Short upper-case abbreviation used as a subscript in equation listings (``"PTX"``).
    aliases:
        Other accepted names, lower case (``"taxol"``).
    drug_class:
        ``taxane``, ``antimetabolite``, ``platinum``, ``anthracycline`` or ``alkylating``.
    phase_specific:
        True if the drug kills only cycling cells (quiescent kill fraction 0).
    molecular_weight:
        Molecular weight [g/mol] with its provenance; µM = (ng/mL) / MW.
    pk:
        Species → :class:`PKDefault`.
    """

    key: str
    display_name: str
    symbol: str
    aliases: tuple[str, ...]
    drug_class: str
    phase_specific: bool
    molecular_weight: ParameterValue
    pk: Mapping[str, PKDefault]

    def pk_parameter_set_name(self, species: str) -> str | None:
        """Name of the default PK parameter set in ``species``, or ``None`` if chemohost has none."""
        _check_species(species)
        return self.pk[species].parameter_set

    def pk_parameter_set(self, species: str) -> ParameterSet:
        """The default PK :class:`ParameterSet` of this drug in ``species`` (``mouse`` or ``human``).

        Raises :class:`ChemohostError` when chemohost has no set for that species.
        """
        name = self.pk_parameter_set_name(species)
        if name is None:
            have = [s for s in SPECIES if self.pk[s].parameter_set]
            raise ChemohostError(
                f"no {species} PK parameter set for {self.key} in chemohost (available for: {', '.join(have) or 'none'}); "
                f"give the '{self.display_name} … [unit]' PK values in the study's parameters or register a set"
            )
        return get_parameter_set(name)

    def default_pk_model(self, species: str) -> str:
        """The PK model matching the default set: ``one_compartment``, ``two_compartment`` or ``three_compartment``."""
        _check_species(species)
        return _PK_MODELS[self.pk[species].compartments]


@dataclass(frozen=True)
class Blocker:
    """An adjuvant agent that switches a host-response channel off (no PK yet)."""

    key: str
    display_name: str
    aliases: tuple[str, ...]
    description: str


class _Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: float
    unit: str
    tag: str
    source: str = Field(min_length=1)
    citation: str | None = None
    note: str | None = None


class _PK(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameter_set: str | None
    compartments: Literal[1, 2, 3]


class _DrugEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    display_name: str
    symbol: str = Field(pattern=r"^[A-Z0-9]+$")
    aliases: list[str] = Field(default_factory=list)
    drug_class: Literal["taxane", "antimetabolite", "platinum", "anthracycline", "alkylating"] = Field(alias="class")
    phase_specific: bool
    molecular_weight: _Provenance
    pk: dict[Literal["mouse", "human"], _PK]


class _BlockerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str
    aliases: list[str] = Field(default_factory=list)
    description: str = Field(min_length=1)


class _Library(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drugs: dict[str, _DrugEntry]
    blockers: dict[str, _BlockerEntry]
    covariates: dict[Literal["mouse", "human"], dict[str, _Provenance]]


@dataclass(frozen=True)
class _Loaded:
    drugs: Mapping[str, Drug]
    blockers: Mapping[str, Blocker]
    covariates: Mapping[str, Mapping[str, ParameterValue]]
    aliases: Mapping[str, str]


@lru_cache(maxsize=1)
def _library() -> _Loaded:
    try:
        spec = _Library.model_validate(yaml.safe_load(_FILE.read_text(encoding="utf-8")))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ChemohostError(f"{_FILE}: {problems}") from None
    try:
        return _build(spec)
    except ChemohostError as exc:
        raise type(exc)(f"{_FILE}: {exc}") from None


def _build(spec: _Library) -> _Loaded:
    drugs = {
        key: Drug(
            key=key,
            display_name=d.display_name,
            symbol=d.symbol,
            aliases=tuple(a.lower() for a in d.aliases),
            drug_class=d.drug_class,
            phase_specific=d.phase_specific,
            molecular_weight=ParameterValue(**d.molecular_weight.model_dump()),
            pk=MappingProxyType({s: PKDefault(**p.model_dump()) for s, p in d.pk.items()}),
        )
        for key, d in spec.drugs.items()
    }
    blockers = {
        key: Blocker(key, b.display_name, tuple(a.lower() for a in b.aliases), b.description)
        for key, b in spec.blockers.items()
    }
    aliases: dict[str, str] = {}
    for agent in [*drugs.values(), *blockers.values()]:
        for name in (agent.key, agent.display_name.lower(), *agent.aliases):
            if aliases.setdefault(name, agent.key) != agent.key:
                raise ChemohostError(f"name '{name}' is used by both '{aliases[name]}' and '{agent.key}'")
    covariates = {
        species: MappingProxyType({n: ParameterValue(**v.model_dump()) for n, v in values.items()})
        for species, values in spec.covariates.items()
    }
    frozen = map(MappingProxyType, (drugs, blockers, covariates, aliases))
    return _Loaded(*frozen)


def _lookup(name: str, kind: str) -> str:
    lib = _library()
    key = lib.aliases.get(name.strip().lower())
    wanted = lib.drugs if kind == "drug" else lib.blockers
    if key in wanted:
        return key
    if key is not None:
        other = "an adjuvant blocker; use get_blocker()" if kind == "drug" else "a cytotoxic drug; use get_drug()"
        raise UnknownDrugError(f"'{name}' is {other}")
    accepted = [n for n, k in lib.aliases.items() if k in wanted]
    raise UnknownDrugError(unknown(kind, name, accepted))


def get_drug(name: str) -> Drug:
    """The :class:`Drug` called ``name`` (canonical key, display name or alias; any case).

    Raises :class:`UnknownDrugError` (a ``KeyError``) with the closest accepted name.
    """
    return _library().drugs[_lookup(name, "drug")]


def get_blocker(name: str) -> Blocker:
    """The adjuvant :class:`Blocker` called ``name`` (key, display name or alias; any case)."""
    return _library().blockers[_lookup(name, "blocker")]


def drug_names() -> tuple[str, ...]:
    """Canonical keys of the cytotoxic drugs."""
    return tuple(_library().drugs)


def blocker_names() -> tuple[str, ...]:
    """Canonical keys of the adjuvant blockers."""
    return tuple(_library().blockers)


def agent_aliases() -> dict[str, str]:
    """Every accepted lower-case name (keys, display names, aliases) → canonical key, drugs and blockers."""
    return dict(_library().aliases)


def default_covariates(species: str) -> Mapping[str, ParameterValue]:
    """Default body size of ``species``: ``"Body weight [kg]"`` and, for humans, ``"Body surface area [m2]"``."""
    _check_species(species)
    return _library().covariates[species]
