"""Precomputed per-user histories equal the per-request computation they replace."""

from __future__ import annotations

import numpy as np

from tuijian.service.engine import _recent_unique
from tuijian.service.snapshot import HISTORY_LIMIT, _recent_histories


def test_precomputed_histories_match_recent_unique() -> None:
    rng = np.random.default_rng(7)
    n_items = 300
    lengths = [0, 1, 5, 50, HISTORY_LIMIT + 3, 4 * HISTORY_LIMIT - 1, 4 * HISTORY_LIMIT + 17, 1500, 0, 3]
    seqs = [rng.integers(0, n_items, n).astype(np.int64) for n in lengths]
    seqs[5] = rng.integers(0, 250, len(seqs[5])).astype(np.int64)  # > HISTORY_LIMIT distinct items
    ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    hp, hi, hw = _recent_histories(ptr, np.concatenate(seqs), n_items)
    assert len(hp) == len(seqs) + 1
    for k, seq in enumerate(seqs):
        items, weights = _recent_unique(seq, np.ones(len(seq)))
        np.testing.assert_array_equal(hi[hp[k] : hp[k + 1]], items)
        np.testing.assert_allclose(hw[hp[k] : hp[k + 1]], weights)
        assert hp[k + 1] - hp[k] <= HISTORY_LIMIT


def test_precomputed_histories_of_an_empty_log() -> None:
    hp, hi, hw = _recent_histories(np.zeros(4, np.int64), np.zeros(0, np.int64), 10)
    assert hp.tolist() == [0, 0, 0, 0] and len(hi) == 0 and len(hw) == 0
