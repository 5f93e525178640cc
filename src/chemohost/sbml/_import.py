"""SBML import: a document read into a :class:`~chemohost.core.Model` the engine simulates like any other.

:func:`load` reads SBML Level 2 or 3 (text or file) with libSBML after a few
safety checks (size bound, no DOCTYPE/ENTITY declarations), refuses the
constructs chemohost does not simulate (naming the element), parses all math
through the MathML whitelist of :mod:`._mathml` and resolves the document into
the same declarations the built-in mechanisms produce:

* **states**: the amount of every species that reactions change, the value of
  every quantity with a rate rule, and every quantity an event assigns;
* **parameters**: constant global parameters, compartment sizes and reaction
  local parameters (``"R1.k1 [1/s]"``), with the file's values as defaults;
* **variables** (outputs): assignment rules, species concentrations, reaction rates;
* **initial values**: initial assignments, assignment rules at t0 and the
  attribute values, as expressions in the parameters;
* **state events** (:class:`~chemohost.core.StateEvent`): triggers and event assignments.

Species are integrated as amounts; a species symbol in math means its
concentration (amount / compartment size) unless it has only substance units.
A compartment whose size changes keeps the amounts of its species (their
concentrations change), as SBML specifies. Time is the model's own time unit.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import sympy

from .._errors import unknown
from ..core import TIME, DoseTarget, Parameter, State, StateEvent
from ..drugs import get_drug
from ..model import Model
from ._errors import SbmlError
from ._mathml import TIME_NAME, as_condition, as_number, to_sympy

__all__ = ["load", "SbmlModel", "MAX_BYTES", "read_document", "study_model", "STUDY_KEYS"]

MAX_BYTES = 20 * 2**20
"""Largest SBML document accepted [bytes] (the biggest BioModels entries are a few MiB)."""
ACCEPTED_PACKAGES = ("layout", "render")
"""SBML Level 3 packages that do not change a model's dynamics and are ignored."""
_PACKAGE = re.compile(r"sbml\.org/sbml/level3/version\d+/([^/]+)/version\d+")
_ROOT = re.compile(r"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<(?:[\w.-]+:)?([\w.-]+)", re.DOTALL)
_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def read_document(source: str | Path):
    """The libsbml document of ``source`` (a path or SBML text), checked for safety and errors.

    Raises :class:`SbmlError` for a missing or oversized file, a DOCTYPE or
    ENTITY declaration (entity expansion), malformed XML, a document that is
    not SBML, SBML Level 1 and any libSBML read error.
    """
    import libsbml

    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("<")):
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise SbmlError(f"SBML file '{path}' does not exist")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SbmlError(f"SBML file '{path}' is {size} bytes; the limit is {MAX_BYTES} bytes")
        data = path.read_bytes()
    else:
        label = "SBML text"
        data = source.encode("utf-8")
        if len(data) > MAX_BYTES:
            raise SbmlError(f"SBML text is {len(data)} bytes; the limit is {MAX_BYTES} bytes")
    if _FORBIDDEN.search(data):
        raise SbmlError(f"{label}: DOCTYPE/ENTITY declarations are not accepted (they allow entity expansion)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SbmlError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    root = _ROOT.match(text)
    if root is not None and root.group(1) != "sbml":
        raise SbmlError(f"{label}: not an SBML document (its root element is <{root.group(1)}>, not <sbml>)")
    doc = libsbml.readSBMLFromString(text)
    errors = [doc.getError(i) for i in range(doc.getNumErrors())]
    serious = [e for e in errors if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    if doc.getLevel() < 2 and not any(e.getErrorId() < 10000 for e in serious):
        raise SbmlError(f"{label}: SBML Level {doc.getLevel()} is not supported; accepted: Level 2 and Level 3")
    if serious:
        e = serious[0]
        kind = "malformed XML" if e.getErrorId() < 10000 else "invalid SBML"
        raise SbmlError(f"{label}: {kind} at line {e.getLine()}: {_one_line(e.getMessage())}")
    if doc.getModel() is None:
        raise SbmlError(f"{label}: the document has no <model>")
    namespaces = doc.getNamespaces()
    for i in range(namespaces.getLength() if namespaces is not None else 0):
        package = _PACKAGE.search(namespaces.getURI(i))
        name = package.group(1) if package else None
        if name is not None and name not in ACCEPTED_PACKAGES:
            raise SbmlError(f"{label}: SBML package '{name}' is not supported; accepted packages: "
                            f"{', '.join(ACCEPTED_PACKAGES)}")
    return doc, label


def load(source: str | Path) -> SbmlModel:
    """Import an SBML model (a file path or the SBML text) as a chemohost model.

    >>> import chemohost as ch, chemohost.sbml  # doctest: +SKIP
    >>> model = ch.sbml.load("BIOMD0000000762.xml")  # doctest: +SKIP
    >>> ch.simulate(model, times=range(0, 100))  # doctest: +SKIP

    Raises :class:`SbmlError` (a :class:`~chemohost.ChemohostError`) naming the
    element for an unsupported construct (algebraic rules, delays, fast
    reactions, event delays and priorities, stoichiometryMath, packages).
    """
    doc, label = read_document(source)
    return SbmlModel(_Importer(doc.getModel(), label).build(), label)


STUDY_KEYS = ("sbml", "species", "doses")
"""Keys of a study's ``model: {sbml: file.xml, species: mouse, doses: {agent: id}}``."""
BOLUS_ROUTES = ("iv_bolus", "oral", "ip", "sc")


def study_model(options) -> SbmlModel:
    """The model of a study's ``model: {sbml: FILE, species: mouse|human, doses: {AGENT: ID}}``.

    ``doses`` maps a drug of the library to the SBML identifier whose state a
    bolus of it (any bolus route) is added to, in the regimen's amount unit and
    at the regimen's times, read in the model's own time unit.
    """
    for key in options:
        if key not in STUDY_KEYS:
            raise SbmlError(unknown("key of 'model: {sbml: …}'", str(key), STUDY_KEYS))
    model = load(Path(str(options["sbml"])))
    species = options.get("species", "mouse")
    if species not in ("mouse", "human"):
        raise SbmlError(f"model.species: unknown value '{species}'; accepted: mouse, human")
    model.options["species"] = species
    doses = options.get("doses") or {}
    if not isinstance(doses, dict):
        raise SbmlError("model.doses must map drug names to SBML identifiers, e.g. {gemcitabine: Ce}")
    for agent, sid in doses.items():
        model.dose_into(str(agent), str(sid))
    return model


@dataclass(frozen=True)
class _Quantity:
    """One SBML identifier with a value: compartment, species, parameter or species reference."""

    id: str
    kind: str  # "compartment", "species", "parameter", "speciesReference"
    element: object
    constant: bool


@dataclass
class Imported:
    """The resolved content of a document (what :class:`SbmlModel` is built from)."""

    model_id: str
    states: list[State]
    parameters: list[Parameter]
    rhs: dict[str, sympy.Expr]
    variables: dict[str, sympy.Expr]
    events: list[StateEvent]
    values: dict[str, sympy.Expr]
    names: dict[str, str]
    species: dict[str, tuple[str, bool]]
    state_of: dict[str, str]
    time_unit: str


class _Importer:
    """Resolves one libsbml ``Model`` into states, parameters, equations and events."""

    def __init__(self, model, label: str):
        self.m = model
        self.label = label
        self.level = model.getLevel()
        self.q: dict[str, _Quantity] = {}
        self.functions: dict[str, object] = {}
        self.assignment: dict[str, sympy.Basic] = {}
        self.rate: dict[str, sympy.Basic] = {}
        self.initial: dict[str, sympy.Basic] = {}
        self.event_targets: set[str] = set()
        self.reactions_ids: set[str] = set()
        self.reactions: dict[str, sympy.Basic] = {}
        self.local: dict[str, dict[str, str]] = {}
        self.params: dict[str, Parameter] = {}
        self._value: dict[str, sympy.Expr] = {}
        self._init: dict[str, sympy.Expr] = {}

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def raw(name: str) -> sympy.Symbol:
        """The placeholder of an SBML identifier while parsing."""
        return sympy.Symbol("sbml:" + name, real=True)

    def math(self, node, where: str, local: dict[str, sympy.Basic] | None = None,
             condition: bool = False) -> sympy.Basic:
        """``node`` as a number (or as a condition, for a trigger), identifiers as placeholders."""
        local = local or {}

        def names(name: str) -> sympy.Basic:
            if name in local:
                return local[name]
            if name in self.q or name in self.reactions_ids:
                return self.raw(name)
            raise SbmlError(f"{where}: unknown identifier '{name}'")

        expr = to_sympy(node, where, self.functions, names)
        expr = as_condition(expr) if condition else as_number(expr)
        return expr.xreplace({sympy.Symbol(TIME_NAME, real=True): TIME})

    def unit(self, element, kind: str) -> str:
        m = self.m
        if kind == "species":
            u = element.getSubstanceUnits() or (m.getSubstanceUnits() if self.level > 2 else "")
        elif kind == "compartment":
            u = element.getUnits() or (m.getVolumeUnits() if self.level > 2 else "")
        elif kind == "parameter":
            u = element.getUnits()
        else:
            u = ""
        return u or "-"

    def concentration_unit(self, sid: str) -> str:
        amount = self.unit(self.q[sid].element, "species")
        compartment = self.q[sid].element.getCompartment()
        size = self.unit(self.q[compartment].element, "compartment") if compartment in self.q else "-"
        return "-" if amount == size == "-" else f"{amount}/{size}"

    def name(self, sid: str) -> str:
        qty = self.q[sid]
        return f"{sid} [{self.unit(qty.element, qty.kind)}]"

    # ----------------------------------------------------------------- reading
    def refuse(self, what: str) -> None:
        raise SbmlError(f"{self.label}: {what} is not supported")

    def read(self) -> None:
        m = self.m
        for i in range(m.getNumFunctionDefinitions()):
            fd = m.getFunctionDefinition(i)
            lam = fd.getMath()
            if lam is None:
                continue  # no math (allowed in L3V2): a call of it is an error
            if not lam.isLambda():
                self.refuse(f"function definition '{fd.getId()}' without a lambda")
            n_args = lam.getNumBvars()
            bound = {lam.getChild(j).getName() for j in range(n_args)}
            to_sympy(lam.getChild(n_args), f"function definition '{fd.getId()}'", self.functions,  # checks the body
                     lambda name, fid=fd.getId(), bound=bound: sympy.Symbol(name) if name in bound else
                     _unbound(fid, name))
            self.functions[fd.getId()] = lam
        for c in m.getListOfCompartments():
            self.q[c.getId()] = _Quantity(c.getId(), "compartment", c, c.getConstant())
        for s in m.getListOfSpecies():
            self.q[s.getId()] = _Quantity(s.getId(), "species", s, s.getConstant())
        for p in m.getListOfParameters():
            self.q[p.getId()] = _Quantity(p.getId(), "parameter", p, p.getConstant())
        self.reactions_ids = {r.getId() for r in m.getListOfReactions()}
        for r in m.getListOfReactions():
            if r.isSetFast() and r.getFast():
                self.refuse(f"reaction '{r.getId()}': fast reactions")
            for ref in [*r.getListOfReactants(), *r.getListOfProducts()]:
                if self.level == 2 and ref.isSetStoichiometryMath():
                    self.refuse(f"reaction '{r.getId()}': stoichiometryMath of species '{ref.getSpecies()}'")
                if ref.isSetId() and ref.getId():
                    constant = ref.getConstant() if self.level > 2 else True
                    self.q[ref.getId()] = _Quantity(ref.getId(), "speciesReference", ref, constant)
        for i in range(m.getNumRules()):
            rule = m.getRule(i)
            if rule.isAlgebraic():
                self.refuse("algebraic rule" + (f" '{rule.getId()}'" if rule.isSetId() and rule.getId() else "")
                            + f" (number {i + 1})")
            var = rule.getVariable()
            if not rule.isSetMath():
                continue  # no math (allowed in L3V2): the rule has no effect
            if var not in self.q:
                raise SbmlError(f"{self.label}: rule for '{var}', which is not a compartment, species, "
                                "parameter or species reference")
            kind = "assignment rule" if rule.isAssignment() else "rate rule"
            expr = self.math(rule.getMath(), f"{kind} for '{var}'")
            (self.assignment if rule.isAssignment() else self.rate)[var] = expr
        for ia in m.getListOfInitialAssignments():
            sid = ia.getSymbol()
            if not ia.isSetMath():
                continue  # no math: no effect
            if sid not in self.q:
                raise SbmlError(f"{self.label}: initial assignment to '{sid}', which has no value to assign")
            self.initial[sid] = self.math(ia.getMath(), f"initial assignment to '{sid}'")
        for r in m.getListOfReactions():
            self.read_reaction(r)
        for e in m.getListOfEvents():
            where = f"event '{e.getId() or '(unnamed)'}'"
            if e.isSetDelay():
                self.refuse(f"{where}: event delays")
            if self.level > 2 and e.isSetPriority():
                self.refuse(f"{where}: event priorities")
            for ea in e.getListOfEventAssignments():
                if ea.isSetMath() and _has_trigger(e):
                    self.event_targets.add(ea.getVariable())

    def read_reaction(self, r) -> None:
        rid = r.getId()
        kl = r.getKineticLaw()
        if kl is None or not kl.isSetMath():
            raise SbmlError(f"{self.label}: reaction '{rid}' has no kinetic law")
        local = {}
        lps = kl.getListOfLocalParameters() if self.level > 2 else kl.getListOfParameters()
        for lp in lps:
            name = f"{rid}.{lp.getId()} [{lp.getUnits() or '-'}]"
            self.params[name] = _parameter(name, lp.getValue(), f"local parameter of reaction '{rid}'", self.label)
            local[lp.getId()] = sympy.Symbol(name, real=True)
        self.reactions[rid] = self.math(kl.getMath(), f"kinetic law of reaction '{rid}'", local)

    # --------------------------------------------------------------- structure
    def is_state(self, sid: str) -> bool:
        if sid in self.assignment:
            return False
        if sid in self.rate or sid in self.event_targets:
            return True
        return sid in self.changed_by_reactions

    @cached_property
    def changed_by_reactions(self) -> set[str]:
        """Species whose amount reactions change (neither boundary nor constant)."""
        out = set()
        for r in self.m.getListOfReactions():
            for ref in [*r.getListOfReactants(), *r.getListOfProducts()]:
                species = self.m.getSpecies(ref.getSpecies())
                if species is not None and not species.getBoundaryCondition() and not species.getConstant():
                    out.add(ref.getSpecies())
        return out

    def is_concentration(self, sid: str) -> bool:
        """Whether the symbol of species ``sid`` means a concentration (amount / size)."""
        s = self.q[sid].element
        if s.getHasOnlySubstanceUnits():
            return False
        comp = self.m.getCompartment(s.getCompartment())
        return comp is not None and comp.getSpatialDimensions() != 0

    def integrates_amount(self, sid: str) -> bool:
        """Whether the state of ``sid`` is an amount that differs from its symbol (a concentration)."""
        return self.q[sid].kind == "species" and sid not in self.rate and self.is_concentration(sid)

    def size(self, sid: str, value) -> sympy.Expr:
        return value(self.q[sid].element.getCompartment())

    # -------------------------------------------------------------- resolution
    def leaf(self, sid: str) -> sympy.Symbol | None:
        """The Parameter symbol standing for ``sid``, if it is a parameter of the chemohost model."""
        qty = self.q[sid]
        if sid in self.assignment or sid in self.initial or self.is_state(sid) or qty.kind == "species":
            return None
        element = qty.element
        if qty.kind == "speciesReference":
            return None
        value = element.getSize() if qty.kind == "compartment" else element.getValue()
        if qty.kind == "compartment" and not element.isSetSize():
            value = 1.0
        if math.isnan(value) and (qty.kind == "compartment" or element.isSetValue()):
            return None  # a value of NaN written in the file: a constant, not a parameter to supply
        name = self.name(sid)
        if name not in self.params:
            self.params[name] = _parameter(name, value, f"{qty.kind} '{sid}'", self.label)
        return sympy.Symbol(name, real=True)

    def resolve(self, expr: sympy.Basic, value) -> sympy.Basic:
        mapping = {}
        for sym in expr.free_symbols:
            if sym.name.startswith("sbml:"):
                mapping[sym] = value(sym.name[5:])
        return expr.xreplace(mapping) if mapping else expr

    def _memo(self, cache: dict, sid: str, stack: tuple[str, ...], what: str, method, compute) -> sympy.Expr:
        """``compute(sid, inner)`` once per ``sid``, where ``inner`` resolves the ids it refers to with ``method``."""
        if sid not in cache:
            if sid in stack:
                raise SbmlError(f"{self.label}: circular {what}: {' -> '.join((*stack, sid))}")
            cache[sid] = compute(sid, lambda x: method(x, (*stack, sid)))
        return cache[sid]

    def value(self, sid: str, stack: tuple[str, ...] = ()) -> sympy.Expr:
        """The value of ``sid`` at any time, in states, parameters and time."""
        return self._memo(self._value, sid, stack, "rules", self.value, self._value_of)

    def initial_value(self, sid: str, stack: tuple[str, ...] = ()) -> sympy.Expr:
        """The value of ``sid`` at the start, in parameters only."""
        return self._memo(self._init, sid, stack, "initial assignments", self.initial_value, self._initial_value_of)

    def _value_of(self, sid: str, inner) -> sympy.Expr:
        if sid in self.reactions:
            out = self.resolve(self.reactions[sid], inner)
        elif sid in self.assignment:
            out = self.resolve(self.assignment[sid], inner)
        elif self.is_state(sid):
            state = sympy.Symbol(self.state_name(sid), real=True)
            out = state / self.size(sid, inner) if self.integrates_amount(sid) else state
        elif (leaf := self.leaf(sid)) is not None:
            out = leaf
        elif self.q[sid].kind == "species" and self.is_concentration(sid):  # its amount stays as it was
            start = self.initial_value(sid) * self.initial_value(self.q[sid].element.getCompartment())
            out = start / self.size(sid, inner)
        else:
            out = self.initial_value(sid)  # a constant set by an initial assignment or an attribute
        return out

    def _initial_value_of(self, sid: str, inner) -> sympy.Expr:
        qty = self.q.get(sid)
        if sid in self.reactions:
            out = self.resolve(self.reactions[sid], inner)
        elif sid in self.initial:
            out = self.resolve(self.initial[sid], inner)
        elif sid in self.assignment:
            out = self.resolve(self.assignment[sid], inner)
        elif (leaf := self.leaf(sid)) is not None:
            out = leaf
        elif qty.kind == "species":
            s = qty.element
            size = inner(s.getCompartment())
            if s.isSetInitialAmount():
                amount = sympy.Float(s.getInitialAmount())
                out = amount / size if self.is_concentration(sid) else amount
            elif s.isSetInitialConcentration():
                conc = sympy.Float(s.getInitialConcentration())
                out = conc if self.is_concentration(sid) else conc * size
            else:
                raise SbmlError(f"{self.label}: species '{sid}' has no initial amount, concentration or assignment")
        elif qty.kind == "speciesReference":
            e = qty.element
            out = sympy.Float(e.getStoichiometry()) if e.isSetStoichiometry() else sympy.Integer(1)
        elif qty.kind == "compartment":
            out = sympy.Float(qty.element.getSize()) if qty.element.isSetSize() else sympy.Integer(1)
        else:
            if not qty.element.isSetValue():
                raise SbmlError(f"{self.label}: parameter '{sid}' has no value and no initial assignment")
            out = sympy.Float(qty.element.getValue())
        return out.xreplace({TIME: sympy.Integer(0)})

    def state_name(self, sid: str) -> str:
        if self.integrates_amount(sid):
            return f"{sid} amount [{self.unit(self.q[sid].element, 'species')}]"
        return self.name(sid)

    def stoichiometry(self, ref) -> sympy.Expr:
        if ref.isSetId() and ref.getId() and ref.getId() in self.q:
            return self.value(ref.getId())
        return sympy.Float(ref.getStoichiometry()) if ref.isSetStoichiometry() else sympy.Integer(1)

    def conversion(self, sid: str) -> sympy.Expr:
        s = self.q[sid].element
        cf = s.getConversionFactor() if self.level > 2 else ""
        if not cf and self.level > 2:
            cf = self.m.getConversionFactor()
        return self.value(cf) if cf else sympy.Integer(1)

    # ------------------------------------------------------------------- build
    def build(self) -> Imported:
        self.read()
        m = self.m
        state_ids = [sid for sid in self.q if self.is_state(sid)]
        rates: dict[str, list[sympy.Expr]] = {sid: [] for sid in state_ids}
        for r in m.getListOfReactions():
            flux = self.value(r.getId())
            for sign, refs in ((-1, r.getListOfReactants()), (1, r.getListOfProducts())):
                for ref in refs:
                    sid = ref.getSpecies()
                    if sid in rates and sid not in self.rate and sid in self.changed_by_reactions:
                        rates[sid].append(sign * self.stoichiometry(ref) * flux * self.conversion(sid))
        states, rhs = [], {}
        for sid in state_ids:
            name = self.state_name(sid)
            if sid in self.rate:
                rhs[name] = self.resolve(self.rate[sid], self.value)
            else:
                rhs[name] = sympy.Add(*rates[sid])
            start = self.initial_value(sid)
            if self.integrates_amount(sid):
                start = start * self.initial_value(self.q[sid].element.getCompartment())
            states.append(State(name, _latex(sid), start, description=f"{self.q[sid].kind} '{sid}'",
                                nonnegative=False))
        values = {sid: self.value(sid) for sid in [*self.q, *self.reactions]}
        names = {sid: self.state_name(sid) if self.is_state(sid) else self.name(sid) for sid in self.q}
        species = {sid: (q.element.getCompartment(), self.is_concentration(sid))
                   for sid, q in self.q.items() if q.kind == "species"}
        variables = {}
        state_names = {s.name for s in states}
        for sid, expr in values.items():
            if sid in self.reactions:
                names[sid] = f"{sid} rate [-]"
            elif self.q[sid].kind == "species" and self.is_concentration(sid) and sid not in self.rate:
                names[sid] = f"{sid} concentration [{self.concentration_unit(sid)}]"
            if names[sid] not in state_names and not (expr.is_Symbol and expr.name == names[sid]):
                variables[names[sid]] = expr
        events = [self.event(e) for e in m.getListOfEvents() if _has_trigger(e)]
        # all, used or not (each can be set per patient): global ones in document order, then local ones
        leaves = [leaf.name for sid in self.q if (leaf := self.leaf(sid)) is not None]
        parameters = [self.params[n] for n in leaves] + [p for n, p in self.params.items() if n not in leaves]
        time_unit = (m.getTimeUnits() if self.level > 2 else "") or "-"
        return Imported(m.getId() or Path(self.label).stem, states, parameters, rhs, variables, events, values,
                        names, species, {sid: self.state_name(sid) for sid in state_ids}, time_unit)

    def event(self, e) -> StateEvent:
        eid = e.getId() or "(unnamed)"
        trigger = e.getTrigger()
        condition = self.resolve(self.math(trigger.getMath(), f"trigger of event '{eid}'", condition=True),
                                 self.value)
        assignments, assigned = [], {}
        for ea in e.getListOfEventAssignments():
            sid = ea.getVariable()
            if not ea.isSetMath():
                continue
            if sid not in self.q:
                raise SbmlError(f"{self.label}: event '{eid}' assigns '{sid}', which is not a model quantity")
            new = self.resolve(self.math(ea.getMath(), f"event '{eid}' assignment to '{sid}'"), self.value)
            if self.integrates_amount(sid):
                new = new * self.size(sid, self.value)
            assignments.append((self.state_name(sid), new))
            assigned[sid] = new
        # a species integrated as a concentration (rate rule) keeps its amount when its compartment is resized;
        # a concentration the same event assigns is one in the compartment before it is resized
        for sid in list(assigned):
            if self.q[sid].kind != "compartment":
                continue
            for other, qty in self.q.items():
                if (qty.kind == "species" and other in self.rate and qty.element.getCompartment() == sid
                        and self.is_concentration(other)):
                    rescaled = assigned.get(other, self.value(other)) * self.value(sid) / assigned[sid]
                    name = self.state_name(other)
                    assignments = [(n, x) for n, x in assignments if n != name] + [(name, rescaled)]
        initial_value = trigger.getInitialValue() if self.level > 2 else True
        persistent = trigger.getPersistent() if self.level > 2 else True
        return StateEvent(eid, condition, tuple(assignments), bool(initial_value), bool(persistent),
                          bool(e.getUseValuesFromTriggerTime()))


def _has_trigger(event) -> bool:
    """Whether ``event`` can fire (an L3V2 event whose trigger has no math never does)."""
    return event.getTrigger() is not None and event.getTrigger().isSetMath()


def _unbound(function: str, name: str):
    raise SbmlError(f"function definition '{function}': '{name}' is not one of its arguments")


def _latex(sid: str) -> str:
    return r"\mathrm{" + sid.replace("_", r"\_") + "}"


def _parameter(name: str, value: float, what: str, label: str) -> Parameter:
    return Parameter(name, _latex(name.split(" [")[0]), float(value), f"SBML {what} ({Path(label).name})", "V-code",
                     bounds=(-math.inf, math.inf))


class SbmlModel(Model):
    """A model imported from SBML: the same interface as a composed :class:`~chemohost.Model`.

    Besides the model's states, parameters and outputs, it keeps the SBML
    identifiers: :attr:`sbml_names` maps each id to the chemohost name of the
    state, parameter or output it means in math (a species' concentration
    unless it has only substance units), :attr:`sbml_states` each id integrated
    as a state to that state (a species' amount), and :attr:`sbml_values` each
    id to its value as an expression in states, parameters and time. Events are
    :attr:`state_events`, which :func:`chemohost.simulate` handles.
    """

    def __init__(self, imported: Imported, label: str) -> None:  # noqa: D107 - no options to validate
        self.options = {"sbml": Path(label).name if label != "SBML text" else imported.model_id, "species": "mouse",
                        "drugs": {}}
        self.mechanisms = []
        self.declarations = {}
        self.dose_targets = {}
        self.timed_inputs = []
        self.owner = {}
        self.inputs = []
        self.states = imported.states
        self.parameters = imported.parameters
        self.rhs = imported.rhs
        self.variables = imported.variables
        self.state_events = tuple(imported.events)
        self.sbml_id = imported.model_id
        self.sbml_names = imported.names
        self.sbml_values = imported.values
        self.time_unit = imported.time_unit
        self._species = imported.species
        self.sbml_states = imported.state_of
        self.symbols = {TIME.name: "t", **{s.name: s.symbol for s in self.states},
                        **{p.name: p.symbol for p in self.parameters}}

    def sbml_expression(self, sid: str, quantity: str = "value") -> sympy.Expr:
        """The expression of SBML identifier ``sid`` in states, parameters and time.

        ``quantity`` is ``"value"`` (what the identifier means in the model's math),
        or for a species ``"amount"`` or ``"concentration"`` (amount / compartment size).
        """
        if sid not in self.sbml_values:
            raise SbmlError(unknown("SBML identifier", sid, self.sbml_values))
        value = self.sbml_values[sid]
        if quantity == "value" or sid not in self._species:
            return value
        compartment, concentration = self._species[sid]
        size = self.sbml_values.get(compartment, sympy.Integer(1))
        if quantity == "amount":
            return value * size if concentration else value
        if quantity == "concentration":
            return value if concentration else value / size
        raise SbmlError(f"quantity '{quantity}' of '{sid}': accepted: value, amount, concentration")

    def dose_into(self, agent: str, sid: str) -> None:
        """Let boluses of ``agent`` (a drug of the library) add to the state of SBML identifier ``sid``."""

        drug = get_drug(agent)
        name = self.sbml_states.get(sid)
        if name is None:
            states = sorted(self.sbml_states)
            raise SbmlError(f"model.doses: '{sid}' (for {agent}) is not a state of the SBML model; "
                            f"states: {', '.join(states) or 'none'}")
        for route in BOLUS_ROUTES:
            self.dose_targets[(drug.key, route)] = DoseTarget("state", name)

    @property
    def primary_states(self) -> list[str]:
        return []

    @cached_property
    def fingerprint(self) -> str:
        events = [(e.name, sympy.srepr(e.trigger), [(n, sympy.srepr(x)) for n, x in e.assignments],
                   e.initial_value, e.persistent) for e in self.state_events]
        return hashlib.sha256((Model.fingerprint.func(self) + repr(events)).encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"SbmlModel({self.sbml_id!r}: {len(self.states)} states, {len(self.parameters)} parameters, " \
               f"{len(self.state_events)} events)"
