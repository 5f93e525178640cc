"""Virtual cohorts: log-normal variability with correlations, from an explicit seed."""

from __future__ import annotations

import numpy as np
import pytest

from chemohost import ChemohostError
from chemohost.cohort import sample_cohort
from chemohost.parameters import get_parameter_set

A0, B = "Gompertz initial growth rate [1/day]", "Gompertz deceleration rate [1/day]"


@pytest.fixture(scope="module")
def llc():
    return get_parameter_set("Benzekry2014LLC")


def test_cohort_reproduces_medians_spread_and_correlation(llc):
    typical = llc.to_dict()
    cohort = sample_cohort(20_000, {A0: typical[A0], B: typical[B]}, llc.variability, seed=11)
    logs = np.log(cohort[[A0, B]].to_numpy())
    omega = llc.variability.omega
    assert np.median(cohort[A0]) == pytest.approx(typical[A0], rel=0.02)
    assert np.median(cohort[B]) == pytest.approx(typical[B], rel=0.03)
    assert logs[:, 0].std() == pytest.approx(omega[A0].value, rel=0.03)
    assert logs[:, 1].std() == pytest.approx(omega[B].value, rel=0.03)
    assert np.corrcoef(logs.T)[0, 1] == pytest.approx(0.938, abs=0.01)


def test_same_seed_same_cohort_other_seed_other_cohort(llc):
    typical = {A0: 0.728, B: 0.0809}
    a = sample_cohort(50, typical, llc.variability, seed=1)
    b = sample_cohort(50, typical, llc.variability, seed=1)
    c = sample_cohort(50, typical, llc.variability, seed=2)
    assert a.equals(b) and not a.equals(c)


def test_parameters_without_variability_stay_typical(llc):
    cohort = sample_cohort(10, {A0: 0.7, B: 0.08, "Initial tumour volume [mm3]": 1.0}, llc.variability, seed=0)
    assert (cohort["Initial tumour volume [mm3]"] == 1.0).all()


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_bad_size(n):
    with pytest.raises(ChemohostError, match="cohort size"):
        sample_cohort(n, {A0: 0.7})


def test_variability_without_typical_value(llc):
    with pytest.raises(ChemohostError, match="no typical value"):
        sample_cohort(5, {A0: 0.7}, llc.variability)
