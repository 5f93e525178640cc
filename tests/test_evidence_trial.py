"""Evidence behind the NSCLC reference trial's covariates, variability and survival centring (issue 15).

Each computed (C) value of ``src/chemohost/data/trials/nsclc.yaml`` and ``Claret2009Survival`` is recomputed
here from the published numbers its source line quotes, so a change of one input cannot leave a derived value
stale. No simulation: the file runs in well under a second.
"""

from __future__ import annotations

import math

import pytest

from chemohost.citations import get_citation
from chemohost.parameters import get_parameter_set
from chemohost.trial import load_trial

Z75 = 0.6744897501960817  # standard-normal 75th percentile: IQR = 2 x 0.6745 sdlog for a log-normal


@pytest.fixture(scope="module")
def nsclc():
    return load_trial("nsclc")


def _omega_from_variance(variance: float) -> float:
    """Log-normal IIV: omega = sqrt(omega^2) of a NONMEM/nlmixr2 exponential eta."""
    return math.sqrt(variance)


def _omega_from_cv(cv: float) -> float:
    """Log-normal SD whose arithmetic coefficient of variation is ``cv``: sqrt(ln(1 + CV^2))."""
    return math.sqrt(math.log1p(cv**2))


@pytest.mark.parametrize("name, variance", [
    ("Docetaxel myelosuppression slope [1/uM]", 0.128412),   # Kloft 2006 docetaxel, DDMODEL00000224
    ("Paclitaxel myelosuppression slope [1/uM]", 0.176),     # Friberg 2002 paclitaxel, DDMODEL00000186
    ("Neutrophil mean transit time [day]", 0.0191785),       # Kloft 2006 docetaxel, DDMODEL00000224
])
def test_myelosuppression_iiv_is_the_published_omega(nsclc, name, variance):
    v = nsclc.config.variability[name]
    assert v.tag == "C" and str(variance) in v.source
    assert v.omega == pytest.approx(_omega_from_variance(variance), abs=5e-5)


def test_docetaxel_clearance_iiv_is_the_published_cv(nsclc):
    """Rudek (quoted by Ma et al.): CV of docetaxel clearance 35% -> omega = sqrt(ln(1 + 0.35^2))."""
    v = nsclc.config.variability["Docetaxel clearance [L/day]"]
    assert v.tag == "C" and "35%" in v.source
    assert v.omega == pytest.approx(_omega_from_cv(0.35), abs=5e-5)
    # the clearance it varies is absolute, like the quoted CV (not per m2)
    assert get_parameter_set("Bruno1996").values["Docetaxel clearance [L/day]"].unit == "L/day"


def test_baseline_anc_spread_is_kloft_iiv_around_friberg_circ0(nsclc):
    anc = nsclc.config.covariates["baseline_anc"]
    assert anc.tag == "C"
    assert anc.sdlog == pytest.approx(_omega_from_variance(0.0639703), abs=5e-5)
    assert anc.median == get_parameter_set("Friberg2002").values["Baseline neutrophil count [1/nL]"].value


def test_baseline_sld_median_and_survival_centre_are_the_e4599_median(nsclc):
    """Gerber 2013: 'The median BSLD was 7.5 cm'; the OS model is centred on the cohort's median."""
    assert nsclc.config.covariates["baseline_sld"].median == pytest.approx(7.5 * 10)
    reference = get_parameter_set("Claret2009Survival").values["OS reference baseline tumour size [mm]"]
    assert reference.tag == "C" and reference.unit == "mm"
    assert reference.value == nsclc.config.covariates["baseline_sld"].median
    assert "7.5 cm" in get_citation("Gerber2013").note


def test_weighting_target_median_is_the_published_doubling_time(nsclc):
    """CT gross-tumour-volume doubling time 139 days (NSCLCGrowthPET2012); the placeholder spread lies within the
    spreads implied by the published interquartile ranges (ln(Q3/Q1) / (2 x 0.6745))."""
    target = nsclc.config.weighting.target
    assert target.median == 139
    spreads = [math.log(q3 / q1) / (2 * Z75) for q1, q3 in [(91, 185), (56, 108), (108, 349), (64, 230)]]
    assert [round(s, 2) for s in spreads] == [0.53, 0.49, 0.87, 0.95]  # as quoted in the source line
    assert min(spreads) <= target.sdlog <= max(spreads)
    assert target.tag == "U"  # the spread itself is not published for this cohort
