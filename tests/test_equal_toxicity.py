"""Equal-toxicity schedules: a family rescaled to the reference's neutrophil nadir."""

import numpy as np
import pytest

from chemohost import Model
from chemohost._errors import ChemohostError
from chemohost.equal_toxicity import equal_toxicity, neutrophil_nadir
from chemohost.regimen import equal_cumulative_dose, mtd

PARAMS = {"Body weight [kg]": 0.02, "Paclitaxel myelosuppression slope [1/uM]": 0.1}
REFERENCE = mtd("paclitaxel", 25, "mg/kg", every=7, cycles=4, start=10)


@pytest.fixture(scope="module")
def model():
    return Model({"growth": "gompertz", "toxicity": "friberg",
                  "drugs": {"paclitaxel": {"kill": "linear", "myelosuppression": "linear"}}})


@pytest.mark.parametrize("family, kwargs", [
    ("dose_dense", {"every": 3.5, "start": 10, "end": 38}),
    ("metronomic", {"start": 10, "end": 38, "route": "iv_infusion"}),
])
def test_equal_toxicity_matches_the_reference_nadir(model, family, kwargs):
    target = neutrophil_nadir(model, REFERENCE, PARAMS, until=45)
    assert target < 0.9  # the reference is myelosuppressive
    matched = equal_toxicity(REFERENCE, family, model, PARAMS, until=45, **kwargs)
    np.testing.assert_allclose(neutrophil_nadir(model, matched, PARAMS, until=45), target, rtol=1e-3)
    same_dose = equal_cumulative_dose(REFERENCE, family, 45, **kwargs)
    # the same drug spread out is less toxic, so equal toxicity allows a different total
    given = matched.cumulative_dose(45, 0.02, 1.0)["paclitaxel"]
    planned = same_dose.cumulative_dose(45, 0.02, 1.0)["paclitaxel"]
    assert not np.isclose(given, planned, rtol=1e-3)
    assert str(matched).startswith("paclitaxel")


def test_equal_toxicity_explains_what_it_needs(model):
    plain = Model({"growth": "gompertz", "drugs": {"paclitaxel": {"kill": "linear"}}})
    with pytest.raises(ChemohostError, match="toxicity: friberg"):
        equal_toxicity(REFERENCE, "weekly", plain, {"Body weight [kg]": 0.02}, until=45, start=10)
    spared = {**PARAMS, "Paclitaxel myelosuppression slope [1/uM]": 0.0}
    with pytest.raises(ChemohostError, match="does not lower the neutrophils"):
        equal_toxicity(REFERENCE, "weekly", model, spared, until=45, start=10)
