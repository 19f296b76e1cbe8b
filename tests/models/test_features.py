"""Item text and feature vectors: field joining, catalog alignment, Chinese tokens, TF-IDF, MiniLM embeddings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, SchemaError
from tuijian.models.features import (
    align_catalog,
    catalog_vocabulary,
    clean_text,
    embed_texts,
    has_cjk,
    item_text,
    l2_normalize_rows,
    tfidf_item_vectors,
    tokenize,
)


def test_item_text_joins_fields_and_unescapes() -> None:
    cat = pd.DataFrame({
        "item_id": [1, 2], "title": ["AT&amp;T phone", None], "brand": ["VTech", ""],
        "category": ["Office > Phones", np.nan], "description": ["<b>Big</b>  buttons", "plain"],
    })  # fmt: skip
    text = item_text(cat)
    assert text.index.tolist() == ["1", "2"]
    assert text["1"] == "AT&T phone VTech Office > Phones Big buttons"
    assert text["2"] == "plain"
    assert clean_text(["a", "b"]) == "a b"
    with pytest.raises(SchemaError, match="title"):
        item_text(cat.drop(columns=["title"]))
    with pytest.raises(SchemaError, match="item_id"):
        item_text(cat.drop(columns=["item_id"]))


def test_align_catalog_counts_mismatches() -> None:
    cat = pd.DataFrame({"item_id": ["a", "b", "b", "z"], "title": ["A", "B", "B2", "Z"]})
    al = align_catalog(cat, Vocabulary(["b", "a", "c"]))
    assert al.catalog["item_id"].tolist() == ["b", "a", "c"]
    assert al.catalog["title"].tolist()[:2] == ["B", "A"] and pd.isna(al.catalog["title"].iloc[2])
    assert (al.n_without_row, al.n_unused_rows, al.n_duplicate_rows) == (1, 1, 1)
    vocab = catalog_vocabulary(pd.Series(["b", "b", "q"]), cat)
    assert vocab.ids.tolist() == ["b", "q", "a", "z"]


def test_tokenize_english_and_chinese() -> None:
    assert tokenize("Fine-Point PENS, 0.7mm don't") == ["fine", "point", "pens", "0", "7mm", "don't"]
    assert has_cjk("绿茶") and not has_cjk("green tea")
    words = tokenize("我喜欢喝西湖龙井绿茶!")
    assert "绿茶" in words and "!" not in words and all(w.strip() for w in words)


def test_tfidf_vectors_are_unit_rows_and_empty_stays_zero() -> None:
    m, vec = tfidf_item_vectors(["green tea cup", "running shoe", "", "green tea tin"], max_df=1.0)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, [1, 1, 0, 1], atol=1e-6)
    sims = (m @ m.T).toarray()
    assert sims[0, 3] > sims[0, 1] == 0.0
    assert "tea" in vec.get_feature_names_out()
    with pytest.raises(ConfigError, match="empty"):
        tfidf_item_vectors(["", " "])


def test_l2_normalize_rows_dense_and_sparse() -> None:
    import scipy.sparse as sp

    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(l2_normalize_rows(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(l2_normalize_rows(sp.csr_matrix(x)).toarray(), [[0.6, 0.8], [0.0, 0.0]])


def test_minilm_embeddings_offline_and_semantic() -> None:
    emb = embed_texts(["running shoes for jogging", "lightweight sneakers for a morning run",
                       "loose leaf green tea", ""])  # fmt: skip
    assert emb.shape == (4, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb[:3], axis=1), 1.0, atol=1e-4)
    assert not emb[3].any()
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2
    with pytest.raises(ConfigError, match="max_seq_length"):
        embed_texts(["x"], max_seq_length=4)


def test_gather_reads_the_same_values_for_few_rows_and_for_many() -> None:
    """``ranker_features.gather`` searches only the queried rows when they are few (a served request) and
    the whole matrix otherwise; both read exactly ``matrix[rows[j], cols[j]]`` (0 where absent, -1 rows)."""
    import scipy.sparse as sp

    from tuijian.models.ranker_features import gather

    rng = np.random.default_rng(3)
    m = sp.random(400, 300, density=0.05, format="csr", random_state=4, dtype=np.float32)
    dense = m.toarray()
    for n_rows in (1, 3, 40, 400):  # 1 and 3 distinct rows take the narrow path; 40 and 400 the full one
        rows = rng.choice(400, n_rows, replace=False)[rng.integers(0, n_rows, 500)]
        rows[::17] = -1
        cols = rng.integers(0, 300, 500)
        got = gather(m, rows, cols)
        want = np.where(rows >= 0, dense[np.maximum(rows, 0), cols], 0.0).astype(np.float32)
        np.testing.assert_array_equal(got, want)
    dup = sp.csr_matrix((np.ones(3, np.float32), ([0, 0, 5], [2, 2, 7])), shape=(400, 300))  # not canonical
    np.testing.assert_array_equal(gather(dup, np.array([0, 5, 1]), np.array([2, 7, 2])), [2.0, 1.0, 0.0])
    np.testing.assert_array_equal(gather(dup, np.array([1, 2]), np.array([2, 7])), [0.0, 0.0])  # empty rows
