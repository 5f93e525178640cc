"""Citation registry: data, formatting, run registry and errors."""

from __future__ import annotations

import doctest
import re

import pytest

import chemohost.citations as citations
from chemohost._errors import ChemohostError
from chemohost.citations import (
    Citation,
    CitationRegistry,
    UnknownCitationError,
    all_citations,
    get_citation,
    register_citation,
)

REQUIRED_KEYS = [
    "Dormand1980", "Hairer1993", "Shampine1997", "Lam2015", "Hoyer2017", "Virtanen2020",
    "Kidger2021", "Mosteller1987", "FDA2005", "Simeoni2004", "Benzekry2014", "Hahnfeldt1999",
    "Friberg2002", "Eiseman1994", "Bruno1996", "Jiang2008", "Shaked2008", "Deo2024",
]


def test_module_doctest():
    assert doctest.testmod(citations, raise_on_error=True).failed == 0


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_required_references_present(key):
    assert get_citation(key).key == key


@pytest.mark.parametrize("citation", all_citations(), ids=lambda c: c.key)
def test_every_citation_is_complete(citation):
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", citation.key)
    assert citation.title and citation.venue
    assert citation.year is None or 1800 < citation.year < 2100
    assert citation.doi is None or citation.doi.startswith("10.")
    line = str(citation)
    assert "\n" not in line and citation.title in line


def test_reference_line_format():
    line = str(get_citation("Mosteller1987"))
    assert line == (
        "Mosteller RD (1987). Simplified calculation of body-surface area. "
        "N Engl J Med 317(17):1098. doi:10.1056/NEJM198710223171717"
    )


def test_fda_km_factors_recorded():
    note = get_citation("FDA2005").note
    assert "mouse" in note and "3" in note and "37" in note


def test_registry_keeps_first_order_and_ignores_repeats():
    used = CitationRegistry(["Simeoni2004"])
    used.register("Eiseman1994", "Simeoni2004", "Dormand1980")
    assert used.keys == ("Simeoni2004", "Eiseman1994", "Dormand1980")
    assert len(used) == 3 and "Eiseman1994" in used
    assert [c.key for c in used.citations()] == list(used.keys)


def test_unknown_key_is_keyerror_with_suggestion():
    used = CitationRegistry()
    with pytest.raises(UnknownCitationError, match=r"did you mean 'Simeoni2004'") as info:
        used.register("Simeoni2040")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ChemohostError)
    assert used.keys == ()
    with pytest.raises(KeyError):
        get_citation("Nobody1999")


@pytest.mark.parametrize("style", ["text", "markdown", "bibtex"])
def test_format_styles(style):
    used = CitationRegistry(["Kidger2021", "Virtanen2020", "FDA2005"])
    out = used.format(style)
    for key in used.keys:
        assert key in out
    if style == "text":
        assert out.splitlines()[0].startswith("[Kidger2021] Kidger P (2021). On Neural Differential Equations.")
    if style == "markdown":
        assert "[doi:10.1038/s41592-019-0686-2](https://doi.org/10.1038/s41592-019-0686-2)" in out
    if style == "bibtex":
        assert "@phdthesis{Kidger2021," in out
        assert "author = {Virtanen, P. and Gommers, R. and Oliphant, T. E. and others}" in out
        assert "author = {{US Food and Drug Administration}}" in out
        assert out.count("@") == 3


def test_unknown_style():
    with pytest.raises(ChemohostError, match=r"did you mean 'bibtex'"):
        CitationRegistry(["Hoyer2017"]).format("bibtx")


def test_register_citation_and_conflict(monkeypatch):
    monkeypatch.setattr(citations, "_REGISTRY", dict(citations._load_builtin()))
    mine = Citation("Tester2099", ("Tester A",), "A test reference", "J Tests 1:1", 2099)
    assert register_citation(mine) is mine
    assert get_citation("Tester2099") == mine
    assert register_citation(mine) is mine  # same entry again is fine
    with pytest.raises(ChemohostError, match="already registered"):
        register_citation(Citation("Tester2099", (), "Another", "Elsewhere", 2099))


def test_bad_citation_fields():
    with pytest.raises(ChemohostError, match="AuthorYear"):
        Citation("bad key", (), "t", "v", 2000)
    with pytest.raises(ChemohostError, match="did you mean 'book'"):
        Citation("Good2000", (), "t", "v", 2000, kind="bok")
