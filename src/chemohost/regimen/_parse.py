"""Reading regimen strings into :class:`AgentSchedule` objects.

Implements the grammar and day convention documented in :mod:`chemohost.regimen`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .._errors import quote
from ..limits import MAX_DAY, MAX_DOSE_EVENTS
from ._agents import AgentTable
from ._errors import InvalidField, RegimenError
from ._format import DURATION_UNITS
from ._objects import AgentSchedule
from ._units import AMOUNT_UNITS, RATE_UNITS, UNITS, canonical_unit

NO_TREATMENT = frozenset({"", "vehicle", "none", "untreated", "control"})

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?", re.IGNORECASE)
_GLUED = re.compile(rf"({_NUMBER.pattern})([^\d.+-].*)", re.IGNORECASE)
_CHUNK = re.compile(r",|[^\s,]+")
_INTERVAL = re.compile(r"q(\d+(?:\.\d+)?|\.\d+)([dw])")
_COUNT = re.compile(r"[x×]([+-]?[\d.]*)")
_DAY_ITEM = re.compile(r"\s*(?:(\d+)\s*-\s*(\d+)|([+-]?(?:\d+\.?\d*|\.\d+)))\s*")  # "1-5" or "8"

_ROUTE_WORDS = {
    "iv": "iv", "i.v.": "iv", "intravenous": "iv",
    "oral": "oral", "po": "oral", "p.o.": "oral",
    "ip": "ip", "i.p.": "ip", "intraperitoneal": "ip",
    "sc": "sc", "s.c.": "sc", "subcutaneous": "sc",
}  # fmt: skip
_INTERVAL_WORDS = {"qd": 1.0, "daily": 1.0, "qod": 2.0, "weekly": 7.0}
_DURATION_WORDS = {
    "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "day", "day": "day", "days": "day",
}  # fmt: skip

_ACCEPTED_ROUTES = (
    "iv, iv bolus, iv over N min|h|day, iv continuous, oral, po, oral continuous, ip, ip continuous, sc, sc continuous"
)
_ACCEPTED_SCHEDULE = (
    "qNd, qNw, qod, qd, daily, weekly, xN, from day T, to day T, until day T, "
    "on day D, at day D, once, on days 1,8,15, on days 1-5"
)
_SLOT_NAMES = {
    "interval": "dosing interval",
    "count": "dose count",
    "start": "start day",
    "end": "end day",
    "day": "dosing day",
}


def parse_regimen(text: str, known_agents: Mapping[str, str]) -> tuple[AgentSchedule, ...]:
    """The agent schedules written in ``text``, in order (empty for no treatment)."""
    agents = AgentTable(known_agents)
    clauses = _split(text)
    schedules = []
    for number, (start, end) in enumerate(clauses, 1):
        words = text[start:end].strip().lower()
        if not words and len(clauses) > 1:
            raise RegimenError(
                f"regimen {quote(text)}: empty agent clause (clause {number}, column {start + 1}); "
                "remove the extra ';' or '+', or write a clause such as 'paclitaxel 25 mg/kg iv'"
            )
        if words in NO_TREATMENT:
            continue
        tokens = _lex(text, start, end)
        schedules.append(_Clause(text, number if len(clauses) > 1 else None, tokens, agents).parse())
    return tuple(schedules)


def _split(text: str) -> list[tuple[int, int]]:
    """Spans of the clauses between ``;`` and ``+`` separators (not exponent signs such as ``1e+3``)."""
    spans, start = [], 0
    for match in re.finditer(r"[;+]", text):
        i = match.start()
        if text[i] == "+" and i >= 2 and re.fullmatch(r"\d[eE]\+\d", text[i - 2 : i + 2]):
            continue
        spans.append((start, i))
        start = i + 1
    spans.append((start, len(text)))
    return spans


@dataclass(frozen=True, slots=True)
class _Token:
    text: str  # as typed
    word: str  # lower case
    start: int  # offset in the whole regimen string
    index: int  # 1-based position in its clause

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def _lex(text: str, start: int, end: int) -> list[_Token]:
    """The tokens of ``text[start:end]``; a number touching its unit (``25mg/kg``) is two tokens."""
    tokens: list[_Token] = []
    for match in _CHUNK.finditer(text, start, end):
        pieces = [(match.group(), match.start())]
        glued = _GLUED.fullmatch(match.group())
        if tokens and glued and not _NUMBER.fullmatch(match.group()):
            pieces = [(glued.group(1), match.start()), (glued.group(2), match.start() + glued.start(2))]
        for piece, offset in pieces:
            tokens.append(_Token(piece, piece.lower(), offset, len(tokens) + 1))
    return tokens


def _number(word: str) -> float | None:
    return float(word) if _NUMBER.fullmatch(word) else None


def _is_schedule_word(word: str) -> bool:
    """Whether ``word`` belongs after the route (so a route is missing before it)."""
    return bool(
        word in _INTERVAL_WORDS
        or word in ("continuous", "from", "to", "until", "on", "at", "once", "over", "bolus")
        or _INTERVAL.fullmatch(word)
        or _COUNT.fullmatch(word)
    )


Span = tuple[_Token, _Token]


class _Clause:
    """Parser of one agent clause; holds the position for error messages."""

    def __init__(self, text: str, number: int | None, tokens: list[_Token], agents: AgentTable) -> None:
        self.text = text
        self.number = number
        self.tokens = tokens
        self.agents = agents
        self.position = 0
        self.spans: dict[str, Span] = {}  # AgentSchedule field -> the words that set it
        self.slots: dict[str, tuple[Span, object]] = {}  # schedule keyword -> (words, value)

    # -- errors --------------------------------------------------------------

    def fail(self, problem: str, span: _Token | Span, hint: str) -> RegimenError:
        """An error naming the words of ``span``; ``problem`` has ``{}`` where they go."""
        first, last = span if isinstance(span, tuple) else (span, span)
        where = f"token {first.index}, column {first.start + 1}"
        if self.number is not None:
            where = f"clause {self.number}, {where}"
        subject = f"{quote(self.text[first.start : last.end])} ({where})"
        return RegimenError(f"regimen {quote(self.text)}: {problem.replace('{}', subject, 1)}; {hint}")

    # -- token stream --------------------------------------------------------

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def next_is(self, *words: str) -> bool:
        """Whether the next token is one of ``words``."""
        token = self.peek()
        return token is not None and token.word in words

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def take_number(self, after: _Token | Span, what: str, example: str) -> tuple[_Token, float]:
        """The next token as a number, or an error saying ``what`` is missing after ``after``."""
        token = self.peek()
        if token is None:
            raise self.fail(f"missing {what} after {{}}", after, f"write e.g. {example!r}")
        value = _number(token.word)
        if value is None:
            raise self.fail(f"{what} must be a number, got {{}}", token, f"write e.g. {example!r}")
        self.position += 1
        return token, value

    def take_word(self, after: _Token, words: tuple[str, ...], example: str) -> _Token:
        """The next token, which must be one of ``words``."""
        token = self.peek()
        if token is None or token.word not in words:
            found = "nothing" if token is None else quote(token.text)
            raise self.fail(
                f"expected {' or '.join(map(repr, words))} after {{}}, found {found}", after, f"write e.g. {example!r}"
            )
        self.position += 1
        return token

    # -- clause --------------------------------------------------------------

    def parse(self) -> AgentSchedule:
        agent, dose, dose_unit = self.agent(), self.dose(), self.unit()
        route, infusion_duration, is_continuous = self.route()
        while self.peek() is not None:
            self.schedule_item()
        return self.build(
            agent=agent,
            dose=dose,
            dose_unit=dose_unit,
            route=route,
            infusion_duration=infusion_duration,
            is_continuous=is_continuous,
        )

    def agent(self) -> str:
        token = self.take()
        name = self.agents.canonical(token.word)
        if name is None:
            raise self.fail(
                "unknown agent {}", token, f"{self.agents.suggestion(token.word)}accepted: {self.agents.accepted}"
            )
        self.spans["agent"] = (token, token)
        return name

    def dose(self) -> float:
        agent = self.tokens[0]
        token = self.peek()
        if token is None:
            raise self.fail("missing dose after {}", agent, f"write e.g. '{agent.text} 25 mg/kg iv'")
        if canonical_unit(token.word) in UNITS:
            raise self.fail("missing dose before unit {}", token, f"write e.g. '{agent.text} 25 {token.text} iv'")
        token, value = self.take_number(agent, "dose", "25")
        self.spans["dose"] = (token, token)
        return value

    def unit(self) -> str:
        dose = self.tokens[self.position - 1]
        token = self.peek()
        if token is None:
            raise self.fail("missing dose unit after {}", dose, f"accepted: {AMOUNT_UNITS}, {RATE_UNITS}")
        self.position += 1
        self.spans["dose_unit"] = (token, token)
        unit = canonical_unit(token.word)
        if unit not in UNITS:
            raise self.fail("unknown dose unit {}", token, f"accepted: {AMOUNT_UNITS}, {RATE_UNITS}")
        return unit

    def route(self) -> tuple[str, float | None, bool]:
        """``(route, infusion duration [day] or None, continuous)`` from the route words."""
        before = self.tokens[self.position - 1]
        first = self.peek()
        if first is None:
            raise self.fail("missing route after {}", before, f"accepted: {_ACCEPTED_ROUTES}")
        kind = _ROUTE_WORDS.get(first.word)
        if kind is None:
            problem = "missing route before {}" if _is_schedule_word(first.word) else "unknown route {}"
            raise self.fail(problem, first, f"accepted: {_ACCEPTED_ROUTES}")
        last = self.take()
        modifier = None
        if kind == "iv" and self.next_is("bolus", "infusion"):
            last = self.take()
            modifier = last.word
        duration = None
        if self.next_is("over"):
            over = self.take()
            value_token, value = self.take_number(over, "infusion duration", "over 30 min")
            unit_token = self.peek()
            if unit_token is None or unit_token.word not in _DURATION_WORDS:
                problem = "missing duration unit after {}" if unit_token is None else "unknown duration unit {}"
                raise self.fail(problem, unit_token or value_token, "accepted: min, h, hour, hours, day, days")
            self.position += 1
            duration = value / DURATION_UNITS[_DURATION_WORDS[unit_token.word]]
            self.spans["infusion_duration"] = (over, unit_token)
        continuous = self.next_is("continuous")
        if continuous:
            last = self.take()
        route = kind
        if kind == "iv":
            infused = modifier == "infusion" or (modifier is None and (duration is not None or continuous))
            route = "iv_infusion" if infused else "iv_bolus"
        self.spans["route"] = (first, last)
        self.spans.setdefault("infusion_duration", (first, last))
        return route, duration, continuous

    # -- schedule ------------------------------------------------------------

    def schedule_item(self) -> None:
        token = self.take()
        word = token.word
        if word in _INTERVAL_WORDS:
            self.fill("interval", (token, token), _INTERVAL_WORDS[word])
        elif interval := _INTERVAL.fullmatch(word):
            number, unit = interval.groups()
            self.fill("interval", (token, token), float(number) * {"d": 1.0, "w": 7.0}[unit])
        elif _COUNT.fullmatch(word):
            self.count(token)
        elif word == "from":
            self.fill("start", *self.day_number(token, "from day 10"))
        elif word in ("to", "until"):
            self.fill("end", *self.day_number(token, f"{word} day 40"))
        elif word == "at":
            span, day = self.day_number(token, "at day 12")
            self.fill("day", span, ("day", day))
        elif word == "once":
            if self.next_is("at", "on"):
                (_, last), day = self.day_number(self.take(), "once at day 12")
                self.fill("day", (token, last), ("once", day))
            else:
                self.fill("day", (token, token), ("once", None))
        elif word == "on":
            self.dosing_days(token)
        elif word == "continuous":
            raise self.fail("{} must follow the route", token, "write e.g. 'oral continuous from day 10'")
        else:
            raise self.fail("unexpected {}", token, f"accepted schedule terms: {_ACCEPTED_SCHEDULE}")

    def fill(self, slot: str, span: Span, value: object) -> None:
        """Record a schedule keyword, refusing a second one of the same kind."""
        if slot in self.slots:
            (first, last), _ = self.slots[slot]
            earlier = self.text[first.start : last.end]
            raise self.fail(
                f"duplicate {_SLOT_NAMES[slot]} {{}}",
                span,
                f"{quote(earlier)} is already given at token {first.index}; keep one",
            )
        self.slots[slot] = (span, value)

    def count(self, token: _Token) -> None:
        rest = _COUNT.fullmatch(token.word).group(1)
        last = token
        if not rest and self.peek() is not None and _number(self.peek().word) is not None:
            last = self.take()
            rest = last.word
        value = _number(rest)
        if value is None:
            raise self.fail("count {} is not a number", (token, last), "write e.g. 'x3' for three doses")
        self.fill("count", (token, last), int(value) if value == int(value) else value)

    def day_number(self, keyword: _Token, example: str) -> tuple[Span, float]:
        """``day T`` after ``keyword``: the words read and T [day]."""
        day = self.take_word(keyword, ("day",), example)
        last, value = self.take_number((keyword, day), "day", example)
        return (keyword, last), value

    def dosing_days(self, on: _Token) -> None:
        """``on day D`` (a single day) or ``on days 1,8,15`` / ``on days 1-5`` (cycle days)."""
        keyword = self.take_word(on, ("day", "days"), "on days 1,8,15")
        run: list[_Token] = []
        while self.peek() is not None and re.fullmatch(r"[\d.,+-]+", self.peek().word):
            run.append(self.take())
        if not run:
            raise self.fail("missing day after {}", (on, keyword), "write e.g. 'on day 12' or 'on days 1,8,15'")
        span = (on, run[-1])
        joined = " ".join(token.word for token in run)
        if keyword.word == "day" and _NUMBER.fullmatch(joined):
            self.fill("day", span, ("day", float(joined)))
            return
        days: list[float] = []
        for item in joined.split(","):
            match = _DAY_ITEM.fullmatch(item)
            if match is None:
                raise self.fail("cannot read the day list {}", span, "write e.g. 'on days 1,8,15' or 'on days 1-5'")
            low, high, day = match.groups()
            if day is not None:
                days.append(float(day))
            elif max(len(low), len(high)) > len(str(int(MAX_DAY))) or int(high) - int(low) >= MAX_DOSE_EVENTS:
                raise self.fail(f"day range {quote(item.strip())} in {{}} is too long", span,
                                f"cycle days go up to day {MAX_DAY:g}, at most {MAX_DOSE_EVENTS:,} of them "
                                "(chemohost.limits); use a cycle length such as 'on days 1-5 q28d'")
            elif int(low) <= int(high):
                days.extend(range(int(low), int(high) + 1))
            else:
                raise self.fail(f"day range {quote(item.strip())} in {{}} runs backwards", span, "write e.g. 'on days 1-5'")
        self.fill("day", span, ("days", tuple(days)))

    # -- assembly ------------------------------------------------------------

    def build(self, **fields: object) -> AgentSchedule:
        """The schedule from the clause's ``fields`` and the schedule keywords read."""
        values = {name: value for name, (_, value) in self.slots.items()}
        for name in ("interval", "count", "start", "end"):
            if name in self.slots:
                self.spans[name] = self.slots[name][0]
        kind, day = values.pop("day", (None, None))
        if kind == "once" and "interval" in values:
            raise self.fail(
                "dosing interval {} contradicts 'once'", self.slots["interval"][0], "remove 'once' or the interval"
            )
        if kind == "days" or (kind == "day" and "interval" in values):
            values["cycle_days"] = day if kind == "days" else (day,)
            self.spans["cycle_days"] = self.slots["day"][0]
        elif day is not None:
            if "start" in values:
                first, last = self.slots["day"][0]
                raise self.fail(
                    "{} sets the start a second time",
                    self.slots["start"][0],
                    f"{quote(self.text[first.start : last.end])} already gives the day of the single dose; keep one",
                )
            values["start"] = day
            self.spans["start"] = self.slots["day"][0]
        try:
            return AgentSchedule(**fields, **values)
        except InvalidField as error:
            span = self.spans.get(error.field, (self.tokens[0], self.tokens[-1]))
            raise self.fail(error.problem, span, error.hint) from None
