"""SBML Level 3 Version 2 export of a model, one patient's parameters and a regimen.

The document is derived from the resolved equations the batch engine compiles
(``Model.rhs``, ``Model.variables``, the states' initial values) and from the
engine's own event table (:func:`chemohost.engine._simulate.prepare_batch`), so
nothing is restated by hand:

- every state is a parameter with ``constant="false"`` and a rate rule (the
  model has no compartments or reactions: its equations are rates of named
  quantities, not mass-action laws);
- every model parameter is a constant parameter holding the patient's value, with
  its unit as a unit definition and its name, symbol, source, tag, citation and
  bounds in a ``chemohost`` annotation (namespace :data:`NAMESPACE`) and in notes;
- each input (an infusion or continuous-dosing rate, a model's time window) is a
  non-constant parameter that events switch on and off;
- each derived output is a parameter set by an assignment rule;
- a state whose initial value depends on parameters gets an initial assignment;
- every time at which the regimen, the procedures (resection, inoculation) or
  the model's timed inputs act is one event ``time >= t`` whose assignments
  compose that time's changes in the engine's order.

Formulas are printed by :class:`_Formula`, a small SymPy printer to libSBML's
Level 3 formula syntax, and parsed with ``libsbml.parseL3Formula``.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import sympy

from .._errors import ChemohostError
from ..core import TIME
from ..engine._batch import prepare_batch
from ..model import Model
from ..provenance import __version__
from ..engine._codegen import LOG_AT_ZERO
from ..engine._events import ADD_INPUT, ADD_STATE, SCALE_STATE
from ..parameters._units import _is_symbolic, ureg

__all__ = ["NAMESPACE", "SbmlExportError", "check_sbml", "sbml_ids", "to_sbml"]

NAMESPACE = "https://chemohost.org/sbml/annotation/1"
"""XML namespace of chemohost's annotations (prefix ``chemohost``)."""

INPUT_SNAP = 1e-12
"""An input left within this fraction of the change just applied is set to exactly 0 (as the kernel's
``_apply_events`` and the SciPy engine's ``apply_doses`` do), so infusion edges cancel exactly."""

_RESERVED = {"time", "avogadro", "pi", "exponentiale", "true", "false", "infinity", "notanumber", "inf", "nan", "e"}
_XHTML = "http://www.w3.org/1999/xhtml"

CONVENTIONS = (
    "Time is in days from the start of the simulation (t = 0), where the states take their initial values.",
    f"ln(0) is {LOG_AT_ZERO!r} = ln(1e-300) so that x*ln(x) terms vanish when x is 0 (a resected or absent "
    "tumour); every natural logarithm is written piecewise(" + repr(LOG_AT_ZERO) + ", x == 0, ln(x)).",
    "All changes at one time (doses, then procedures, then the model's timed inputs, each in the order "
    "given) are one event; each assignment composes that time's changes of its variable in that order.",
    f"After a change of an input rate, a rate within {INPUT_SNAP:g} times the change is set to exactly 0.",
    "States at a time with an event are reported after the event.",
)


class SbmlExportError(ChemohostError):
    """A model, regimen or path that cannot be exported to SBML."""


def _libsbml():
    try:
        import libsbml
    except ImportError:  # pragma: no cover - the sbml extra is missing
        raise SbmlExportError("SBML export needs python-libsbml: pip install 'chemohost[sbml]'") from None
    return libsbml


# ----------------------------------------------------------------------------------------- ids
def _sid(name: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "x"
    if base[0].isdigit():
        base = "_" + base
    if base.lower() in _RESERVED:
        base += "_"
    sid, k = base, 2
    while sid in used:
        sid, k = f"{base}_{k}", k + 1
    used.add(sid)
    return sid


def sbml_ids(model: Model) -> dict[str, str]:
    """SBML id of each state, parameter, input and derived output of ``model``, by chemohost name.

    Ids are the names with every run of characters outside ``[A-Za-z0-9_]``
    replaced by ``_`` (``"Total tumour volume [mm3]"`` → ``Total_tumour_volume_mm3``),
    made unique in this order: states, parameters, inputs, outputs.
    """
    used: set[str] = set()
    names = [*model.state_names, *model.parameter_names, *model.input_names, *model.output_names]
    return {name: _sid(name, used) for name in names}


# ------------------------------------------------------------------------------------ formulas
_FUNCTIONS = {
    sympy.exp: "exp", sympy.Abs: "abs", sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan",
    sympy.sinh: "sinh", sympy.cosh: "cosh", sympy.tanh: "tanh", sympy.asin: "arcsin", sympy.acos: "arccos",
    sympy.atan: "arctan", sympy.floor: "floor", sympy.ceiling: "ceil",
}
_RELATIONS = {sympy.StrictGreaterThan: ">", sympy.GreaterThan: ">=", sympy.StrictLessThan: "<",
              sympy.LessThan: "<=", sympy.Equality: "==", sympy.Unequality: "!="}


class _Formula:
    """Prints a SymPy expression in libSBML's Level 3 formula syntax, fully parenthesised.

    Symbols become SBML ids (``ids`` maps chemohost names to ids) and the time
    symbol the ``time`` csymbol. ``log`` follows the kernel's convention (finite
    at 0), ``Max``/``Min`` and ``Heaviside`` become ``piecewise`` (portable to
    Level 3 Version 1 tools), numbers keep every bit (``repr`` of the float).
    """

    def __init__(self, ids: Mapping[str, str]):
        self.ids = ids

    def __call__(self, expr) -> str:
        e = sympy.sympify(expr)
        p = self
        if e.is_Symbol:
            if e.name == TIME.name:
                return "time"
            if e.name not in self.ids:
                raise SbmlExportError(f"the equations refer to '{e.name}', which the SBML document does not define")
            return self.ids[e.name]
        if e is sympy.true or e is sympy.false:
            return "true" if e is sympy.true else "false"
        if e.is_Integer:
            return str(int(e)) if e >= 0 else f"({int(e)})"
        if e.is_Number or e.is_NumberSymbol:
            value = float(e)
            if math.isnan(value):
                return "NaN"
            if math.isinf(value):
                return "INF" if value > 0 else "(-INF)"
            return repr(value) if value >= 0 else f"({value!r})"
        if e.is_Add:
            return "(" + " + ".join(p(a) for a in e.args) + ")"
        if e.is_Mul:
            num = [a for a in e.args if not _reciprocal(a)]
            den = [1 / a for a in e.args if _reciprocal(a)]
            top = " * ".join(p(a) for a in num) if num else "1"
            return f"({top} / {p(sympy.Mul(*den))})" if den else f"({top})"
        if e.is_Pow:
            if _reciprocal(e):
                return f"(1 / {p(1 / e)})"
            return f"({p(e.base)} ^ {p(e.exp)})"
        if isinstance(e, sympy.log):
            x = p(e.args[0])
            return f"piecewise({LOG_AT_ZERO!r}, {x} == 0, ln({x}))"
        if isinstance(e, sympy.Piecewise):
            parts = []
            for value, cond in e.args:
                parts.append(p(value) if cond is sympy.true else f"{p(value)}, {p(cond)}")
            return "piecewise(" + ", ".join(parts) + ")"
        if isinstance(e, (sympy.Max, sympy.Min)):
            op = ">=" if isinstance(e, sympy.Max) else "<="
            args = [p(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = f"piecewise({out}, {out} {op} {a}, {a})"
            return out
        if isinstance(e, sympy.Heaviside):
            x = p(e.args[0])
            h0 = p(e.args[1]) if len(e.args) > 1 else "0.5"
            return f"piecewise(1, {x} > 0, {h0}, {x} == 0, 0)"
        if type(e) in _RELATIONS:
            return f"({p(e.lhs)} {_RELATIONS[type(e)]} {p(e.rhs)})"
        if isinstance(e, sympy.And):
            return "(" + " && ".join(p(a) for a in e.args) + ")"
        if isinstance(e, sympy.Or):
            return "(" + " || ".join(p(a) for a in e.args) + ")"
        if isinstance(e, sympy.Not):
            return f"!({p(e.args[0])})"
        if e.func in _FUNCTIONS:
            return f"{_FUNCTIONS[e.func]}({p(e.args[0])})"
        raise SbmlExportError(f"cannot write '{type(e).__name__}' in SBML (in {e}); "
                              "supported: + * ^ exp ln piecewise max min heaviside abs, relations, trigonometry")


def _reciprocal(e) -> bool:
    """Whether ``e`` is a power with a negative number as exponent (printed as a division)."""
    return e.is_Pow and e.exp.is_number and e.exp.is_negative


def _math(formula: str, where: str):
    libsbml = _libsbml()
    settings = libsbml.L3ParserSettings()
    settings.setParseCollapseMinus(True)  # "-1" is the number -1, so units of powers can be checked
    ast = libsbml.parseL3FormulaWithSettings(formula, settings)
    if ast is None:
        raise SbmlExportError(f"{where}: libSBML cannot parse '{formula[:80]}': {libsbml.getLastParseL3Error()}")
    return ast


# --------------------------------------------------------------------------------------- units
_BASE_KINDS = {"[length]": "metre", "[mass]": "kilogram", "[time]": "second", "[substance]": "mole",
               "[cell_count]": "item", "[current]": "ampere", "[temperature]": "kelvin", "[luminosity]": "candela"}


def _unit_parts(unit: str) -> list[tuple[str, float, float]] | None:
    """``(kind, exponent, factor)`` per SBML base unit of ``unit``, the whole magnitude on the first;
    ``[]`` for a pure number, ``None`` for units SBML cannot write (a parameter in an exponent)."""
    if unit in ("-", "") or unit.startswith("ln("):  # a logarithm of a quantity is a number
        return []
    if _is_symbolic(unit):
        return None
    q = ureg.parse_expression(unit.replace("^", "**")).to_base_units()
    dims = [(kind, float(exp)) for kind, exp in dict(q.dimensionality).items()]
    if any(kind not in _BASE_KINDS for kind, _ in dims):
        return None
    magnitude = float(q.magnitude)
    if not dims:
        return [("dimensionless", 1.0, magnitude)]
    parts = [(_BASE_KINDS[kind], exp, 1.0) for kind, exp in sorted(dims)]
    kind, exp, _ = parts[0]
    parts[0] = (kind, exp, magnitude ** (1.0 / exp))
    return parts


class _Units:
    """Unit definitions of a document, one per distinct unit string."""

    def __init__(self, model):
        self.model = model
        self.ids: dict[str, str | None] = {}
        self.used: set[str] = set()

    def __call__(self, unit: str) -> str | None:
        """The unit id to put on a quantity in ``unit`` (``None``: leave it without units)."""
        if unit not in self.ids:
            parts = _unit_parts(unit)
            if parts is None:
                self.ids[unit] = None
            elif not parts:
                self.ids[unit] = "dimensionless"
            else:
                sid = _sid("u_" + unit.replace("/", "_per_").replace("*", "_"), self.used)
                definition = self.model.createUnitDefinition()
                definition.setId(sid)
                definition.setName(unit)
                for kind, exponent, factor in parts:
                    u = definition.createUnit()
                    u.setKind(_libsbml().UnitKind_forName(kind))
                    u.setExponent(exponent)
                    scale = math.log10(factor) if factor > 0 else math.nan
                    if abs(scale - round(scale)) < 1e-9:
                        u.setScale(int(round(scale)))
                        u.setMultiplier(1.0)
                    else:
                        u.setScale(0)
                        u.setMultiplier(factor)
                self.ids[unit] = sid
        return self.ids[unit]


# --------------------------------------------------------------------------------- annotations
def _annotate(element, kind: str, fields: Mapping[str, object], text: str | None = None) -> None:
    attrs = " ".join(f"{k}={quoteattr(_text(v))}" for k, v in fields.items() if v is not None and _text(v) != "")
    element.setAnnotation(f'<annotation><chemohost:{kind} xmlns:chemohost="{NAMESPACE}" {attrs}/></annotation>')
    if text:
        paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.split("\n") if line)
        element.setNotes(f'<notes><body xmlns="{_XHTML}">{paragraphs}</body></notes>')


def _text(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _provenance(model: Model, provenance) -> dict[str, dict[str, str]]:
    """Source, tag, citation (and parameter set) of each parameter: the declaration's, overridden by
    ``provenance`` (a study's parameter table, or a mapping name → fields)."""
    out = {p.name: {"source": p.source, "tag": p.tag, "citation": p.citation or "", "set": "model default"}
           for p in model.parameters}
    if provenance is not None:
        rows = provenance.to_dict("index") if hasattr(provenance, "to_dict") else provenance
        for name, row in rows.items():
            if name in out:
                fields = {k: row[k] for k in ("source", "tag", "set") if k in row}
                if "citations" in row or "citation" in row:
                    fields["citation"] = row.get("citations", row.get("citation")) or ""
                out[name].update({k: str(v) for k, v in fields.items()})
    return out


# --------------------------------------------------------------------------------------- build
def _parameter(sbml_model, sid, name, value, unit_id, constant):
    p = sbml_model.createParameter()
    p.setId(sid)
    p.setName(name)
    p.setConstant(constant)
    if value is not None:
        p.setValue(float(value))
    if unit_id:
        p.setUnits(unit_id)
    return p


def _event_groups(events, patient: int = 0):
    """The event table's rows grouped by time: ``[(time, [row, ...]), ...]`` in time order."""
    groups: dict[float, list[int]] = {}
    for e in range(events.kind.size):
        groups.setdefault(float(events.time[patient, e]), []).append(e)
    return sorted(groups.items())


def _event_assignments(model: Model, events, rows, patient: int = 0) -> dict[str, sympy.Expr]:
    """Each variable an event changes → its new value, composing the rows' changes in order."""
    states, inputs, params = model.state_names, model.input_names, model.parameter_names
    new: dict[str, sympy.Expr] = {}
    for e in rows:
        kind, j = int(events.kind[e]), int(events.index[e])
        name = inputs[j] if kind == ADD_INPUT else states[j]
        current = new.get(name, sympy.Symbol(name, real=True))
        value = sympy.Float(float(events.value[patient, e]))
        if events.scale[e] >= 0:
            value = value * sympy.Symbol(params[int(events.scale[e])], real=True)
        if kind == ADD_STATE:
            new[name] = current + value
        elif kind == SCALE_STATE:
            new[name] = current * value
        else:
            total = current + value
            new[name] = sympy.Piecewise((0, sympy.Abs(total) < INPUT_SNAP * sympy.Abs(value)), (total, True))
    return new


def _event_label(model: Model, events, rows) -> str:
    parts = []
    for e in rows:
        kind, j = int(events.kind[e]), int(events.index[e])
        target = model.input_names[j] if kind == ADD_INPUT else model.state_names[j]
        dose = int(events.dose[e]) if events.dose is not None else -1
        what = f"{events.agents[dose]} dose" if dose >= 0 else ("scale" if kind == SCALE_STATE else "change")
        parts.append(f"{what}: {target}")
    return "; ".join(dict.fromkeys(parts))


def _document(model: Model, values: np.ndarray, events, *, provenance=None, description: str = "",
              annotations: Mapping[str, object] | None = None):
    """The libSBML document of ``model`` with parameter ``values`` (in ``model.parameter_names`` order)
    and the first patient's rows of the engine's event table ``events``."""
    libsbml = _libsbml()
    doc = libsbml.SBMLDocument(3, 2)
    sm = doc.createModel()
    sm.setId("chemohost_model")
    sm.setName(repr(model))
    ids = sbml_ids(model)
    formula = _Formula(ids)
    units = _Units(sm)
    day = units("day")
    sm.setTimeUnits(day)

    for s in model.states:
        initial = s.initial
        p = _parameter(sm, ids[s.name], s.name, float(initial) if initial.is_number else None, units(s.unit), False)
        _annotate(p, "state", {"name": s.name, "unit": s.unit, "symbol": s.symbol, "description": s.description,
                               "nonnegative": str(s.nonnegative).lower()}, s.description)
        if not initial.is_number:
            ia = sm.createInitialAssignment()
            ia.setSymbol(ids[s.name])
            ia.setMath(_math(formula(initial), f"initial value of '{s.name}'"))
    prov = _provenance(model, provenance)
    for p, value in zip(model.parameters, values):
        element = _parameter(sm, ids[p.name], p.name, value, units(p.unit), True)
        info = prov[p.name]
        fields = {"name": p.name, "unit": p.unit, "symbol": p.symbol, "source": info["source"], "tag": info["tag"],
                  "citation": info["citation"], "set": info["set"], "lower": float(p.bounds[0]),
                  "upper": float(p.bounds[1]), "description": p.description}
        if p.per is not None:
            fields.update(per=p.per, per_value=float(p.per_value))
        citation = f" [{info['citation']}]" if info["citation"] else ""
        _annotate(element, "parameter", fields,
                  f"{p.description}\nSource: {info['source']}{citation} (tag {info['tag']}; {info['set']}).")
    for i in model.inputs:
        element = _parameter(sm, ids[i.name], i.name, 0.0, units(i.unit), False)
        _annotate(element, "input", {"name": i.name, "unit": i.unit, "symbol": i.symbol,
                                     "description": i.description}, i.description)
    for s in model.states:
        rule = sm.createRateRule()
        rule.setVariable(ids[s.name])
        rule.setMath(_math(formula(model.rhs[s.name]), f"equation of '{s.name}'"))
    for name in model.output_names:
        element = _parameter(sm, ids[name], name, None, units(model.unit(name)), False)
        _annotate(element, "output", {"name": name, "unit": model.unit(name), "symbol": model.symbols.get(name, "")})
        rule = sm.createAssignmentRule()
        rule.setVariable(ids[name])
        rule.setMath(_math(formula(model.variables[name]), f"output '{name}'"))

    for k, (time, rows) in enumerate(_event_groups(events), start=1):
        if time < 0:
            raise SbmlExportError(f"an event on day {time:g} is before the SBML model's start (day 0)")
        event = sm.createEvent()
        event.setId(f"event_{k}")
        event.setName(f"day {time:g}: {_event_label(model, events, rows)}")
        event.setUseValuesFromTriggerTime(True)
        trigger = event.createTrigger()
        trigger.setInitialValue(False)  # an event at t = 0 fires at the start, as the engine applies it
        trigger.setPersistent(True)
        trigger.setMath(_math(f"time >= {time!r} {day}", f"event on day {time:g}"))
        for name, value in _event_assignments(model, events, rows).items():
            assignment = event.createEventAssignment()
            assignment.setVariable(ids[name])
            assignment.setMath(_math(formula(value), f"event on day {time:g}"))

    fields = {"options": json.dumps(model.options, sort_keys=True), "fingerprint": model.fingerprint,
              "version": __version__, **(annotations or {})}
    notes = [f"Exported by chemohost {__version__} from {model!r}.", description,
             "Conventions (chemohost semantics, matched by this document):", *CONVENTIONS]
    _annotate(sm, "model", fields, "\n".join(line for line in notes if line))
    return doc


def check_sbml(doc_or_text) -> tuple[list[str], list[str]]:
    """libSBML's consistency checks (units included) on a document or SBML text: ``(errors, warnings)``,
    each message ``"[id] message"`` on one line."""
    libsbml = _libsbml()
    doc = doc_or_text
    if isinstance(doc_or_text, str):
        doc = libsbml.readSBMLFromString(doc_or_text)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    errors, warnings = [], []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        line = f"[{err.getErrorId()}] {' '.join(err.getMessage().split())}"
        (errors if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR else warnings).append(line)
    return errors, warnings


def _batch(model: Model, regimen, parameters, until: float, covariates, procedures, n_patients=None):
    if not (until > 0 and math.isfinite(until)):
        raise SbmlExportError(f"until must be a positive number of days, got {until!r}")
    return prepare_batch(model, regimen, parameters, np.array([0.0, float(until)]), covariates, n_patients,
                         0.0, procedures)


def to_sbml(model: Model, regimen=None, parameters=None, *, until: float = 365.0, covariates=None,
            procedures=None, provenance=None, path: str | Path | None = None) -> str:
    """The SBML Level 3 Version 2 text of ``model`` for one patient under ``regimen``.

    Parameters
    ----------
    model:
        The composed :class:`~chemohost.Model`.
    regimen:
        A :class:`~chemohost.regimen.Regimen`, a regimen string or ``None``; its
        doses up to day ``until`` become events (with the model's timed inputs and
        the ``procedures``).
    parameters:
        The patient's parameter values by name (defaults fill the rest), as for
        :func:`chemohost.simulate`; covariates may be given here or in ``covariates``.
    until:
        Last day of the events written (an open-ended regimen repeats up to it).
    provenance:
        Source, tag and citation per parameter overriding the declarations (a
        study's parameter table); see :func:`export_study`.
    path:
        If given, the document is also written there.
    """
    batch = _batch(model, regimen, parameters, until, covariates, procedures)
    if batch.parameters.shape[0] != 1:
        raise SbmlExportError("to_sbml exports one patient; give one value per parameter "
                              "(export_study writes a cohort as one model plus a parameter table)")
    regimen_text = str(batch.regimen) if batch.regimen is not None else "none"
    doc = _document(model, batch.parameters[0], batch.events, provenance=provenance,
                    description=f"Regimen: {regimen_text}.",
                    annotations={"regimen": regimen_text, "procedures": json.dumps([str(x) for x in batch.procedures]),
                                 "covariates": json.dumps({k: float(v[0]) for k, v in batch.covariates.items()}),
                                 "until": float(until)})
    text = _libsbml().writeSBMLToString(doc)
    if path is not None:
        _write_files({Path(path): text})
    return text


# ------------------------------------------------------------------------------------- studies
def _check_target(path: Path, what: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise SbmlExportError(f"{what} '{path}' is a folder; give a file name such as model.xml")
    if not parent.is_dir():
        raise SbmlExportError(f"{what} '{path}': folder '{parent}' does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SbmlExportError(f"{what} '{path}' is not writable; choose another path")


def _write_files(texts: Mapping[Path, str]) -> None:
    """Write each text next to its path and rename it into place (no partial files)."""
    for path in texts:
        _check_target(path, "output file")
    for path, text in texts.items():
        handle, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise SbmlExportError(f"cannot write '{path}': {exc.strerror}") from None
