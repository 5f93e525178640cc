"""Parameter sets: contract over every registered set, published numbers, combining, errors."""

from __future__ import annotations

import doctest
import math
import re

import numpy as np
import pytest

import chemohost.parameters as parameters
from chemohost._errors import ChemohostError, ParameterError
from chemohost.citations import get_citation
from chemohost.drugs import default_covariates, drug_names, get_drug
from chemohost.parameters import (
    TAGS,
    MissingCovariateError,
    ParameterSet,
    ParameterSetFileError,
    ParameterValue,
    UnitConversionError,
    UnknownParameterError,
    UnknownParameterSetError,
    get_parameter_set,
    load_parameter_set,
    parameter_sets,
    parse_bracket_unit,
    register_parameter_set,
)
from chemohost.parameters._units import conversion

MOUSE_BW = 0.02
LN2 = math.log(2)


@pytest.fixture
def isolated_registry(monkeypatch):
    """Let a test register sets without leaking them into other tests."""
    monkeypatch.setattr(parameter_sets, "_sets", dict(parameter_sets._sets))


def _resolve_default(pset: ParameterSet) -> dict:
    cov = {**default_covariates("mouse"), **default_covariates("human")}
    return pset.resolve(body_weight=cov["Body weight [kg]"].value, body_surface_area=cov["Body surface area [m2]"].value)


def _write(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_package_doctests():
    for module in (parameters, parameters._units, parameters._set):
        assert doctest.testmod(module, raise_on_error=True).failed == 0


# --------------------------------------------------------------------------- contract
@pytest.mark.parametrize("name", list(parameter_sets))
def test_contract_every_registered_set(name):
    pset = parameter_sets[name]
    assert pset.name == name and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name)
    assert pset.description.strip() and pset.values
    for pname, pv in pset.values.items():
        bracket = parse_bracket_unit(pname)
        conversion(pv.unit, bracket)  # raises if the unit cannot convert
        assert pv.tag in TAGS, f"{name}: '{pname}' has tag {pv.tag!r}"
        assert pv.source.strip(), f"{name}: '{pname}' has no source"
        if pv.tag == "U":
            assert "unverified" in (pv.source + (pv.note or "")).lower(), f"{name}: '{pname}' is U but does not say so"
    for key in pset.citations:
        get_citation(key)
    for pname, value in _resolve_default(pset).items():
        assert math.isfinite(value) and value >= 0, f"{name}: '{pname}' resolves to {value}"
    if pset.variability is not None:
        cov = pset.variability.covariance()
        assert cov.shape == (len(pset.variability.parameters),) * 2
        assert np.linalg.eigvalsh(cov).min() >= -1e-12
        for pv in pset.variability.omega.values():
            assert pv.tag in TAGS and pv.source.strip()


@pytest.mark.parametrize("key", drug_names())
def test_contract_every_drug_default_pk_set(key):
    drug = get_drug(key)
    conversion(drug.molecular_weight.unit, "g/mol")
    for species, default in drug.pk.items():
        if default.parameter_set is None:
            continue
        pset = drug.pk_parameter_set(species)
        names = set(pset.values)
        prefix = drug.display_name + " "
        assert all(n.startswith(prefix) for n in names), f"{pset.name} holds parameters of other drugs"
        mw = pset.values[f"{drug.display_name} molecular weight [g/mol]"]
        assert (mw.value, mw.tag) == (drug.molecular_weight.value, drug.molecular_weight.tag)
        has_second = f"{drug.display_name} second peripheral volume [L]" in names
        has_first = f"{drug.display_name} peripheral volume [L]" in names
        assert default.compartments == 1 + has_first + has_second
        for required in ("clearance [L/day]", "central volume [L]"):
            assert prefix + required in names


# --------------------------------------------------------------------------- published numbers
def test_eiseman1994_one_compartment_v6():
    values = get_parameter_set("Eiseman1994").resolve(body_weight=MOUSE_BW)
    cl, v = values["Paclitaxel clearance [L/day]"], values["Paclitaxel central volume [L]"]
    assert cl / v == pytest.approx(14.47, rel=5e-3)
    assert v / MOUSE_BW == pytest.approx(0.3235, rel=5e-3)
    assert cl / MOUSE_BW == pytest.approx(4.68, rel=1e-12)  # 3.25 mL/min/kg
    assert 25 * MOUSE_BW / v == pytest.approx(77.3, rel=1e-2)  # C0 [ug/mL] after 25 mg/kg
    assert 22.5 * MOUSE_BW / cl * 24 == pytest.approx(115.4, rel=1e-2)  # AUC [ug.h/mL]
    assert 2.5 * MOUSE_BW / cl * 1000 == pytest.approx(534, rel=1e-2)  # Css [ng/mL]
    assert LN2 * v / cl * 1440 == pytest.approx(69, rel=5e-3)  # terminal t1/2 [min]


def test_gemcitabine_mouse_v7():
    one = get_parameter_set("Gemcitabine2020Mouse")
    values = one.resolve(body_weight=1.0)
    assert values["Gemcitabine clearance [L/day]"] == pytest.approx(67.2, rel=1e-12)  # 2.8 mL/h/g
    assert values["Gemcitabine central volume [L]"] == pytest.approx(1.4, rel=1e-12)
    assert values["Gemcitabine oral bioavailability [-]"] == pytest.approx(0.183)
    mw = values["Gemcitabine molecular weight [g/mol]"]
    dose_mg_per_kg = 76e-9 * 1000 * mw * 1000  # 76 nmol/g
    assert dose_mg_per_kg == pytest.approx(20.0, rel=1e-3)
    auc_uM_h = dose_mg_per_kg / values["Gemcitabine clearance [L/day]"] * 24 / mw * 1000
    assert auc_uM_h == pytest.approx(27.1, rel=5e-3)
    assert 76 / values["Gemcitabine central volume [L]"] == pytest.approx(54.3, rel=5e-3)  # C0 [uM]

    two = get_parameter_set("Gemcitabine2020Mouse2Cpt").resolve(body_weight=1.0)
    cl, v1 = two["Gemcitabine clearance [L/day]"], two["Gemcitabine central volume [L]"]
    v2, q = two["Gemcitabine peripheral volume [L]"], two["Gemcitabine intercompartmental clearance [L/day]"]
    rates = np.linalg.eigvals(np.array([[-(cl + q) / v1, q / v2], [q / v1, -q / v2]]))
    fast, slow = sorted(-rates.real, reverse=True)
    assert 76 / v1 == pytest.approx(67.2, rel=1e-2)
    assert v1 + v2 == pytest.approx(1.40, rel=1e-2)
    assert LN2 / slow * 1440 == pytest.approx(42.5, rel=1e-2)
    assert LN2 / fast * 1440 == pytest.approx(14.2, rel=1e-2)


def test_bruno1996_rate_constants_round_trip():
    values = get_parameter_set("Bruno1996").resolve()
    v1 = values["Docetaxel central volume [L]"]
    assert v1 == 7.4
    assert values["Docetaxel clearance [L/day]"] == pytest.approx(124.8 * 7.4)
    q2, v2 = values["Docetaxel intercompartmental clearance [L/day]"], values["Docetaxel peripheral volume [L]"]
    q3, v3 = values["Docetaxel second intercompartmental clearance [L/day]"], values["Docetaxel second peripheral volume [L]"]
    assert (q2 / v1, q2 / v2, q3 / v1, q3 / v3) == pytest.approx((25.44, 36.24, 30.24, 2.016), rel=1e-6)
    assert values["Docetaxel clearance [L/day]"] / 24 == pytest.approx(38.5, rel=2e-3)  # L/h


def test_taxol_label_v5():
    values = get_parameter_set("TaxolLabel").resolve(body_surface_area=1.8)
    cl, v = values["Paclitaxel clearance [L/day]"], values["Paclitaxel central volume [L]"]
    assert 175 * 1.8 / cl * 24 * 1000 == pytest.approx(14344, rel=1e-3)  # AUC [ng.h/mL]
    assert LN2 * v / cl * 24 == pytest.approx(20.2, rel=5e-3)  # t1/2 [h]


def test_human_sets_per_body_surface_area():
    cis = get_parameter_set("CisplatinLabel").resolve(body_surface_area=1.0)
    assert cis["Cisplatin clearance [L/day]"] / cis["Cisplatin central volume [L]"] / 1440 == pytest.approx(0.029, rel=0.01)
    jiang = get_parameter_set("Jiang2008").resolve()
    assert jiang["Gemcitabine clearance [L/day]"] == pytest.approx(2.7 * 1440)
    assert jiang["Gemcitabine intercompartmental clearance [L/day]"] == pytest.approx(0.7 * 1440)


def test_simeoni2004_threshold_v3():
    values = get_parameter_set("Simeoni2004").to_dict()
    threshold = values["Simeoni exponential growth rate [1/day]"] / values["Paclitaxel kill potency [mL/ng/day]"]
    assert threshold == pytest.approx(434.0, rel=1e-3)
    assert 3 / values["Damaged-cell transit rate [1/day]"] == pytest.approx(3.10, rel=1e-3)
    assert values["Simeoni linear growth rate [mm3/day]"] == 814


@pytest.mark.parametrize(("name", "alpha0", "beta", "sds", "corr"), [
    ("Benzekry2014LLC", 0.728, 0.0809, (0.241, 0.543), 0.938),
    ("Benzekry2014LM24", 0.558, 0.0708, (0.228, 0.385), 0.926),
])
def test_benzekry_gompertz_cohort_v9(name, alpha0, beta, sds, corr):
    pset = get_parameter_set(name)
    values = pset.to_dict()
    assert values["Gompertz initial growth rate [1/day]"] == alpha0
    assert values["Gompertz deceleration rate [1/day]"] == beta
    assert values["Gompertz reference volume [mm3]"] == values["Initial tumour volume [mm3]"] == 1
    cov = pset.variability.covariance()
    assert np.sqrt(np.diag(cov)) == pytest.approx(sds)
    assert cov[0, 1] / (sds[0] * sds[1]) == pytest.approx(corr)


def test_rmm1_kill_potencies_follow_documented_arithmetic():
    """Course log-kills k x AUC as RMM1's notes state them, with the PK sets of the reference study."""
    kill = get_parameter_set("RMM1").to_dict()
    k2 = get_parameter_set("Simeoni2004").to_dict()["Paclitaxel kill potency [mL/ng/day]"]
    ptx = get_parameter_set("Eiseman1994").resolve(body_weight=MOUSE_BW)
    gem = get_parameter_set("Gemcitabine2020Mouse").resolve(body_weight=MOUSE_BW)
    ctx = get_parameter_set("Sladek1984").resolve(body_weight=MOUSE_BW)
    to_ng_day_per_ml = 1000.0  # mg.day/L -> ng.day/mL
    course_ptx = k2 * 3 * 25 * MOUSE_BW / ptx["Paclitaxel clearance [L/day]"] * to_ng_day_per_ml
    course_gem = kill["Gemcitabine kill potency [mL/ng/day]"] * 4 * 120 * MOUSE_BW / gem["Gemcitabine clearance [L/day]"] * to_ng_day_per_ml
    course_ctx = (kill["Cyclophosphamide kill potency [mL/ng/day]"] * 21 * 20 * MOUSE_BW
                  * ctx["Cyclophosphamide oral bioavailability [-]"] / ctx["Cyclophosphamide clearance [L/day]"] * to_ng_day_per_ml)
    assert "Paclitaxel kill potency [mL/ng/day]" not in kill  # Simeoni 2004's k2 applies in full
    assert course_ptx == pytest.approx(10.08, rel=1e-3)
    assert course_gem == pytest.approx(1.137, rel=1e-2)  # the mean lung-xenograft log-kill of Merriman 1996
    assert course_ctx == pytest.approx(7.93, rel=1e-2)
    assert kill["Initial tumour volume [mm3]"] == 1


# --------------------------------------------------------------------------- combining
def test_merge_later_wins_and_keeps_everything():
    study = get_parameter_set("Benzekry2014LLC") | get_parameter_set("Simeoni2004") | get_parameter_set("RMM1")
    assert study.name == "Benzekry2014LLC | Simeoni2004 | RMM1"
    assert study.values["Paclitaxel kill potency [mL/ng/day]"].tag == "V-code"  # RMM1 leaves Simeoni's k2 in place
    assert study.values["Initial tumour volume [mm3]"] == get_parameter_set("RMM1").values["Initial tumour volume [mm3]"]
    assert study.values["Simeoni switch exponent [-]"].value == 20
    assert study.citations[:2] == ("Benzekry2014", "Vaghi2020")
    assert len(set(study.citations)) == len(study.citations)
    assert study.variability is get_parameter_set("Benzekry2014LLC").variability
    assert get_parameter_set("Eiseman1994").update(get_parameter_set("RMM1")) == get_parameter_set("Eiseman1994") | get_parameter_set("RMM1")


def test_merge_variability_later_block_replaces_earlier():
    merged = get_parameter_set("Benzekry2014LLC") | get_parameter_set("Benzekry2014LM24")
    assert merged.values["Gompertz initial growth rate [1/day]"].value == 0.558
    assert len(merged.variability.correlations) == 1
    assert merged.variability.covariance()[0, 1] == pytest.approx(0.926 * 0.228 * 0.385)


def test_with_overrides_marks_user_values():
    base = get_parameter_set("Eiseman1994")
    study = base.with_overrides({"Paclitaxel central volume [L]": 0.007, "Paclitaxel clearance [L/day]": (4.0, "mL/min/kg")})
    v = study.values["Paclitaxel central volume [L]"]
    assert (v.value, v.unit, v.tag, v.source) == (0.007, "L", "user", "study override")
    resolved = study.resolve(body_weight=MOUSE_BW)
    assert resolved["Paclitaxel clearance [L/day]"] == pytest.approx(4.0 * 1.44 * MOUSE_BW)
    assert base.values["Paclitaxel central volume [L]"].tag == "C"  # original untouched
    with pytest.raises(UnknownParameterError, match=r"did you mean 'Paclitaxel clearance \[L/day\]'") as info:
        base.with_overrides({"Paclitaxel clearence [L/day]": 1.0})
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnitConversionError):
        base.with_overrides({"Paclitaxel clearance [L/day]": (1.0, "mg")})


def test_user_tag_only_through_overrides():
    with pytest.raises(ParameterError, match="with_overrides"):
        ParameterValue(1.0, "L", "user", "my notebook")


def test_resolve_per_patient_arrays():
    weights = np.array([0.018, 0.02, 0.025])
    values = get_parameter_set("Eiseman1994").resolve(body_weight=weights)
    assert values["Paclitaxel central volume [L]"].shape == (3,)
    assert values["Paclitaxel central volume [L]"] == pytest.approx(0.3235 * weights)
    assert isinstance(values["Paclitaxel molecular weight [g/mol]"], float)


def test_registry_is_read_only_mapping():
    assert "Eiseman1994" in parameter_sets and "Nope2000" not in parameter_sets
    assert len(parameter_sets) == len(list(parameter_sets))
    assert parameter_sets.get("Nope2000") is None
    with pytest.raises(TypeError):
        parameter_sets["Mine2024"] = get_parameter_set("Eiseman1994")  # type: ignore[index]


def test_register_parameter_set(isolated_registry):
    mine = ParameterSet(
        "Mine2024", "A study's own tumour set.", {"Initial tumour volume [mm3]": ParameterValue(5, "mm3", "U", "unverified guess")},
        citations=("Benzekry2014",),
    )
    assert register_parameter_set(mine) is mine
    assert get_parameter_set("Mine2024") is mine and "Mine2024" in list(parameter_sets)
    with pytest.raises(ChemohostError, match="already registered"):
        register_parameter_set(ParameterSet("Mine2024", "other", mine.values))
    with pytest.raises(ChemohostError, match="AuthorYear"):
        register_parameter_set(get_parameter_set("Eiseman1994") | mine)
    with pytest.raises(KeyError, match=r"cites an unknown citation key 'Benzekri2014' \(did you mean 'Benzekry2014'"):
        register_parameter_set(ParameterSet("Other2024", "x", mine.values, citations=("Benzekri2014",)))


def test_load_user_yaml_file(tmp_path):
    path = _write(tmp_path, "Lab2024", """
name: Lab2024
description: Our lab's paclitaxel clearance.
citations: [Eiseman1994]
values:
  "Paclitaxel clearance [L/day]": {value: 5.0, unit: mL/min/kg, tag: U, source: "unverified lab notebook"}
variability:
  omega:
    "Paclitaxel clearance [L/day]": {value: 0.3, tag: proposed, source: "guess"}
""")
    pset = load_parameter_set(path)
    assert pset.resolve(body_weight=1.0)["Paclitaxel clearance [L/day]"] == pytest.approx(7.2)
    assert pset.variability.covariance() == pytest.approx(np.array([[0.09]]))


# --------------------------------------------------------------------------- bad inputs
def test_unknown_set_did_you_mean():
    with pytest.raises(UnknownParameterSetError, match=r"unknown parameter set 'Eiseman1995' \(did you mean 'Eiseman1994'\?\)") as info:
        get_parameter_set("Eiseman1995")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ChemohostError)


def test_bad_tag_in_yaml(tmp_path):
    path = _write(tmp_path, "Bad2024", """
name: Bad2024
description: Bad tag.
values:
  "Paclitaxel clearance [L/day]": {value: 3.25, unit: mL/min/kg, tag: Vcode, source: "x"}
""")
    with pytest.raises(ParameterSetFileError) as info:
        load_parameter_set(path)
    message = str(info.value)
    assert "Bad2024.yaml" in message and '"Paclitaxel clearance [L/day]".tag' in message
    assert "did you mean 'V-code'" in message and "\n" not in message


@pytest.mark.parametrize(("body", "expected"), [
    ("tag: user, source: x", "reserved for ParameterSet.with_overrides"),
    ("tag: V, source: ''", "source"),
    ("tag: V, source: x, extra: 1", "extra"),
])
def test_bad_fields_in_yaml(tmp_path, body, expected):
    path = _write(tmp_path, "Bad2024", f"""
name: Bad2024
description: Bad field.
values:
  "Paclitaxel clearance [L/day]": {{value: 3.25, unit: mL/min/kg, {body}}}
""")
    with pytest.raises(ParameterSetFileError, match=expected):
        load_parameter_set(path)


def test_yaml_name_must_match_file(tmp_path):
    path = _write(tmp_path, "Other2024", """
name: Bad2024
description: x
values:
  "Initial tumour volume [mm3]": {value: 1, unit: mm3, tag: V, source: x}
""")
    with pytest.raises(ParameterSetFileError, match="must match the file name 'Other2024'"):
        load_parameter_set(path)


def test_unit_mismatch_names_set_parameter_and_units(tmp_path):
    path = _write(tmp_path, "Bad2024", """
name: Bad2024
description: Unit mismatch.
values:
  "Paclitaxel central volume [L]": {value: 3.0, unit: mg/kg, tag: V, source: x}
""")
    with pytest.raises(UnitConversionError) as info:
        load_parameter_set(path)
    message = str(info.value)
    for part in ("Bad2024", "'Paclitaxel central volume [L]'", "'mg/kg'", "'L'"):
        assert part in message
    assert "\n" not in message


@pytest.mark.parametrize(("unit", "bracket"), [
    ("mm3^(1-gamma)/day", "mm3^(1-gamma)/day"),
    ("%", "-"),
    ("mL/h/g", "L/day"),
    ("L/h/m2", "L/day"),
])
def test_unit_conversions_accepted(unit, bracket):
    conversion(unit, bracket)


@pytest.mark.parametrize(("unit", "bracket"), [
    ("mm3^(2-gamma)/day", "mm3^(1-gamma)/day"),
    ("furlongs", "L"),
    ("L/kg/kg", "L"),
    ("mg", "ng/mL"),
])
def test_unit_conversions_rejected(unit, bracket):
    with pytest.raises(UnitConversionError, match=re.escape(f"'{unit}' cannot be converted to the bracket unit '{bracket}'")):
        ParameterSet("Bad2024", "x", {f"Something [{bracket}]": ParameterValue(1.0, unit, "U", "unverified")})


def test_missing_covariate_names_parameter_and_argument():
    with pytest.raises(MissingCovariateError, match=r"'Paclitaxel clearance \[L/day\]' is given per body weight .*body_weight \[kg\]"):
        get_parameter_set("Eiseman1994").resolve()
    with pytest.raises(MissingCovariateError, match=r"per body surface area .*body_surface_area \[m2\]"):
        get_parameter_set("TaxolLabel").resolve(body_weight=70)
    with pytest.raises(MissingCovariateError):
        get_parameter_set("Eiseman1994").to_dict()


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan"), np.array([0.02, -0.02])])
def test_bad_covariate_values(weight):
    with pytest.raises(ParameterError, match="body_weight must be positive"):
        get_parameter_set("Eiseman1994").resolve(body_weight=weight)


def test_name_without_bracket_unit():
    with pytest.raises(ParameterError, match="must end with its unit in brackets"):
        parse_bracket_unit("Paclitaxel clearance")


def test_variability_errors():
    from chemohost.parameters import Correlation, LogNormalVariability

    sd = ParameterValue(0.2, "-", "U", "unverified")
    with pytest.raises(UnknownParameterError, match="did you mean 'Carrying capacity \\[mm3\\]'"):
        ParameterSet(
            "Bad2024", "x", {"Carrying capacity [mm3]": ParameterValue(1e3, "mm3", "U", "unverified")},
            variability=LogNormalVariability({"Carrying capacty [mm3]": sd}),
        )
    with pytest.raises(ParameterError, match="positive semi-definite"):
        Correlation(("a [-]", "b [-]", "c [-]"), ((1, 0.9, -0.9), (0.9, 1, 0.9), (-0.9, 0.9, 1)), "U", "unverified")
    with pytest.raises(ParameterError, match="no omega"):
        LogNormalVariability({"a [-]": sd}, (Correlation(("a [-]", "b [-]"), ((1, 0.5), (0.5, 1)), "U", "unverified"),))
