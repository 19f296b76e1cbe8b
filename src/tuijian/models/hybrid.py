"""The hybrid recommender: candidate retrievers -> learned LambdaRank ranker -> rerankers.

Pipeline (``../shared/STYLE.md``: candidate selector -> scorer -> ranker -> reranker)::

    retrievers (ease, item-knn, rp3beta, als, session-transitions, popularity, content, ...)
        each contributes its top-``n_candidates`` per user; the union is the candidate set
    ranker: LightGBM LambdaRank over per-pair features (:mod:`.ranker_features`, :mod:`.side_features`)
    rerankers: MMR diversity, business filters (:mod:`.rerank`), applied by ``recommend``
    cold users (no history): the ordered fallback chain (:mod:`.fallback`)

It is built from composed parts (:mod:`.hybrid_parts`): the retrievers, a
:class:`~.hybrid_parts.LabelStrategy` (how ranker labels are carved from the training data),
:class:`~.hybrid_parts.FeatureGroups` (which optional feature groups the ranker sees), a
:class:`~.hybrid_parts.RankerConfig`, and whether the retrievers are refitted on all data
after the ranker is trained. Each of these may be ``"auto"`` (the default): the hybrid then
holds out a validation split shaped like the one it will be judged on
(:class:`~.holdout.Holdout`, given by the evaluation protocol or chosen from the data) and
chooses them there (:mod:`.hybrid_select`). It also scores its retrievers alone on that split
and, if the best of them beats every ranker variant, serves that retriever instead and says
so in :attr:`selection_` (``served_``).

Side information comes in with the data: ``fit(interactions, items=catalog, users=profiles)``.

Training without leakage: the label carving leaves the retrievers the history before the
labels; at scoring time every retriever is queried with user index ``-1`` so it scores from
the full history the hybrid is given (fold-in). The ranker is saved as LightGBM text, the
configuration as JSON; never pickle.
"""

from __future__ import annotations

import contextvars
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError, ModelNotFoundError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, topk
from tuijian.models.fallback import FallbackChain
from tuijian.models.holdout import Holdout
from tuijian.models.hybrid_parts import (
    FeatureGroups,
    LabelStrategy,
    RankerConfig,
    SideInfo,
    available_groups,
    to_jsonable,
)
from tuijian.models.hybrid_training import (
    CatalogArrays,
    carve_labels,
    catalog_arrays,
    negative_sample,
    retrieve_candidates,
    train_rankers,
    user_timestamps,
    user_values,
)
from tuijian.models.ranker_features import (
    FeatureContext,
    build_context,
    feature_names,
    pair_features,
    user_state,
)
from tuijian.models.rerank import MMR, BusinessFilter, RerankContext, Reranker, apply_rerankers
from tuijian.models.side_features import (
    GENRE_FEATURES,
    YEAR_FEATURES,
    SegmentContext,
    build_segment_context,
    genre_pair_features,
    segment_feature_names,
    segment_pair_features,
    year_pair_features,
)
from tuijian.models.toplists import TopListParts

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation
    from tuijian.models.query import RecQuery

#: retrievers of the default hybrid (name -> constructor params); "content" joins when a catalog is
#: given, "repeat-popular" when repeats are candidates. SasRec is left out to keep fitting within minutes
#: (add it with ``retrievers={..., "sasrec": {"n_epochs": 40}}``).
DEFAULT_RETRIEVERS: dict[str, dict[str, Any]] = {
    "ease": {"reg": 250.0},
    "item-knn": {"n_neighbors": 200},
    "rp3beta": {"n_neighbors": 200},
    "als": {},
    "popularity": {},
    "recent-popularity": {"window_days": 30.0},
    "session-transitions": {},
}


#: set by :meth:`HybridRecommender.recommend_query`: the ranker's feature rows of that query are kept here
_CAPTURE: contextvars.ContextVar[list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None] = (
    contextvars.ContextVar("hybrid_capture", default=None)
)


class HybridRecommender(Recommender):
    """Candidates from several retrievers, ordered by LightGBM LambdaRank (see module docstring).

    Parameters
    ----------
    retrievers: ``{registry name: params}``; ``None`` = :data:`DEFAULT_RETRIEVERS` (plus ``content``
        with a catalog and ``repeat-popular`` with repeats).
    labels: a :class:`~.hybrid_parts.LabelStrategy` (or a dict of its fields), or ``"auto"``.
    features: a :class:`~.hybrid_parts.FeatureGroups` (or a dict), or ``"auto"``.
    ranker: a :class:`~.hybrid_parts.RankerConfig` (or a dict); ``None`` = its defaults.
    refit: refit the retrievers on all data after the ranker is trained (True / False / ``"auto"``).
    gate: compare the ranker with each retriever alone on validation and serve the best.
    holdout: the validation split to choose on (a :class:`~.holdout.Holdout` or a dict of its fields);
        ``None`` = chosen from the data; ``fit(..., holdout=)`` (the evaluation protocol's) overrides it.
    repeats: a user's own past items are candidates too (repeat purchases); ``None`` = as the
        holdout says (``time-repeats`` protocol), else False.
    n_candidates: top-N each retriever contributes per user.
    cold_item_rank: items nobody has interacted with never win the learned ranking, so the content
        retriever's best such item is placed at this position of every list (``None`` = never).
    max_valid_users: users of the validation split scored per candidate setup (random sample above).
    prune_retrievers: also choose the retriever set on the validation split (leave each retriever out of
        the best setup; drop those whose absence scores higher). On by default: on the five validation
        splits it never lost and helped on four (``bench/RESULTS.md``).
    diversity: MMR relevance weight applied by ``recommend`` (``None`` = no MMR).
    business_rules: :class:`BusinessFilter` arguments applied by ``recommend``.
    """

    name: ClassVar[str] = "hybrid"

    def __init__(
        self,
        retrievers: dict[str, dict[str, Any]] | None = None,
        labels: LabelStrategy | dict[str, Any] | str = "auto",
        features: FeatureGroups | dict[str, Any] | str = "auto",
        ranker: RankerConfig | dict[str, Any] | None = None,
        refit: bool | str = "auto",
        gate: bool = True,
        holdout: Holdout | dict[str, Any] | None = None,
        repeats: bool | None = None,
        n_candidates: int = 100,
        cold_item_rank: int | None = 3,
        recent_days: float = 30.0,
        max_valid_users: int = 5000,
        prune_retrievers: bool = True,
        diversity: float | None = None,
        business_rules: dict[str, Any] | None = None,
        random_state: int = 42,
        num_threads: int = 2,
        score_batch: int = 512,
        verbose: bool = False,
    ) -> None:
        self.retrievers = retrievers
        self.labels = labels
        self.features = features
        self.ranker = ranker
        self.refit = refit
        self.gate = gate
        self.holdout = holdout
        self.repeats = repeats
        self.n_candidates = n_candidates
        self.cold_item_rank = cold_item_rank
        self.recent_days = recent_days
        self.max_valid_users = max_valid_users
        self.prune_retrievers = prune_retrievers
        self.diversity = diversity
        self.business_rules = business_rules
        self.random_state = random_state
        self.num_threads = num_threads
        self.score_batch = score_batch
        self.verbose = verbose

    def get_params(self) -> dict[str, Any]:
        return {k: to_jsonable(v) for k, v in super().get_params().items()}

    # ------------------------------------------------------------------ fitting
    def _log(self, msg: str) -> None:
        if self.verbose:
            print(f"[{self.name} {time.perf_counter() - self._t0:7.1f}s] {msg}", flush=True)

    def _validate(self) -> None:
        if self.labels != "auto":
            LabelStrategy.parse(self.labels)
        if self.features != "auto":
            FeatureGroups.parse(self.features)
        RankerConfig.parse(self.ranker)
        if self.refit not in (True, False, "auto"):
            raise ConfigError(f"refit must be True, False or 'auto', got {self.refit!r}")
        for name, value in (("n_candidates", self.n_candidates), ("max_valid_users", self.max_valid_users)):
            if not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
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
        holdout: Holdout | None = None,
    ) -> Self:
        """Fit retrievers and ranker.

        ``valid`` (same id maps) gives the ranker labels directly (no carving, no selection);
        ``items`` is the catalog (text, category, price), ``users`` the user attributes;
        ``holdout`` the validation split to choose the setup on (default: chosen from the data).
        """
        self._validate()
        if valid is not None and (
            valid.n_users != interactions.n_users or valid.n_items != interactions.n_items
        ):
            raise ConfigError(f"valid must share the id maps of interactions: {valid!r} vs {interactions!r}")
        if holdout is not None and not isinstance(holdout, Holdout):
            raise ConfigError(f"holdout must be a tuijian.models.holdout.Holdout, got {holdout!r}")
        self._pending = (valid, items, users, holdout)
        try:
            return super().fit(interactions)
        finally:
            del self._pending

    def _retriever_specs(self, has_catalog: bool, repeats: bool) -> dict[str, dict[str, Any]]:
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
        if repeats:
            specs["repeat-popular"] = {}
        return specs

    def _fit_retrievers(
        self, specs: dict[str, dict[str, Any]], inter: Interactions, items: pd.DataFrame | None
    ) -> dict[str, Recommender]:
        from tuijian.models import registry

        models: dict[str, Recommender] = {}
        for name, params in specs.items():
            t = time.perf_counter()
            model = registry.create(name, **params)
            model.fit(inter, items=items) if name == "content" else model.fit(inter)  # type: ignore[call-arg]
            models[name] = model
            self.fit_seconds_[name] = round(self.fit_seconds_.get(name, 0.0) + time.perf_counter() - t, 2)
        return models

    def _fit(self, interactions: Interactions) -> None:
        from tuijian.models.hybrid_select import select_setup

        self._t0 = time.perf_counter()
        valid, items, users_frame, holdout = self._pending
        self.catalog_: CatalogArrays = catalog_arrays(items, interactions.items)
        self.side_ = SideInfo.build(interactions, items, users_frame)
        if holdout is None:
            holdout = (
                self.holdout if isinstance(self.holdout, Holdout) else Holdout.from_dict(self.holdout or {})
            )
        self.holdout_ = holdout.resolve(interactions)
        self.repeats_ = bool(self.holdout_.repeats) if self.repeats is None else bool(self.repeats)
        specs = self._retriever_specs(items is not None, self.repeats_)
        self.fit_seconds_: dict[str, float] = {}
        avail = available_groups(interactions, self.side_, self.repeats_)
        ranker_cfg = RankerConfig.parse(self.ranker)
        labels = None if self.labels == "auto" else LabelStrategy.parse(self.labels)
        features = None if self.features == "auto" else FeatureGroups.parse(self.features) & avail
        refit = None if self.refit == "auto" else bool(self.refit)
        served = "ranker"
        if valid is not None:
            labels, features, refit = labels or LabelStrategy(), features or avail, bool(refit)
            self.selection_: dict[str, Any] = {"chosen": "ranker", "reason": "labels given as valid"}
        elif labels is None or features is None or refit is None or self.gate:
            sel = select_setup(self, interactions, self.holdout_, specs, avail, ranker_cfg, items,
                               labels=labels, features=features, refit=refit)  # fmt: skip
            labels, features, refit, served = sel.labels, sel.features, sel.refit, sel.served
            specs = sel.specs
            self.selection_ = sel.report()
        else:
            self.selection_ = {"chosen": "ranker", "reason": "fixed setup"}
        self.labels_, self.features_, self.refit_, self.served_ = labels, features, bool(refit), served
        self._log(
            f"setup: serve {served}, labels {labels.label()}, features {features.label()}, refit {refit}"
        )
        if served == "ranker":
            rng = np.random.default_rng(self.random_state)
            x, y, g, self.models_ = self._ranker_data(
                interactions, valid, specs, labels, features, ranker_cfg, items, rng
            )
            self.retriever_names_ = list(specs)
            self._train_ranker(x, y, g, rng, ranker_cfg, features)
            self._log(f"ranker trained, best iteration {self.best_iteration_}")
            if self.refit_ and valid is None:
                self.models_ = self._fit_retrievers(specs, interactions, items)
                self._log("refitted the retrievers on all interactions")
        else:
            self.models_ = self._fit_retrievers({served: specs[served]}, interactions, items)
            self.retriever_names_ = [served]
            self.ranker_texts_: list[str] = []
            self.boosters_: list[Any] = []
            self.feature_names_: list[str] = []
            self.feature_importance_: dict[str, float] = {}
            self.best_iteration_: int = 0
            self.n_train_groups_, self.candidate_recall_ = 0, float("nan")
        self._finish(interactions)

    def _finish(self, interactions: Interactions) -> None:
        """Scoring-time state: statistics of everything the hybrid was given."""
        self.context_ = self._context(interactions)
        self._seg_ctx = self._segment_context(interactions)
        self.fallback_ = FallbackChain(recent_days=self.recent_days).fit(
            interactions, content=self.catalog_.content
        )
        self._ts_cache = user_timestamps(interactions)
        self._val_cache = user_values(interactions)

    def _context(self, inter: Interactions) -> FeatureContext:
        return build_context(
            inter,
            recent_days=self.recent_days,
            price=self.catalog_.price,
            category=self.catalog_.category,
            content=self.catalog_.content,
        )

    def _segment_context(self, inter: Interactions) -> SegmentContext | None:
        codes = self.side_.segment_codes
        return build_segment_context(inter, codes) if codes is not None else None

    def _ranker_data(
        self,
        interactions: Interactions,
        valid: Interactions | None,
        specs: dict[str, dict[str, Any]],
        labels: LabelStrategy,
        features: FeatureGroups,
        cfg: RankerConfig,
        items: pd.DataFrame | None,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Recommender]]:
        """Ranker training data ``(x, y, groups)`` from ``labels.n_sets`` carvings, and the retrievers of
        the latest carving (fitted on the history before its labels)."""
        n_sets = 1 if valid is not None else int(labels.n_sets)
        xs, ys, gs = [], [], []
        n_groups = n_users_total = 0
        models: dict[str, Recommender] = {}
        # the latest carving (offset 0) is done last so that its retrievers stay for scoring
        for offset in reversed(range(n_sets)):
            if valid is None:
                try:
                    inner, lab = carve_labels(
                        interactions, labels.kind, labels.fraction, labels.days, self.random_state,
                        repeats=self.repeats_, offset=offset,
                    )  # fmt: skip
                except ConfigError:
                    if offset == 0:
                        raise
                    continue  # an earlier window with no events
            else:
                inner, lab = interactions, sp.csr_matrix(valid.matrix)
            models = self._fit_retrievers(specs, inner, items)
            ctx, seg_ctx = self._context(inner), self._segment_context(inner)
            seqs = inner.sequences()
            has_hist = np.array([len(s) > 0 for s in seqs])
            users = np.flatnonzero((np.diff(lab.indptr) > 0) & has_hist)
            if len(users) > cfg.max_train_users:
                users = np.sort(rng.choice(users, cfg.max_train_users, replace=False))
            n_users_total += len(users)
            ts, vals = user_timestamps(inner), (user_values(inner) if features.rating else None)
            for start in range(0, len(users), self.score_batch):
                b = users[start : start + self.score_batch]
                rows, cols, feats = self._candidates_features(
                    models, features, ctx, seg_ctx, inner.matrix[b], [seqs[u] for u in b],
                    [ts[u] for u in b], [vals[u] for u in b] if vals is not None else None, users=b,
                )  # fmt: skip
                y = np.asarray(lab[b][rows, cols]).ravel() > 0
                keep = negative_sample(rows, y, cfg.n_negatives, rng)
                rows, y, feats = rows[keep], y[keep], feats[keep]
                sel = np.isin(rows, np.unique(rows[y]))
                xs.append(feats[sel])
                ys.append(y[sel].astype(np.int32))
                gs.append(rows[sel] + n_groups)
                n_groups += len(b)
            self._log(f"label set {offset} ({labels.label()}): {len(users)} users")
        if n_users_total == 0 or not xs:
            raise ConfigError(
                "no user has both history and a label to train the ranker on; "
                "give more interactions per user or another label strategy"
            )
        x, y, g = np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)
        self.n_train_groups_ = int(len(np.unique(g)))
        self.candidate_recall_ = float(self.n_train_groups_ / n_users_total)
        return x, y, g, models

    def feature_columns(self, features: FeatureGroups, names: list[str] | None = None) -> list[str]:
        """Column names of the ranker's feature matrix for ``features`` (``names``: retriever names)."""
        out = feature_names(
            list(self.retriever_names_ if names is None else names),
            repeat_features=features.repeat,
            time_features=features.time,
            rating_features=features.rating,
        )
        if features.segment:
            out += segment_feature_names(self.side_.segment_attrs or [])
        if features.genre:
            out += list(GENRE_FEATURES)
        if features.year:
            out += list(YEAR_FEATURES)
        return out

    def _train_ranker(
        self,
        x: np.ndarray,
        y: np.ndarray,
        g: np.ndarray,
        rng: np.random.Generator,
        cfg: RankerConfig,
        features: FeatureGroups,
    ) -> None:
        texts, gain, best = train_rankers(x, y, g, rng, cfg, self.random_state, self.num_threads)
        import lightgbm as lgb

        self.ranker_texts_ = texts
        self.boosters_ = [lgb.Booster(model_str=t) for t in texts]
        self.best_iteration_ = best
        self.feature_names_ = self.feature_columns(features)
        self.feature_importance_ = {n: float(v) for n, v in zip(self.feature_names_, gain, strict=True)}

    def _predict(self, feats: np.ndarray, boosters: list[Any] | None = None) -> np.ndarray:
        """The ranker score of each row: the mean over the boosters."""
        boosters = self.boosters_ if boosters is None else boosters
        pred = np.zeros(len(feats), dtype=np.float64)
        # small batches (one served request) in one thread: OpenMP start-up and contention cost more than
        # they save there; predictions do not depend on the thread count
        threads = self.num_threads if len(feats) >= 20000 else 1
        for booster in boosters:
            pred += booster.predict(feats, num_threads=threads)
        return (pred / len(boosters)).astype(np.float32)

    # ------------------------------------------------------------------ scoring
    def _candidates_features(
        self,
        models: dict[str, Recommender],
        features: FeatureGroups,
        ctx: FeatureContext,
        seg_ctx: SegmentContext | None,
        history: sp.csr_matrix,
        seqs: list[np.ndarray],
        timestamps: list[np.ndarray] | None,
        values: list[np.ndarray] | None = None,
        users: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate pairs ``(rows, cols)`` of a batch and their feature matrix."""
        rows, cols, scores, ranks = retrieve_candidates(
            list(models.values()), history, seqs, self.n_candidates, self.repeats_
        )
        feats = self._pair_rows(
            features,
            ctx,
            seg_ctx,
            history.shape[1],
            seqs,
            timestamps,
            values,
            users,
            rows,
            cols,
            scores,
            ranks,
        )
        return rows, cols, feats

    def _pair_rows(
        self,
        features: FeatureGroups,
        ctx: FeatureContext,
        seg_ctx: SegmentContext | None,
        n_items: int,
        seqs: list[np.ndarray],
        timestamps: list[np.ndarray] | None,
        values: list[np.ndarray] | None,
        users: np.ndarray | None,
        rows: np.ndarray,
        cols: np.ndarray,
        scores: list[np.ndarray],
        ranks: list[np.ndarray],
    ) -> np.ndarray:
        """The feature matrix of the pairs ``(rows, cols)`` given the retrievers' score and rank matrices (every
        value depends on its own pair and row only, so any subset of pairs gets the same rows)."""
        state = user_state(seqs, n_items, timestamps, values if features.rating else None)
        feats = pair_features(
            ctx, state, rows, cols, scores, ranks,
            repeat_features=features.repeat, time_features=features.time, rating_features=features.rating,
        )  # fmt: skip
        side: list[np.ndarray] = []
        if features.segment:
            names = segment_feature_names(self.side_.segment_attrs or [])
            if seg_ctx is not None:
                u = np.full(len(seqs), -1, np.int64) if users is None else np.asarray(users, np.int64)
                side += segment_pair_features(seg_ctx, u, rows, cols)
            else:
                side += [np.full(len(rows), np.nan, np.float32)] * len(names)
        if features.genre:
            genres = self.side_.genres
            side += (
                genre_pair_features(genres, state.counts, rows, cols)
                if genres is not None
                else [np.full(len(rows), np.nan, np.float32)] * len(GENRE_FEATURES)
            )
        if features.year:
            years = self.side_.years
            side += (
                year_pair_features(years, state.counts, rows, cols)
                if years is not None
                else [np.full(len(rows), np.nan, np.float32)] * len(YEAR_FEATURES)
            )
        if side:
            feats = np.column_stack([feats, *side]).astype(np.float32)
        return feats

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        out = np.empty((len(batch.users), self.n_items), dtype=np.float32)
        for start in range(0, len(batch.users), self.score_batch):
            sl = slice(start, start + self.score_batch)
            out[sl] = self._score_rows(batch.users[sl], batch.history[sl], batch.sequences[sl])
        return out

    def _aligned(
        self, users: np.ndarray, seqs: list[np.ndarray], cache: list[np.ndarray] | None
    ) -> list[np.ndarray]:
        """Per row, the cached per-event array of a known user whose sequence is the trained one, else NaN."""
        return [
            cache[u]
            if (cache is not None and u >= 0 and len(cache[u]) == len(s))
            else np.full(len(s), np.nan)
            for u, s in zip(users, seqs, strict=True)
        ]

    def _score_rows(self, users: np.ndarray, history: sp.csr_matrix, seqs: list[np.ndarray]) -> np.ndarray:
        cold = np.array([len(s) == 0 for s in seqs]) & (np.diff(history.indptr) == 0)
        seqs = [s if len(s) else history.indices[history.indptr[r] : history.indptr[r + 1]].astype(np.int64)
                for r, s in enumerate(seqs)]  # fmt: skip
        warm = np.flatnonzero(~cold)
        out = np.zeros((len(users), self.n_items), dtype=np.float32)
        if len(warm):
            h, s = history[warm], [seqs[r] for r in warm]
            if self.served_ != "ranker":
                model = self.models_[self.served_]
                out[warm] = model.score(np.full(len(warm), -1, np.int64), history=h, sequences=s)
            else:
                rows, cols, pred = self._ranked_pairs(np.asarray(users, np.int64)[warm], h, s)
                out[warm] = self.assemble(len(warm), rows, cols, pred, self.context_.log_pop)
                if self.cold_item_rank is not None and "content" in self.models_:
                    sub = out[warm]
                    place_cold_item(
                        sub, self.models_["content"], h, s, self.context_.log_pop, self.cold_item_rank
                    )
                    out[warm] = sub
        if cold.any():
            out[cold] = self.fallback_.scores([np.zeros(0, np.int64)] * int(cold.sum()))
        return out

    def _ranked_pairs(
        self, users: np.ndarray, history: sp.csr_matrix, seqs: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ranker's candidate pairs ``(rows, cols)`` of warm rows and their predictions."""
        rows, cols, feats = self.pair_features(users, history, seqs)
        captured = _CAPTURE.get()
        if captured is not None:
            captured.append((rows, cols, feats))
        return rows, cols, self._predict(feats)

    def recommend_query(self, query: RecQuery, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`Recommender.recommend_query`; the ranker's candidate features of the query are kept in
        ``query.scratch`` so that :meth:`explain` attributes exactly the rows that were scored."""
        token = _CAPTURE.set([])
        try:
            out = super().recommend_query(query, k)
            captured = _CAPTURE.get() or []
        finally:
            _CAPTURE.reset(token)
        if len(captured) == 1:
            query.scratch = (self, *captured[0])
        return out

    def pair_features(
        self, users: np.ndarray, history: sp.csr_matrix, seqs: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ranker's candidate pairs ``(rows, cols)`` of warm rows and their feature matrix (what the
        ranker scores, and what :mod:`tuijian.explain.ranker` attributes)."""
        ts = self._aligned(users, seqs, getattr(self, "_ts_cache", None))
        vals = (
            self._aligned(users, seqs, getattr(self, "_val_cache", None)) if self.features_.rating else None
        )
        return self._candidates_features(
            self.models_, self.features_, self.context_, self._seg_ctx, history, seqs, ts, vals, users=users
        )

    def shown_features(
        self,
        user: int,
        history: sp.csr_matrix,
        seq: np.ndarray,
        items: np.ndarray,
        stored: tuple[np.ndarray, np.ndarray] | None = None,
        rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """For one user (``history``: its ``1 x n_items`` row), which of ``items`` are ranker candidates and
        their feature rows, in ``items`` order: the rows :meth:`pair_features` holds for them, built for those
        items alone (:func:`tuijian.models.shown_features.shown_rows`; what an explanation of a stored list
        attributes). ``stored``: the trained user's stored candidates and their retriever ranks
        (:meth:`TopLists.stored_ranks <tuijian.models.toplists.TopLists.stored_ranks>`), read instead of
        ranking every item again; ``rows``: their feature rows as built at training (:meth:`TopLists.stored_rows
        <tuijian.models.toplists.TopLists.stored_rows>`), read instead of building any."""
        from tuijian.models.shown_features import shown_rows

        return shown_rows(self, user, history, seq, items, stored=stored, rows=rows)

    @staticmethod
    def tail_key(log_pop: np.ndarray) -> np.ndarray:
        """Per item, its score offset below a row's candidates: popularity squeezed into ``[0, 1)``."""
        return (log_pop / (log_pop.max() + 1.0)).astype(np.float32)

    @staticmethod
    def tail_base(b: int, rows: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Per row, the base of its non-candidates' scores: 2 below its lowest candidate (``-1e6`` when it
        has none), so that every non-candidate ranks below every candidate."""
        row_min = np.full(b, np.inf, dtype=np.float32)
        np.minimum.at(row_min, rows, pred)
        return np.where(np.isfinite(row_min), row_min - 2.0, -1e6).astype(np.float32)

    @classmethod
    def assemble(
        cls, b: int, rows: np.ndarray, cols: np.ndarray, pred: np.ndarray, log_pop: np.ndarray
    ) -> np.ndarray:
        """A ``(b, n_items)`` score matrix: candidates get their ranker score, every other item sits below
        its row's lowest candidate, ordered by popularity (``tail_base + tail_key``)."""
        out = cls.tail_base(b, rows, pred)[:, None] + cls.tail_key(log_pop)[None, :]
        out[rows, cols] = pred
        return out

    def top_list_parts(self, users: np.ndarray) -> TopListParts | None:
        """Trained users' rows as the ranker builds them, for :mod:`tuijian.models.toplists`: each row's
        stored items best first with their scores, and the tail rule for every other item (``tail_base[row]
        + tail_key[item]``). The stored items are the candidates, plus the cold item the content retriever
        placed into the row (``cold_item_rank``), which left the tail with its placed score. ``None`` when
        the served scores do not follow that rule: a retriever is served or rerankers are configured."""
        self._check_fitted()
        if self.served_ != "ranker" or self.rerankers():
            return None
        users = np.asarray(users, dtype=np.int64)
        batch = self._batch(users, None, None)
        seqs = list(batch.sequences)
        if any(len(x) == 0 for x in seqs):
            return None  # a trained user always has a history; anything else is not this rule
        key = self.tail_key(self.context_.log_pop)
        rank = self.cold_item_rank if "content" in self.models_ else None
        n_items, outside = self.n_items, int(self.n_candidates) + 1
        rank_type = np.uint8 if outside <= np.iinfo(np.uint8).max else np.uint16
        rank_cols = [3 * j + 1 for j in range(len(self.models_))]  # "<retriever>:rank" (feature_names)
        parts, bases = [], []
        for start in range(0, len(users), self.score_batch):  # as _score: bounded dense retriever matrices
            sl = slice(start, start + self.score_batch)
            h, s = batch.history[sl], seqs[sl]
            token = _CAPTURE.set([])
            try:
                r, c, p = self._ranked_pairs(users[sl], h, s)
                captured = _CAPTURE.get() or []
            finally:
                _CAPTURE.reset(token)
            ranks = captured[-1][2][:, rank_cols].astype(rank_type)  # each candidate's retriever ranks
            b = len(s)
            base = self.tail_base(b, r, p)
            if rank is not None:  # exactly as _score_rows: assemble, place, then read the rows back
                out = self.assemble(b, r, c, p, self.context_.log_pop)
                place_cold_item(out, self.models_["content"], h, s, self.context_.log_pop, rank)
                off = out != base[:, None] + key[None, :]
                off[r, c] = True
                cand_keys = r * n_items + c  # row-major, as np.nonzero lists both
                r, c = np.nonzero(off)
                p = out[r, c]
                at = np.minimum(np.searchsorted(cand_keys, r * n_items + c), max(len(cand_keys) - 1, 0))
                is_cand = cand_keys[at] == r * n_items + c if len(cand_keys) else np.zeros(len(r), bool)
                placed = np.full((len(r), len(rank_cols)), outside, dtype=rank_type)  # a placed cold item
                placed[is_cand] = ranks[at[is_cand]]
                ranks = placed
            parts.append((r + start, c, p, ranks))
            bases.append(base)
        rows, cols, pred, rank_rows = (np.concatenate(x) for x in zip(*parts, strict=True))
        order = np.lexsort((cols, -pred, rows))  # per row: best first, ties by item index (as topk)
        rows, cols, pred, rank_rows = rows[order], cols[order], pred[order], rank_rows[order]
        indptr = np.searchsorted(rows, np.arange(len(users) + 1))
        return TopListParts(
            indptr=indptr.astype(np.int64),
            ids=cols.astype(np.int32),
            scores=pred.astype(np.float32),
            tail_base=np.concatenate(bases).astype(np.float32),
            tail_key=key,
            ranks=rank_rows,
        )

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

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """The ranker's TreeSHAP attributions (LightGBM ``pred_contrib``) of each item, grouped into shopper
        reasons that name the retrievers' own evidence (:func:`tuijian.explain.ranker.explain_hybrid`)."""
        from tuijian.explain.ranker import explain_hybrid

        self._check_fitted()
        return explain_hybrid(self, evidence, items)

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
        """Directory with ``config.json``, ``ranker*.txt`` (LightGBM text) and one folder per retriever."""
        from tuijian.models.hybrid_training import save_hybrid

        self._check_fitted()
        save_hybrid(self, Path(path))

    @classmethod
    def load(cls, path: str) -> HybridRecommender:
        from tuijian.models.hybrid_training import load_hybrid

        directory = Path(path)
        if not (directory / "config.json").is_file():
            raise ModelNotFoundError(f"no saved hybrid in {directory}: expected config.json")
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        return load_hybrid(cls(**config["params"]), directory, config)


class AutoRecommender(HybridRecommender):
    """``auto``: the self-configuring hybrid, which serves its best retriever instead when that is
    better on validation (registry name ``"auto"``; the default of ``tuijian train`` and ``serve``)."""

    name: ClassVar[str] = "auto"


def place_cold_item(
    out: np.ndarray,
    content: Recommender,
    history: sp.csr_matrix,
    seqs: list[np.ndarray],
    log_pop: np.ndarray,
    rank: int,
) -> None:
    """In place: each row's best content match among never-seen items goes to position ``rank``."""
    cold_items = np.flatnonzero(log_pop == 0)
    if len(cold_items) == 0 or out.shape[0] == 0:
        return
    users = np.full(out.shape[0], -1, dtype=np.int64)
    scores = content.score(users, history=history, sequences=seqs)[:, cold_items]
    best = np.argmax(scores, axis=1)
    ok = scores[np.arange(out.shape[0]), best] > 0
    pos = min(max(int(rank), 1), out.shape[1]) - 1
    kth = -np.partition(-out, pos, axis=1)[:, pos]  # the score now at that position
    # just above the item now there: it moves down one place
    r = np.arange(out.shape[0])[ok]
    out[r, cold_items[best[ok]]] = kth[ok] + 1e-3 * np.maximum(np.abs(kth[ok]), 1.0)
