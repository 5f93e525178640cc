"""Reading a YAML settings file into a pydantic model, with one-line errors that name the file and field."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ._errors import ChemohostError

Config = TypeVar("Config", bound=BaseModel)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc) or "(top level)"


def load_config(source: str | Path | dict, model: type[Config], error: type[ChemohostError], what: str,
                keys: str) -> Config:
    """Validate ``source`` (a YAML path or a mapping) as ``model``; problems raise ``error`` naming the field.

    ``what`` names the kind of file in messages (``"study"``) and ``keys`` lists
    example keys for a file that is not a mapping (``"name, arms, duration"``).
    """
    where = what
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise error(f"{what} file '{path}' does not exist")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise error(f"{where}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
        if not isinstance(data, dict):
            raise error(f"{where}: a {what} file must be a YAML mapping with keys such as {keys}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = list(model.model_fields) if len(err["loc"]) == 1 else []
            close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            msg = f"unknown field{hint}" + (f"; accepted: {', '.join(allowed)}" if allowed else "")
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise error(f"{where}: field '{_where(err['loc'])}': {msg}{more}") from None
