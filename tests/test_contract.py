"""Contract tests over every registered mechanism, drug, parameter set and citation.

Whatever is registered — built in or added later — must build inside a model,
declare every parameter with a unit, a source and a provenance tag, declare every
state with a unit and a LaTeX symbol, appear in the equation listing, and cite
only registered references. Building a model needs SymPy only (no kernel
compilation), so these tests are cheap.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import chemohost as ch
from chemohost.citations import get_citation
from chemohost.core import mechanism_registry, unit_of
from chemohost.drugs import blocker_names, default_covariates, drug_names, get_drug
from chemohost.parameters import TAGS, get_parameter_set, parameter_sets, ureg

DRUG_FAMILIES = tuple(f for f in ch.model.drug_options() if f not in ("elimination",))
SPECIES = ("mouse", "human")


def _companions(cls, out=None) -> dict:
    """The model options a mechanism requires beside it (the first acceptable choice of each), transitively."""
    out = {cls.family: cls.name} if out is None else out
    for key, needed in cls.requires.items():
        if "." not in key and key not in out:
            out[key] = needed if isinstance(needed, str) else needed[0]
            _companions(mechanism_registry()[key][out[key]], out)
    return out


def _model_options():
    """(test id, model options) for every registered mechanism.

    Drug mechanisms are built for each library drug in each species where the
    library has a PK parameter set; PK with both eliminations and all
    extravascular routes.
    """
    cases = []
    for family, names in sorted(mechanism_registry().items()):
        for name in sorted(names):
            if family not in DRUG_FAMILIES:
                companions = {k: v for k, v in _companions(names[name]).items() if k != family}
                if companions:  # e.g. a tumour-free host: give it a drug so the model has states
                    companions["drugs"] = {"paclitaxel": {}}
                cases.append((f"{family}:{name}", {family: name, **companions}))
                continue
            if family == "host_action":  # adjuvant agents, inside a host-response model
                for agent in blocker_names():
                    if (name == "coverage") == bool(get_drug(agent).blocks):
                        cases.append((f"{family}:{name}:{agent}:mouse",
                                      {"effectors": "indirect_response", "host_cells": "bmdc",
                                       "drugs": {agent: {family: name}}}))
                continue
            for drug in drug_names():
                for species in SPECIES:
                    if get_drug(drug).pk_parameter_set_name(species) is None:
                        continue
                    if family == "pk":
                        variants = {"linear+routes": {"pk": name, "extravascular": ["oral", "ip", "sc"]},
                                    "saturable": {"pk": name, "elimination": "saturable"}}
                    else:
                        variants = {"": {family: name}}
                    companions = {k: v for k, v in _companions(names[name]).items() if k != family}
                    for label, opts in variants.items():
                        cases.append((f"{family}:{name}:{drug}:{species}{':' + label if label else ''}",
                                      {"species": species, **companions, "drugs": {drug: opts}}))
    return cases


CASES = _model_options()


def test_every_family_and_drug_is_covered():
    ids = [case_id for case_id, _ in CASES]
    for family, names in mechanism_registry().items():
        for name in names:
            assert any(i.startswith(f"{family}:{name}") for i in ids)
    for drug in drug_names():
        assert any(f":{drug}:" in i for i in ids) or all(
            get_drug(drug).pk_parameter_set_name(s) is None for s in SPECIES)


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def built(request):
    _, options = request.param
    return ch.Model(options)


def _mechanism_of(model, family, name):
    mechs = [m for m in model.mechanisms if m.family == family and m.name == name]
    assert mechs, f"{family}: {name} is not in {model}"
    return mechs[0]


def test_mechanism_builds_inside_a_model(built, request):
    case_id = request.node.callspec.id
    family, name = case_id.split(":")[:2]
    mech = _mechanism_of(built, family, name)
    assert mech.summary() and mech.summary() != name  # a docstring with a one-line summary
    assert built.states and set(built.rhs) == set(built.state_names)


def _pint_parses(unit: str) -> bool:
    if unit == "-" or re.search(r"\^\([^)]*[A-Za-z]", unit):  # dimensionless or symbolic exponent
        return True
    ureg.Quantity(1.0, unit.replace("^", "**"))
    return True


def test_every_parameter_has_unit_source_and_tag(built):
    declared = [p for decl in built.declarations.values() for p in decl.parameters]
    assert declared
    for p in declared:
        assert unit_of(p.name) == p.unit and p.unit.strip(), p.name
        assert _pint_parses(p.unit), p.name
        assert p.source.strip(), p.name
        assert p.tag in ("V", "V-code", "C", "U", "proposed"), (p.name, p.tag)
        assert p.symbol.strip(), p.name
        assert math.isnan(p.default) or p.bounds[0] <= p.default <= p.bounds[1], p.name


def test_every_state_has_unit_and_latex_symbol(built):
    symbols = [s.symbol for s in built.states]
    for s in built.states:
        assert unit_of(s.name).strip(), s.name
        assert s.symbol.strip() and "[" not in s.symbol, s.name
    assert len(set(symbols)) == len(symbols), f"two states share a symbol: {symbols}"


def test_equation_listing_mentions_every_state(built):
    listing = built.equations()
    for s in built.states:
        assert rf"\frac{{d{s.symbol}}}{{dt}}" in listing, f"no ODE line for {s.name}"
        assert f"| ${s.symbol}$ | {s.name} |" in listing, f"{s.name} missing from the symbol table"
    latex = built.equations(format="latex")
    assert all(rf"\frac{{d{s.symbol}}}{{dt}}" in latex for s in built.states)


def test_every_citation_of_a_model_exists(built):
    for key in built.citations:
        assert get_citation(key).key == key
    for p in built.parameters:
        if p.citation:
            assert get_citation(p.citation).key == p.citation


def test_default_drug_parameters_come_from_the_library_set(built):
    """A PK parameter default is taken from the drug's PK set for the model's species, else the library or marked missing."""
    species = built.options["species"]
    for mech in built.mechanisms:
        if mech.family != "pk":
            continue
        drug = get_drug(mech.settings["drug"])
        set_name = drug.pk_parameter_set_name(species)
        values = get_parameter_set(set_name).values
        for p in built.declarations[id(mech)].parameters:
            if p.name in values:
                assert p.source.startswith(set_name + ":"), p.name
            elif p.name.endswith("molecular weight [g/mol]"):
                assert p.source.startswith("drug library:"), p.name
            else:
                assert p.required and p.tag == "U", p.name


# ------------------------------------------------------------------ parameter sets
@pytest.mark.parametrize("name", list(parameter_sets))
def test_parameter_set_loads_and_every_value_converts(name):
    pset = get_parameter_set(name)
    assert pset.name == name and pset.description.strip()
    values = pset.resolve(body_weight=0.02, body_surface_area=1.8)
    assert set(values) == set(pset.values)
    for pname, value in values.items():
        assert np.isfinite(value), pname
        pv = pset.values[pname]
        assert pv.tag in TAGS and pv.source.strip(), pname
        unit_of(pname)
    for key in pset.citations:
        assert get_citation(key).key == key


@pytest.mark.parametrize("species", SPECIES)
def test_default_covariates_resolve_the_pk_sets(species):
    """Each drug's PK set resolves with the species' default body size (what model defaults use)."""
    cov = {k: v.value for k, v in default_covariates(species).items()}
    for drug in drug_names():
        if get_drug(drug).pk_parameter_set_name(species) is None:
            continue
        values = get_drug(drug).pk_parameter_set(species).resolve(
            body_weight=cov.get("Body weight [kg]"), body_surface_area=cov.get("Body surface area [m2]"))
        assert all(np.isfinite(v) and v >= 0 for v in values.values()), drug


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("options, suggestion", [
    ({"growht": "gompertz"}, "growth"),
    ({"growth": "gompertzz"}, "gompertz"),
    ({"tumour": "proliferating_quiesent"}, "proliferating_quiescent"),
    ({"damage": "simeoni_transt"}, "simeoni_transit"),
    ({"species": "mose"}, "mouse"),
    ({"drugs": {"paclitaxl": {}}}, "paclitaxel"),
    ({"drugs": {"paclitaxel": {"kil": "linear"}}}, "kill"),
    ({"drugs": {"paclitaxel": {"kill": "lineer"}}}, "linear"),
    ({"drugs": {"paclitaxel": {"pk": "two_compartmen"}}}, "two_compartment"),
    ({"drugs": {"paclitaxel": {"elimination": "saturible"}}}, "saturable"),
    ({"drugs": {"paclitaxel": {"extravascular": ["orl"]}}}, "oral"),
])
def test_unknown_option_or_choice_suggests_the_right_one(options, suggestion):
    with pytest.raises(ch.ChemohostError, match=rf"did you mean '{suggestion}'\?"):
        ch.Model(options)


@pytest.fixture(scope="module")
def paclitaxel_model(shared_model):
    return shared_model("paclitaxel")


def test_regimen_with_a_drug_not_in_the_model(paclitaxel_model):
    with pytest.raises(ch.ChemohostError, match=r"model has no 'gemcitabine'.*'drugs'"):
        ch.simulate(paclitaxel_model, "gemcitabine 100 mg/kg ip", None, [0.0, 1.0],
                    covariates={"Body weight [kg]": 0.02})


def test_regimen_with_a_route_not_in_the_model(paclitaxel_model):
    with pytest.raises(ch.ChemohostError, match=r"route 'oral'.*extravascular"):
        ch.simulate(paclitaxel_model, "paclitaxel 10 mg oral", None, [0.0, 1.0])


def test_regimen_with_an_unknown_agent(paclitaxel_model):
    with pytest.raises(ch.ChemohostError, match=r"unknown agent 'paclitaxl'.*did you mean 'paclitaxel'"):
        ch.simulate(paclitaxel_model, "paclitaxl 25 mg/kg iv", None, [0.0, 1.0],
                    covariates={"Body weight [kg]": 0.02})


def test_regimen_with_a_blocker_gives_followable_advice(paclitaxel_model):
    with pytest.raises(ch.ChemohostError) as info:
        ch.simulate(paclitaxel_model, "paclitaxel 25 mg/kg iv + DC101 800 ug ip q3d", None, [0.0, 1.0],
                    covariates={"Body weight [kg]": 0.02})
    assert "under 'drugs'" not in str(info.value) or "blocker" in str(info.value)
