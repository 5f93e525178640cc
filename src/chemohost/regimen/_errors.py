"""The error raised for a regimen that cannot be read or used."""

from __future__ import annotations

from .._errors import ChemohostError, quote


class RegimenError(ChemohostError):
    """A regimen string, schedule or dose expansion that cannot be used.

    The message is one line: it names the offending input (token and column for
    a string), quotes the whole regimen, and says what is accepted instead.
    """


class InvalidField(RegimenError):
    """An inconsistent :class:`AgentSchedule` field (internal).

    ``problem`` contains one ``{}`` where the offending input is named: the
    field and its value for a programmatic schedule, or the quoted token with
    its position when the parser re-raises the error against the regimen string.
    """

    def __init__(self, owner: str, field: str, value: object, problem: str, hint: str) -> None:
        self.field = field
        self.problem = problem
        self.hint = hint
        super().__init__(f"{owner}: {problem.replace('{}', f'{field}={quote(value)}', 1)}; {hint}")
