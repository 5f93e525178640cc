"""A named, citable set of parameter values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .._errors import ParameterError, unknown
from ._errors import MissingCovariateError, UnitConversionError, UnknownParameterError
from ._units import BODY_SURFACE_AREA, BODY_WEIGHT, Conversion, conversion, parse_bracket_unit
from ._value import OVERRIDE_SOURCE, USER_TAG, ParameterValue
from ._variability import LogNormalVariability

__all__ = ["ParameterSet"]

_COVARIATE_ARGUMENT = {BODY_WEIGHT: "body_weight [kg]", BODY_SURFACE_AREA: "body_surface_area [m2]"}
_COVARIATE_NAME = {BODY_WEIGHT: "Body weight [kg]", BODY_SURFACE_AREA: "Body surface area [m2]"}


@dataclass(frozen=True, eq=False)
class ParameterSet:
    """Parameter values from one source (or one study), each with unit, tag and source.

    Values are keyed by canonical parameter names — sentences ending in the
    canonical unit in brackets (``"Paclitaxel clearance [L/day]"``) — and written
    in their source's unit, which must convert to the bracket unit, possibly per
    body weight or per body-surface area.

    >>> from chemohost.parameters import get_parameter_set
    >>> pk = get_parameter_set("Eiseman1994")
    >>> round(pk.resolve(body_weight=0.02)["Paclitaxel clearance [L/day]"], 4)
    0.0936

    Parameters
    ----------
    name:
        ``AuthorYear`` identifier (``"Simeoni2004"``).
    description:
        One sentence: species, setting, model form.
    values:
        Canonical parameter name → :class:`ParameterValue`.
    citations:
        Keys in :mod:`chemohost.citations`; keys cited by single values are appended.
    variability:
        Optional log-normal inter-individual variability of some of the parameters.
    """

    name: str
    description: str
    values: Mapping[str, ParameterValue]
    citations: tuple[str, ...] = ()
    variability: LogNormalVariability | None = None
    _conversions: Mapping[str, Conversion] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        values = dict(self.values)
        conversions = {}
        for pname, pv in values.items():
            if not isinstance(pv, ParameterValue):
                raise ParameterError(f"parameter set '{self.name}', '{pname}': expected a ParameterValue, got {pv!r}")
            bracket = parse_bracket_unit(pname)
            try:
                conversions[pname] = conversion(pv.unit, bracket)
            except ValueError as reason:
                raise UnitConversionError(
                    f"parameter set '{self.name}', '{pname}': unit '{pv.unit}' cannot be converted to "
                    f"the bracket unit '{bracket}' ({reason})"
                ) from None
        keys = list(self.citations) + [pv.citation for pv in values.values() if pv.citation]
        if self.variability is not None:
            for pname in self.variability.parameters:
                if pname not in values:
                    raise UnknownParameterError(
                        f"parameter set '{self.name}': variability given for "
                        + unknown("parameter", pname, values)
                    )
            keys += [pv.citation for pv in self.variability.omega.values() if pv.citation]
            keys += [c.citation for c in self.variability.correlations if c.citation]
        object.__setattr__(self, "values", MappingProxyType(values))
        object.__setattr__(self, "citations", tuple(dict.fromkeys(keys)))
        object.__setattr__(self, "_conversions", MappingProxyType(conversions))

    def __repr__(self) -> str:
        return f"ParameterSet({self.name!r}, {len(self.values)} values)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParameterSet):
            return NotImplemented
        return (self.name, self.description, dict(self.values), self.citations, self.variability) == (
            other.name, other.description, dict(other.values), other.citations, other.variability
        )

    # ------------------------------------------------------------------ values
    def resolve(
        self,
        body_weight: float | np.ndarray | None = None,
        body_surface_area: float | np.ndarray | None = None,
    ) -> dict[str, float | np.ndarray]:
        """Every value in the unit in brackets of its name.

        Values written per body weight are multiplied by ``body_weight`` [kg],
        values written per body-surface area by ``body_surface_area`` [m2]. Either
        may be an array with one entry per patient, in which case those values are
        arrays of the same shape.

        Raises :class:`MissingCovariateError` naming the parameter if a needed
        covariate is not given.
        """
        covariates = {
            BODY_WEIGHT: _positive("body_weight", body_weight),
            BODY_SURFACE_AREA: _positive("body_surface_area", body_surface_area),
        }
        out: dict[str, float | np.ndarray] = {}
        for pname, pv in self.values.items():
            conv = self._conversions[pname]
            value = pv.value * conv.factor
            if conv.covariate is not None:
                scale = covariates[conv.covariate]
                if scale is None:
                    raise MissingCovariateError(
                        f"parameter set '{self.name}': '{pname}' is given per {conv.covariate} "
                        f"({pv.value:g} {pv.unit}); pass {_COVARIATE_ARGUMENT[conv.covariate]} to resolve()"
                    )
                value = value * scale
            out[pname] = value
        return out

    def covariate_of(self, name: str) -> str | None:
        """``"Body weight [kg]"`` or ``"Body surface area [m2]"`` if the value is written per body size, else None."""
        covariate = self._conversions[name].covariate
        return None if covariate is None else _COVARIATE_NAME[covariate]

    def citations_of(self, name: str) -> tuple[str, ...]:
        """The reference behind one value: its own citation, else the set's primary (first) citation."""
        value = self.values[name]
        if value.citation:
            return (value.citation,)
        return tuple(self.citations[:1])

    def to_dict(self) -> dict[str, float]:
        """Every value in the unit in brackets of its name (no per-body-size values).

        The same as :meth:`resolve` without covariates; sets holding values per
        body weight or body-surface area need :meth:`resolve`.
        """
        return self.resolve()  # type: ignore[return-value]

    # ------------------------------------------------------------------ combining
    def update(self, other: ParameterSet) -> ParameterSet:
        """A new set holding this set's values updated by ``other``'s (``other`` wins).

        Descriptions and citations are concatenated; variability is merged
        (see :meth:`LogNormalVariability.merged`). ``a.update(b)`` is ``a | b``.
        """
        if not isinstance(other, ParameterSet):
            raise ParameterError(f"can only combine a ParameterSet with another ParameterSet, got {type(other).__name__}")
        if self.variability is None or other.variability is None:
            variability = other.variability or self.variability
        else:
            variability = self.variability.merged(other.variability)
        return ParameterSet(
            name=f"{self.name} | {other.name}",
            description=f"{self.description} | {other.description}",
            values={**self.values, **other.values},
            citations=self.citations + other.citations,
            variability=variability,
        )

    def __or__(self, other: ParameterSet) -> ParameterSet:
        if not isinstance(other, ParameterSet):
            return NotImplemented
        return self.update(other)

    def with_overrides(self, overrides: Mapping[str, float | tuple[float, str]]) -> ParameterSet:
        """A copy with some values replaced by the study's own, tagged ``user``.

        ``overrides`` maps a parameter name in this set to a number in the name's
        bracket unit, or to a ``(value, unit)`` pair. Unknown names raise
        :class:`UnknownParameterError` with the closest match; to add parameters,
        combine sets with ``|``.
        """
        values = dict(self.values)
        for pname, given in overrides.items():
            if pname not in values:
                raise UnknownParameterError(
                    f"parameter set '{self.name}': cannot override " + unknown("parameter", pname, values)
                )
            value, unit = given if isinstance(given, tuple) else (given, parse_bracket_unit(pname))
            values[pname] = ParameterValue(value, unit, USER_TAG, OVERRIDE_SOURCE)
        return ParameterSet(self.name, self.description, values, self.citations, self.variability)


def _positive(argument: str, value: float | np.ndarray | None) -> float | np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ParameterError(f"{argument} must be positive and finite, got {value!r}")
    return float(array) if array.ndim == 0 else array
