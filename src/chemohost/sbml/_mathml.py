"""MathML → SymPy through a whitelist of operators.

libSBML parses the MathML of a document into an abstract syntax tree
(``libsbml.ASTNode``); :func:`to_sympy` walks that tree node by node and maps
each node type it knows to a SymPy constructor. A node type outside the
whitelist raises :class:`~chemohost.sbml._errors.SbmlError` naming the element
and the operator. No text is ever evaluated: names become symbols, numbers
become SymPy numbers, everything else is built by calling SymPy directly.

SBML mixes booleans and numbers freely (``true * 3``, a number as a piecewise
condition); booleans are turned into 0/1 where a number is needed and numbers
into ``x != 0`` where a condition is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import sympy

from ._errors import SbmlError

__all__ = ["to_sympy", "as_condition", "as_number", "AVOGADRO", "TIME_NAME"]

AVOGADRO = 6.02214179e23
"""The ``avogadro`` csymbol: the value the SBML Level 3 specifications fix (CODATA 2006)."""
TIME_NAME = "__sbml_time__"
"""Name of the symbol the ``time`` csymbol is parsed to (the importer replaces it by the model's time)."""


def as_number(x: sympy.Basic) -> sympy.Expr:
    """``x`` as a number: a boolean is 1 where true and 0 where false."""
    if x is sympy.true:
        return sympy.Integer(1)
    if x is sympy.false:
        return sympy.Integer(0)
    if isinstance(x, sympy.logic.boolalg.Boolean) and not isinstance(x, sympy.Symbol):
        return sympy.Piecewise((1, x), (0, True))
    return x


def as_condition(x: sympy.Basic) -> sympy.Basic:
    """``x`` as a condition: a number is true where it is not 0."""
    if isinstance(x, (sympy.logic.boolalg.Boolean,)) and not isinstance(x, sympy.Symbol):
        return x
    if x.is_number:
        return sympy.false if x.is_zero else sympy.true
    return sympy.Ne(x, 0)


def _trunc(x):
    return sympy.sign(x) * sympy.floor(sympy.Abs(x))


def _minus(*a):
    return -a[0] if len(a) == 1 else a[0] - sympy.Add(*a[1:])


def _divide(a, b):
    return a / b


def _log(*a):
    # libsbml gives log as (base, x); base 10 by default
    return sympy.log(a[-1]) / sympy.log(a[0]) if len(a) == 2 else sympy.log(a[0], 10)


def _root(*a):
    return a[-1] ** (sympy.Integer(1) / a[0]) if len(a) == 2 else sympy.sqrt(a[0])


def _relational(op):
    def build(*a):
        if len(a) < 2:
            return sympy.true
        return sympy.And(*(op(x, y) for x, y in zip(a[:-1], a[1:])))
    return build


def _xor(*a):
    return sympy.Xor(*a) if a else sympy.false


def _implies(a, b):
    return sympy.Or(sympy.Not(a), b)


def _factorial(x):
    return sympy.gamma(x + 1)


def _neq(a, b):
    return sympy.Ne(a, b)


def _arith(n_min: int, fn: Callable, empty=None):
    return ("num", n_min, fn, empty)


def _logic(n_min: int, fn: Callable, empty=None):
    return ("bool", n_min, fn, empty)


def _compare(n_min: int, fn: Callable, empty=None):
    return ("cmp", n_min, fn, empty)


def _whitelist() -> dict[int, tuple[str, tuple]]:
    """libsbml AST node type → (MathML element name, (argument kind, minimum arguments, builder, empty value))."""
    import libsbml as L

    s = sympy
    table = {
        "AST_PLUS": ("plus", _arith(0, lambda *a: s.Add(*a), 0)),
        "AST_MINUS": ("minus", _arith(1, _minus)),
        "AST_TIMES": ("times", _arith(0, lambda *a: s.Mul(*a), 1)),
        "AST_DIVIDE": ("divide", _arith(2, _divide)),
        "AST_POWER": ("power", _arith(2, lambda a, b: a ** b)),
        "AST_FUNCTION_POWER": ("power", _arith(2, lambda a, b: a ** b)),
        "AST_FUNCTION_ABS": ("abs", _arith(1, s.Abs)),
        "AST_FUNCTION_EXP": ("exp", _arith(1, s.exp)),
        "AST_FUNCTION_LN": ("ln", _arith(1, s.log)),
        "AST_FUNCTION_LOG": ("log", _arith(1, _log)),
        "AST_FUNCTION_ROOT": ("root", _arith(1, _root)),
        "AST_FUNCTION_FLOOR": ("floor", _arith(1, s.floor)),
        "AST_FUNCTION_CEILING": ("ceiling", _arith(1, s.ceiling)),
        "AST_FUNCTION_FACTORIAL": ("factorial", _arith(1, _factorial)),
        "AST_FUNCTION_SIN": ("sin", _arith(1, s.sin)),
        "AST_FUNCTION_COS": ("cos", _arith(1, s.cos)),
        "AST_FUNCTION_TAN": ("tan", _arith(1, s.tan)),
        "AST_FUNCTION_SEC": ("sec", _arith(1, lambda x: 1 / s.cos(x))),
        "AST_FUNCTION_CSC": ("csc", _arith(1, lambda x: 1 / s.sin(x))),
        "AST_FUNCTION_COT": ("cot", _arith(1, lambda x: 1 / s.tan(x))),
        "AST_FUNCTION_SINH": ("sinh", _arith(1, s.sinh)),
        "AST_FUNCTION_COSH": ("cosh", _arith(1, s.cosh)),
        "AST_FUNCTION_TANH": ("tanh", _arith(1, s.tanh)),
        "AST_FUNCTION_SECH": ("sech", _arith(1, lambda x: 1 / s.cosh(x))),
        "AST_FUNCTION_CSCH": ("csch", _arith(1, lambda x: 1 / s.sinh(x))),
        "AST_FUNCTION_COTH": ("coth", _arith(1, lambda x: 1 / s.tanh(x))),
        "AST_FUNCTION_ARCSIN": ("arcsin", _arith(1, s.asin)),
        "AST_FUNCTION_ARCCOS": ("arccos", _arith(1, s.acos)),
        "AST_FUNCTION_ARCTAN": ("arctan", _arith(1, s.atan)),
        "AST_FUNCTION_ARCSEC": ("arcsec", _arith(1, lambda x: s.acos(1 / x))),
        "AST_FUNCTION_ARCCSC": ("arccsc", _arith(1, lambda x: s.asin(1 / x))),
        "AST_FUNCTION_ARCCOT": ("arccot", _arith(1, lambda x: s.atan(1 / x))),
        "AST_FUNCTION_ARCSINH": ("arcsinh", _arith(1, s.asinh)),
        "AST_FUNCTION_ARCCOSH": ("arccosh", _arith(1, s.acosh)),
        "AST_FUNCTION_ARCTANH": ("arctanh", _arith(1, s.atanh)),
        "AST_FUNCTION_ARCSECH": ("arcsech", _arith(1, lambda x: s.acosh(1 / x))),
        "AST_FUNCTION_ARCCSCH": ("arccsch", _arith(1, lambda x: s.asinh(1 / x))),
        "AST_FUNCTION_ARCCOTH": ("arccoth", _arith(1, lambda x: s.atanh(1 / x))),
        "AST_FUNCTION_MIN": ("min", _arith(1, lambda *a: s.Min(*a))),
        "AST_FUNCTION_MAX": ("max", _arith(1, lambda *a: s.Max(*a))),
        "AST_FUNCTION_REM": ("rem", _arith(2, lambda a, b: a - b * _trunc(a / b))),
        "AST_FUNCTION_QUOTIENT": ("quotient", _arith(2, lambda a, b: _trunc(a / b))),
        "AST_LOGICAL_AND": ("and", _logic(0, lambda *a: s.And(*a), s.true)),
        "AST_LOGICAL_OR": ("or", _logic(0, lambda *a: s.Or(*a), s.false)),
        "AST_LOGICAL_XOR": ("xor", _logic(0, _xor, s.false)),
        "AST_LOGICAL_NOT": ("not", _logic(1, s.Not)),
        "AST_LOGICAL_IMPLIES": ("implies", _logic(2, _implies)),
        "AST_RELATIONAL_EQ": ("eq", _compare(1, _relational(s.Eq))),
        "AST_RELATIONAL_NEQ": ("neq", _compare(2, _neq)),
        "AST_RELATIONAL_GT": ("gt", _compare(1, _relational(s.StrictGreaterThan))),
        "AST_RELATIONAL_LT": ("lt", _compare(1, _relational(s.StrictLessThan))),
        "AST_RELATIONAL_GEQ": ("geq", _compare(1, _relational(s.GreaterThan))),
        "AST_RELATIONAL_LEQ": ("leq", _compare(1, _relational(s.LessThan))),
    }
    return {getattr(L, key): value for key, value in table.items() if hasattr(L, key)}


_TABLE: dict[int, tuple[str, tuple]] | None = None


def _table() -> dict[int, tuple[str, tuple]]:
    global _TABLE
    if _TABLE is None:
        _TABLE = _whitelist()
    return _TABLE


def to_sympy(node, where: str, functions: Mapping[str, object] | None = None,
             names: Callable[[str], sympy.Basic] | None = None) -> sympy.Basic:
    """SymPy expression of the libsbml ``ASTNode`` ``node``.

    Parameters
    ----------
    where:
        The element the math belongs to (``"reaction 'R1' kinetic law"``), named in errors.
    functions:
        Function definitions: id → their ``lambda`` AST node; a call is inlined by
        walking the body with each argument name bound to the call's argument.
    names:
        Maps an identifier to its expression (default: a real symbol of that name).
    """
    import libsbml as L

    if node is None:
        raise SbmlError(f"{where}: missing or unreadable math")
    functions = functions or {}
    names = names or (lambda name: sympy.Symbol(name, real=True))
    table = _table()

    def walk(n, env: dict[str, sympy.Basic], depth: int = 0) -> sympy.Basic:
        t = n.getType()
        k = n.getNumChildren()
        if t == L.AST_INTEGER:
            return sympy.Integer(n.getInteger())
        if t in (L.AST_REAL, L.AST_REAL_E):
            return sympy.Float(n.getReal()) if _finite(n.getReal()) else _special(n.getReal())
        if t == L.AST_RATIONAL:
            return sympy.Rational(n.getNumerator(), n.getDenominator())
        if t == L.AST_NAME:
            return env[n.getName()] if n.getName() in env else names(n.getName())
        if t == L.AST_NAME_TIME:
            return sympy.Symbol(TIME_NAME, real=True)
        if t == L.AST_NAME_AVOGADRO:
            return sympy.Float(AVOGADRO)
        if t == L.AST_CONSTANT_E:
            return sympy.E
        if t == L.AST_CONSTANT_PI:
            return sympy.pi
        if t == L.AST_CONSTANT_TRUE:
            return sympy.true
        if t == L.AST_CONSTANT_FALSE:
            return sympy.false
        if t == L.AST_FUNCTION_PIECEWISE:
            args = [walk(n.getChild(i), env, depth) for i in range(k)]
            pieces = [(as_number(args[i]), as_condition(args[i + 1])) for i in range(0, k - 1, 2)]
            otherwise = as_number(args[-1]) if k % 2 else sympy.nan
            return sympy.Piecewise(*pieces, (otherwise, True))
        if t == L.AST_FUNCTION:
            name = n.getName()
            if name not in functions:
                raise SbmlError(f"{where}: call of '{name}', which is not a function definition of the model")
            lam = functions[name]
            n_args = lam.getNumBvars()
            if k != n_args:
                raise SbmlError(f"{where}: function '{name}' takes {n_args} arguments, got {k}")
            if depth > 100:
                raise SbmlError(f"{where}: function '{name}' calls itself")
            args = {lam.getChild(i).getName(): walk(n.getChild(i), env, depth) for i in range(k)}
            return walk(lam.getChild(n_args), args, depth + 1)
        if t not in table:
            raise SbmlError(f"{where}: unsupported MathML element '{n.getName() or _type_name(t)}'")
        element, (kind, n_min, build, empty) = table[t]
        if k < n_min:
            raise SbmlError(f"{where}: <{element}> needs at least {n_min} argument(s), got {k}")
        args = [walk(n.getChild(i), env, depth) for i in range(k)]
        if k == 0 and empty is not None:
            return sympy.Integer(empty) if isinstance(empty, int) else empty
        if kind == "bool":
            return build(*(as_condition(a) for a in args))
        args = [as_number(a) for a in args]
        return build(*args)

    return walk(node, {})


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


def _special(x: float) -> sympy.Expr:
    if x != x:
        return sympy.nan
    return sympy.oo if x > 0 else -sympy.oo


def _type_name(t: int) -> str:
    import libsbml as L

    for key in dir(L):
        if key.startswith("AST_") and getattr(L, key) == t:
            return key[4:].lower()
    return str(t)
