"""The storefront and the dashboard in headless Chromium against a real uvicorn server (issue 6).

Screenshots land in docs/screenshots/ (storefront, product page and dashboard, in English and Chinese).
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from tests.service.web.conftest import ConsoleErrors, WebServer, screenshot
from tuijian.service.web.storefront import ROW_K

pytestmark = pytest.mark.browser


def row_items(page: Any, row: str) -> list[str]:
    return page.eval_on_selector_all(f"#row-{row} .card", "cards => cards.map(c => c.dataset.item)")


def wait_copy(page: Any) -> None:
    page.wait_for_selector("body[data-copy-ready]", timeout=20_000)


def login(page: Any, server: WebServer) -> None:
    page.goto("/login")
    page.fill("#key", server.admin_key)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/dashboard"))


def test_shopper_journey_changes_recommendations(
    browser_page: tuple[Any, ConsoleErrors], web_server: WebServer
) -> None:
    page, errors = browser_page
    page.goto("/?lang=en")
    assert page.locator("#row-recs h2").inner_text() == "Recommended for you"
    # sign in as a real customer from the picker (the first one listed after "guest")
    user = page.eval_on_selector("#shopper-select", "s => s.options[1].value")
    page.select_option("#shopper-select", user)
    page.wait_for_function("u => document.querySelector('#shopper-name').textContent === u", arg=user)
    wait_copy(page)
    before = row_items(page, "recs")
    assert len(before) == ROW_K, before
    assert page.locator("#row-trending .card").count() == ROW_K
    # every card has a title, a price, generated copy and a "why" line
    first = page.locator("#row-recs .card").first
    assert first.locator(".card-title").inner_text().strip()
    assert re.match(r"£\d", first.locator(".price").inner_text())
    assert len(first.locator(".copy").inner_text().strip()) > 20
    assert first.locator(".why").inner_text().strip()
    screenshot(page, "storefront-en.png")

    # click the first recommendation, add it to the cart, buy it
    clicked = before[0]
    page.locator("#row-recs .card a.card-link").first.click()
    page.wait_for_url(re.compile(rf"/items/{re.escape(clicked)}\?rid="))
    assert page.locator("#description").inner_text().strip()
    page.click("#add-to-cart")
    page.wait_for_selector("#flash")
    assert page.locator("#cart-count").inner_text() == "1"
    page.click("#buy-now")
    page.wait_for_url(re.compile(r"done=bought"))
    assert page.locator("#cart-count").inner_text() == "0"
    wait_copy(page)
    screenshot(page, "item-en.png")

    # back home: the recommendations reflect the purchase
    page.goto("/")
    wait_copy(page)
    after = row_items(page, "recs")
    assert after != before
    assert clicked not in after  # bought items are excluded
    because = page.locator("#row-because h2").inner_text()
    title = page.evaluate(
        "id => fetch('/items/' + id).then(r => r.text()).then(t => /id=\"item-title\">([^<]+)/.exec(t)[1])",
        clicked,
    )
    assert because == f"Because you bought {title}"
    assert errors.messages == []
    # the served row's request id carries the whole funnel: impression -> click -> add_to_cart -> purchase
    from tuijian.store import open_store

    store = open_store(f"sqlite:///{web_server.home / 'tuijian.sqlite'}", migrate=False)
    try:
        fb = store.feedback_frame()
    finally:
        store.close()
    click = fb[(fb["event"] == "click") & (fb["item"] == clicked) & (fb["user"] == user)]
    assert len(click) == 1 and click["request_id"].iloc[0].endswith("-recs")
    funnel = fb[(fb["request_id"] == click["request_id"].iloc[0]) & (fb["item"] == clicked)]
    assert sorted(funnel["event"]) == ["add_to_cart", "click", "impression", "purchase"], funnel

    # the same page in Chinese
    page.goto("/?lang=zh")
    wait_copy(page)
    assert page.locator("#row-recs h2").inner_text() == "为你推荐"
    assert page.locator("#row-trending h2").inner_text() == "热门趋势"
    screenshot(page, "storefront-zh.png")
    page.locator("#row-recs .card a.card-link").first.click()
    wait_copy(page)
    screenshot(page, "item-zh.png")
    assert errors.messages == []


def test_search_feeds_recommendations(browser_page: tuple[Any, ConsoleErrors]) -> None:
    page, errors = browser_page
    page.goto("/?lang=en")
    page.fill("input[name=q]", "heart")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/search\?q=heart"))
    titles = page.eval_on_selector_all("#search-results .card-title", "ts => ts.map(t => t.textContent)")
    assert titles and all("heart" in t.lower() for t in titles)
    page.goto("/")
    assert page.locator("#row-search h2").inner_text() == "Inspired by your search “heart”"
    assert page.locator("#row-search .card").count() >= 4
    assert errors.messages == []


def test_dashboard_redirects_to_login_without_session(
    browser_page: tuple[Any, ConsoleErrors], web_server: WebServer
) -> None:
    r = httpx.get(web_server.url + "/dashboard", follow_redirects=False)
    assert r.status_code in (303, 307)
    assert r.headers["location"].startswith("/login")
    page, _ = browser_page
    page.goto("/dashboard")
    assert "/login" in page.url
    page.fill("#key", "not-a-key")
    page.click("#login-submit")
    assert page.locator("#login-error").is_visible()
    # a forged session cookie is not a session
    page.context.add_cookies([{"name": "tj_admin", "value": "e30.forged", "url": web_server.url}])
    page.goto("/dashboard")
    assert "/login" in page.url


def test_dashboard_charts_retrain_and_keys(
    browser_page: tuple[Any, ConsoleErrors], web_server: WebServer
) -> None:
    page, errors = browser_page
    page.goto("/?lang=en")  # serves recommendations: impressions for the online metrics
    page.locator("#row-trending .card a.card-link").first.click()  # and a click
    time.sleep(0.6)  # impressions are flushed every 0.25 s
    login(page, web_server)
    page.wait_for_selector("body[data-charts-ready]")
    charts = page.evaluate(
        """() => Object.fromEntries(Object.entries(window.tuijianCharts).map(([id, c]) => [id,
             c.data.datasets.map(d => d.data.map(v => (v !== null && typeof v === 'object') ? v.y : v)
                                              .filter(v => typeof v === 'number' && v > 0).length)]))"""
    )
    expected = [
        "chart-events-per-day",
        "chart-item-popularity",
        "chart-user-activity",
        "chart-eval-ndcg-10",
        "chart-eval-recall-10",
        "chart-eval-coverage-10",
        "chart-eval-diversity-10",
        "chart-eval-novelty-10",
        "chart-online-volume",
        "chart-online-rates",
    ]
    for chart_id in expected:
        assert chart_id in charts, f"{chart_id} missing; charts: {sorted(charts)}"
        assert charts[chart_id][0] > 0, f"{chart_id} has no positive data points: {charts[chart_id]}"
    assert page.locator("#evaluation-table tbody tr").count() == 2  # popularity, item-knn
    assert errors.messages == []
    screenshot(page, "dashboard-en.png")

    page.goto("/dashboard?lang=zh")
    page.wait_for_selector("body[data-charts-ready]")
    assert "数据质量" in page.locator("#quality h2").inner_text()
    screenshot(page, "dashboard-zh.png")
    page.goto("/dashboard?lang=en")

    # retrain: a new version becomes active and is served
    n_versions = page.locator("#models-table tbody tr").count()
    page.click("#retrain")
    page.wait_for_selector("#flash")
    deadline = time.monotonic() + 60
    while page.locator("#models-table tbody tr").count() <= n_versions and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    assert page.locator("#models-table tbody tr").count() == n_versions + 1

    # API keys: create a read key, use it on the API, revoke it
    page.goto("/dashboard/keys")
    page.fill("#create-key input[name=name]", "browser-test")
    page.select_option("#create-key select[name=role]", "read")
    page.click("#create-key button")
    key = page.locator("#new-key").inner_text().strip()
    assert key.startswith("tj_")
    r = httpx.get(web_server.url + "/v1/trending?k=3", headers={"X-API-Key": key})
    assert r.status_code == 200 and len(r.json()["items"]) == 3
    key_id = key.split("_")[1]
    page.locator(f"tr[data-key='{key_id}'] button").click()
    assert "revoked" in page.locator(f"tr[data-key='{key_id}']").inner_text().lower()
    assert errors.messages == []


def test_review_becomes_insights(browser_page: tuple[Any, ConsoleErrors]) -> None:
    page, errors = browser_page
    page.goto("/?lang=en")
    page.locator("#row-trending .card a.card-link").nth(2).click()
    assert "No reviews yet" in page.locator("#review-insights").inner_text()
    page.click("#review-insights summary")
    page.select_option("#review-insights select[name=rating]", "4")
    page.fill("#review-insights textarea", "Lovely quality and a great price, but the size is too small.")
    page.click("#review-insights button[type=submit]")
    page.wait_for_url(re.compile(r"done=review"))
    block = page.locator("#review-insights")
    assert "Reviews: 1" in block.inner_text() and "average 4.0 / 5" in block.inner_text()
    pros = page.locator("#review-insights .proscons > div").nth(0).inner_text()
    cons = page.locator("#review-insights .proscons > div").nth(1).inner_text()
    assert "quality: Lovely quality and a great price" in pros
    assert "size: the size is too small" in cons
    assert errors.messages == []
    page.wait_for_selector("body[data-copy-ready]")
    screenshot(page, "item-reviews-en.png")


def chart_ids(page: Any) -> list[str]:
    return page.evaluate("() => Object.keys(window.tuijianCharts || {})")


def test_experiment_and_explain_pages_draw_their_charts(
    browser_page: tuple[Any, ConsoleErrors], web_server: WebServer
) -> None:
    page, errors = browser_page
    headers = {"X-API-Key": web_server.admin_key}
    spec = {"name": "browser", "variants": [{"name": "A"}, {"name": "B", "strategy": "trending"}]}
    r = httpx.post(web_server.url + "/v1/experiments", json=spec, headers=headers)
    assert r.status_code < 300, r.text
    eid = r.json()["id"]
    try:
        for i in range(30):
            got = httpx.get(
                f"{web_server.url}/v1/users/browser-user-{i}/recommendations?k=3", headers=headers
            )
            assert got.status_code == 200, got.text
        time.sleep(1.0)  # exposures and impressions are flushed every 0.25 s
        login(page, web_server)
        page.goto("/dashboard/experiments")
        page.wait_for_function("() => window.tuijianCharts && window.tuijianCharts['chart-diffs']")
        assert {"chart-exposures", "chart-rates", "chart-diffs"} <= set(chart_ids(page))
    finally:
        httpx.post(f"{web_server.url}/v1/experiments/{eid}/stop", headers=headers)
    page.goto("/dashboard/explain")
    page.wait_for_function("() => window.tuijianCharts && window.tuijianCharts['chart-lorenz']")
    assert {"chart-lorenz", "chart-deciles"} <= set(chart_ids(page))
    assert errors.messages == []
