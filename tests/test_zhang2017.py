"""VALIDATION V10: Zhang et al. 2017 three-population discrete map (cunninghamjj reference code)."""

from __future__ import annotations

import numpy as np
import pytest

from chemohost.resistance import zhang2017_competition, zhang2017_map

STEPS, START = 30_000, 10_000


@pytest.fixture(scope="module")
def runs():
    return {(p, a): zhang2017_map(p, a_tp_tminus=a)
            for p in ("adt", "continuous", "adaptive") for a in (0.598, 598.0)}


def _round_state(x, digits):
    return tuple(round(float(v), d) for v, d in zip(x, digits))


def test_shapes_and_conventions(runs):
    r = runs[("adaptive", 0.598)]
    assert r.x.shape == (STEPS, 3) and r.psa.shape == (STEPS,) and r.abiraterone_on.shape == (STEPS,)
    assert not r.abiraterone_on[:START - 1].any() and r.abiraterone_on[START - 1]
    assert np.all(r.x >= 0.1) and np.all(np.isfinite(r.x))
    assert r.cycles == len(r.switch_on_steps)
    # on-steps form exactly `cycles` contiguous runs starting at the switch-on steps
    on = r.abiraterone_on.astype(int)
    starts = np.flatnonzero(np.diff(np.r_[0, on]) == 1) + 1
    assert tuple(starts.tolist()) == r.switch_on_steps


def test_adt_only_never_selects_t_minus(runs):
    r = runs[("adt", 0.598)]
    assert r.takeover_step is None and r.on_fraction == 0.0 and r.cycles == 0
    assert _round_state(r.final, (0, 0, 1)) == (869.0, 791.0, 0.1)


def test_continuous(runs):
    r = runs[("continuous", 0.598)]
    assert r.takeover_step == 11_470
    assert r.on_fraction == 1.0 and r.switch_on_steps == (10_000,)
    assert _round_state(r.final, (1, 1, 0)) == (0.1, 0.1, 918.0)
    # caveat: takeover is T+ and TP reaching the floor, x ≈ (0.1, 0.1, 0.2)
    assert _round_state(r.x[r.takeover_step - 1], (1, 1, 1)) == (0.1, 0.1, 0.2)


def test_adaptive(runs):
    r = runs[("adaptive", 0.598)]
    assert r.takeover_step is None
    assert r.cycles == 11
    assert r.switch_on_steps[:2] == (10_000, 11_952) and r.switch_on_steps[-1] == 28_945
    assert round(r.on_fraction, 2) == 0.05
    assert _round_state(r.final, (1, 0, 1)) == (0.6, 443.0, 10.1)


def test_literal_598(runs):
    c, a = runs[("continuous", 598.0)], runs[("adaptive", 598.0)]
    assert c.takeover_step == 11_465 and c.on_fraction == 1.0
    assert _round_state(c.final, (1, 1, 0)) == (0.1, 0.1, 920.0)
    assert a.takeover_step == 24_101 and a.cycles == 3
    assert round(a.on_fraction, 3) == 0.013
    assert _round_state(a.final, (1, 1, 0)) == (0.1, 0.1, 104.0)


@pytest.mark.parametrize("a", [0.598, 598.0])
def test_qualitative_criterion(runs, a):
    c, ad = runs[("continuous", a)], runs[("adaptive", a)]
    t_cont = c.takeover_step - START
    t_adapt = (ad.takeover_step or STEPS + 1) - START
    assert t_adapt >= 2 * t_cont
    assert ad.abiraterone_on.sum() < c.abiraterone_on.sum()


def test_psa_recursion_and_competition():
    r = zhang2017_map("adt", steps=50)
    total = r.x.sum(axis=1)
    assert np.allclose(r.psa[1:], 0.8 * r.psa[:-1] + total[1:], rtol=0, atol=1e-9)
    assert r.psa[0] == pytest.approx(0.8 * 1000.1 + total[0])
    assert zhang2017_competition()[1, 2] == 0.598
    assert zhang2017_competition("TP most fit")[2, 0] == 0.402
    with pytest.raises(ValueError):
        zhang2017_map("intermittent")
    with pytest.raises(ValueError):
        zhang2017_competition("neutral")
