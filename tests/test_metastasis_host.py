"""Host-facilitated metastasis (MODEL_SPEC §7.3): VALIDATION V18 (Gingis-Velitski 2011) and V19 (Voloshin 2015).

Both are read off the built-in studies, as the report shows them, and the couplings
that produce them are switched off to show that they, not a special case, carry the effect.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest

import chemohost as ch
from chemohost.metastasis import metastasis_checks
from chemohost.procedures import parse_procedures
from chemohost.study import load_study, plan_study, reference_study, run_study

N, BURDEN, VOLUME = "Number of metastases [-]", "Metastatic burden [cell]", "Tumour volume [mm3]"
PACLITAXEL = "paclitaxel 25 mg/kg iv bolus q7d x3 from day 10"
ANAKINRA = "anakinra 50 mg/kg/day sc continuous from day 10 to day 31"


def _small(config, size=20):
    data = config.model_dump()
    data["cohort"] = {**data["cohort"], "size": size}
    return load_study(data)


@pytest.fixture(scope="module")
def conditioning():
    config = _small(load_study(files("chemohost").joinpath("data", "studies", "gingis_velitski.yaml")))
    return config, run_study(config)


@pytest.fixture(scope="module")
def reference_plan():
    return plan_study(reference_study())


def _typical(plan, regimen, parameters=None, times=(31.0,), procedures=None):
    p = plan.table["value"].to_dict() | (parameters or {})
    return ch.simulate(plan.model, regimen, p, list(times), covariates=plan.covariates,
                       procedures=parse_procedures(procedures))


# ------------------------------------------------------------------------------------------ V18
def test_v18_paclitaxel_conditioning_raises_colonisation_and_mmp9_inhibition_blocks_it(conditioning):
    _, results = conditioning
    (check,) = metastasis_checks(results)
    assert check.id == "V18" and check.passed, check.values
    colonies = results[N].isel(time=-1).median("patient")
    # Recorded miss of VALIDATION V18's "≈ 2 [U]": with the MMP-9 colonisation gain from the published LLC knockout
    # colony ratios (ε_Mc 1.3, MetastasisHost) paclitaxel conditioning raises colonies by about a sixth, not twofold.
    assert 1.0 < float(colonies.sel(arm="paclitaxel") / colonies.sel(arm="vehicle")) < 1.5
    assert "Tumour volume [mm3]" not in results  # tumour-free hosts


def test_v18_comes_from_mmp9_acting_on_establishment(conditioning):
    """The MMP-9 term of colonisation carries the part of the paclitaxel effect that the MMP-9 inhibitor removes: it is
    not in dissemination, which i.v. cells bypass (MODEL_SPEC §11); the rest comes from the EV signal and myeloid
    cells, which the inhibitor leaves."""
    config, _ = conditioning
    plan = plan_study(config)
    off = {"MMP-9 colonisation gain [-]": 0.0}
    ratio = {}
    for label, extra, arm in (("on", {}, "paclitaxel"), ("off", off, "paclitaxel"),
                              ("inhibited", {}, "paclitaxel + MMP-9 inhibitor")):
        n = {a: float(_typical(plan, plan.regimens[a], extra, [21.0], plan.procedures[a])[N][0, 0])
             for a in ("vehicle", arm)}
        ratio[label] = n[arm] / n["vehicle"]
    assert ratio["on"] > ratio["off"] and ratio["off"] < 1.1
    assert ratio["inhibited"] == pytest.approx(ratio["off"], rel=0.01)
    vehicle = _typical(plan, None, {}, [21.0], ["inoculation of 1e6 cells on day 1"])
    p0 = plan.table.loc["Inoculated-cell establishment probability [-]", "value"]
    assert float(vehicle[N][0, 0]) == pytest.approx(1e6 * p0, rel=1e-6)  # no drug: p_col = p_0


def test_conditioning_report_shows_the_metastasis_section(conditioning, tmp_path):
    from chemohost.report import write_report

    config, results = conditioning
    html = write_report(results, plan_study(config), tmp_path).read_text()
    assert 'id="metastasis"' in html and "V18" in html and "✗ no" not in html
    assert (tmp_path / "metastasis.csv").read_text().startswith("arm,")


# ------------------------------------------------------------------------------------------ V19
@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "V19 fails at the study values since round 4 (recorded, not re-tuned): with its published values, among them the IL-1β "
    "response half-life (Mekaouche 1996), IL-1 angiogenic support (Voronov 2003) and IL-6 myeloid gain (Lok 2017), the "
    "median number of metastases with IL-1R blockade equals that without (ratio 1.00; burden 1.04, primary 0.91)"))
def test_v19_il1_blockade_slows_the_primary_but_promotes_metastasis():
    """Read off the reference study (20 mice) as its report does."""
    results = run_study(_small(reference_study()))
    checks = {c.id: c for c in metastasis_checks(results)}
    assert set(checks) == {"V19"} and checks["V19"].passed, checks["V19"].values


def test_v19_needs_the_added_couplings(reference_plan):
    """MODEL_SPEC §11: with IL-1 only raising dissemination (no restraint of M2 homing, no myeloid permeability),
    blocking it lowers metastasis; the added couplings raise what blocking leaves. Since round 4's published IL-1β
    half-life, IL-1 angiogenic support and IL-6 myeloid gain they reverse the burden but no longer the count (0.99 in
    the typical mouse), which is V19's recorded failure."""
    blocked = f"{PACLITAXEL} + {ANAKINRA}"
    off = {"IL-1 restraint of M2 homing [-]": 0.0, "Myeloid permeability gain [-]": 0.0}
    ratio = {}
    for label, extra in (("on", {}), ("off", off)):
        alone, both = (_typical(reference_plan, r, extra).isel(time=0) for r in (PACLITAXEL, blocked))
        ratio[label] = {q: float(both[q][0] / alone[q][0]) for q in (VOLUME, N, BURDEN)}
    assert ratio["off"][N] < ratio["on"][N] and ratio["off"][N] < 1
    assert ratio["off"][BURDEN] < 1 < ratio["on"][BURDEN]
    assert 0.8 <= ratio["on"][VOLUME] < 1.0 and 0.8 <= ratio["off"][VOLUME] < 1.0


def test_il1_blockade_alone_changes_nothing(reference_plan):
    """IL-1 is at rest without paclitaxel, so anakinra alone leaves the tumour and metastases as in vehicle."""
    vehicle, blocked = _typical(reference_plan, None), _typical(reference_plan, ANAKINRA)
    for q in (VOLUME, N, BURDEN):
        assert float(blocked[q][0, 0]) == pytest.approx(float(vehicle[q][0, 0]), rel=1e-6)


def test_surgery_arm_of_the_reference_study(reference_plan):
    times = np.arange(15.0, 31.25, 0.25)
    ds = _typical(reference_plan, None, times=times, procedures=reference_plan.procedures["resection on day 17"])
    after = times > 17
    assert np.all(ds[VOLUME].values[0, after] == 0)
    assert np.ptp(ds[N].values[0, after]) == 0 and ds[N].values[0, -1] > 0
    assert np.all(np.diff(ds[BURDEN].values[0, after]) > 0)
