"""One API shape: read-outs take (times, values) with keyword-only options; old call forms warn for one release."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import chemohost as ch
from chemohost.outcomes import (kaplan_meier, logrank, mrecist, recist, t_over_c, time_to_endpoint,
                                tumour_growth_delay, tumour_growth_inhibition)

T = [0, 28, 56, 84, 112]
V = [1000, 500, 300, 450, 600]
GROW = np.array([[100.0, 300.0, 900.0], [100.0, 120.0, 140.0]])
DAYS = [0.0, 7.0, 14.0]


def old_form(call):
    """Run ``call`` expecting exactly one one-line DeprecationWarning pointing at this file; return its result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    mine = [w for w in caught if issubclass(w.category, DeprecationWarning) and "chemohost 0.3" in str(w.message)]
    assert len(mine) == 1, [str(w.message) for w in caught]
    assert "\n" not in str(mine[0].message)
    assert mine[0].filename == __file__, "the warning must point at the caller"
    return result


def no_warning(call):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r".*chemohost 0\.3", category=DeprecationWarning)
        return call()


def test_recist_old_forms_give_the_same_answer():
    new = no_warning(lambda: recist(T, V))
    assert new.best_overall_response == "PR"
    assert old_form(lambda: recist(V, T)) == new  # swapped positionally: V is not a time axis
    assert old_form(lambda: recist(V, times=T)) == new
    assert old_form(lambda: recist(sld_or_volume=V, times=T)) == new
    diam = no_warning(lambda: recist(T, [10, 7, 6, 6.5, 12], kind="diameter"))
    with warnings.catch_warnings(record=True) as caught:  # the old order with kind by position: two old habits
        warnings.simplefilter("always")
        assert recist([10, 7, 6, 6.5, 12], T, "diameter") == diam
    assert len([w for w in caught if issubclass(w.category, DeprecationWarning)]) == 2


def test_two_increasing_sequences_are_read_in_the_new_order():
    """Ambiguous (a growing tumour): no guess, no warning — (times, values)."""
    r = no_warning(lambda: recist([0, 7, 14], [100, 150, 400]))
    assert r.responses == (None, "SD", "PD") and r.time_to_progression == 14.0


def test_mrecist_old_keyword():
    assert old_form(lambda: mrecist(T, volumes=V)) == no_warning(lambda: mrecist(T, V))


def test_time_to_endpoint_old_forms():
    new = no_warning(lambda: time_to_endpoint(DAYS, GROW, threshold=600))
    assert new["time [day]"].iloc[0] == pytest.approx(10.5)
    pd.testing.assert_frame_equal(old_form(lambda: time_to_endpoint(DAYS, GROW, 600)), new)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pd.testing.assert_frame_equal(time_to_endpoint(GROW, DAYS, 600), new)  # old order, threshold by position
    assert len([w for w in caught if issubclass(w.category, DeprecationWarning)]) == 2
    curves = pd.DataFrame(GROW.T, index=DAYS)
    labelled = no_warning(lambda: time_to_endpoint(curves, threshold=600))
    pd.testing.assert_frame_equal(old_form(lambda: time_to_endpoint(volumes=curves, threshold=600)), labelled)


def test_group_read_outs_take_options_by_keyword():
    t = np.array([0.0, 10.0, 20.0])
    treated, control = (t, [100, 150, 200]), (t, [100, 300, 500])
    assert old_form(lambda: tumour_growth_inhibition(treated, control, 0, 20)) == pytest.approx(0.75)
    assert old_form(lambda: t_over_c(treated, control, 20)) == pytest.approx(0.4)
    assert old_form(lambda: tumour_growth_delay(treated, control, 150)) == \
        no_warning(lambda: tumour_growth_delay(treated, control, threshold=150))
    with pytest.raises(TypeError, match="multiple values"):
        tumour_growth_inhibition(treated, control, 0, 20, start=0)


def test_survival_group_by_keyword():
    table = pd.DataFrame({"duration [day]": [5.0, 8, 9, 20, 25, 30], "event": [True] * 6,
                          "arm": ["a"] * 3 + ["b"] * 3})
    new = no_warning(lambda: kaplan_meier(table, group="arm"))
    pd.testing.assert_frame_equal(old_form(lambda: kaplan_meier(table, "arm")), new)
    assert old_form(lambda: logrank(table, "a", "b", "arm")) == no_warning(lambda: logrank(table, "a", "b"))


def test_diffrax_solver_option_is_called_method(shared_model):
    pytest.importorskip("diffrax")
    from chemohost.engine._jax import simulate_diffrax

    model = shared_model("gompertz_capacity")
    with pytest.raises(ch.ChemohostError, match="method 'Euler5' is not an adaptive diffrax solver"):
        old_form(lambda: simulate_diffrax(model, None, {}, [0.0, 1.0], solver="Euler5"))
