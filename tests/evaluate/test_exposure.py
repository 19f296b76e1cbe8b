"""Exposure and popularity-bias audit (issue 14): exact values on small hand-made lists, and on real data
popularity lists are more biased than item-kNN's."""

from __future__ import annotations

import numpy as np
import pytest

from tuijian.evaluate.exposure import exposure_metrics, exposure_profile, long_tail_mask
from tuijian.exceptions import ConfigError


def test_long_tail_is_outside_the_head_holding_80_percent() -> None:
    pop = np.array([50.0, 30.0, 10.0, 5.0, 5.0])  # head: 50 + 30 = 80 %
    assert long_tail_mask(pop).tolist() == [False, False, True, True, True]
    with pytest.raises(ConfigError, match="head_share"):
        long_tail_mask(pop, 1.5)


def test_exact_values() -> None:
    pop = np.array([50.0, 30.0, 10.0, 5.0, 5.0])
    m = exposure_metrics([[0, 1], [0, 2], [-1, 0]], pop, profile_popularity=40.0)
    # counts: item0 3, item1 1, item2 1 -> 5 slots, 3 of 5 items shown
    assert m["coverage"] == pytest.approx(3 / 5)
    assert m["long_tail_share"] == pytest.approx(1 / 5)
    assert m["arp"] == pytest.approx((3 * 50 + 30 + 10) / 5)
    assert m["popularity_lift"] == pytest.approx(38 / 40 - 1)
    x = np.sort([3.0, 1, 1, 0, 0])
    assert m["gini"] == pytest.approx(((2 * np.arange(1, 6) - 6) * x).sum() / (5 * 5))
    equal = exposure_metrics([[0], [1], [2], [3], [4]], pop)
    assert equal["gini"] == pytest.approx(0.0) and equal["coverage"] == 1.0


def test_profile_for_plots() -> None:
    pop = np.arange(1.0, 21.0)
    prof = exposure_profile([[19, 18], [19, 0]], pop)
    assert prof["n_lists"] == 2 and prof["n_slots"] == 4
    assert prof["lorenz"]["y"][0] == 0.0 and prof["lorenz"]["y"][-1] == pytest.approx(1.0)
    assert sum(prof["deciles"]["exposure"]) == pytest.approx(1.0)
    assert prof["deciles"]["exposure"][9] == pytest.approx(0.75)  # items 18 and 19 are the top decile
    assert prof["deciles"]["exposure"][0] == pytest.approx(0.25)


def test_evaluate_reports_exposure_popularity_is_more_biased() -> None:
    from tuijian.evaluate.runner import evaluate_models

    res = evaluate_models("online-retail-demo", "loo", ["popularity", "item-knn"], ks=(10,), progress=False)
    pop, knn = res["results"]["popularity"], res["results"]["item-knn"]
    for r in (pop, knn):
        assert {"long_tail@10", "arp@10", "pop_lift@10", "gini@10", "coverage@10"} <= set(r)
    assert pop["pop_lift@10"] > knn["pop_lift@10"] > -1.0
    assert pop["long_tail@10"] < knn["long_tail@10"]
    assert pop["long_tail@10"] == 0.0  # the ten most popular items are all in the head
