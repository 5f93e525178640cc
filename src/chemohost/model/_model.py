"""A model: mechanisms composed by an options mapping, resolved into equations.

>>> import chemohost as ch
>>> model = ch.Model({"growth": "gompertz", "drugs": {"paclitaxel": {"kill": "linear"}}})
>>> model.state_names[:1]
['Proliferating tumour volume [mm3]']

The options are validated against the registered choices; a typo gets a
"did you mean …?" error. Mechanisms talk to each other only through named
quantities; the model resolves every name to an expression in states,
parameters, inputs and time, so the engine, the equation listing and model
exchange all read the same resolved equations.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import sympy

from .. import mechanisms  # noqa: F401  (registers the built-in mechanisms)
from .._errors import OptionError, did_you_mean, unknown
from ..core import (TIME, Declaration, DoseTarget, Input, Mechanism, Parameter, ResultStack, State, TimedInput,
                    get_mechanism, mechanism_registry, unit_of)
from ..drugs import get_drug
from ._listing import equation_listing

__all__ = ["Model", "DEFAULT_OPTIONS", "register_exporter"]

_EXPORTERS: dict[str, Any] = {}
"""Writers of a model to other formats, by format name, registered by the packages above this layer."""


def register_exporter(name: str, writer) -> None:
    """Make ``Model.to_<name>`` call ``writer(model, regimen, parameters, **options)`` (e.g. ``"sbml"``)."""
    _EXPORTERS[name] = writer

SPECIES = ("mouse", "human")

DEFAULT_OPTIONS: dict[str, Any] = {
    "species": "mouse",
    "growth": "gompertz",
    "tumour": "single",
    "damage": "instant",
    "drugs": {},
}
"""Options of a model. ``drugs`` maps each agent to its own options (see :func:`drug_options`)."""

PK_SETTINGS: dict[str, tuple[str, ...]] = {"elimination": ("linear", "saturable")}
EXTRAVASCULAR_ROUTES = ("oral", "ip", "sc")


def drug_options() -> dict[str, tuple[str, ...]]:
    """Allowed per-drug options and their choices; the first choice is the default.

    Every mechanism family whose mechanisms act per drug (``per_drug``) is an
    option (``pk``, ``kill``, …; all but ``pk`` default to ``none``, and ``pk``
    to the drug library's model). ``elimination`` sets the PK's elimination and
    ``extravascular`` lists the routes among ``oral``, ``ip`` and ``sc`` the drug
    is given by; each adds an absorption depot with that route's bioavailability.
    """
    options: dict[str, tuple[str, ...]] = {}
    for family, names in sorted(mechanism_registry().items()):
        if any(cls.per_drug for cls in names.values()):
            options[family] = tuple(sorted(names)) if family == "pk" else ("none", *sorted(names))
    return {**options, **PK_SETTINGS}


def _check_choice(key: str, value: Any, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise OptionError(f"{where}: {unknown(f'value for {key!r}', str(value), allowed)}")


MODEL_SETTINGS = ("self", "species", "drugs", "drug", "model_options")
"""Constructor arguments a model fills in itself; the others are a mechanism's settings."""


def _check_settings(family: str, cls: type[Mechanism], value: Mapping[str, Any]) -> None:
    """Reject settings a mechanism does not take (``{name: bmdc, coupling: …}``), naming the ones it does."""
    params = inspect.signature(cls.__init__).parameters
    inherited = cls.__init__ is Mechanism.__init__  # the base takes only what the model fills in
    if not inherited and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = [name for name, p in params.items() if name not in MODEL_SETTINGS
               and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
    for key in value:
        if key != "name" and key not in allowed:
            problem = (unknown("setting", str(key), allowed) if allowed
                       else f"unknown setting '{key}'; it takes only 'name'")
            raise OptionError(f"model options, {family}: {cls.name}: {problem}")


def _choice(value: Any) -> str | None:
    return value if isinstance(value, str) or value is None else value.get("name")


def _check_conflicts(options: dict[str, Any]) -> None:
    """Reject option combinations that contradict a chosen mechanism's ``requires``, saying what to change."""
    chosen = [(family, get_mechanism(family, _choice(value)), "")
              for family, value in options.items() if family not in ("species", "drugs") and value is not None]
    per_drug = [f for f in drug_options() if f not in PK_SETTINGS]
    for drug, opts in options["drugs"].items():
        chosen += [(f, get_mechanism(f, opts[f]), f" of drug '{drug}'") for f in per_drug if opts[f] != "none"]
    for family, cls, owner in chosen:
        for key, needed in cls.requires.items():
            allowed = (needed,) if isinstance(needed, str) else tuple(needed)
            wanted = " or ".join(f"{key.split('.')[-1]}: {a}" for a in allowed)
            if key.startswith("drugs."):
                option = key.split(".", 1)[1]
                for drug, opts in options["drugs"].items():
                    if opts[option] not in allowed:
                        raise OptionError(f"model options: {family}: {cls.name}{owner} conflicts with drug '{drug}' "
                                          f"{option}: {opts[option]}; it needs {wanted}")
            elif _choice(options.get(key)) not in allowed:
                have = _choice(options.get(key))
                what = f"conflicts with {key}: {have}" if have is not None else f"needs a '{key}' choice"
                raise OptionError(f"model options: {family}: {cls.name}{owner} {what}; it needs {wanted}")


class Model:
    """A tumour–drug–host model composed from mechanisms.

    Parameters
    ----------
    options:
        Mapping of model options to choices. Top-level keys are mechanism
        families (``growth``, ``tumour``, ``damage``, …) plus ``species``
        (``mouse`` or ``human``, which selects the default drug parameters) and
        ``drugs`` (agent → ``{pk, elimination, kill, extravascular}``).
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = self._validate(options or {})
        self.mechanisms = self._instantiate()
        self._collect()

    # ------------------------------------------------------------------ options
    @staticmethod
    def _validate(options: Mapping[str, Any]) -> dict[str, Any]:
        registry = mechanism_registry()
        merged = copy.deepcopy(DEFAULT_OPTIONS)
        per_drug = drug_options()
        allowed_keys = set(DEFAULT_OPTIONS) | {f for f in registry if f not in per_drug}
        for key, value in dict(options).items():
            if key not in allowed_keys:
                raise OptionError("model options: " + unknown("option", key, allowed_keys))
            merged[key] = copy.deepcopy(value)
        _check_choice("species", merged["species"], SPECIES, "model options")
        for family in sorted(allowed_keys - {"species", "drugs"}):
            value = merged.get(family)
            if value is None:
                continue
            name = value if isinstance(value, str) else value.get("name") if isinstance(value, Mapping) else None
            if name is None:
                raise OptionError(f"model options: '{family}' must be a choice name, got {value!r}")
            _check_choice(family, name, tuple(registry[family]), "model options")
            if isinstance(value, Mapping):
                _check_settings(family, registry[family][name], value)
        drugs = merged["drugs"]
        if isinstance(drugs, (list, tuple)):
            drugs = {d: {} for d in drugs}
        if not isinstance(drugs, Mapping):
            raise OptionError("model options: 'drugs' must map agent names to their options")
        resolved: dict[str, dict[str, str]] = {}
        for agent, drug_opts in drugs.items():
            drug = get_drug(agent)
            drug_opts = dict(drug_opts or {})
            allowed = [*per_drug, "extravascular"]
            for key in drug_opts:
                if key not in allowed:
                    raise OptionError(f"model options, drug '{agent}': " + unknown("option", key, allowed))
            full = {key: choices[0] for key, choices in per_drug.items()}
            full["pk"] = drug.default_pk_model(merged["species"])
            full.update(drug_opts)
            for key, choices in per_drug.items():
                _check_choice(key, full[key], choices, f"model options, drug '{agent}'")
            routes = full.get("extravascular") or []
            routes = [routes] if isinstance(routes, str) else list(routes)
            for route in routes:
                _check_choice("extravascular", route, EXTRAVASCULAR_ROUTES, f"model options, drug '{agent}'")
            full["extravascular"] = [r for r in EXTRAVASCULAR_ROUTES if r in routes]
            resolved[drug.key] = full
        merged["drugs"] = resolved
        _check_conflicts(merged)
        return merged

    def _instantiate(self) -> list[Mechanism]:
        species = self.options["species"]
        instances: list[Mechanism] = []
        for family, value in self.options.items():
            if family in ("species", "drugs") or value is None:
                continue
            name, settings = (value, {}) if isinstance(value, str) else (value["name"], {k: v for k, v in value.items() if k != "name"})
            cls = get_mechanism(family, name)
            if cls.uses_drugs:
                settings["drugs"] = tuple(self.options["drugs"])
            if cls.uses_options:
                settings["model_options"] = self.options
            instances.append(cls(species=species, **settings))
        families = [f for f in drug_options() if f not in PK_SETTINGS and f != "pk"]
        for drug, opts in self.options["drugs"].items():
            instances.append(
                get_mechanism("pk", opts["pk"])(
                    drug=drug, species=species, elimination=opts["elimination"], extravascular=tuple(opts["extravascular"])
                )
            )
            for family in families:
                if opts[family] != "none":
                    cls = get_mechanism(family, opts[family])
                    extra = {"model_options": self.options} if cls.uses_options else {}
                    instances.append(cls(drug=drug, species=species, **extra))
        return instances

    # --------------------------------------------------------------- resolution
    def _collect(self) -> None:
        self.declarations: dict[int, Declaration] = {}
        states: dict[str, State] = {}
        params: dict[str, Parameter] = {}
        inputs: dict[str, Input] = {}
        definitions: dict[str, sympy.Expr] = {}
        summands: dict[str, list[sympy.Expr]] = {}
        rhs_terms: dict[str, list[sympy.Expr]] = {}
        self.dose_targets: dict[tuple[str, str], DoseTarget] = {}
        self.timed_inputs: list[TimedInput] = []
        self.symbols: dict[str, str] = {TIME.name: "t"}
        self.owner: dict[str, Mechanism] = {}
        for mech in self.mechanisms:
            decl = mech.declare()
            self.declarations[id(mech)] = decl
            for s in decl.states:
                if s.name in states:
                    raise OptionError(f"state '{s.name}' is declared by both {self.owner[s.name]} and {mech}")
                states[s.name] = s
                self.owner[s.name] = mech
                self.symbols[s.name] = s.symbol
            for p in decl.parameters:
                params.setdefault(p.name, p)
                self.symbols.setdefault(p.name, p.symbol)
            for i in decl.inputs:
                inputs[i.name] = i
                self.symbols[i.name] = i.symbol
            for name, expr in decl.variables.items():
                if name in definitions:
                    raise OptionError(f"quantity '{name}' is defined by both {self.owner[name]} and {mech}")
                definitions[name] = sympy.sympify(expr)
                self.owner[name] = mech
            for name, expr in decl.summands.items():
                summands.setdefault(name, []).append(sympy.sympify(expr))
            for name, expr in decl.rhs.items():
                rhs_terms.setdefault(name, []).append(sympy.sympify(expr))
            self.dose_targets.update(decl.dose_targets)
            self.timed_inputs.extend(decl.timed_inputs)
            self.symbols.update(decl.symbols)
        for name, terms in summands.items():
            if name in definitions:
                raise OptionError(f"quantity '{name}' is both defined and summed")
            definitions[name] = sympy.Add(*terms)
        for name in rhs_terms:
            if name not in states:
                raise OptionError(f"equation for '{name}', which is not a state{did_you_mean(name, states)}")

        self.states = list(states.values())
        self.parameters = list(params.values())
        self.inputs = list(inputs.values())
        self._definitions = definitions
        self._rhs_terms = rhs_terms
        leaves = {s.name for s in self.states} | set(params) | set(inputs) | {TIME.name}
        self._leaves = leaves
        self.variables: dict[str, sympy.Expr] = {}
        for name in definitions:
            self.variables[name] = self._resolve(name, ())
        self.rhs: dict[str, sympy.Expr] = {
            s.name: self._substitute(sympy.Add(*rhs_terms.get(s.name, [])), ()) for s in self.states
        }
        for s in self.states:
            free = {str(x) for x in s.initial.free_symbols}
            bad = free - set(params)
            if bad:
                raise OptionError(f"initial value of '{s.name}' refers to non-parameters {sorted(bad)}")
        for (agent, route), target in self.dose_targets.items():
            pool = states if target.kind == "state" else inputs
            if target.target not in pool:
                raise OptionError(f"dose target '{target.target}' of {agent} {route} is not a model {target.kind}")
        for timed in self.timed_inputs:
            if timed.input not in inputs:
                raise OptionError(f"timed change of '{timed.input}', which is not a model input")
        # keep only parameters the equations or initial values use
        used = set()
        for expr in [*self.rhs.values(), *self.variables.values(), *(s.initial for s in self.states)]:
            used |= {str(x) for x in expr.free_symbols}
        used |= {t.scale for t in self.dose_targets.values() if t.scale}
        self.parameters = [p for p in self.parameters if p.name in used]

    def _resolve(self, name: str, stack: tuple[str, ...]) -> sympy.Expr:
        if name in stack:
            raise OptionError("circular definition: " + " -> ".join((*stack, name)))
        if name in self.variables:
            return self.variables[name]
        return self._substitute(self._definitions[name], (*stack, name))

    def _substitute(self, expr: sympy.Expr, stack: tuple[str, ...]) -> sympy.Expr:
        mapping = {}
        for sym in expr.free_symbols:
            name = sym.name
            if name in self._leaves:
                continue
            if name not in self._definitions:
                where = f" (needed by {self.owner.get(stack[-1], 'the model')})" if stack else ""
                provided = sorted(self._leaves | set(self._definitions))
                raise OptionError(
                    f"no mechanism provides '{name}'{where}{did_you_mean(name, provided)}; "
                    "add the mechanism that defines it to the model options"
                )
            mapping[sym] = self._resolve(name, stack)
        return expr.xreplace(mapping) if mapping else expr

    # ---------------------------------------------------------------- accessors
    @property
    def state_names(self) -> list[str]:
        return [s.name for s in self.states]

    @property
    def primary_states(self) -> list[str]:
        """States of the primary tumour (tumour compartments and damage chain), which a resection removes."""
        return [s.name for s in self.states if self.owner[s.name].family in ("tumour", "damage")]

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.inputs]

    @cached_property
    def output_names(self) -> list[str]:
        """Variables saved at output times: those that depend on states, parameters and time only.

        Variables that are identically constant numbers (a hook no mechanism uses,
        such as the protection of a model without host cells) are left out.
        """
        inputs = {i.name for i in self.inputs}
        return [
            n
            for n, e in self.variables.items()
            if not ({str(x) for x in e.free_symbols} & inputs) and n not in self.state_names and not e.is_number
        ]

    @cached_property
    def result_stacks(self) -> tuple[ResultStack, ...]:
        """The mechanisms' stacked results (:class:`ResultStack`): like states saved as one labelled variable."""
        return tuple(stack for mech in self.mechanisms for stack in mech.result_stacks())

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(unknown("parameter", name, self.parameter_names))

    @cached_property
    def citations(self) -> tuple[str, ...]:
        """Citation keys of the mechanisms and parameter defaults in this model."""
        keys: list[str] = []
        for mech in self.mechanisms:
            keys.extend(mech.citations)
        keys.extend(p.citation for p in self.parameters if p.citation)
        return tuple(dict.fromkeys(keys))

    @cached_property
    def fingerprint(self) -> str:
        """Hash of the resolved equations; identifies a compiled kernel."""
        payload = json.dumps(
            {
                "states": [(s.name, str(s.initial)) for s in self.states],
                "parameters": self.parameter_names,
                "inputs": self.input_names,
                "rhs": [sympy.srepr(self.rhs[s.name]) for s in self.states],
                "outputs": [(n, sympy.srepr(self.variables[n])) for n in self.output_names],
                "timed_inputs": [(x.input, x.time, x.change) for x in self.timed_inputs],
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def default_parameters(self) -> dict[str, float]:
        return {p.name: p.default for p in self.parameters}

    def unit(self, name: str) -> str:
        return unit_of(name)

    def __repr__(self) -> str:
        opts = {k: v for k, v in self.options.items() if v}
        return f"Model({opts})"

    # ------------------------------------------------------------- documentation
    def equations(self, format: str = "markdown") -> str:
        """Readable equation listing derived from the declarations.

        ``format`` is ``"markdown"`` (with ``$$…$$`` LaTeX blocks) or ``"latex"``.
        """
        return equation_listing(self, format=format)

    def to_sbml(self, regimen=None, parameters=None, **options) -> str:
        """SBML Level 3 Version 2 text of this model for one patient under ``regimen``, derived from the
        same resolved equations the engine compiles; see :func:`chemohost.sbml.to_sbml` for the options
        (``until``, ``covariates``, ``procedures``, ``provenance``, ``path``)."""
        if "sbml" not in _EXPORTERS:  # registered by chemohost.sbml, which chemohost's own __init__ imports
            raise OptionError("SBML export is not available: import chemohost.sbml")
        return _EXPORTERS["sbml"](self, regimen, parameters, **options)
