"""Agent names: aliases accepted in regimen strings and their canonical names.

The default table comes from :func:`chemohost.drugs.agent_aliases`, so that a
drug registered there is accepted here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from ..drugs import agent_aliases


def default_agents() -> Mapping[str, str]:
    """The alias -> canonical-name table used when the caller passes none.

    Read at each call from ``chemohost.drugs.agent_aliases()``, so drugs
    registered later are seen.
    """
    return agent_aliases()


class AgentTable:
    """Case-insensitive lookup of agent names.

    Parameters
    ----------
    aliases:
        Alias -> canonical name. Canonical names are accepted as well, so that
        ``str(regimen)`` (which writes canonical names) parses back.
    """

    def __init__(self, aliases: Mapping[str, str]) -> None:
        self._names = {alias.lower(): name for alias, name in aliases.items()}
        self._names.update({name.lower(): name for name in aliases.values()})
        grouped: dict[str, list[str]] = {}
        for alias, name in sorted(self._names.items()):
            if alias != name.lower():
                grouped.setdefault(name, []).append(alias)
        self.accepted = ", ".join(
            f"{name} ({', '.join(grouped[name])})" if name in grouped else name
            for name in sorted(set(self._names.values()), key=str.lower)
        )

    def canonical(self, name: str) -> str | None:
        """The canonical name of ``name``, or ``None`` when it is unknown."""
        return self._names.get(name.lower())

    def suggestion(self, name: str) -> str:
        """``"did you mean 'x'? "`` for the closest accepted name, or ``""``."""
        match = difflib.get_close_matches(name.lower(), list(self._names), n=1, cutoff=0.6)
        return f"did you mean '{match[0]}'? " if match else ""
