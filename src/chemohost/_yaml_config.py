"""Reading a YAML settings file into a pydantic model, with one-line errors that name the file and field.

Settings files are read as UTF-8 text of bounded size with a safe loader that
also refuses what a settings file never needs and an attacker or a typo can
abuse: aliases (``*name``, the "billion laughs" bomb), nesting deeper than
:data:`MAX_DEPTH` levels, and duplicate keys (a second ``duration:`` or two
arms of the same name would silently replace the first).
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ._errors import ArgumentError, ChemohostError, clip, quote

Config = TypeVar("Config", bound=BaseModel)

MAX_BYTES = 4 * 2**20
"""Largest settings file read [bytes]."""
MAX_DEPTH = 50
"""Deepest nesting of mappings and lists in a settings file."""


def read_text(path: str | os.PathLike, what: str, error: type[ChemohostError]) -> str:
    """The UTF-8 text of the file ``path`` (a ``what`` file); a missing file, a folder or other bytes raise."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{what} file {quote(str(path))} is a folder; give the path of a file")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise error(f"{what} file {quote(str(path))} holds {size:,} bytes, more than the {MAX_BYTES:,} a "
                        f"{what} file may hold")
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} file {quote(str(path))} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {what} file {quote(str(path))}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} file {quote(str(path))} is not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}); "
                    "save it as UTF-8") from None


class _SettingsLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases, with bounded depth and without duplicate keys."""

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"alias *{clip(event.anchor, 50)} is not accepted in a "
                                              "settings file; write the value out", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the base constructor says so
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {quote(key, 80)}; keep one",
                                                            key_node.start_mark)
        return super().construct_mapping(node, deep)


def parse_yaml(text: str, where: str, error: type[ChemohostError]) -> Any:
    """The YAML document ``text`` (from ``where``), read with the safe settings loader; problems raise ``error``."""
    try:
        return yaml.load(text, Loader=_SettingsLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise error(f"{where}: not valid YAML{at}: {clip(problem)}") from None


def read_yaml(path: str | os.PathLike, what: str, error: type[ChemohostError]) -> Any:
    """The YAML document in the file ``path`` (see :func:`read_text` and :func:`parse_yaml`)."""
    return parse_yaml(read_text(path, what, error), clip(str(path)), error)


_UNION_TAG = re.compile(r"^(str|int|float|bool|list|dict|none|[A-Z]\w*Config)$|\[")


def _where(loc: tuple[Any, ...]) -> str:
    """``arms.a.rules`` from pydantic's location, without the tags of union members (``str``, ``ArmConfig``)."""
    return clip(".".join(str(x) for x in loc if not _UNION_TAG.search(str(x))) or "(top level)")


def _description(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """The ``description`` of the field at ``loc`` (to say what a bound means), if it has one."""
    info, current = None, model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return None
        info = fields[part]
        current = next((t for t in (info.annotation, *typing.get_args(info.annotation))
                        if isinstance(t, type) and issubclass(t, BaseModel)), None)
    return info.description if info is not None else None


def load_config(source: str | Path | dict, model: type[Config], error: type[ChemohostError], what: str,
                keys: str) -> Config:
    """Validate ``source`` (a YAML path or a mapping) as ``model``; problems raise ``error`` naming the field.

    ``what`` names the kind of file in messages (``"study"``) and ``keys`` lists
    example keys for a file that is not a mapping (``"name, arms, duration"``).
    """
    where = what
    if isinstance(source, dict):
        data = source
    elif isinstance(source, (str, os.PathLike)):
        where = clip(str(source))
        data = read_yaml(source, what, error)
        if not isinstance(data, dict):
            raise error(f"{where}: a {what} file must be a YAML mapping with keys such as {keys}")
    else:
        raise ArgumentError(f"a {what} is a YAML file path or a mapping, got {type(source).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = max(exc.errors(), key=lambda e: len(e["loc"]))  # the most specific (a union tries every member)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = list(model.model_fields) if len(err["loc"]) == 1 else []
            close = difflib.get_close_matches(str(err["loc"][-1])[:200], allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            msg = f"unknown field{hint}" + (f"; accepted: {', '.join(allowed)}" if allowed else "")
        if err["type"] in ("less_than_equal", "less_than", "greater_than", "greater_than_equal", "finite_number"):
            described = _description(model, tuple(x for x in err["loc"] if not _UNION_TAG.search(str(x))))
            msg += f" ({described})" if described else ""
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise error(f"{where}: field '{_where(err['loc'])}': {clip(msg)}{more}") from None
