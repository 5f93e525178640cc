"""PEtab formulas (observables, noise) → SymPy through the SBML MathML whitelist; text is never evaluated.

A formula is parsed by libSBML's infix parser (``libsbml.parseL3FormulaWithSettings``,
``log`` meaning the natural logarithm as in PEtab, ``**`` read as ``^``) into an
abstract syntax tree, and that tree goes through the same whitelist
(:func:`chemohost.sbml._mathml.to_sympy`) as the math of an SBML document: a
name outside the allowed identifiers, a call of a function outside the
whitelist (``__import__(os)``) or syntax the parser does not know (attribute
access ``a.b``) is a one-line :class:`PetabError` naming the file, row and field.
"""

from __future__ import annotations

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

    def names(name: str) -> sympy.Symbol:
        if not known(name):
            raise PetabError(f"{where}: unknown symbol '{name}' in '{text}' (neither a model entity, a parameter "
                             "of the parameter table nor a placeholder of this observable)")
        return sympy.Symbol(name, real=True)

    try:
        expr = as_number(to_sympy(node, where, {}, names))
    except SbmlError as exc:
        raise PetabError(str(exc)) from None
    if sympy.Symbol(TIME_NAME, real=True) in expr.free_symbols:
        raise PetabError(f"{where}: the time symbol is not supported in observable and noise formulas")
    return expr
