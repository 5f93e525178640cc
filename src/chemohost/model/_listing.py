"""Equation listings (Markdown with LaTeX, or plain LaTeX) derived from the declarations."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sympy

if TYPE_CHECKING:
    from ._model import Model


def _fallback_symbol(name: str) -> str:
    text = re.sub(r"\s*\[[^\]]*\]\s*$", "", name)
    return r"\mathrm{" + text.replace(" ", r"\ ") + "}"


def _latex(expr: sympy.Expr, symbols: dict[str, str]) -> str:
    names = {s: symbols.get(s.name) or _fallback_symbol(s.name) for s in expr.free_symbols}
    return sympy.latex(expr, symbol_names=names, mul_symbol="dot", ln_notation=True)


def equation_listing(model: Model, format: str = "markdown") -> str:
    if format not in ("markdown", "latex"):
        raise ValueError(f"unknown equation format '{format}'; accepted: markdown, latex")
    sym = model.symbols
    lines: list[str] = []
    for mech in model.mechanisms:
        decl = model.declarations[id(mech)]
        eqs: list[str] = []
        for name, expr in decl.rhs.items():
            lhs = r"\frac{d" + (sym.get(name) or _fallback_symbol(name)) + "}{dt}"
            op = "=" if model.owner.get(name) is mech else r"\mathrel{+}="
            eqs.append(f"{lhs} {op} {_latex(sympy.sympify(expr), sym)}")
        for name, expr in decl.variables.items():
            eqs.append(f"{sym.get(name) or _fallback_symbol(name)} = {_latex(sympy.sympify(expr), sym)}")
        for name, expr in decl.summands.items():
            if sympy.sympify(expr) == 0:
                continue
            eqs.append(rf"{sym.get(name) or _fallback_symbol(name)} \mathrel{{+}}= {_latex(sympy.sympify(expr), sym)}")
        for s in decl.states:
            eqs.append(f"{s.symbol}(0) = {_latex(s.initial, sym)}")
        title = f"{mech.summary().rstrip('.')} (`{mech.family}: {mech.name}`"
        title += "".join(f", {k}={v}" for k, v in mech.settings.items() if k != "species") + ")"
        if format == "markdown":
            lines.append(f"### {title}\n")
            lines.extend(f"$$ {e} $$\n" for e in eqs)
        else:
            lines.append(f"% {title}\n\\begin{{align}}")
            lines.append(" \\\\\n".join(e.replace("=", "&=", 1) for e in eqs))
            lines.append("\\end{align}\n")
    if format == "markdown":
        lines.append("### Symbols\n")
        lines.append("| symbol | quantity |\n|---|---|")
        for name in [*model.state_names, *model.variables, *model.parameter_names, *model.input_names]:
            lines.append(f"| ${sym.get(name) or _fallback_symbol(name)}$ | {name} |")
    return "\n".join(lines) + "\n"
