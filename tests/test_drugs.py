"""Drug library: names and aliases, blockers, PK defaults, covariates, errors."""

from __future__ import annotations

import doctest

import pytest

import chemohost.drugs as drugs
from chemohost._errors import ChemohostError
from chemohost.drugs import (
    CLASSES,
    UnknownDrugError,
    agent_aliases,
    blocker_names,
    default_covariates,
    drug_names,
    get_blocker,
    get_drug,
)
from chemohost.parameters import TAGS

ALIASES = {
    "Taxol": "paclitaxel",
    "PACLITAXEL": "paclitaxel",
    "Taxotere": "docetaxel",
    "Gemzar": "gemcitabine",
    "CDDP": "cisplatin",
    "Adriamycin": "doxorubicin",
    "CTX": "cyclophosphamide",
    "cpa": "cyclophosphamide",
    "5-FU": "fluorouracil",
    "5fu": "fluorouracil",
    "5-Fluorouracil": "fluorouracil",
    " fluorouracil ": "fluorouracil",
}
BLOCKER_ALIASES = {
    "anti-VEGFR2": "dc101",
    "Plerixafor": "amd3100",
    "CCR2i": "ccr2_antagonist",
    "IL1RA": "anakinra",
    "mmp9i": "mmp9_inhibitor",
    "CSF1Ri": "csf1r_inhibitor",
    "Filgrastim": "gcsf",
    "G-CSF": "gcsf",
}


def test_module_doctest():
    assert doctest.testmod(drugs, raise_on_error=True).failed == 0


def test_library_contents():
    assert drug_names() == ("paclitaxel", "docetaxel", "gemcitabine", "cisplatin", "doxorubicin", "cyclophosphamide",
                            "fluorouracil", "tnp-470", "endostatin", "angiostatin", "oxi4503")
    assert set(blocker_names()) == {"dc101", "amd3100", "ccr2_antagonist", "anakinra", "mmp9_inhibitor", "csf1r_inhibitor", "gcsf"}


@pytest.mark.parametrize(("name", "key"), ALIASES.items())
def test_drug_aliases_case_insensitive(name, key):
    assert get_drug(name).key == key


@pytest.mark.parametrize(("name", "key"), BLOCKER_ALIASES.items())
def test_blocker_aliases(name, key):
    blocker = get_blocker(name)
    assert blocker.key == key and blocker.description


def test_agent_aliases_cover_drugs_and_blockers():
    aliases = agent_aliases()
    assert all(a == a.lower() for a in aliases)
    assert aliases["5-fu"] == "fluorouracil" and aliases["plerixafor"] == "amd3100"
    assert set(aliases.values()) == set(drug_names()) | set(blocker_names())
    aliases["taxol"] = "changed"  # a copy: the library is unaffected
    assert get_drug("taxol").key == "paclitaxel"


@pytest.mark.parametrize("key", ["paclitaxel", "docetaxel", "gemcitabine", "fluorouracil"])
def test_phase_specific_drugs(key):
    assert get_drug(key).phase_specific


@pytest.mark.parametrize("key", ["cisplatin", "doxorubicin", "cyclophosphamide"])
def test_phase_nonspecific_drugs(key):
    assert not get_drug(key).phase_specific


@pytest.mark.parametrize("key", drug_names())
def test_drug_record(key):
    drug = get_drug(key)
    assert drug.display_name.lower() == key
    assert drug.drug_class in CLASSES
    assert drug.molecular_weight.unit == "g/mol" and drug.molecular_weight.tag in TAGS
    for species in ("mouse", "human"):
        model = drug.default_pk_model(species)
        assert model == ("one_compartment", "two_compartment", "three_compartment")[drug.pk[species].compartments - 1]


def test_default_pk_sets():
    assert get_drug("paclitaxel").pk_parameter_set("mouse").name == "Eiseman1994"
    assert get_drug("paclitaxel").pk_parameter_set("human").name == "TaxolLabel"
    assert get_drug("docetaxel").pk_parameter_set("human").name == "Bruno1996"
    assert get_drug("docetaxel").default_pk_model("human") == "three_compartment"
    assert get_drug("gemcitabine").pk_parameter_set("mouse").name == "Gemcitabine2020Mouse"
    assert get_drug("gemcitabine").default_pk_model("human") == "two_compartment"
    assert get_drug("cyclophosphamide").pk_parameter_set("mouse").name == "Sladek1984"


def test_symbols_are_unique_subscripts():
    symbols = [get_drug(k).symbol for k in drug_names()]
    assert len(set(symbols)) == len(symbols) and get_drug("paclitaxel").symbol == "PTX"


def test_pk_parameter_set_name():
    assert get_drug("gemcitabine").pk_parameter_set_name("human") == "Jiang2008"
    assert get_drug("cisplatin").pk_parameter_set_name("mouse") == "CisplatinMouse"
    assert get_drug("docetaxel").pk_parameter_set_name("mouse") is None


def test_missing_species_set_says_what_to_do():
    with pytest.raises(ChemohostError, match=r"no mouse PK parameter set for docetaxel .*available for: human"):
        get_drug("docetaxel").pk_parameter_set("mouse")


def test_unknown_species():
    with pytest.raises(ChemohostError, match=r"unknown species 'mose' \(did you mean 'mouse'\?\)"):
        get_drug("paclitaxel").pk_parameter_set("mose")
    with pytest.raises(ChemohostError, match="did you mean 'human'"):
        default_covariates("humans")


def test_unknown_drug_did_you_mean():
    with pytest.raises(UnknownDrugError, match=r"unknown agent 'paclitaxol' \(did you mean 'paclitaxel'\?\); accepted: .*taxol") as info:
        get_drug("paclitaxol")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ChemohostError)
    with pytest.raises(UnknownDrugError, match="did you mean '5-fu'"):
        get_drug("5-fuu")


def test_blockers_are_agents_with_pk_and_channels():
    dc101 = get_drug("DC101")
    assert dc101.is_blocker and not dc101.is_cytotoxic and dc101.blocks == ("vegfr2",)
    assert dc101.pk_parameter_set("mouse").name == "AdjuvantAgentsMouse"
    assert get_drug("taxol").is_cytotoxic and not get_drug("taxol").is_blocker
    with pytest.raises(UnknownDrugError, match=r"'taxol' is not an adjuvant blocker; accepted: .*dc101"):
        get_blocker("taxol")


def test_default_covariates():
    mouse = default_covariates("mouse")
    assert list(mouse) == ["Body weight [kg]"]
    assert (mouse["Body weight [kg]"].value, mouse["Body weight [kg]"].tag) == (0.02, "U")
    human = default_covariates("human")
    assert human["Body weight [kg]"].value == 70 and human["Body weight [kg]"].tag == "U"
    bsa = human["Body surface area [m2]"]
    assert (bsa.value, bsa.unit, bsa.tag, bsa.citation) == (1.8, "m2", "V-code", "Claret2009")
