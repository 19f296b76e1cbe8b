"""The A/B tests dashboard page: login required, the report and its plots' data, the stop button."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.service.conftest import ADMIN


def _login(client: Any) -> str:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login", data={"key": ADMIN, "csrf": csrf, "next": "/dashboard/experiments"}, follow_redirects=False
    )
    assert r.status_code == 303
    return csrf


def test_page_needs_an_admin_session(client: Any) -> None:
    r = client.get("/dashboard/experiments", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_page_shows_the_report_with_plots_and_stops(client: Any) -> None:
    csrf = _login(client)
    assert "No experiments yet" in client.get("/dashboard/experiments").text
    spec = {"name": "page", "variants": [{"name": "A"}, {"name": "B", "strategy": "trending"}]}
    eid = client.post("/v1/experiments", json=spec).json()["id"]
    for i in range(60):
        body = client.get(f"/v1/users/page-user-{i}/recommendations", params={"k": 3}).json()
        if i % 2:
            client.post(
                "/v1/feedback",
                json={
                    "request_id": body["request_id"],
                    "item": body["items"][0]["item_id"],
                    "event": "click",
                },
            )
    client.app.state.tuijian.extras["experiments"].flush()
    client.app.state.tuijian.impressions.flush()
    html = client.get("/dashboard/experiments").text
    assert eid in html and 'id="chart-exposures"' in html and "/static/web/experiments.js" in html
    data = json.loads(
        re.search(r'<script type="application/json" id="dash-data">(.*?)</script>', html, re.S).group(1)
    )
    assert data["variants"] == ["A", "B"]
    assert sum(series[-1] for series in data["timeline"]["series"].values()) == 60
    assert (
        "click_rate" in data["diffs"]
        and data["diffs"]["click_rate"][0]["low"] <= data["diffs"]["click_rate"][0]["high"]
    )
    assert client.get("/static/web/experiments.js").status_code == 200
    r = client.post(
        "/dashboard/experiments/stop", data={"experiment_id": eid, "csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get(f"/v1/experiments/{eid}").json()["status"] == "stopped"
    assert (
        client.post("/dashboard/experiments/stop", data={"experiment_id": eid, "csrf": "bad"}).status_code
        == 403
    )
