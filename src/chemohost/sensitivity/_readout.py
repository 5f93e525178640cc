"""Read-outs: the named study outputs a sensitivity analysis explains.

A read-out is one number per simulated animal, written in a small grammar that
is parsed (never evaluated):

===================================  ==========================================================
``final_volume(ARM)``                tumour volume [mm³] at the end of the study
``final(QUANTITY, ARM)``             any saved state or output at the end of the study
``peak_fold(QUANTITY, ARM)``         largest value over the study relative to the day-0 value
``burden(ARM)``                      metastatic burden [cells] at the end of the study
``metastases(ARM)``                  number of metastases at the end of the study
``ratio(READOUT, READOUT)``          one read-out divided by another (a T/C ratio)
===================================  ==========================================================

``ARM`` is an arm's name, or its agents joined by ``+`` when exactly one arm gives
exactly those agents (``paclitaxel+DC101``); ``QUANTITY`` is a state or output name
or one of the short names in :data:`QUANTITIES` (``CEP``, ``volume``, …). Names
holding a comma or parenthesis are written in quotes. Matching ignores case and
repeated spaces.

>>> str(parse_readout("ratio(final_volume(a + b), final_volume(a))", {"a": ("x",), "a + b": ("x", "y")}, []))
'ratio(final_volume(a + b), final_volume(a))'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._errors import ChemohostError, did_you_mean
from ..drugs import get_drug
from ..quantities import (CEP, HOMED_EPC, HOMED_MYELOID, METASTASES, METASTATIC_BURDEN, MYELOID, NEUTROPHILS,
                                  TUMOUR_VOLUME)
from ._ranges import SensitivityError

__all__ = ["QUANTITIES", "ReadOut", "parse_readout"]

QUANTITIES = {
    "cep": CEP, "volume": TUMOUR_VOLUME, "myeloid": MYELOID, "homed epc": HOMED_EPC,
    "homed myeloid": HOMED_MYELOID, "neutrophils": NEUTROPHILS, "metastases": METASTASES,
    "burden": METASTATIC_BURDEN,
}
"""Short names accepted for ``QUANTITY``."""

# function name -> kinds of its arguments
FUNCTIONS = {
    "final_volume": ("arm",),
    "final": ("quantity", "arm"),
    "peak_fold": ("quantity", "arm"),
    "burden": ("arm",),
    "metastases": ("arm",),
    "ratio": ("readout", "readout"),
}
_FIXED = {"final_volume": TUMOUR_VOLUME, "burden": METASTATIC_BURDEN, "metastases": METASTASES}


@dataclass(frozen=True)
class ReadOut:
    """A parsed read-out: a function, its arm and quantity, or two read-outs for ``ratio``."""

    function: str
    arm: str | None = None
    quantity: str | None = None
    parts: tuple[ReadOut, ...] = ()
    text: str = ""

    def __str__(self) -> str:
        return self.text

    @property
    def arms(self) -> tuple[str, ...]:
        """The arms the read-out needs, in first-use order."""
        if self.parts:
            return tuple(dict.fromkeys(a for p in self.parts for a in p.arms))
        return (self.arm,)

    @property
    def quantities(self) -> tuple[str, ...]:
        """The states and outputs the read-out needs."""
        if self.parts:
            return tuple(dict.fromkeys(q for p in self.parts for q in p.quantities))
        return (self.quantity,)

    def evaluate(self, results) -> np.ndarray:
        """One value per patient (sample) of a study result with dims ``arm``, ``patient``, ``time``."""
        if self.function == "ratio":
            top, bottom = (p.evaluate(results) for p in self.parts)
            with np.errstate(divide="ignore", invalid="ignore"):
                return top / bottom
        series = results[self.quantity].sel(arm=self.arm).transpose("patient", "time").to_numpy()
        if self.function == "peak_fold":
            with np.errstate(divide="ignore", invalid="ignore"):
                return series.max(axis=1) / series[:, 0]
        return series[:, -1]


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def _agent(name: str) -> str:
    """An agent's canonical key when it is a known drug or blocker (``DC101``, ``anti-VEGFR2``), else the name."""
    try:
        return get_drug(name.strip()).key
    except (KeyError, ChemohostError):
        return _norm(name)


class _Parser:
    """Recursive descent over the read-out text; every token is matched against a whitelist."""

    def __init__(self, text: str, arms: Mapping[str, Sequence[str]], quantities: Sequence[str]):
        self.text, self.pos = text, 0
        self.arms = dict(arms)
        self.quantities = list(quantities)

    def fail(self, why: str) -> SensitivityError:
        return SensitivityError(f"read-out '{self.text}': {why}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip()
        if self.text[self.pos:self.pos + 1] != char:
            found = self.text[self.pos:self.pos + 10] or "the end"
            raise self.fail(f"expected '{char}' at position {self.pos + 1}, found '{found}'")
        self.pos += 1

    def readout(self) -> ReadOut:
        self.skip()
        start = self.pos
        match = re.compile(r"[A-Za-z_]+").match(self.text, self.pos)
        name = match.group(0).lower() if match else self.text[self.pos:self.pos + 10]
        if name not in FUNCTIONS:
            raise self.fail(f"unknown output '{name}'{did_you_mean(name, FUNCTIONS)}; accepted: "
                            + ", ".join(f"{f}({', '.join(k.upper() for k in kinds)})" for f, kinds in FUNCTIONS.items()))
        self.pos = match.end()
        self.expect("(")
        args = []
        for i, kind in enumerate(FUNCTIONS[name]):
            if i:
                self.expect(",")
            args.append(self.readout() if kind == "readout" else self.word(kind))
        self.expect(")")
        text = self.text[start:self.pos].strip()
        if name == "ratio":
            return ReadOut(name, parts=tuple(args), text=text)
        quantity = _FIXED.get(name) or args[0]
        if quantity not in self.quantities:
            raise self.fail(f"the model has no '{quantity}' (needs {name}(...)); its outputs include: "
                            + ", ".join(q for q in QUANTITIES.values() if q in self.quantities))
        return ReadOut(name, arm=args[-1], quantity=quantity, text=text)

    def word(self, kind: str) -> str:
        """An arm or quantity: quoted text, or text up to the next top-level ',' or ')'."""
        self.skip()
        if self.text[self.pos:self.pos + 1] in ("'", '"'):
            quote = self.text[self.pos]
            end = self.text.find(quote, self.pos + 1)
            if end < 0:
                raise self.fail(f"unclosed quote at position {self.pos + 1}")
            raw, self.pos = self.text[self.pos + 1:end], end + 1
        else:
            match = re.compile(r"[^,()'\"]*").match(self.text, self.pos)
            raw, self.pos = match.group(0), match.end()
        if not raw.strip():
            raise self.fail(f"missing {kind} at position {self.pos + 1}")
        return self.arm(raw) if kind == "arm" else self.quantity(raw)

    def arm(self, raw: str) -> str:
        by_name = {_norm(a): a for a in self.arms}
        if _norm(raw) in by_name:
            return by_name[_norm(raw)]
        agents = frozenset(_agent(x) for x in raw.split("+"))
        matches = [a for a, given in self.arms.items() if frozenset(_agent(x) for x in given) == agents]
        if len(matches) == 1:
            return matches[0]
        why = "several arms give exactly these agents" if matches else "no arm has this name or gives exactly these agents"
        raise self.fail(f"unknown arm '{raw.strip()}' ({why}); arms: {', '.join(self.arms)}")

    def quantity(self, raw: str) -> str:
        key = _norm(raw)
        if key in QUANTITIES:
            return QUANTITIES[key]
        exact = {_norm(q): q for q in self.quantities}
        if key in exact:
            return exact[key]
        raise self.fail(f"unknown quantity '{raw.strip()}'{did_you_mean(raw.strip(), [*QUANTITIES, *self.quantities])}; "
                        f"short names: {', '.join(QUANTITIES)}, or a state or output name of the model")


def parse_readout(text: str, arms: Mapping[str, Sequence[str]], quantities: Sequence[str]) -> ReadOut:
    """Parse a read-out against a study's arms (name → the names its agents go by) and saved quantities."""
    if not isinstance(text, str) or not text.strip():
        raise SensitivityError("read-out: give one, e.g. 'final_volume(vehicle)' or 'peak_fold(CEP, paclitaxel MTD)'")
    parser = _Parser(text, arms, quantities)
    readout = parser.readout()
    parser.skip()
    if parser.pos != len(text):
        raise parser.fail(f"unexpected '{text[parser.pos:]}' after the read-out")
    return readout


def arm_agents(plan) -> dict[str, tuple[str, ...]]:
    """Arm name → the agents it gives, for matching ``a+b`` to an arm."""
    return {arm: tuple(dict.fromkeys(schedule.agent for schedule in regimen)) for arm, regimen in plan.regimens.items()}
