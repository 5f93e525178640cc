"""Provenance recorded with every result: package versions and the run's settings."""

from __future__ import annotations

import platform
from functools import cache
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chemohost")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"

PACKAGES = ("chemohost", "numpy", "scipy", "sympy", "numba", "xarray", "pandas")


def versions() -> dict[str, str]:
    """Installed versions of chemohost and the libraries its numbers depend on."""
    return dict(_versions())


@cache
def _versions() -> tuple[tuple[str, str], ...]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return tuple(found.items())
