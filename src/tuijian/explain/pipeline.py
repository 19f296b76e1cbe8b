"""Explanations of a served list: the model explains its own items, the fallback chain its fill items.

:func:`explain_ranked` takes what :meth:`Pipeline.recommend <tuijian.models.pipeline.Pipeline.recommend>`
returned for a :class:`~tuijian.models.query.RecQuery` (``[(item, score, reason codes)]``) and explains every
entry from the code that put it there:

* items the model ranked (codes ``similar_to:<item>`` / ``personalized``): the model's own ``explain``
  (:class:`~tuijian.models.base.Explainable`) on the same evidence it scored (``Evidence.of(model,
  query)``); a model without it keeps the item-kNN source the code names;
* fill items (codes ``popular``, ``trending``, ``session``, ``content``): the fallback step's own numbers
  (popularity counts, recent counts, the session and content profiles' terms);
* ``repeat`` (bought before, shown again) adds a ``repeat`` reason naming the item;
* ``exploration`` (:data:`~tuijian.explain.reasons.EXPLORATION_CODE`), put on the items of a list the live
  bandit shows to explore, adds an ``exploration`` reason, always shown first.

A list ranked by another fallback chain (a bandit strategy's) is explained with that chain and the sequence
it started from (``fallback=``, ``sequence=``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tuijian.explain.attribution import weighted_sequence
from tuijian.explain.ranker import ATTRIBUTION_METHOD
from tuijian.explain.reasons import EXPLORATION_CODE, Evidence, Explanation, Reason, strongest
from tuijian.explain.stored import StoredExplanations
from tuijian.models.fallback import FallbackChain
from tuijian.models.pipeline import Pipeline, Ranked
from tuijian.models.query import RecQuery

#: reasons kept per item (strongest first)
TOP_REASONS = 3
_MODEL_CODES = ("similar_to:", "personalized")


def explain_ranked(
    pipeline: Pipeline,
    query: RecQuery,
    ranked: Ranked,
    top_n: int = TOP_REASONS,
    *,
    fallback: FallbackChain | None = None,
    sequence: np.ndarray | None = None,
) -> list[Explanation]:
    """One explanation per entry of ``ranked`` (see module docstring), reasons strongest first."""
    model = pipeline.model
    items = model_ranked(ranked)
    own: dict[int, Explanation] = {}
    explain = getattr(model, "explain", None)  # Explainable (a cheaper check than isinstance on a Protocol)
    if items and callable(explain):
        stored = _stored(pipeline, query)
        if stored is not None:  # explained at training time (tuijian.explain.stored): the same explanations
            own = stored.lookup(int(query.user), items)
            items = [t for t in items if t not in own]
        if items:
            own |= {e.item: e for e in explain(Evidence.of(model, query), np.asarray(items, np.int64))}
    seq = query.sequence if sequence is None else np.asarray(sequence, np.int64)
    chain = pipeline.fallback if fallback is None else fallback
    out: list[Explanation] = []
    for item, score, codes in ranked:
        code = _source(codes)
        if code.startswith(_MODEL_CODES):
            e = own.get(item) or Explanation(item, _knn_code(pipeline, code, score))
        else:
            e = Explanation(item, _fallback_reasons(chain, code, seq, item, score))
        reasons = list(e.reasons)
        if "repeat" in codes:
            reasons.append(Reason("repeat", (item,), max(abs(score), 1.0)))
        flagged = [Reason("exploration")] if EXPLORATION_CODE in codes else []
        out.append(
            Explanation(
                item, flagged + strongest(reasons, top_n - len(flagged)), e.attributions, e.base_value
            )
        )
    return out


def model_ranked(ranked: Ranked) -> list[int]:
    """The items of ``ranked`` the model itself put there (codes ``similar_to:<item>`` / ``personalized``)."""
    return [item for item, _, codes in ranked if _source(codes).startswith(_MODEL_CODES)]


def _stored(pipeline: Pipeline, query: RecQuery) -> StoredExplanations | None:
    """The version's precomputed explanations, when they are this query's: a trained query (the model explains
    it from the trained history alone) and the attribution method the request uses."""
    lists = pipeline.top_lists
    stored = getattr(lists, "explained", None)
    if stored is None or not query.trained or ATTRIBUTION_METHOD.get() != stored.method:
        return None
    return stored


def _source(codes: list[str]) -> str:
    """The code of the step that chose the item (the last one that is not a tag such as repeat or exploration)."""
    for code in reversed(codes):
        if code not in ("repeat", EXPLORATION_CODE):
            return code
    return ""


def _knn_code(pipeline: Pipeline, code: str, score: float) -> list[Reason]:
    """The reason a ``similar_to:<item>`` code gives, for a model that cannot explain itself."""
    if not code.startswith("similar_to:"):
        return [Reason("similar_shoppers", (), max(score, 0.0))]
    item_id = code.partition(":")[2]
    index = pipeline.model.interactions_.items.index(item_id)
    return [Reason("history", (int(index),), max(score, 1e-9))]


def _fallback_reasons(
    chain: FallbackChain, step: str, seq: np.ndarray, item: int, score: float
) -> list[Reason]:
    """The reasons of a fill item, from the fallback step that chose it (:meth:`FallbackChain.step_scores`)."""
    if step == "popular":
        return [Reason("popular", (), float(chain.popular_[item]))]
    if step == "trending":
        return [Reason("trending", (), float(chain.trending_[item]))]
    if step in ("session", "content") and len(seq):

        def ages(n: int) -> np.ndarray:
            return np.power(0.5, np.arange(n)[::-1] / 3.0)

        ev = Evidence(-1, np.unique(seq), np.ones(len(np.unique(seq)), np.float32), np.asarray(seq, np.int64))
        if step == "session" and chain.session_matrix_ is not None:
            return weighted_sequence(ev, np.array([item]), chain.session_matrix_, ages, len(seq))[0].reasons
        if step == "content" and chain.content_ is not None:
            uniq, inv = np.unique(np.asarray(seq, np.int64), return_inverse=True)
            weight = np.bincount(inv, weights=ages(len(seq)), minlength=len(uniq))
            sims = np.asarray((chain.content_[uniq] @ chain.content_[[item]].T).todense()).ravel()
            contrib = weight * sims
            top = np.flatnonzero(contrib > 0)
            top = top[np.lexsort((uniq[top], -contrib[top]))][:2]
            if len(top):
                return [Reason("content", tuple(uniq[top].tolist()), float(contrib[top].sum()))]
    return [Reason("popular", (), max(score, 0.0))]


def warm_explanations(pipeline: Pipeline, records: Sequence[dict[str, Any]], k: int = 30) -> bool:
    """Explain one trained user's top ``k`` once in every language, off the request path, so that the first
    explained requests a freshly loaded model answers do not build its lazy tables: the ranker's per-leaf
    attribution tables (from ``dump_model``), the retrievers' sorted entry keys, the stored explanations'
    string lists and the catalogue's names per language. On Beauty's hybrid these cost the first request
    ~320 ms and the next few tens of ms, and the requests queued behind them as much; the service calls this
    before a loaded version serves (:func:`tuijian.service.versions.load_snapshot`).

    ``k`` reaches past the stored explanations (:data:`~tuijian.explain.stored.EXPLAINED_PER_USER`), so both
    the stored look-up and the per-request path run. Returns False when no trained user has a history (nothing
    to warm); the output is discarded."""
    from tuijian.explain.render import LANGUAGES, explained_item_bytes

    for user in range(min(pipeline.n_users, 100)):
        if len(pipeline.user_query(user).sequence):
            break
    else:
        return False
    query = pipeline.user_query(user)
    items = np.asarray([item for item, _, _ in pipeline.recommend(query, k)], np.int64)
    model = pipeline.model
    evidence = Evidence.of(model, query)
    # a hybrid asks a retriever for its own reasons only for the items it matters most to: ask each once here
    for retriever in getattr(model, "models_", {}).values():
        explain = getattr(retriever, "explain", None)
        if callable(explain) and len(items):
            explain(Evidence(-1, evidence.items, evidence.values, evidence.sequence), items)
    for lang in LANGUAGES:
        query = pipeline.user_query(user)  # recommend() leaves its candidates on the query: a fresh one each
        explained_item_bytes(pipeline, records, query, pipeline.recommend(query, k), lang)
    warm_names(records)
    return True


#: items whose sentence names :func:`warm_names` makes at load (the first ones of the catalogue); a larger
#: catalogue names the rest on first use, as before
WARM_NAMES = 20_000


def warm_names(records: Sequence[dict[str, Any]], limit: int = WARM_NAMES) -> int:
    """Make the names sentences quote the catalogue's items by, in every language, for its first ``limit``
    items: a Chinese name reads the title's product record (:func:`~tuijian.explain.render.chinese_name`,
    50–150 µs), which a request would otherwise pay for every item it names for the first time (Beauty: 12,101
    items, ~0.6 s at load). Returns the number of items named."""
    from tuijian.explain.render import LANGUAGES, _quoted_names

    n = min(len(records), limit)
    for lang in LANGUAGES:
        quoted = _quoted_names(records, lang)
        for i in range(n):
            quoted(i)
    return n
