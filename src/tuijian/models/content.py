"""Content-based recommender: items are described by their text, users by what they interacted with.

Item vectors are TF-IDF over title, description, brand and category (jieba for
Chinese), optionally blended with NLP tag vectors (title attributes such as colour, material,
product type, and corpus keywords from :mod:`tuijian.nlp.features`) and with MiniLM
sentence embeddings. A user's profile is
the (optionally recency-weighted) mean of the vectors of their history items; an
item's score is the cosine between profile and item vector.

Because scores come from text alone, items nobody has interacted with yet are
recommended like any other. To make them scorable, build the interactions with
an item vocabulary that includes the whole catalog::

    items = catalog_vocabulary(events["item"], catalog)
    inter = Interactions.from_events(events, items=items)
    model = ContentRecommender().with_catalog(catalog).fit(inter)
    # or: ContentRecommender().fit(inter, items=catalog)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, topk
from tuijian.models.features import (
    TEXT_FIELDS,
    align_catalog,
    embed_texts,
    item_text,
    l2_normalize_rows,
    tfidf_item_vectors,
    tfidf_vectorizer,
)

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation

EMBEDDINGS = (None, "minilm")
#: Defaults chosen on the validation splits of Amazon Office (loo) and Online Retail (time);
#: see ``bench/nlp_gain.py`` and the NLP section of ``bench/RESULTS.md``.
NLP_TAGS_DEFAULT = False
#: Up to this many items, scores go through the items x items Gram matrix of each text part (cached; at most
#: 144 MB in float32), which is much faster than a sparse profile x term product for long descriptions.
GRAM_MAX_ITEMS = 6000
TAG_WEIGHT_DEFAULT = 0.3


def idf_weighted(tags: sp.spmatrix) -> sp.csr_matrix:
    """Binary items x tags -> TF-IDF-style weights (smooth idf, as scikit-learn), rows at unit L2 norm, so a
    rare tag (``pattern:dinosaur``) counts more than a common one (``size:large``)."""
    m = sp.csr_matrix(tags, dtype=np.float32, copy=True)
    m.data[:] = 1.0
    n = m.shape[0]
    df = np.bincount(m.indices, minlength=m.shape[1])
    m = sp.csr_matrix(m @ sp.diags((np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)))
    return sp.csr_matrix(l2_normalize_rows(m), dtype=np.float32)


class ContentRecommender(Recommender):
    """Cosine similarity between a user's history profile and item text vectors.

    Parameters
    ----------
    fields : catalog text columns used (default title, description, brand, category).
    embedding : ``None`` (TF-IDF only) or ``"minilm"`` (blend in sentence embeddings).
    embedding_weight : share of the embedding cosine in the score when ``embedding`` is set
        (``1.0`` = embeddings only).
    nlp_tags : add the NLP tag vectors (``kind:value`` attributes and ``kw:`` keywords of
        :func:`tuijian.nlp.features.item_features`, idf-weighted) to the TF-IDF vectors.
    tag_weight : share of the tag cosine in the text score when ``nlp_tags`` is on
        (``0`` = TF-IDF only, ``1`` = tags only).
    max_features, min_df, max_df, sublinear_tf : TF-IDF settings.
    recency_half_life : if set, a history item's weight halves every this many later events.

    The catalog comes in with the data (``fit(interactions, items=catalog)``; ``tuijian evaluate``
    passes the dataset's catalog), never loaded by name inside ``fit``.
    """

    name: ClassVar[str] = "content"

    item_tfidf_: sp.csr_matrix
    terms_: list[str]
    idf_: np.ndarray

    def __init__(
        self,
        fields: Sequence[str] = TEXT_FIELDS,
        embedding: str | None = None,
        embedding_weight: float = 0.5,
        nlp_tags: bool = NLP_TAGS_DEFAULT,
        tag_weight: float = TAG_WEIGHT_DEFAULT,
        max_features: int | None = 50_000,
        min_df: int | float = 1,
        max_df: float = 0.9,
        sublinear_tf: bool = True,
        recency_half_life: float | None = None,
    ) -> None:
        self.fields = tuple(fields)
        self.embedding = embedding
        self.embedding_weight = embedding_weight
        self.nlp_tags = nlp_tags
        self.tag_weight = tag_weight
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf
        self.recency_half_life = recency_half_life

    # ------------------------------------------------------------------ catalog
    def with_catalog(self, catalog: pd.DataFrame) -> Self:
        """Attach the item catalog (``item_id`` + text fields) used by :meth:`fit`; returns ``self``."""
        if not isinstance(catalog, pd.DataFrame):
            raise ConfigError(f"catalog must be a pandas DataFrame, got {type(catalog).__name__}")
        self.catalog = catalog
        return self

    def clone(self, **params: Any) -> Self:
        new = super().clone(**params)
        if getattr(self, "catalog", None) is not None:
            new.catalog = self.catalog
        return new

    def fit(self, interactions: Interactions, items: pd.DataFrame | None = None) -> Self:
        """Learn item vectors from the catalog (``items`` or the one given to :meth:`with_catalog`)."""
        if items is not None:
            self.with_catalog(items)
        return super().fit(interactions)

    def _validate(self) -> None:
        if self.embedding not in EMBEDDINGS:
            raise ConfigError(f"embedding must be one of {EMBEDDINGS}, got {self.embedding!r}")
        w = self.embedding_weight
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0.0 <= w <= 1.0:
            raise ConfigError(f"embedding_weight must be a number in [0, 1], got {w!r}")
        if not isinstance(self.nlp_tags, bool):
            raise ConfigError(f"nlp_tags must be True or False, got {self.nlp_tags!r}")
        t = self.tag_weight
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0.0 <= t <= 1.0:
            raise ConfigError(f"tag_weight must be a number in [0, 1], got {t!r}")
        if self.recency_half_life is not None and not self.recency_half_life > 0:
            raise ConfigError(f"recency_half_life must be > 0 or None, got {self.recency_half_life!r}")
        if getattr(self, "catalog", None) is None:
            raise ConfigError(
                "ContentRecommender needs the item catalog: call fit(interactions, items=catalog) "
                "or .with_catalog(catalog) (columns item_id, title, description, brand, category); "
                "`tuijian evaluate` passes the dataset's catalog, or --catalog FILE for your own data"
            )

    def _fit(self, interactions: Interactions) -> None:
        self._validate()
        self._grams: dict[int, np.ndarray] = {}
        aligned = align_catalog(self.catalog, interactions.items)
        texts = item_text(aligned.catalog.assign(item_id=interactions.items.ids), self.fields)
        self.n_items_without_text_ = int((texts.str.strip() == "").sum())
        self.n_catalog_rows_unused_ = aligned.n_unused_rows
        self.n_catalog_duplicates_ = aligned.n_duplicate_rows
        matrix, vec = tfidf_item_vectors(
            texts.to_numpy(),
            max_features=self.max_features,
            min_df=self.min_df,
            max_df=self.max_df,
            sublinear_tf=self.sublinear_tf,
        )
        self.item_tfidf_ = matrix
        self.terms_ = vec.get_feature_names_out().tolist()
        self.idf_ = vec.idf_.astype(np.float32)
        self._vectorizer = vec
        if self.nlp_tags and self.tag_weight > 0:
            from tuijian.nlp.features import item_features, item_tag_matrix

            feats = item_features(aligned.catalog.assign(item_id=interactions.items.ids))
            tags, names = item_tag_matrix(feats, interactions.items.ids)
            self.item_tags_ = idf_weighted(tags)
            self.tag_names_ = names
        else:
            for attr in ("item_tags_", "tag_names_"):
                if hasattr(self, attr):
                    delattr(self, attr)
        if self.embedding == "minilm" and self.embedding_weight > 0:
            self.item_embeddings_ = embed_texts(texts.to_numpy())
        elif hasattr(self, "item_embeddings_"):
            del self.item_embeddings_

    def _after_load(self) -> None:
        self._vectorizer = None
        self._grams = {}

    # ------------------------------------------------------------------ vectors
    def vectorize(self, catalog: pd.DataFrame) -> sp.csr_matrix:
        """TF-IDF vectors (rows of ``catalog``, unit norm) in this model's term space."""
        self._check_fitted()
        vec = getattr(self, "_vectorizer", None)
        if vec is None:
            vec = tfidf_vectorizer(sublinear_tf=self.sublinear_tf)
            vec.set_params(vocabulary={t: j for j, t in enumerate(self.terms_)}, max_df=1.0, min_df=1)
            vec.fit([""] if not self.terms_ else [" ".join(self.terms_)])
            vec.idf_ = self.idf_.astype(np.float64)
            self._vectorizer = vec
        return sp.csr_matrix(vec.transform(item_text(catalog, self.fields).to_numpy()), dtype=np.float32)

    def _text_parts(self) -> list[tuple[sp.csr_matrix, float]]:
        """The sparse item matrices of the text score with their shares (TF-IDF, then NLP tags)."""
        tags = getattr(self, "item_tags_", None)
        w_tag = float(self.tag_weight) if tags is not None else 0.0
        parts = [(self.item_tfidf_, 1.0 - w_tag)] if w_tag < 1.0 else []
        if tags is not None and w_tag > 0.0:
            parts.append((tags, w_tag))
        return parts

    def _cosine_to_profile(self, weights: sp.csr_matrix, part: int, matrix: sp.csr_matrix) -> np.ndarray:
        """Cosine between each row's profile (``weights @ matrix``, unit norm) and every item of ``matrix``."""
        if self.n_items > GRAM_MAX_ITEMS:
            profile = l2_normalize_rows(weights @ matrix)
            return np.asarray((profile @ matrix.T).todense(), dtype=np.float32)
        raw = np.asarray(
            weights @ self._gram(part, matrix), dtype=np.float32
        )  # profile @ matrix.T, unnormalised
        sq = np.asarray(weights.multiply(raw).sum(axis=1), dtype=np.float64).ravel()  # squared profile norms
        norms = np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)
        norms[norms == 0] = 1.0
        return raw / norms[:, None]

    def _history_weights(self, batch: ScoringBatch) -> sp.csr_matrix:
        if self.recency_half_life is None:
            hist = sp.csr_matrix(batch.history, dtype=np.float32)
            hist.data = np.abs(hist.data)
            return hist
        rows, cols, vals = [], [], []
        for r, seq in enumerate(batch.sequences):
            n = len(seq)
            if n:
                rows.append(np.full(n, r))
                cols.append(np.asarray(seq, dtype=np.int64))
                vals.append(np.power(0.5, (n - 1 - np.arange(n)) / float(self.recency_half_life)))
        shape = (len(batch.users), self.n_items)
        if not rows:
            return sp.csr_matrix(shape, dtype=np.float32)
        m = sp.csr_matrix(
            (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=shape,
        )
        m.sum_duplicates()
        return m

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        weights = self._history_weights(batch)
        w_emb = float(self.embedding_weight) if hasattr(self, "item_embeddings_") else 0.0
        scores = np.zeros((len(batch.users), self.n_items), dtype=np.float32)
        if w_emb < 1.0:
            for part, (matrix, share) in enumerate(self._text_parts()):
                scores += (1.0 - w_emb) * share * self._cosine_to_profile(weights, part, matrix)
        if w_emb > 0.0:
            emb = self.item_embeddings_
            profile = l2_normalize_rows(np.asarray(weights @ emb))
            scores += w_emb * (profile @ emb.T)
        return scores

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """The text cosine at ``cols`` alone, with the operations of ``_score`` (base class); ``None`` when
        the embedding cosine (a dense BLAS product) is part of the score."""
        self._check_fitted()
        w_emb = float(self.embedding_weight) if hasattr(self, "item_embeddings_") else 0.0
        if w_emb > 0.0:
            return None
        cols = np.asarray(cols, np.int64)
        if self.n_items > GRAM_MAX_ITEMS and self.recency_half_life is None:
            return self._sparse_score_columns(history, cols)
        batch = self._batch(np.full(1, -1, np.int64), history, [np.asarray(sequence, np.int64)])
        weights = self._history_weights(batch)
        scores = np.zeros(len(cols), dtype=np.float32)
        for part, (matrix, share) in enumerate(self._text_parts()):
            scores += (1.0 - w_emb) * share * self._cosine_columns(weights, part, matrix, cols)
        return scores

    def _sparse_score_columns(self, history: sp.csr_matrix, cols: np.ndarray) -> np.ndarray:
        """``score_columns`` on the sparse path (no Gram matrix, weights the history's values) for one row,
        with numpy on the CSR arrays: scipy's operations of ``_cosine_to_profile`` replayed in their order
        (:mod:`tuijian.models.column_scores`), without building a sparse matrix per request."""
        from tuijian.models.column_scores import row_entries

        if history.shape != (1, self.n_items):
            raise ConfigError(f"history must have shape (1, {self.n_items}), got {history.shape}")
        hist, values = row_entries(history)  # as _batch and _history_weights: float32, absolute values
        values = np.abs(values)
        scores = np.zeros(len(cols), dtype=np.float32)
        for matrix, share in self._text_parts():
            scores += share * self._profile_cosine_columns(hist, values, matrix, cols)
        return scores

    @staticmethod
    def _profile_cosine_columns(
        hist: np.ndarray, values: np.ndarray, matrix: sp.csr_matrix, cols: np.ndarray
    ) -> np.ndarray:
        """``l2_normalize_rows(weights @ matrix) @ matrix[cols].T`` of the one row ``weights`` (entries
        ``values`` at ``hist``, in stored order), as scipy computes it, with numpy."""
        from tuijian.models.column_scores import product_row, row_dot_columns, scale_row, squared_norm_row

        columns, sums = product_row(hist, values, matrix)
        sums = sums.astype(np.float32)  # l2_normalize_rows: csr_matrix(m, dtype=np.float32)
        norms = np.sqrt(squared_norm_row(columns, sums))
        norms[norms == 0] = 1.0
        columns, profile = scale_row(columns, sums, (1.0 / norms).astype(np.float32))
        return np.asarray(row_dot_columns(columns, profile, matrix, cols), dtype=np.float32)

    def _cosine_columns(
        self, weights: sp.csr_matrix, part: int, matrix: sp.csr_matrix, cols: np.ndarray
    ) -> np.ndarray:
        """``_cosine_to_profile(weights, part, matrix)[0, cols]`` for one row, from those columns (and, on the
        Gram path, the history's columns for the profile's norm) alone."""
        from tuijian.models.column_scores import dense_product_columns, row_entries

        if self.n_items > GRAM_MAX_ITEMS:
            profile = l2_normalize_rows(weights @ matrix)
            return np.asarray((profile @ matrix[cols].T).todense(), dtype=np.float32)[0]
        gram = self._gram(part, matrix)
        hist, values = row_entries(weights, weights.dtype)
        raw = np.asarray(dense_product_columns(hist, values, gram, np.concatenate([cols, hist])), np.float32)
        at_hist = np.zeros((1, self.n_items), dtype=np.float32)
        at_hist[0, hist] = raw[len(cols) :]  # the profile's norm reads raw at the history's entries only
        sq = np.asarray(weights.multiply(at_hist).sum(axis=1), dtype=np.float64).ravel()
        norms = np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)
        norms[norms == 0] = 1.0
        return raw[: len(cols)] / norms[0]

    def _gram(self, part: int, matrix: sp.csr_matrix) -> np.ndarray:
        """``matrix @ matrix.T`` (dense float32), built once per part."""
        grams = getattr(self, "_grams", None)
        if grams is None:
            grams = self._grams = {}
        if part not in grams:
            grams[part] = np.asarray((matrix @ matrix.T).todense(), dtype=np.float32)
        return grams[part]

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Like X, which you bought": the history items with the largest terms of the cosine, and the words
        they share (:func:`tuijian.explain.attribution.content_profile`)."""
        from tuijian.explain.attribution import content_profile

        self._check_fitted()
        return content_profile(self, evidence, items)

    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items whose text is most similar (cosine), the item itself excluded."""
        self._check_fitted()
        scalar, idx = self._item_batch(items)
        w_emb = float(self.embedding_weight) if hasattr(self, "item_embeddings_") else 0.0
        sims = np.zeros((len(idx), self.n_items), dtype=np.float32)
        if w_emb < 1.0:
            for matrix, share in self._text_parts():
                sims += (1.0 - w_emb) * share * np.asarray((matrix[idx] @ matrix.T).todense())
        if w_emb > 0.0:
            sims += w_emb * (self.item_embeddings_[idx] @ self.item_embeddings_.T)
        sims[np.arange(len(idx)), idx] = -np.inf
        ids, scores = topk(sims, k)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str) -> None:
        """Params, item vectors, TF-IDF terms/idf and id maps as npz/JSON (no pickle)."""
        from tuijian.models.artifacts import save_state

        save_state(self, path)

    @classmethod
    def load(cls, path: str) -> Self:
        from tuijian.models.artifacts import load_state

        model = load_state(cls, path)
        assert isinstance(model, cls)
        return model
