"""The hybrid recommender: candidate retrievers -> learned LambdaRank ranker -> rerankers.

Pipeline (``../shared/STYLE.md``: candidate selector -> scorer -> ranker -> reranker)::

    retrievers (item-knn, ease, sasrec, content, popularity, recent-popularity, ...)
        each contributes its top-``n_candidates`` per user; the union is the candidate set
    ranker: LightGBM LambdaRank over per-pair features (:mod:`.ranker_features`)
    rerankers: MMR diversity, business filters (:mod:`.rerank`), applied by ``recommend``
    cold users (no history): the ordered fallback chain (:mod:`.fallback`)

Training without leakage, fitting every retriever once: ``fit(interactions)``
carves ranker labels out of ``interactions`` (``label_strategy``: each user's last
event, a random share of each user's events, or the last ``label_days`` of the
log), fits the retrievers on the rest, scores candidates for each user from that
remaining history and trains the ranker to put the carved items first.
``fit(train, valid)`` uses ``valid`` as the labels instead. At scoring time the
retrievers score from the full history the hybrid was given (for the runner's
final test run that includes the validation items); history-based retrievers
need no refit and every retriever is queried with user index ``-1`` so
user-factor models fold the history in.

The ranker is saved as LightGBM text, the configuration as JSON; never pickle.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError, ModelNotFoundError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, topk
from tuijian.models.fallback import FallbackChain
from tuijian.models.hybrid_training import (
    CatalogArrays,
    carve_labels,
    catalog_arrays,
    negative_sample,
    retrieve_candidates,
    user_timestamps,
    user_values,
)
from tuijian.models.ranker_features import build_context, feature_names, pair_features, user_state
from tuijian.models.rerank import MMR, BusinessFilter, RerankContext, Reranker, apply_rerankers
from tuijian.models.side_features import (
    GENRE_FEATURES,
    YEAR_FEATURES,
    build_segment_context,
    genre_matrix,
    genre_pair_features,
    segment_feature_names,
    segment_pair_features,
    title_years,
    user_segments,
    year_pair_features,
)

#: retrievers of the default hybrid (name -> constructor params); "content" joins when a catalog is given.
#: Sequential signals enter as features (transitions from the last items, similarity to the last three);
#: the sequential retriever is the fast item-transition model; SASRec is left out by default to keep fitting
#: on Beauty within minutes (add it with ``retrievers={..., "sasrec": {"n_epochs": 40}}``).
DEFAULT_RETRIEVERS: dict[str, dict[str, Any]] = {
    "ease": {"reg": 250.0},
    "item-knn": {"n_neighbors": 200},
    "popularity": {},
    "recent-popularity": {"window_days": 30.0},
    "session-transitions": {},
}
LABEL_STRATEGIES = ("last", "random", "time")


class HybridRecommender(Recommender):
    """Candidates from several retrievers, ordered by LightGBM LambdaRank (see module docstring).

    Parameters
    ----------
    retrievers: ``{registry name: params}``; ``None`` = :data:`DEFAULT_RETRIEVERS` (those registered).
    n_candidates: top-N each retriever contributes per user.
    repeats: if True, a user's own past items are candidates too (repeat purchases);
        if False they are left out of the candidates (they are excluded at ranking anyway).
    repeat_features: with ``repeats``, also give the ranker the repeat-cycle features (item
        share of the user's events, user repeat share, mean days between the user's purchases
        of the item, days since the last / that interval). Off by default: on Online Retail
        ``time-repeats`` they lowered validation NDCG@10 (0.3126 vs 0.3183 without them).
    time_features: give the ranker the activity-window features (item age, the item's first
        event vs the user's last one, how often the item was had during the user's active days;
        see :mod:`.ranker_features`). Off by default.
    rating_features: give the ranker features of the events' ``value`` column (ratings on
        ML-1M: item and user mean, similarity-weighted mean of the user's similar items).
        Off by default.
    segment_features: give the ranker user-segment popularity features (needs a ``users``
        frame with e.g. gender / age / occupation, from ``fit(users=...)`` or ``dataset``): the
        candidate's share among the users of the user's segment and its lift over the global
        share, per attribute (:mod:`.side_features`). Off by default.
    genre_features: give the ranker the user's affinity to the candidate's genres (``|``-separated
        ``category`` of the catalog): mean / max genre share of the history, genre-profile cosine.
        Off by default.
    year_features: give the ranker the release year from the catalog's titles (``"Heat (1995)"``)
        and its difference to the mean year of the user's history. Off by default.
    label_strategy: ``"last"``, ``"random"`` (``label_fraction`` of each user's events) or
        ``"time"`` (events in the last ``label_days``), how ranker labels are carved.
    n_label_sets: how many label carvings train the ranker (their query groups are pooled):
        ``"time"``: consecutive windows of ``label_days`` going back from the end of the log,
        each with the events before it as history; ``"random"``: independent random draws;
        ``"last"``: the last, second-to-last, ... event. Each set fits the retrievers once more.
        Scoring uses the retrievers of the latest set (or, with ``refit``, refitted ones).
    max_train_users: users (per label set) whose candidate lists train the ranker (random subsample above it).
    n_negatives: non-relevant candidates kept per training user (random subsample).
    n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM settings;
        ``early_stopping_rounds`` on NDCG@10 of 10 % of the training users.
    n_rankers: how many rankers to train (seeds ``random_state + j``, each with its own
        early-stopping users); their scores are averaged (bagging, to cut seed variance).
    refit: after training the ranker, refit the retrievers on all of ``interactions`` (labels
        included) so that scoring uses retrievers that saw everything; costs a second fit.
    cold_item_rank: items nobody has interacted with never win the learned ranking (the ranker
        never saw one as a label), so the content retriever's best such item is placed at this
        position of every list (``None`` = never); needs the "content" retriever.
    dataset: name of a dataset whose item catalog (text, category, price) to use when
        ``fit`` gets no ``items`` frame (for ``tuijian evaluate --models hybrid:dataset=...``).
    diversity: MMR relevance weight applied by ``recommend`` (``None`` = no MMR).
    business_rules: :class:`BusinessFilter` arguments applied by ``recommend``.
    """

    name: ClassVar[str] = "hybrid"

    def __init__(
        self,
        retrievers: dict[str, dict[str, Any]] | None = None,
        n_candidates: int = 100,
        repeats: bool = False,
        repeat_features: bool = False,
        time_features: bool = False,
        rating_features: bool = False,
        segment_features: bool = False,
        genre_features: bool = False,
        year_features: bool = False,
        label_strategy: str = "last",
        label_fraction: float = 0.1,
        label_days: float = 30.0,
        n_label_sets: int = 1,
        max_train_users: int = 30000,
        n_negatives: int = 100,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        early_stopping_rounds: int = 40,
        n_rankers: int = 1,
        recent_days: float = 30.0,
        refit: bool = False,
        cold_item_rank: int | None = 3,
        dataset: str | None = None,
        diversity: float | None = None,
        business_rules: dict[str, Any] | None = None,
        random_state: int = 42,
        num_threads: int = 2,
        score_batch: int = 512,
        verbose: bool = False,
    ) -> None:
        self.retrievers = retrievers
        self.n_candidates = n_candidates
        self.repeats = repeats
        self.repeat_features = repeat_features
        self.time_features = time_features
        self.rating_features = rating_features
        self.segment_features = segment_features
        self.genre_features = genre_features
        self.year_features = year_features
        self.label_strategy = label_strategy
        self.label_fraction = label_fraction
        self.label_days = label_days
        self.n_label_sets = n_label_sets
        self.max_train_users = max_train_users
        self.n_negatives = n_negatives
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.early_stopping_rounds = early_stopping_rounds
        self.n_rankers = n_rankers
        self.recent_days = recent_days
        self.refit = refit
        self.cold_item_rank = cold_item_rank
        self.dataset = dataset
        self.diversity = diversity
        self.business_rules = business_rules
        self.random_state = random_state
        self.num_threads = num_threads
        self.score_batch = score_batch
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def _log(self, msg: str) -> None:
        if self.verbose:
            print(f"[hybrid {time.perf_counter() - self._t0:7.1f}s] {msg}", flush=True)

    def _repeat_features(self) -> bool:
        return bool(self.repeats and self.repeat_features)

    def _validate(self) -> None:
        if self.label_strategy not in LABEL_STRATEGIES:
            raise ConfigError(
                f"label_strategy must be one of {LABEL_STRATEGIES}, got {self.label_strategy!r}"
            )
        for name, value in (
            ("n_candidates", self.n_candidates),
            ("n_negatives", self.n_negatives),
            ("max_train_users", self.max_train_users),
            ("n_estimators", self.n_estimators),
            ("n_label_sets", self.n_label_sets),
            ("n_rankers", self.n_rankers),
        ):
            if not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 < self.label_fraction < 1.0:
            raise ConfigError(f"label_fraction must be in (0, 1), got {self.label_fraction!r}")
        if self.retrievers is not None and (not isinstance(self.retrievers, dict) or not self.retrievers):
            raise ConfigError(
                f"retrievers must be a non-empty dict {{name: params}} or None, got {self.retrievers!r}"
            )

    def fit(
        self,
        interactions: Interactions,
        valid: Interactions | None = None,
        *,
        items: pd.DataFrame | None = None,
        users: pd.DataFrame | None = None,
    ) -> Self:
        """Fit retrievers and ranker; ``valid`` (same id maps) gives the ranker labels, else they are carved."""
        self._validate()
        if valid is not None and (
            valid.n_users != interactions.n_users or valid.n_items != interactions.n_items
        ):
            raise ConfigError(f"valid must share the id maps of interactions: {valid!r} vs {interactions!r}")
        self._pending = (valid, items, users)
        try:
            return super().fit(interactions)
        finally:
            del self._pending

    def _retriever_specs(self, has_catalog: bool) -> dict[str, dict[str, Any]]:
        from tuijian.models import registry

        if self.retrievers is not None:
            specs = {k: dict(v or {}) for k, v in self.retrievers.items()}
            unknown = [k for k in specs if k not in registry.available()]
            if unknown:
                raise ConfigError(
                    f"unknown retriever(s) {unknown}; registered models: {registry.available()}"
                )
            return specs
        specs = {k: dict(v) for k, v in DEFAULT_RETRIEVERS.items() if k in registry.available()}
        if has_catalog and "content" in registry.available():
            specs["content"] = {}
        return specs

    def _fit(self, interactions: Interactions) -> None:
        from tuijian.models import registry

        self._t0 = time.perf_counter()
        valid, items, users_frame = self._pending
        if (items is None or (users_frame is None and self.segment_features)) and self.dataset is not None:
            from tuijian.data.datasets import load_dataset

            loaded = load_dataset(self.dataset)
            items = loaded.items if items is None else items
            users_frame = loaded.users if users_frame is None else users_frame
        self.catalog_: CatalogArrays = catalog_arrays(items, interactions.items)
        self.segment_codes_: np.ndarray | None = None
        self.segment_attrs_: list[str] = []
        if self.segment_features:
            self.segment_codes_, self.segment_attrs_ = user_segments(users_frame, interactions.users)
        self.genres_ = genre_matrix(items, interactions.items) if self.genre_features else None
        self.years_ = title_years(items, interactions.items) if self.year_features else None
        specs = self._retriever_specs(items is not None)
        self.retriever_names_ = list(specs)
        self.fit_seconds_ = {name: 0.0 for name in specs}
        rng = np.random.default_rng(self.random_state)
        n_sets = 1 if valid is not None else int(self.n_label_sets)
        xs, ys, gs = [], [], []
        n_groups = 0
        n_users_total = 0
        latest_models: dict[str, Recommender] = {}
        # the latest carving (offset 0) is done last so that its retrievers stay for scoring without refit
        for offset in reversed(range(n_sets)):
            if valid is None:
                inner, labels = carve_labels(
                    interactions,
                    self.label_strategy,
                    self.label_fraction,
                    self.label_days,
                    self.random_state,
                    repeats=self.repeats,
                    offset=offset,
                )
            else:
                inner, labels = interactions, sp.csr_matrix(valid.matrix)
            self._log(
                f"label set {offset}: inner {inner!r}, labelled users {int((np.diff(labels.indptr) > 0).sum())}"
            )
            self.models_ = {}
            for name, params in specs.items():
                t = time.perf_counter()
                model = registry.create(name, **params)
                model.fit(inner, items=items) if name == "content" else model.fit(inner)
                self.models_[name] = model
                self.fit_seconds_[name] = round(self.fit_seconds_[name] + time.perf_counter() - t, 2)
                self._log(f"fitted retriever {name} in {self.fit_seconds_[name]}s")
            latest_models = self.models_
            ctx = build_context(
                inner,
                recent_days=self.recent_days,
                price=self.catalog_.price,
                category=self.catalog_.category,
                content=self.catalog_.content,
            )
            self._seg_ctx = (
                build_segment_context(inner, self.segment_codes_) if self.segment_codes_ is not None else None
            )
            self._log("built feature context")
            # --------------------------------------------------------- ranker data
            inner_seqs = inner.sequences()
            has_hist = np.array([len(s) > 0 for s in inner_seqs])
            users = np.flatnonzero((np.diff(labels.indptr) > 0) & has_hist)
            if len(users) > self.max_train_users:
                users = np.sort(rng.choice(users, self.max_train_users, replace=False))
            n_users_total += len(users)
            inner_ts = user_timestamps(inner)
            inner_val = user_values(inner) if self.rating_features else None
            for start in range(0, len(users), self.score_batch):
                b = users[start : start + self.score_batch]
                seqs = [inner_seqs[u] for u in b]
                rows, cols, feats = self._candidates_features(
                    ctx,
                    inner.matrix[b],
                    seqs,
                    [inner_ts[u] for u in b],
                    [inner_val[u] for u in b] if inner_val is not None else None,
                    users=b,
                )
                y = np.asarray(labels[b][rows, cols]).ravel() > 0
                keep = negative_sample(rows, y, self.n_negatives, rng)
                rows, y, feats = rows[keep], y[keep], feats[keep]
                pos_groups = np.unique(rows[y])
                sel = np.isin(rows, pos_groups)
                xs.append(feats[sel])
                ys.append(y[sel].astype(np.int32))
                gs.append(rows[sel] + n_groups)
                n_groups += len(b)
        self.models_ = latest_models
        if n_users_total == 0:
            raise ConfigError(
                "no user has both history and a label to train the ranker on; "
                "give more interactions per user or another label_strategy"
            )
        x, y, g = np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)
        self.n_train_groups_ = int(len(np.unique(g)))
        self.candidate_recall_ = float(self.n_train_groups_ / n_users_total)
        self._log(
            f"ranker data {x.shape}, groups {self.n_train_groups_} (candidate hit rate {self.candidate_recall_:.3f})"
        )
        self._train_ranker(x, y, g, rng)
        self._log(f"ranker trained, best iteration {self.best_iteration_}")
        if self.refit and valid is None:
            for name, params in specs.items():
                t = time.perf_counter()
                model = registry.create(name, **params)
                model.fit(interactions, items=items) if name == "content" else model.fit(interactions)
                self.models_[name] = model
                self.fit_seconds_[name] += round(time.perf_counter() - t, 2)
            self._log("refitted the retrievers on all interactions")
        # scoring-time context: statistics of everything the hybrid was given
        self.context_ = build_context(
            interactions,
            recent_days=self.recent_days,
            price=self.catalog_.price,
            category=self.catalog_.category,
            content=self.catalog_.content,
        )
        self._seg_ctx = (
            build_segment_context(interactions, self.segment_codes_)
            if self.segment_codes_ is not None
            else None
        )
        self.fallback_ = FallbackChain(recent_days=self.recent_days).fit(
            interactions, content=self.catalog_.content
        )
        self._ts_cache = user_timestamps(interactions)
        self._val_cache = user_values(interactions)

    def _train_ranker(self, x: np.ndarray, y: np.ndarray, g: np.ndarray, rng: np.random.Generator) -> None:
        import lightgbm as lgb

        groups = np.unique(g)
        if len(groups) == 0:
            raise ConfigError("the retrievers' candidates never contain a label item; raise n_candidates")
        self.ranker_texts_: list[str] = []
        self.boosters_: list[Any] = []
        gain = np.zeros(x.shape[1])
        for j in range(int(self.n_rankers)):
            valid_groups = (
                rng.choice(groups, max(1, len(groups) // 10), replace=False)
                if len(groups) >= 20
                else groups[:0]
            )
            is_valid = np.isin(g, valid_groups)
            params = dict(
                objective="lambdarank", n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                num_leaves=self.num_leaves, min_child_samples=self.min_child_samples, colsample_bytree=0.8,
                subsample=0.8, subsample_freq=1, reg_lambda=1.0, random_state=self.random_state + j,
                n_jobs=self.num_threads, deterministic=True, force_row_wise=True, verbose=-1,
                lambdarank_truncation_level=20,
            )  # fmt: skip
            ranker = lgb.LGBMRanker(**params)
            tr = ~is_valid
            fit_kw: dict[str, Any] = {"group": _group_sizes(g[tr])}
            if is_valid.any():
                import inspect

                xv, yv = x[is_valid], y[is_valid]
                if "eval_X" in inspect.signature(ranker.fit).parameters:  # lightgbm >= 4.7
                    fit_kw.update(eval_X=(xv,), eval_y=(yv,))
                else:
                    fit_kw.update(eval_set=[(xv, yv)])
                fit_kw.update(
                    eval_group=[_group_sizes(g[is_valid])],
                    eval_at=[10],
                    callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
                )
            ranker.fit(x[tr], y[tr], **fit_kw)
            best = int(ranker.best_iteration_ or self.n_estimators)
            if j == 0:
                self.best_iteration_ = best
            text = ranker.booster_.model_to_string(num_iteration=best)
            self.ranker_texts_.append(text)
            self.boosters_.append(lgb.Booster(model_str=text))
            gain += ranker.booster_.feature_importance("gain", iteration=best)
        self.ranker_text_ = self.ranker_texts_[0]
        self.booster_ = self.boosters_[0]
        self.feature_names_ = feature_names(
            self.retriever_names_,
            repeat_features=self._repeat_features(),
            time_features=bool(self.time_features),
            rating_features=bool(self.rating_features),
        )
        self.feature_names_ += self._side_feature_names()
        self.feature_importance_ = {n: float(v) for n, v in zip(self.feature_names_, gain, strict=True)}

    def _side_feature_names(self) -> list[str]:
        names: list[str] = []
        if self.segment_features:
            names += segment_feature_names(getattr(self, "segment_attrs_", []))
        if self.genre_features:
            names += list(GENRE_FEATURES)
        if self.year_features:
            names += list(YEAR_FEATURES)
        return names

    def _predict(self, feats: np.ndarray) -> np.ndarray:
        """The ranker score of each row: the mean over the ``n_rankers`` boosters."""
        boosters = getattr(self, "boosters_", None) or [self.booster_]
        pred = np.zeros(len(feats), dtype=np.float64)
        for booster in boosters:
            pred += booster.predict(feats, num_threads=self.num_threads)
        return (pred / len(boosters)).astype(np.float32)

    # ------------------------------------------------------------------ scoring
    def _candidates_features(
        self,
        ctx: Any,
        history: sp.csr_matrix,
        seqs: list[np.ndarray],
        timestamps: list[np.ndarray] | None,
        values: list[np.ndarray] | None = None,
        users: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate pairs ``(rows, cols)`` of a batch and their feature matrix."""
        models = [self.models_[name] for name in self.retriever_names_]
        rows, cols, scores, ranks = retrieve_candidates(
            models, history, seqs, self.n_candidates, self.repeats
        )
        state = user_state(seqs, history.shape[1], timestamps, values if self.rating_features else None)
        feats = pair_features(
            ctx,
            state,
            rows,
            cols,
            scores,
            ranks,
            repeat_features=self._repeat_features(),
            time_features=bool(self.time_features),
            rating_features=bool(self.rating_features),
        )
        side: list[np.ndarray] = []
        if self.segment_features:
            seg_ctx = getattr(self, "_seg_ctx", None)
            if seg_ctx is not None:
                u = np.full(len(seqs), -1, np.int64) if users is None else np.asarray(users, np.int64)
                side += segment_pair_features(seg_ctx, u, rows, cols)
            else:
                side += [np.full(len(rows), np.nan, np.float32)] * len(
                    segment_feature_names(self.segment_attrs_)
                )
        if self.genre_features:
            genres = getattr(self, "genres_", None)
            side += (
                genre_pair_features(genres, state.counts, rows, cols)
                if genres is not None
                else [np.full(len(rows), np.nan, np.float32)] * len(GENRE_FEATURES)
            )
        if self.year_features:
            years = getattr(self, "years_", None)
            side += (
                year_pair_features(years, state.counts, rows, cols)
                if years is not None
                else [np.full(len(rows), np.nan, np.float32)] * len(YEAR_FEATURES)
            )
        if side:
            feats = np.column_stack([feats, *side]).astype(np.float32)
        return rows, cols, feats

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        out = np.empty((len(batch.users), self.n_items), dtype=np.float32)
        for start in range(0, len(batch.users), self.score_batch):
            sl = slice(start, start + self.score_batch)
            out[sl] = self._score_rows(batch.users[sl], batch.history[sl], batch.sequences[sl])
        return out

    def _score_rows(self, users: np.ndarray, history: sp.csr_matrix, seqs: list[np.ndarray]) -> np.ndarray:
        b, n = len(users), self.n_items
        cold = np.array([len(s) == 0 for s in seqs]) & (np.diff(history.indptr) == 0)
        seqs = [s if len(s) else history.indices[history.indptr[r] : history.indptr[r + 1]].astype(np.int64)
                for r, s in enumerate(seqs)]  # fmt: skip
        ts_cache = getattr(self, "_ts_cache", None)
        timestamps = [
            ts_cache[u]
            if (ts_cache is not None and u >= 0 and len(ts_cache[u]) == len(s))
            else np.full(len(s), np.nan)
            for u, s in zip(users, seqs, strict=True)
        ]
        val_cache = getattr(self, "_val_cache", None) if self.rating_features else None
        values = [
            val_cache[u]
            if (val_cache is not None and u >= 0 and len(val_cache[u]) == len(s))
            else np.full(len(s), np.nan)
            for u, s in zip(users, seqs, strict=True)
        ]
        pop = self.context_.log_pop
        low = (pop / (pop.max() + 1.0)).astype(np.float32)  # in [0, 1): non-candidates follow popularity
        out = np.tile(low - 1e6, (b, 1))
        warm = np.flatnonzero(~cold)
        if len(warm):
            rows, cols, feats = self._candidates_features(
                self.context_,
                history[warm],
                [seqs[r] for r in warm],
                [timestamps[r] for r in warm],
                [values[r] for r in warm],
                users=np.asarray(users, np.int64)[warm],
            )
            pred = self._predict(feats)
            out[warm[rows], cols] = pred
            # everything that is not a candidate sits below the lowest candidate of its row
            row_min = np.full(b, np.inf, dtype=np.float32)
            np.minimum.at(row_min, warm[rows], pred)
            base = np.where(np.isfinite(row_min), row_min - 2.0, -1e6)
            is_cand = np.zeros((b, n), dtype=bool)
            is_cand[warm[rows], cols] = True
            fill = base[:, None] + low[None, :]
            out = np.where(is_cand | cold[:, None], out, fill)
        if self.cold_item_rank is not None and len(warm) and "content" in self.models_:
            self._place_cold_item(out, warm, history[warm], [seqs[r] for r in warm])
        if cold.any():
            out[cold] = self.fallback_.scores([np.zeros(0, np.int64)] * int(cold.sum()))
        return out

    def _place_cold_item(
        self, out: np.ndarray, rows: np.ndarray, history: sp.csr_matrix, seqs: list[np.ndarray]
    ) -> None:
        """In place: each row's best content match among never-seen items goes to position ``cold_item_rank``."""
        cold_items = np.flatnonzero(self.context_.log_pop == 0)
        if len(cold_items) == 0:
            return
        users = np.full(len(rows), -1, dtype=np.int64)
        content = self.models_["content"].score(users, history=history, sequences=seqs)[:, cold_items]
        best = np.argmax(content, axis=1)
        ok = content[np.arange(len(rows)), best] > 0
        pos = min(max(int(self.cold_item_rank), 1), out.shape[1]) - 1
        sub = out[rows]
        kth = -np.partition(-sub, pos, axis=1)[:, pos]  # the score now at that position
        # just above the item now there: it moves down one place
        sub[np.arange(len(rows))[ok], cold_items[best[ok]]] = kth[ok] + 1e-3 * np.maximum(
            np.abs(kth[ok]), 1.0
        )
        out[rows] = sub

    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items most often bought by the same users (cosine of co-occurrence; the item itself excluded)."""
        self._check_fitted()
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        scalar, idx = self._item_batch(items)
        scores = self.context_.similarity[idx].toarray()
        scores[scores <= 0] = -np.inf
        scores[np.arange(len(idx)), idx] = -np.inf
        ids, top = topk(scores, int(k))
        return (ids[0], top[0]) if scalar else (ids, top)

    # ------------------------------------------------------------------ reranking
    def rerankers(self) -> list[Reranker]:
        """The rerankers ``recommend`` applies: business filters first, then MMR diversity."""
        out: list[Reranker] = []
        if self.business_rules:
            out.append(BusinessFilter(**self.business_rules))
        if self.diversity is not None:
            out.append(MMR(relevance_weight=float(self.diversity)))
        return out

    def rerank_context(self, users: np.ndarray) -> RerankContext:
        return RerankContext(
            n_items=self.n_items,
            similarity=self.context_.similarity,
            category=self.catalog_.category,
            price=self.catalog_.price,
            users=users,
            seed=self.random_state,
        )

    def recommend(self, users: UserArg, k: int = 10, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` as in the base contract, then the configured rerankers (see :meth:`rerankers`)."""
        rr = self.rerankers()
        if not rr:
            return super().recommend(users, k, **kwargs)
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        scalar = np.ndim(users) == 0
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        ids, scores = super().recommend(u, max(5 * int(k), 50), **kwargs)
        ids, scores = apply_rerankers(rr, ids, scores, int(k), self.rerank_context(u))
        return (ids[0], scores[0]) if scalar else (ids, scores)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str) -> None:
        """Directory with ``config.json``, ``ranker.txt`` (LightGBM text) and one folder per retriever."""
        from tuijian.models.hybrid_training import save_hybrid

        self._check_fitted()
        save_hybrid(self, Path(path))

    @classmethod
    def load(cls, path: str) -> HybridRecommender:
        from tuijian.models.hybrid_training import load_hybrid

        directory = Path(path)
        if not (directory / "config.json").is_file():
            raise ModelNotFoundError(f"no saved hybrid in {directory}: expected config.json and ranker.txt")
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        return load_hybrid(cls(**config["params"]), directory, config)


def _group_sizes(g: np.ndarray) -> np.ndarray:
    """Sizes of consecutive runs of equal group ids (rows of one group are contiguous)."""
    if len(g) == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(np.diff(g)) + 1
    return np.diff(np.concatenate([[0], change, [len(g)]]))


class AutoRecommender(HybridRecommender):
    """``auto``: the self-configuring hybrid, which serves its best retriever instead when that is
    better on validation (registry name ``"auto"``; the default of ``tuijian train`` and ``serve``)."""

    name: ClassVar[str] = "auto"
