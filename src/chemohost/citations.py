"""The references behind chemohost's equations, parameter values and numerics.

Every reference has a key in ``AuthorYear`` style (``Simeoni2004``); the data
live in ``chemohost/data/citations.yaml``. A :class:`CitationRegistry` records
which keys one run used, so a report cites exactly the papers behind it.

>>> from chemohost.citations import CitationRegistry
>>> used = CitationRegistry()
>>> used.register("Simeoni2004", "Dormand1980")
>>> used.keys
('Simeoni2004', 'Dormand1980')
>>> print(get_citation("Kidger2021"))
Kidger P (2021). On Neural Differential Equations. PhD thesis, University of Oxford.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import ChemohostError, unknown

__all__ = [
    "Citation",
    "CitationRegistry",
    "UnknownCitationError",
    "all_citations",
    "get_citation",
    "register_citation",
]

KINDS = ("article", "book", "thesis", "inproceedings", "misc")
STYLES = ("text", "markdown", "bibtex")
_FILE = Path(__file__).parent / "data" / "citations.yaml"
_KEY = r"^[A-Za-z][A-Za-z0-9]*$"
_PERSON = re.compile(r"^(?P<surname>.+) (?P<initials>[A-Z\u00c0-\u024f]{1,4})$")


class UnknownCitationError(ChemohostError, KeyError):
    """A citation key that is not in the citation registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Citation:
    """One bibliographic reference.

    Parameters
    ----------
    key:
        ``AuthorYear`` identifier, e.g. ``"Simeoni2004"``.
    authors:
        Authors as ``"Surname Initials"`` (``"de Pillis LG"``), in order; an
        organisation is one entry (``"US Food and Drug Administration"``); may
        be empty when the authors are not known.
    title:
        Title of the work.
    venue:
        Journal with volume, issue and pages (``"Cancer Res 64(3):1094-1101"``),
        publisher, or the kind of document (label, guidance, thesis).
    year:
        Year of publication, or ``None`` for undated documents such as labels.
    doi:
        Digital object identifier without the ``https://doi.org/`` prefix.
    note:
        What in this work chemohost uses, or what about the entry is unverified.
    kind:
        BibTeX entry type: one of ``article``, ``book``, ``thesis``,
        ``inproceedings``, ``misc``.
    """

    key: str
    authors: tuple[str, ...]
    title: str
    venue: str
    year: int | None
    doi: str | None = None
    note: str | None = None
    kind: str = "article"

    def __post_init__(self) -> None:
        if not re.match(_KEY, self.key):
            raise ChemohostError(f"citation key '{self.key}' must be letters and digits in AuthorYear style")
        if self.kind not in KINDS:
            raise ChemohostError(f"citation '{self.key}': {unknown('kind', self.kind, KINDS)}")
        object.__setattr__(self, "authors", tuple(self.authors))

    def __str__(self) -> str:
        """One reference line: ``Authors (year). Title. Venue. doi:…``."""
        year = f" ({self.year})" if self.year is not None else ""
        head = f"{', '.join(self.authors)}{year}. " if self.authors else (f"{self.year}. " if year else "")
        doi = f" doi:{self.doi}" if self.doi else ""
        return f"{head}{self.title}. {self.venue}.{doi}"

    def to_markdown(self) -> str:
        """The reference as one Markdown list item, with a DOI link where there is one."""
        year = f" ({self.year})" if self.year is not None else ""
        authors = f"{', '.join(self.authors)}{year}. " if self.authors else ""
        doi = f" [doi:{self.doi}](https://doi.org/{self.doi})" if self.doi else ""
        return f"- **{self.key}** — {authors}*{self.title}*. {self.venue}.{doi}"

    def to_bibtex(self) -> str:
        """The reference as a BibTeX entry keyed by :attr:`key`."""
        containers = {"article": "journal", "inproceedings": "booktitle", "thesis": "school", "book": "publisher"}
        container = containers.get(self.kind, "howpublished")
        entry_type = "phdthesis" if self.kind == "thesis" else self.kind
        fields = []
        if self.authors:
            fields.append(("author", " and ".join(_bibtex_name(a) for a in self.authors)))
        fields.append(("title", "{" + self.title + "}"))
        fields.append((container, self.venue))
        if self.year is not None:
            fields.append(("year", str(self.year)))
        if self.doi:
            fields.append(("doi", self.doi))
        if self.note:
            fields.append(("note", self.note))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        return f"@{entry_type}{{{self.key},\n{body}\n}}"


def _bibtex_name(author: str) -> str:
    if author == "et al.":
        return "others"
    match = _PERSON.match(author)
    if match is None:
        return "{" + author + "}"
    return f"{match['surname']}, {'. '.join(match['initials'])}."


class _CitationModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    authors: list[str] = Field(default_factory=list)
    title: str = Field(min_length=1)
    venue: str = Field(min_length=1)
    year: int | None
    doi: str | None = None
    note: str | None = None
    kind: Literal["article", "book", "thesis", "inproceedings", "misc"] = "article"


_REGISTRY: dict[str, Citation] = {}
_LOADED = False


def _load_builtin() -> dict[str, Citation]:
    global _LOADED
    if not _LOADED:
        raw = yaml.safe_load(_FILE.read_text(encoding="utf-8"))
        for key, entry in raw.items():
            try:
                model = _CitationModel.model_validate(entry)
            except ValidationError as exc:
                where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ChemohostError(f"{_FILE}: citation '{key}': {where}") from None
            _REGISTRY.setdefault(key, Citation(key=key, **model.model_dump()))
        _LOADED = True
    return _REGISTRY


def get_citation(key: str) -> Citation:
    """The citation with ``key``; :class:`UnknownCitationError` (a ``KeyError``) if there is none."""
    registry = _load_builtin()
    try:
        return registry[key]
    except KeyError:
        raise UnknownCitationError(unknown("citation key", key, registry)) from None


def all_citations() -> tuple[Citation, ...]:
    """Every registered citation, sorted by key."""
    registry = _load_builtin()
    return tuple(registry[k] for k in sorted(registry, key=str.lower))


def register_citation(citation: Citation, *, overwrite: bool = False) -> Citation:
    """Add ``citation`` so parameter sets and mechanisms outside chemohost can cite it.

    Raises :class:`ChemohostError` if the key is taken, unless ``overwrite`` is true.
    """
    registry = _load_builtin()
    if citation.key in registry and not overwrite and registry[citation.key] != citation:
        raise ChemohostError(f"citation key '{citation.key}' is already registered; pass overwrite=True to replace it")
    registry[citation.key] = citation
    return citation


class CitationRegistry:
    """The citations one run used, in the order first registered.

    >>> used = CitationRegistry(["Benzekry2014"])
    >>> used.register("Benzekry2014", "Eiseman1994")
    >>> len(used)
    2
    """

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._keys: dict[str, None] = {}
        self.register(*keys)

    def register(self, *keys: str) -> None:
        """Record that the run used ``keys`` (repeats are ignored).

        Raises :class:`UnknownCitationError` naming the closest known key.
        """
        for key in keys:
            get_citation(key)
            self._keys.setdefault(key, None)

    @property
    def keys(self) -> tuple[str, ...]:
        """Registered keys, unique, in first-registered order."""
        return tuple(self._keys)

    def citations(self) -> list[Citation]:
        """The registered :class:`Citation` objects, in :attr:`keys` order."""
        return [get_citation(k) for k in self._keys]

    def format(self, style: str = "text") -> str:
        """All registered references as one string.

        ``style`` is ``"text"`` (``[Key] reference`` lines), ``"markdown"`` (a
        bulleted list) or ``"bibtex"`` (entries separated by blank lines).
        """
        if style == "text":
            return "\n".join(f"[{c.key}] {c}" for c in self.citations())
        if style == "markdown":
            return "\n".join(c.to_markdown() for c in self.citations())
        if style == "bibtex":
            return "\n\n".join(c.to_bibtex() for c in self.citations())
        raise ChemohostError(unknown("citation style", style, STYLES))

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __repr__(self) -> str:
        return f"CitationRegistry({list(self._keys)!r})"
