"""The agent library: cytotoxic and antiangiogenic drugs, adjuvant blockers and default body sizes.

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
    "CHANNELS",
    "CLASSES",
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
    """An agent name that is neither a canonical key nor an alias."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _check_species(species: str) -> None:
    if species not in SPECIES:
        raise ChemohostError(unknown("species", species, SPECIES))


@dataclass(frozen=True)
class PKDefault:
    """The default PK parameter set of an agent in one species and its compartment count."""

    parameter_set: str | None
    compartments: int


CLASSES = ("taxane", "antimetabolite", "platinum", "anthracycline", "alkylating", "antiangiogenic", "blocker",
           "growth_factor", "vascular_disrupting")
CYTOTOXIC = CLASSES[:5]
CHANNELS = ("vegfr2", "cxcr4", "ccr2", "il1r", "mmp9", "csf1r")
"""Host-response channels an adjuvant blocker can occupy (MODEL_SPEC §5.2)."""


@dataclass(frozen=True)
class Drug:
    """An agent of a regimen: a cytotoxic or antiangiogenic drug, an adjuvant blocker or G-CSF.

    Every agent has PK (so its concentration drives its effects); what it does is
    chosen per agent in the model options (``kill``, ``host_action``, …).

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
        One of :data:`CLASSES`.
    phase_specific:
        True if the drug kills only cycling cells (quiescent kill fraction 0).
    molecular_weight:
        Molecular weight [g/mol] with its provenance; µM = (ng/mL) / MW.
    pk:
        Species → :class:`PKDefault`.
    blocks:
        Host-response channels a blocker occupies (:data:`CHANNELS`).
    description:
        One line on what the agent does.
    """

    key: str
    display_name: str
    symbol: str
    aliases: tuple[str, ...]
    drug_class: str
    phase_specific: bool
    molecular_weight: ParameterValue
    pk: Mapping[str, PKDefault]
    blocks: tuple[str, ...] = ()
    description: str = ""

    @property
    def is_cytotoxic(self) -> bool:
        return self.drug_class in CYTOTOXIC

    @property
    def is_blocker(self) -> bool:
        """Adjuvant agents acting on the host response (blockers and G-CSF support)."""
        return self.drug_class in ("blocker", "growth_factor")

    def pk_parameter_set_name(self, species: str) -> str | None:
        """Name of the default PK parameter set in ``species``, or ``None`` if chemohost has none."""
        _check_species(species)
        return self.pk[species].parameter_set

    def pk_parameter_set(self, species: str) -> ParameterSet:
        """The default PK :class:`ParameterSet` of this agent in ``species`` (``mouse`` or ``human``).

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
        """The PK model choice matching the default set: ``one_compartment``, ``two_compartment`` or ``three_compartment``."""
        _check_species(species)
        return _PK_MODELS[self.pk[species].compartments]


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
    drug_class: Literal[CLASSES] = Field(alias="class")  # type: ignore[valid-type]
    phase_specific: bool = False
    molecular_weight: _Provenance
    pk: dict[Literal["mouse", "human"], _PK]
    blocks: list[Literal[CHANNELS]] = Field(default_factory=list)  # type: ignore[valid-type]
    description: str = ""


class _Library(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drugs: dict[str, _DrugEntry]
    covariates: dict[Literal["mouse", "human"], dict[str, _Provenance]]


@dataclass(frozen=True)
class _Loaded:
    drugs: Mapping[str, Drug]
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
            blocks=tuple(d.blocks),
            description=d.description,
        )
        for key, d in spec.drugs.items()
    }
    aliases: dict[str, str] = {}
    for agent in drugs.values():
        for name in (agent.key, agent.display_name.lower(), *agent.aliases):
            if aliases.setdefault(name, agent.key) != agent.key:
                raise ChemohostError(f"name '{name}' is used by both '{aliases[name]}' and '{agent.key}'")
    covariates = {
        species: MappingProxyType({n: ParameterValue(**v.model_dump()) for n, v in values.items()})
        for species, values in spec.covariates.items()
    }
    return _Loaded(MappingProxyType(drugs), MappingProxyType(covariates), MappingProxyType(aliases))


def get_drug(name: str) -> Drug:
    """The agent called ``name`` (canonical key, display name or alias; any case).

    Raises :class:`UnknownDrugError` (a ``KeyError``) with the closest accepted name.
    """
    lib = _library()
    key = lib.aliases.get(name.strip().lower())
    if key is None:
        raise UnknownDrugError(unknown("agent", name, lib.aliases))
    return lib.drugs[key]


def get_blocker(name: str) -> Drug:
    """The adjuvant agent (blocker or G-CSF) called ``name``; other agents raise :class:`UnknownDrugError`."""
    agent = get_drug(name)
    if not agent.is_blocker:
        raise UnknownDrugError(f"'{name}' is not an adjuvant blocker; accepted: {', '.join(blocker_names())}")
    return agent


def drug_names() -> tuple[str, ...]:
    """Canonical keys of the drugs (cytotoxic and antiangiogenic), without the adjuvant blockers."""
    return tuple(k for k, d in _library().drugs.items() if not d.is_blocker)


def blocker_names() -> tuple[str, ...]:
    """Canonical keys of the adjuvant blockers (and G-CSF support)."""
    return tuple(k for k, d in _library().drugs.items() if d.is_blocker)


def agent_aliases() -> dict[str, str]:
    """Every accepted lower-case name (keys, display names, aliases) → canonical key, of every agent."""
    return dict(_library().aliases)


def default_covariates(species: str) -> Mapping[str, ParameterValue]:
    """Default body size of ``species``: ``"Body weight [kg]"`` and, for humans, ``"Body surface area [m2]"``."""
    _check_species(species)
    return _library().covariates[species]
