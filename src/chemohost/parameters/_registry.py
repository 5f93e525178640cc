"""The registry of parameter sets: the built-in YAML files plus any registered in code."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from .._errors import ChemohostError, unknown
from ..citations import get_citation
from ._errors import UnknownParameterSetError
from ._schema import NAME_PATTERN, load_parameter_set
from ._set import ParameterSet

__all__ = ["parameter_sets", "get_parameter_set", "register_parameter_set"]

_BUILTIN = Path(__file__).resolve().parent.parent / "data" / "parameter_sets"


def _check_citations(pset: ParameterSet) -> None:
    for key in pset.citations:
        try:
            get_citation(key)
        except KeyError as exc:
            raise type(exc)(f"parameter set '{pset.name}' cites an {exc}") from None


class _ParameterSets(Mapping[str, ParameterSet]):
    """Read-only mapping name → :class:`ParameterSet`; built-in files load on first access."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._files: dict[str, Path] | None = None
        self._sets: dict[str, ParameterSet] = {}

    def _index(self) -> dict[str, Path]:
        if self._files is None:
            self._files = {p.stem: p for p in sorted(self._directory.glob("*.yaml"))}
        return self._files

    def __getitem__(self, name: str) -> ParameterSet:
        if name not in self._sets:
            path = self._index().get(name)
            if path is None:
                raise UnknownParameterSetError(unknown("parameter set", name, self))
            pset = load_parameter_set(path)
            _check_citations(pset)
            self._sets[name] = pset
        return self._sets[name]

    def __contains__(self, name: object) -> bool:
        return name in self._sets or name in self._index()

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._index(), *self._sets]))

    def __len__(self) -> int:
        return len(set(self._index()) | set(self._sets))

    def __repr__(self) -> str:
        return f"<parameter sets: {', '.join(self)}>"

    def _register(self, pset: ParameterSet, overwrite: bool) -> None:
        if not re.match(NAME_PATTERN, pset.name):
            raise ChemohostError(
                f"parameter set name '{pset.name}' must be letters and digits in AuthorYear style, e.g. 'Smith2024'"
            )
        if pset.name in self and not overwrite and self[pset.name] != pset:
            raise ChemohostError(f"parameter set '{pset.name}' is already registered; pass overwrite=True to replace it")
        _check_citations(pset)
        self._sets[pset.name] = pset


parameter_sets: Mapping[str, ParameterSet] = _ParameterSets(_BUILTIN)
"""Every registered parameter set by name (read-only; see :func:`register_parameter_set`)."""


def get_parameter_set(name: str) -> ParameterSet:
    """The registered parameter set ``name``.

    Raises :class:`UnknownParameterSetError` (a ``KeyError``) naming the closest
    registered set.
    """
    return parameter_sets[name]


def register_parameter_set(pset: ParameterSet, *, overwrite: bool = False) -> ParameterSet:
    """Add ``pset`` to :data:`parameter_sets` so models and studies can use it by name.

    Every citation key of the set must be registered (:func:`chemohost.citations.register_citation`).
    A name already taken by a different set needs ``overwrite=True``.
    """
    parameter_sets._register(pset, overwrite)  # type: ignore[attr-defined]
    return pset
