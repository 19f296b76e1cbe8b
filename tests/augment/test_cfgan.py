"""CFGAN: it learns a planted structure, respects its masks, is deterministic under a seed, saves safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from tuijian.augment.cfgan import CFGAN, CFGANConfig, _batch_columns, _carve_validation
from tuijian.exceptions import ConfigError, NotFittedError

N_BLOCKS, BLOCK_ITEMS, BLOCK_USERS = 4, 25, 60


def planted(seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Users of block b own 3-8 random items of item block b (and nothing else): ``(matrix, user_block,
    held_out)`` where ``held_out`` is one more block item per user, not in the matrix."""
    rng = np.random.default_rng(seed)
    rows, cols, held = [], [], []
    for u in range(N_BLOCKS * BLOCK_USERS):
        b = u // BLOCK_USERS
        items = rng.choice(BLOCK_ITEMS, int(rng.integers(4, 10)), replace=False) + b * BLOCK_ITEMS
        rows += [u] * (len(items) - 1)
        cols += items[1:].tolist()
        held.append(items[0])
    n_users = N_BLOCKS * BLOCK_USERS
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, N_BLOCKS * BLOCK_ITEMS))
    return m, np.arange(n_users) // BLOCK_USERS, np.asarray(held)


FAST = CFGANConfig(
    epochs=25, hidden=32, n_negatives=40, batch_size=32, learning_rate=1e-2, n_valid_users=40, patience=25
)


@pytest.fixture(scope="module")
def fitted() -> tuple[CFGAN, sp.csr_matrix, np.ndarray, np.ndarray]:
    m, block, held = planted()
    return CFGAN(FAST).fit(m), m, block, held


def test_generator_learns_the_planted_blocks(
    fitted: tuple[CFGAN, sp.csr_matrix, np.ndarray, np.ndarray],
) -> None:
    gan, m, block, held = fitted
    scores = gan.generate(m)
    assert scores.shape == m.shape and scores.dtype == np.float32
    assert ((scores > 0) & (scores < 1)).all()
    scores[m.toarray() > 0] = -np.inf
    top = np.argsort(-scores, axis=1)[:, :5]
    in_block = np.mean(top // BLOCK_ITEMS == block[:, None])
    assert in_block >= 0.9, in_block  # chance: 1 / N_BLOCKS = 0.25
    # the held-out item (one of the ~17-21 unseen block items) in the top 10 far more often than by chance
    recall = np.mean([held[u] in np.argsort(-scores[u])[:10] for u in range(m.shape[0])])
    assert recall >= 0.3, recall  # chance: 10 / ~95 unseen items, about 0.1
    assert gan.history_ and gan.stopped_by_ in ("epochs", "early-stop", "max_seconds")
    assert gan.valid_recall_ > 0.2


def test_generates_for_new_rows(fitted: tuple[CFGAN, sp.csr_matrix, np.ndarray, np.ndarray]) -> None:
    gan, m, _, _ = fitted
    row = sp.csr_matrix((np.ones(3, np.float32), ([0, 0, 0], [75, 76, 77])), shape=(1, m.shape[1]))
    scores = gan.generate(row)[0]
    scores[[75, 76, 77]] = -np.inf
    assert (np.argsort(-scores)[:5] // BLOCK_ITEMS == 3).all()
    with pytest.raises(ConfigError, match="item columns"):
        gan.generate(sp.csr_matrix((1, 7)))


def test_seed_makes_fits_identical_and_another_seed_differs() -> None:
    m, _, _ = planted()
    cfg = CFGANConfig(epochs=3, hidden=16, n_negatives=30, batch_size=64, n_valid_users=20)
    a = CFGAN(cfg).fit(m).generate(m)
    b = CFGAN(cfg).fit(m).generate(m)
    np.testing.assert_array_equal(a, b)
    c = CFGAN(CFGANConfig(**{**cfg.to_dict(), "seed": 1})).fit(m).generate(m)
    assert not np.allclose(a, c)


def test_masks_respect_observed_items() -> None:
    """PM shows D every observed item plus some unobserved; ZR only ever touches unobserved items."""
    m, _, _ = planted()
    rows = m[:50]
    cfg = CFGANConfig(n_negatives=30, pm_share=0.5, zr_share=0.5)
    cols, real, pm, zr = _batch_columns(rows, m.shape[1], cfg, np.random.default_rng(0))
    assert set(np.unique(rows.indices)) <= set(cols.tolist())
    np.testing.assert_array_equal(real, rows[:, cols].toarray())
    assert (pm[real > 0] == 1).all() and (zr[real > 0] == 0).all()
    unobserved = real == 0
    assert 0.35 < pm[unobserved].mean() < 0.65 and 0.35 < zr[unobserved].mean() < 0.65
    none = _batch_columns(
        rows, m.shape[1], CFGANConfig(n_negatives=30, pm_share=0.0, zr_share=0.0), np.random.default_rng(0)
    )
    np.testing.assert_array_equal(none[2], none[1])  # no PM sample: D sees exactly the observed items
    assert none[3].sum() == 0


def test_validation_items_are_removed_from_training() -> None:
    m, _, _ = planted()
    train, users, items = _carve_validation(m, 30, np.random.default_rng(0))
    assert len(users) == 30 and train.nnz == m.nnz - 30
    assert (m[users, items] == 1).all() and (train[users, items] == 0).all()


def test_save_load_roundtrip(
    fitted: tuple[CFGAN, sp.csr_matrix, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    gan, m, _, _ = fitted
    gan.save(tmp_path / "gan")
    assert sorted(p.name for p in (tmp_path / "gan").iterdir()) == ["cfgan.json", "generator.npz"]
    np.testing.assert_array_equal(CFGAN.load(tmp_path / "gan").generate(m), gan.generate(m))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", 0),
        ("hidden", -3),
        ("zr_share", 1.5),
        ("pm_share", -0.1),
        ("learning_rate", 0.0),
        ("input_dropout", 1.0),
        ("zr_weight", -1.0),
    ],
)
def test_bad_config_is_named(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        CFGANConfig(**{field: value})


def test_unfitted_and_empty() -> None:
    with pytest.raises(NotFittedError):
        CFGAN().generate(sp.csr_matrix((1, 3)))
    with pytest.raises(ConfigError, match="non-empty"):
        CFGAN().fit(sp.csr_matrix((4, 5)))
