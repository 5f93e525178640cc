"""A tiny Markdown-to-HTML converter for :meth:`chemohost.Model.equations` listings.

It knows exactly what the listing uses: ``###`` headings, ``$$ … $$`` display
equations, pipe tables, inline ``$…$`` maths and ```code```. Maths becomes
MathJax's ``\\[ … \\]`` and ``\\( … \\)`` delimiters, so the raw LaTeX stays
readable when MathJax cannot load.
"""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

__all__ = ["equations_html"]

_DISPLAY = re.compile(r"^\$\$(.*)\$\$$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_INLINE_MATH = re.compile(r"\$([^$]+)\$")
_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    """Escape ``text`` and turn its inline maths and code spans into HTML."""
    text = escape(text, quote=False)
    text = _CODE.sub(lambda m: f"<code>{m[1]}</code>", text)
    return _INLINE_MATH.sub(lambda m: rf'<span class="math">\({m[1].strip()}\)</span>', text)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _table(rows: list[str]) -> str:
    header, body = _cells(rows[0]), [_cells(r) for r in rows[2:]]
    head = "".join(f"<th>{_inline(c)}</th>" for c in header)
    lines = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
    return f'<table class="symbols"><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>'


def equations_html(markdown: str) -> Markup:
    """HTML for an equation listing written by :meth:`chemohost.Model.equations`."""
    out: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        if match := _HEADING.match(line):
            level = len(match[1])
            out.append(f"<h{level}>{_inline(match[2])}</h{level}>")
        elif match := _DISPLAY.match(line):
            out.append(rf'<div class="math">\[ {escape(match[1].strip(), quote=False)} \]</div>')
        elif line.startswith("|"):
            rows = [line]
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i].strip())
                i += 1
            out.append(_table(rows))
        else:
            out.append(f"<p>{_inline(line)}</p>")
    return Markup("\n".join(out))
