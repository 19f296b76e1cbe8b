"""SASRec: the contract, a sequential pattern it must learn, reproducibility, persistence, fold-in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.models.conformance import BLOCK_ITEMS, ContractData, RecommenderContract
from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, ModelNotFoundError
from tuijian.models.sasrec import SASRec

N_ITEMS = 40
RUN = 6


def _fast(**kw: object) -> SASRec:
    params = {
        "n_factors": 32,
        "n_layers": 1,
        "n_heads": 1,
        "max_len": 10,
        "dropout": 0.1,
        "attention_dropout": 0.0,
        "learning_rate": 1e-2,
        "batch_size": 64,
        "n_epochs": 40,
        "patience": 40,
        "num_threads": 1,
        "show_progress": False,
    }
    params.update(kw)
    return SASRec(**params)  # type: ignore[arg-type]


def shuffled_checkerboard(users_per_block: int = 24, seed: int = 0) -> ContractData:
    """The checkerboard's blocks, but each user sees 7 of its block's 10 items in a random order.

    In the contract's checkerboard every sequence ascends, so items 9 and 19 are
    always last and no sequence ever shows what follows them; a next-item model
    has nothing to learn there. Random orders keep the known answer (a user's
    next items are the unseen items of its block) and give every item a successor.
    """
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    n_users = 2 * users_per_block
    for user in range(n_users):
        block = user // users_per_block
        for step, b in enumerate(rng.permutation(BLOCK_ITEMS)[:7]):
            rows.append(
                (f"u{user:02d}", f"i{block * BLOCK_ITEMS + b:02d}", t0 + pd.Timedelta(hours=user * 10 + step))
            )
    events = pd.DataFrame(rows, columns=["user", "item", "ts"])
    users = Vocabulary([f"u{n:02d}" for n in range(n_users)])
    items = Vocabulary([f"i{n:02d}" for n in range(2 * BLOCK_ITEMS)])
    inter = Interactions.from_events(events, users=users, items=items)
    return ContractData(
        inter, np.arange(n_users) // users_per_block, np.arange(2 * BLOCK_ITEMS) // BLOCK_ITEMS
    )


class TestSASRec(RecommenderContract):
    def make_model(self) -> SASRec:
        return _fast(n_epochs=40, patience=40)

    def make_data(self) -> ContractData:
        return shuffled_checkerboard()


def _runs(n_users: int, seed: int) -> Interactions:
    """Each user sees a run of consecutive items ``s, s+1, ..., s+RUN-1``: the next item is always ``last + 1``."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start = int(rng.integers(0, N_ITEMS - RUN))
        rows += [(f"u{u}", f"i{start + t:02d}", t) for t in range(RUN)]
    events = pd.DataFrame(rows, columns=["user", "item", "ts"])
    items = Vocabulary([f"i{n:02d}" for n in range(N_ITEMS)])
    return Interactions.from_events(events, items=items)


@pytest.fixture(scope="module")
def runs() -> Interactions:
    return _runs(240, seed=0)


@pytest.fixture(scope="module")
def trained(runs: Interactions) -> SASRec:
    return _fast(n_epochs=30).fit(runs)


def test_learns_next_item_pattern(trained: SASRec) -> None:
    # unseen sequences (unknown users): the top-1 next item must be last + 1
    starts = np.arange(0, N_ITEMS - RUN)
    seqs = [np.arange(s, s + 3) for s in starts]
    ids, _ = trained.recommend(np.full(len(seqs), -1), k=1, sequences=seqs)
    accuracy = float((ids[:, 0] == starts + 3).mean())
    assert accuracy >= 0.9, (accuracy, ids[:, 0].tolist())
    assert trained.best_valid_ndcg_ > 0.8
    losses = [h["loss"] for h in trained.history_]
    assert losses[-1] < 0.5 * losses[0]


def test_explicit_valid_split(runs: Interactions) -> None:
    # hold out the last item of every user as the validation split
    last = runs.log.groupby("u")["ts"].transform("max") == runs.log["ts"]
    train, valid = runs.subset(~last.to_numpy()), runs.subset(last.to_numpy())
    model = _fast(n_epochs=25).fit(train, valid)
    assert model.best_valid_ndcg_ > 0.8
    assert "valid_ndcg@10" in model.history_[0]


def test_reproducible(runs: Interactions) -> None:
    a = _fast(n_epochs=3, random_state=7).fit(runs)
    b = _fast(n_epochs=3, random_state=7).fit(runs)
    c = _fast(n_epochs=3, random_state=8).fit(runs)
    users = np.arange(20)
    np.testing.assert_array_equal(a.score(users), b.score(users))
    assert not np.allclose(a.score(users), c.score(users))


def test_save_load_roundtrip(trained: SASRec, tmp_path: object) -> None:
    path = str(tmp_path / "sasrec")  # type: ignore[operator]
    trained.save(path)
    loaded = SASRec.load(path)
    assert loaded.get_params() == trained.get_params()
    seqs = [np.array([3, 4, 5]), np.array([20])]
    np.testing.assert_array_equal(
        trained.score(np.array([-1, -1]), sequences=seqs), loaded.score(np.array([-1, -1]), sequences=seqs)
    )
    np.testing.assert_array_equal(trained.score(np.arange(10)), loaded.score(np.arange(10)))
    with pytest.raises(ModelNotFoundError):
        SASRec.load(str(tmp_path / "nothing"))  # type: ignore[operator]


def test_unknown_users_with_and_without_sequences(trained: SASRec) -> None:
    ids, _ = trained.recommend(np.array([-1, 0]), k=2, sequences=[np.array([10, 11, 12]), np.array([1, 2])])
    assert ids[0, 0] == 13 and ids[1, 0] == 3
    # an empty sequence falls back to popularity and still returns k items
    ids, scores = trained.recommend(-1, k=5, sequences=[np.zeros(0, dtype=np.int64)])
    assert (ids >= 0).all() and np.isfinite(scores).all()
    with pytest.raises(ConfigError):
        trained.recommend(-1, k=2, sequences=[np.array([N_ITEMS + 3])])


def test_long_sequences_are_truncated(trained: SASRec) -> None:
    long = np.concatenate([np.arange(0, 30), np.arange(30, 33)])  # longer than max_len=10
    ids, _ = trained.recommend(-1, k=1, sequences=[long])
    assert ids[0] == 33


@pytest.mark.parametrize(
    ("param", "value"),
    [("n_factors", 0), ("n_heads", 3), ("dropout", 1.0), ("learning_rate", 0.0), ("max_len", 2.5)],
)
def test_bad_params_raise(runs: Interactions, param: str, value: object) -> None:
    with pytest.raises(ConfigError, match=param):
        _fast(**{param: value}).fit(runs)


def test_similar_items_follow_the_chain(trained: SASRec) -> None:
    ids, scores = trained.similar_items(np.array([10, 20]), k=3)
    assert ids.shape == (2, 3) and (np.diff(scores, axis=1) <= 1e-6).all()
    assert 10 not in ids[0] and 20 not in ids[1]
