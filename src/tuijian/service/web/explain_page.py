"""Dashboard page of explanations and exposure (issue 14): ``/dashboard/explain``.

* **Exposure and popularity bias** of what was actually shown: the most recent impression lists (the service
  logs every served list), grouped per model version and per A/B variant (lists whose request id has an
  exposure record), audited by :func:`tuijian.evaluate.exposure.exposure_profile` (coverage, Gini, long-tail
  share, average popularity, popularity lift), with the Lorenz curve of exposure and the exposure per
  popularity decile as plots.
* **Attributions** of one user's list: the served pipeline's explanation of each item (reasons, sentence) and,
  for the hybrid, the ranker's largest feature contributions as bar charts.

Admin session required, like every dashboard page. The page's strings live here (:data:`STRINGS`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from tuijian.service.web.dashboard import _chrome, _to_login, admin_of
from tuijian.service.web.i18n import translator
from tuijian.service.web.pages import Page, page

router = APIRouter(include_in_schema=False)

STRINGS: dict[str, tuple[str, str]] = {
    "explain_title": ("Explanations & exposure", "推荐解释与曝光"),
    "exposure_audit": ("Exposure and popularity bias of served lists", "已展示推荐列表的曝光与流行度偏差"),
    "exposure_help": (
        "The most recent {n} impression lists, per model version and per A/B variant. Gini 0: every item "
        "shown equally; long-tail share: slots given to items outside the head that holds 80% of "
        "interactions; popularity lift > 0: lists more popular than what shoppers chose.",
        "最近 {n} 个展示列表，按模型版本和 A/B 变体分组。基尼系数为 0 表示每个商品曝光相同；长尾占比：分给头部"
        "（占 80% 交互的热门商品）以外商品的位置比例；流行度提升 > 0 表示列表比顾客实际选择的更偏热门。",
    ),
    "group": ("Group", "分组"),
    "lists": ("Lists", "列表数"),
    "coverage": ("Coverage", "覆盖率"),
    "gini": ("Gini", "基尼系数"),
    "long_tail": ("Long-tail share", "长尾占比"),
    "arp": ("Avg. popularity", "平均流行度"),
    "pop_lift": ("Popularity lift", "流行度提升"),
    "lorenz": ("Lorenz curve of exposure", "曝光洛伦兹曲线"),
    "items_share": ("share of items (least shown first)", "商品占比（曝光最少的在前）"),
    "exposure_share": ("share of exposure", "曝光占比"),
    "deciles": ("Exposure per popularity decile", "各流行度十分位的曝光"),
    "interactions": ("interactions", "交互"),
    "equality": ("equal exposure", "平均曝光"),
    "no_lists": ("No impression lists logged yet.", "还没有记录展示列表。"),
    "attributions": (
        "Why these items? Attributions of one user's list",
        "为什么推荐这些？单个用户列表的归因",
    ),
    "user_id": ("User id", "用户 ID"),
    "explain_user": ("Explain", "解释"),
    "item": ("Item", "商品"),
    "sentence": ("Explanation", "解释"),
    "reasons": ("Reasons (weight)", "原因（权重）"),
    "top_features": ("Top ranker contributions", "排序模型的主要贡献"),
    "no_attributions": (
        "The served model is not a learned ranker: its reasons are exact terms of its score.",
        "当前模型不是学习排序模型：其原因即为得分中的精确项。",
    ),
}


def recent_lists(store: Any, limit: int) -> list[tuple[str, str | None, list[str], str | None]]:
    """The ``limit`` most recent impression lists: ``(request id, model version, item ids, A/B variant as
    'experiment:variant' or None)``."""
    from sqlalchemy import select

    from tuijian.store import tables as t

    m, e = t.impression_lists.c, t.exposures.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(m.request_id, m.model_version, m["items"]).order_by(m.id.desc()).limit(limit)
        ).all()
        rids = list({r[0] for r in rows})
        variants: dict[str, str] = {}
        for start in range(0, len(rids), 500):
            chunk = rids[start : start + 500]
            for rid, exp, var in conn.execute(
                select(e.request_id, e.experiment_id, e.variant).where(e.request_id.in_(chunk))
            ).all():
                variants[rid] = f"{exp}:{var}"
    return [
        (rid, version, [str(i) for i in json.loads(items)], variants.get(rid)) for rid, version, items in rows
    ]


def exposure_audit(snap: Any, lists: list[tuple[str, str | None, list[str], str | None]]) -> dict[str, Any]:
    """Per group (``model <version>``, ``variant <experiment:variant>``), the exposure profile of its lists in
    the served model's item indices (items the model does not know are left out)."""
    from tuijian.evaluate.exposure import exposure_profile

    groups: dict[str, list[list[int]]] = defaultdict(list)
    for _, version, items, variant in lists:
        idx = [i for i in (snap.item_index(x) for x in items) if i >= 0]
        groups[f"model {version or '?'}"].append(idx)
        if variant:
            groups[f"variant {variant}"].append(idx)
    pop = np.asarray(snap.popularity, dtype=np.float64)
    return {name: exposure_profile(g, pop) for name, g in sorted(groups.items())}


def user_attributions(p: Page, user: str) -> list[dict[str, Any]]:
    """The served list of ``user`` with its explanations as ``explain=true`` returns them, except that a ranker's
    attributions are exact TreeSHAP here (the API serves the faster decision-path split; docs/explain.md)."""
    from tuijian.explain.ranker import attribution_method
    from tuijian.explain.render import explained_items

    engine = p.ctx.state.engine
    snap, query = engine.user_query(user, 10)
    ranked = snap.pipeline.recommend(query, 10)
    with attribution_method("shap"):
        return explained_items(
            snap.pipeline, snap.catalog.records, query, ranked, "zh" if p.lang == "zh" else "en"
        )


@router.get("/dashboard/explain")
async def explain_page(
    user: str | None = Query(None, max_length=128),
    limit: int = Query(20000, ge=100, le=200_000),
    p: Page = Depends(page),
) -> Any:
    if not await run_in_threadpool(admin_of, p):
        return _to_login("/dashboard/explain")
    st = p.ctx.state
    tx = translator(p.lang, STRINGS)
    audit: dict[str, Any] = {}
    items: list[dict[str, Any]] = []
    if st.engine.ready:
        snap = st.engine.snapshot
        lists = await run_in_threadpool(recent_lists, st.store, limit)
        audit = await run_in_threadpool(exposure_audit, snap, lists)
        if user:
            items = await run_in_threadpool(user_attributions, p, user)
    charts = {
        "groups": list(audit),
        "lorenz": {g: a["lorenz"] for g, a in audit.items()},
        "deciles": {g: a["deciles"] for g, a in audit.items()},
        "attributions": [
            {"title": e.get("title") or e["item_id"], "features": e.get("attributions", [])[:8]}
            for e in items[:5]
        ],
        "i18n": {
            k: tx(k)
            for k in ("lorenz", "items_share", "exposure_share", "deciles", "interactions", "equality")
        },
    }
    return p.render(
        "explain.html",
        section="explain",
        tx=tx,
        audit=audit,
        limit=limit,
        user=user or "",
        items=items,
        charts=charts,
        **_chrome(p),
    )
