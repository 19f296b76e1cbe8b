"""UI text of the storefront and dashboard in English and Chinese: one dictionary, one lookup function.

The language comes from ``?lang=en|zh`` (remembered in the ``tj_lang`` cookie), then the cookie,
then the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "zh")
LANG_COOKIE = "tj_lang"

STRINGS: dict[str, tuple[str, str]] = {
    # key: (English, Chinese)
    "shop_name": ("Tuijian Shop", "推荐商城"),
    "tagline": ("Gifts and homeware, picked for you", "礼品与家居好物，为你精选"),
    "search_placeholder": ("Search products…", "搜索商品…"),
    "search": ("Search", "搜索"),
    "signed_in_as": ("Shopping as", "当前顾客"),
    "guest": ("Guest", "访客"),
    "switch": ("Switch", "切换"),
    "choose_user": ("Choose a shopper", "选择顾客"),
    "events_count": ("{n} events", "{n} 条行为"),
    "cart": ("Cart", "购物车"),
    "recommended_for_you": ("Recommended for you", "为你推荐"),
    "because_you_bought": ("Because you bought {title}", "因为你购买了 {title}"),
    "inspired_by_search": ("Inspired by your search “{q}”", "根据你的搜索「{q}」"),
    "trending": ("Trending", "热门趋势"),
    "add_to_cart": ("Add to cart", "加入购物车"),
    "buy_now": ("Buy now", "立即购买"),
    "checkout": ("Buy all", "全部购买"),
    "remove": ("Remove", "移除"),
    "empty_cart": ("Your cart is empty.", "购物车是空的。"),
    "added_to_cart": ("Added {title} to your cart.", "已将 {title} 加入购物车。"),
    "purchased": ("Thank you! You bought {title}.", "谢谢！你已购买 {title}。"),
    "purchased_n": ("Thank you! You bought {n} items.", "谢谢！你已购买 {n} 件商品。"),
    "reviewed": ("Thanks for your review.", "感谢你的评价。"),
    "similar_items": ("Similar items", "相似商品"),
    "review_insights": ("What reviewers say", "评价洞察"),
    "pros": ("Pros", "优点"),
    "cons": ("Cons", "缺点"),
    "n_reviews": ("Reviews: {n}", "{n} 条评价"),
    "mean_rating": ("average {r} / 5", "平均 {r} / 5 分"),
    "write_review": ("Write a review", "写评价"),
    "rating": ("Rating", "评分"),
    "your_review": ("Your review", "你的评价"),
    "submit_review": ("Post review", "发布评价"),
    "no_reviews": ("No reviews yet: be the first.", "暂无评价，来写第一条吧。"),
    "about_item": ("About this item", "商品介绍"),
    "item_id": ("Item {id}", "商品编号 {id}"),
    "price_unknown": ("price on request", "价格待定"),
    "search_results": ("Results for “{q}”", "「{q}」的搜索结果"),
    "no_results": ("No products match “{q}”.", "没有与「{q}」匹配的商品。"),
    "n_results": ("{n} products", "{n} 件商品"),
    "home": ("Home", "首页"),
    "loading_copy": ("Writing a description…", "正在生成文案…"),
    "no_model": (
        "The recommender is still starting; recommendations appear in a moment.",
        "推荐模型正在启动，请稍候刷新。",
    ),
    "unknown_item": ("We could not find item {id}.", "找不到商品 {id}。"),
    # reasons
    "why_similar": ("Because you liked {title}", "因为你喜欢 {title}"),
    "why_similar_item": ("Often bought with {title}", "常与 {title} 一起购买"),
    "why_personalized": ("Picked from your shopping history", "根据你的购物记录推荐"),
    "why_popular": ("Popular with shoppers", "大家都在买"),
    "why_trending": ("Trending this week", "本周热门"),
    "why_repeat": ("You bought this before", "你曾购买过"),
    "why_new": ("New arrival", "新品"),
    "why_search": ("Matches your search", "与你的搜索相关"),
    # dashboard
    "dashboard": ("Dashboard", "运营看板"),
    "operator_login": ("Operator login", "运营登录"),
    "admin_key": ("Admin API key", "管理员 API 密钥"),
    "login": ("Sign in", "登录"),
    "logout": ("Sign out", "退出"),
    "login_failed": ("That key is not a valid admin key.", "该密钥不是有效的管理员密钥。"),
    "login_hint": (
        "Use TUIJIAN_ADMIN_KEY or a key from `tuijian keys create --role admin`.",
        "使用 TUIJIAN_ADMIN_KEY 或 `tuijian keys create --role admin` 生成的密钥。",
    ),
    "csrf_failed": ("The form expired; reload the page and try again.", "表单已过期，请刷新页面后重试。"),
    "overview": ("Overview", "概览"),
    "data_quality": ("Data quality", "数据质量"),
    "offline_eval": ("Offline evaluation", "离线评估"),
    "online_metrics": ("Online metrics", "在线指标"),
    "models": ("Model versions", "模型版本"),
    "api_keys": ("API keys", "API 密钥"),
    "events_per_day": ("Events per day", "每日行为数"),
    "item_popularity": ("Item popularity (rank vs events, log-log)", "商品热度（排名与行为数，双对数）"),
    "user_activity": ("Users by number of events", "按行为数统计的用户"),
    "check": ("Check", "检查项"),
    "dimension": ("Dimension", "维度"),
    "status": ("Status", "状态"),
    "value": ("Value", "数值"),
    "model": ("Model", "模型"),
    "no_evaluation": (
        "No evaluation yet. Run `tuijian demo` or start a quick evaluation here.",
        "尚无评估结果。运行 `tuijian demo` 或在此启动快速评估。",
    ),
    "run_evaluation": ("Run quick evaluation", "运行快速评估"),
    "evaluation_running": ("Evaluation running…", "评估进行中…"),
    "evaluation_of": (
        "{dataset}, protocol {protocol}, {users} users",
        "{dataset}，协议 {protocol}，{users} 个用户",
    ),
    "impressions": ("Impressions", "曝光"),
    "clicks": ("Clicks", "点击"),
    "ctr": ("CTR", "点击率"),
    "conversion": ("Conversion (purchases / clicks)", "转化率（购买 / 点击）"),
    "purchases": ("Purchases", "购买"),
    "no_feedback": (
        "No feedback logged yet: recommendations served by the API or the shop appear here.",
        "尚无反馈记录：API 或商城展示的推荐会出现在这里。",
    ),
    "per_hour": ("per hour", "按小时"),
    "per_day": ("per day", "按天"),
    "version": ("Version", "版本"),
    "created": ("Created", "创建时间"),
    "active": ("Active", "当前"),
    "served": ("Served by this worker", "本进程在用"),
    "retrain": ("Retrain now", "立即重新训练"),
    "retrain_started": (
        "Retraining started; the new version is swapped in when ready.",
        "已开始重新训练，完成后自动切换。",
    ),
    "retrain_running": ("A retrain is already running.", "已有训练任务在运行。"),
    "last_error": ("Last retrain error", "上次训练错误"),
    "key_id": ("Key id", "密钥 ID"),
    "name": ("Name", "名称"),
    "role": ("Role", "角色"),
    "revoked": ("revoked", "已吊销"),
    "live": ("live", "有效"),
    "create_key": ("Create key", "创建密钥"),
    "revoke": ("Revoke", "吊销"),
    "new_key_once": ("New key (shown once, copy it now):", "新密钥（只显示一次，请立即复制）："),
    "key_revoked": ("Key {id} revoked.", "密钥 {id} 已吊销。"),
    "no_keys": ("No API keys yet.", "还没有 API 密钥。"),
    "env_admin_note": (
        "TUIJIAN_ADMIN_KEY is also accepted as an admin key while it is set.",
        "设置 TUIJIAN_ADMIN_KEY 时，它也作为管理员密钥有效。",
    ),
    "language": ("中文", "English"),
    "events": ("Events", "行为"),
    "users": ("Users", "用户"),
    "items": ("Items", "商品"),
    "model_served": ("Model", "模型"),
    # A/B tests (tuijian.service.web.experiments_page)
    "experiments": ("A/B tests", "A/B 测试"),
    "no_experiments": (
        "No experiments yet. Create one with POST /v1/experiments or `tuijian abtest create spec.json`.",
        "尚无实验。用 POST /v1/experiments 或 `tuijian abtest create spec.json` 创建。",
    ),
    "variant": ("Variant", "实验组"),
    "exposed_users": ("Exposed users", "曝光用户"),
    "click_rate": ("Click rate (users)", "点击用户占比"),
    "revenue_per_user": ("Revenue per user", "人均收入"),
    "stop_experiment": ("Stop experiment", "停止实验"),
    "stop_rule": ("Stop rule", "停止规则"),
    "difference_ci": ("Relative difference vs control, with its interval", "相对对照组的差异及置信区间"),
    "srm": ("Sample ratio check", "样本比例检查"),
    "experiment_stopped": ("Experiment stopped.", "实验已停止。"),
}


def normalise_lang(value: str | None) -> str | None:
    """``"zh"``/``"zh-CN"``/``"中文"`` -> ``"zh"``, ``"en…"`` -> ``"en"``, anything else -> None."""
    if not value:
        return None
    v = value.strip().lower()
    if v.startswith("zh") or v == "中文":
        return "zh"
    if v.startswith("en"):
        return "en"
    return None


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The UI language: query parameter, then cookie, then the first supported Accept-Language entry."""
    for candidate in (query, cookie):
        lang = normalise_lang(candidate)
        if lang:
            return lang
    for part in (accept or "").split(","):
        lang = normalise_lang(part.split(";")[0])
        if lang:
            return lang
    return "en"


def translator(lang: str, strings: Mapping[str, tuple[str, str]] = STRINGS) -> Callable[..., str]:
    """``t(key, **fields)``: the text of ``key`` in ``lang`` with ``{fields}`` filled in."""
    col = 1 if lang == "zh" else 0

    def t(key: str, **fields: Any) -> str:
        pair = strings.get(key)
        if pair is None:
            raise KeyError(f"unknown UI string {key!r}; add it to tuijian.service.web.i18n.STRINGS")
        text = pair[col]
        return text.format(**fields) if fields else text

    return t
