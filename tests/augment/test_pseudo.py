"""Pseudo-interactions: only sparse rows, only unobserved items, weight below one; the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tests.augment.test_cfgan import FAST, planted
from tuijian.augment.cfgan import CFGAN
from tuijian.augment.compare import paired_bootstrap
from tuijian.augment.pseudo import binary_plus, pseudo_interactions, sparse_rows
from tuijian.exceptions import ConfigError


@pytest.fixture(scope="module")
def gan_and_matrix() -> tuple[CFGAN, sp.csr_matrix]:
    m, _, _ = planted()
    return CFGAN(FAST).fit(m), m


def test_only_sparse_rows_get_unobserved_items(gan_and_matrix: tuple[CFGAN, sp.csr_matrix]) -> None:
    gan, m = gan_and_matrix
    pseudo = pseudo_interactions(gan, m, max_history=5, n_pseudo=3, pseudo_weight=0.25)
    counts = np.diff(m.indptr)
    got = np.diff(pseudo.indptr)
    np.testing.assert_array_equal(got, np.where((counts >= 1) & (counts <= 5), 3, 0))
    assert pseudo.multiply(m).nnz == 0  # never an item the user already has
    assert np.allclose(pseudo.data, 0.25)
    np.testing.assert_array_equal(sparse_rows(m, 5), np.flatnonzero((counts >= 1) & (counts <= 5)))
    both = binary_plus(m, pseudo)
    assert set(np.unique(both.data).tolist()) == {0.25, 1.0} and both.nnz == m.nnz + pseudo.nnz


def test_empty_rows_are_not_augmented(gan_and_matrix: tuple[CFGAN, sp.csr_matrix]) -> None:
    gan, m = gan_and_matrix
    assert pseudo_interactions(gan, sp.csr_matrix((2, m.shape[1]), dtype=np.float32)).nnz == 0


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"pseudo_weight": 1.0}, "pseudo_weight"),
        ({"n_pseudo": 0}, "n_pseudo"),
        ({"max_history": 0}, "max_history"),
    ],
)
def test_bad_params(gan_and_matrix: tuple[CFGAN, sp.csr_matrix], kw: dict, match: str) -> None:
    gan, m = gan_and_matrix
    with pytest.raises(ConfigError, match=match):
        pseudo_interactions(gan, m, **kw)


def test_paired_bootstrap() -> None:
    rng = np.random.default_rng(0)
    before = rng.random(400)
    out = paired_bootstrap(before, before + 0.1)
    assert out["diff"] == pytest.approx(0.1) and out["diff_ci"] == pytest.approx([0.1, 0.1])
    assert out["before_ci"][0] < out["before"] < out["before_ci"][1]
    noisy = paired_bootstrap(before, rng.random(400))
    assert noisy["diff_ci"][0] < 0 < noisy["diff_ci"][1]
    with pytest.raises(ConfigError, match="same length"):
        paired_bootstrap(before, before[:5])
    with pytest.raises(ConfigError, match="at least 2"):
        paired_bootstrap(before[:1], before[:1])
