"""Mechanisms: one biological or pharmacological process each, declared once.

A mechanism subclass implements one hook, :meth:`Mechanism.declare`, which
returns its states, parameters, inputs and equations as a
:class:`~chemohost.core._declarations.Declaration`. Everything else — the batch
right-hand side the engine integrates, the equation listing in reports, the
parameter tables and (later) SBML export — is derived from that declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from .._errors import OptionError, unknown
from ._declarations import Declaration, ResultStack

__all__ = ["Mechanism", "register_mechanism", "mechanism_registry", "get_mechanism"]

_REGISTRY: dict[str, dict[str, type[Mechanism]]] = {}


class Mechanism:
    """Base class of all mechanisms.

    Class attributes
    ----------------
    family:
        The model option this mechanism is a choice of (``"growth"``, ``"pk"``, ...).
    name:
        The option value that selects it (``"gompertz"``).
    citations:
        Keys of the papers behind the equations (see :mod:`chemohost.citations`).
    uses_drugs:
        Whether the mechanism needs the model's drug list (e.g. drug-induced host signals).
    """

    family: ClassVar[str]
    name: ClassVar[str]
    citations: ClassVar[tuple[str, ...]] = ()
    per_drug: ClassVar[bool] = False
    """If true, one instance acts per drug (``drug`` setting) and the family is a per-drug option."""
    uses_drugs: ClassVar[bool] = False
    """If true, the model passes the tuple of its drugs as the ``drugs`` setting."""
    uses_options: ClassVar[bool] = False
    """If true, the model passes its validated options as the ``model_options`` setting."""
    requires: ClassVar[dict[str, str | tuple[str, ...]]] = {}
    """Choices other options must take alongside this one (``{"growth": "none"}``, or a tuple of
    acceptable choices; ``"drugs.kill"`` constrains every drug's ``kill``); a conflict is an error."""

    def __init__(self, **settings) -> None:
        self.settings = settings

    def declare(self) -> Declaration:  # pragma: no cover - interface
        raise NotImplementedError

    def result_stacks(self) -> tuple[ResultStack, ...]:
        """States this mechanism saves stacked along a dimension of their own (none by default)."""
        return ()

    @classmethod
    def summary(cls) -> str:
        """First line of the docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else cls.name

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({extra})"


def register_mechanism(cls: type[Mechanism]) -> type[Mechanism]:
    """Class decorator adding a mechanism to the registry under ``(family, name)``.

    Other packages register their own mechanisms the same way.
    """
    family = _REGISTRY.setdefault(cls.family, {})
    if cls.name in family and family[cls.name] is not cls:
        raise ValueError(f"mechanism '{cls.family}: {cls.name}' is already registered")
    family[cls.name] = cls
    return cls


def mechanism_registry() -> dict[str, dict[str, type[Mechanism]]]:
    """All registered mechanisms, by family then name (the built-in ones register when :mod:`chemohost.mechanisms` is imported)."""
    return {family: dict(names) for family, names in _REGISTRY.items()}


def get_mechanism(family: str, name: str) -> type[Mechanism]:
    registry = mechanism_registry()
    if family not in registry:
        raise OptionError(unknown("model option", family, registry))
    if name not in registry[family]:
        raise OptionError(unknown(f"choice for '{family}'", name, registry[family]))
    return registry[family][name]


MechanismFactory = Callable[..., Mechanism]
