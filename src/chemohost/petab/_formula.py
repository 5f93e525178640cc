"""PEtab formulas (observables, noise) → SymPy through the SBML MathML whitelist; text is never evaluated.

A formula is parsed by libSBML's infix parser (``libsbml.parseL3FormulaWithSettings``,
``log`` meaning the natural logarithm as in PEtab, ``**`` read as ``^``) into an
abstract syntax tree, and that tree goes through the same whitelist
(:func:`chemohost.sbml._mathml.to_sympy`) as the math of an SBML document: a
name outside the allowed identifiers, a call of a function outside the
whitelist (``__import__(os)``) or syntax the parser does not know (attribute
access ``a.b``) is a one-line :class:`PetabError` naming the file, row and field.
Integer literals are read as reals, so that no exact integer power tower
(``9^9^9``) is ever computed while the expression is built.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import sympy

from ..sbml import SbmlError
from ..sbml._mathml import TIME_NAME, as_number, to_sympy
from ._errors import PetabError

__all__ = ["parse_formula"]

MAX_FORMULA_LENGTH = 10_000
"""Longest formula accepted [characters]."""


def parse_formula(text, where: str, known: Callable[[str], bool]) -> sympy.Expr:
    """The SymPy expression of the PEtab formula ``text``; ``known(name)`` says which identifiers are allowed.

    Numbers stay numbers; each identifier becomes a real symbol of the same name.
    Raises :class:`PetabError` starting with ``where`` (file, row and field).
    """
    import libsbml

    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
        if value != value:
            raise PetabError(f"{where}: empty formula")
        return sympy.Float(value)
    if not isinstance(text, str) or not text.strip():
        raise PetabError(f"{where}: empty formula")
    if len(text) > MAX_FORMULA_LENGTH:
        raise PetabError(f"{where}: formula of {len(text)} characters; the limit is {MAX_FORMULA_LENGTH}")
    settings = libsbml.L3ParserSettings()
    settings.setParseLog(libsbml.L3P_PARSE_LOG_AS_LN)
    node = libsbml.parseL3FormulaWithSettings(text.replace("**", "^"), settings)
    if node is None:
        message = " ".join(libsbml.getLastParseL3Error().split())
        raise PetabError(f"{where}: cannot parse '{text}': {message}")

    _integers_as_reals(node, libsbml)
    _constant(node, libsbml, where)

    def names(name: str) -> sympy.Symbol:
        if not known(name):
            raise PetabError(f"{where}: unknown symbol '{name}' in '{text}' (neither a model entity, a parameter "
                             "of the parameter table nor a placeholder of this observable)")
        return sympy.Symbol(name, real=True)

    try:
        expr = as_number(to_sympy(node, where, {}, names))
    except SbmlError as exc:
        raise PetabError(str(exc)) from None
    if expr.has(sympy.I, sympy.zoo, sympy.nan):
        raise PetabError(f"{where}: '{text}' is not a real number expression")
    if sympy.Symbol(TIME_NAME, real=True) in expr.free_symbols:
        raise PetabError(f"{where}: the time symbol is not supported in observable and noise formulas")
    return expr


def _integers_as_reals(node, libsbml) -> None:
    """Turn integer literals into reals, so that SymPy never evaluates an exact integer power (``9^9^9``)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.getType() == libsbml.AST_INTEGER:
            n.setValue(float(n.getInteger()))
        stack.extend(n.getChild(i) for i in range(n.getNumChildren()))


MAX_CONSTANT_EXPONENT = 1e4
"""Largest magnitude of a constant exponent: beyond it a power is refused before SymPy would evaluate it."""


def _constant(node, libsbml, where: str):
    """The float value of a constant subtree (None where it holds a name or a function); raises
    :class:`PetabError` for a power whose constant exponent exceeds :data:`MAX_CONSTANT_EXPONENT`."""
    t = node.getType()
    if t in (libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL):
        return node.getReal()
    args = [_constant(node.getChild(i), libsbml, where) for i in range(node.getNumChildren())]
    if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER) and len(args) == 2 and args[1] is not None:
        if not abs(args[1]) <= MAX_CONSTANT_EXPONENT:
            raise PetabError(f"{where}: constant exponent {args[1]:g} is beyond ±{MAX_CONSTANT_EXPONENT:g}")
    if any(a is None for a in args) or not args:
        return None
    try:
        if t == libsbml.AST_PLUS:
            return float(sum(args))
        if t == libsbml.AST_TIMES:
            return float(math.prod(args))
        if t == libsbml.AST_MINUS:
            return -args[0] if len(args) == 1 else args[0] - sum(args[1:])
        if t == libsbml.AST_DIVIDE and len(args) == 2:
            return args[0] / args[1]
        if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER) and len(args) == 2:
            return float(args[0] ** args[1])
    except (OverflowError, ZeroDivisionError, TypeError):
        return math.inf
    return None
