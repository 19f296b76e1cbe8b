"""``/dashboard/explain`` (issue 14): the exposure audit of the logged lists (per model version, with plot data)
and one user's explanations with reasons; admin only."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.service.conftest import ADMIN


def _login(client: Any) -> None:
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    r = client.post("/login", data={"key": ADMIN, "csrf": csrf.group(1), "next": "/dashboard/explain"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code in (302, 303), r.text


def test_explain_page_needs_an_admin_session(client: Any) -> None:
    r = client.get("/dashboard/explain", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")


def test_exposure_audit_and_attributions(client: Any) -> None:
    from tuijian.data.datasets import load_dataset

    users = load_dataset("online-retail-demo").events["user"].astype(str).unique()[:30]
    for u in users:
        assert client.get(f"/v1/users/{u}/recommendations", params={"k": 10}).status_code == 200
    _login(client)
    deadline = time.monotonic() + 30
    while True:  # impression lists are written by a background flusher
        page = client.get("/dashboard/explain", params={"lang": "en", "user": users[0]})
        assert page.status_code == 200
        if 'id="exposure-table"' in page.text or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    html = page.text
    assert 'id="exposure-table"' in html and "model item-knn:v" in html
    data = json.loads(
        re.search(r'<script type="application/json" id="dash-data">(.*?)</script>', html, re.S).group(1)
    )
    group = data["groups"][0]
    assert data["lorenz"][group]["y"][-1] == 1.0 and len(data["deciles"][group]["exposure"]) == 10
    assert 'id="explain-table"' in html and html.count("Because you bought") >= 5
    assert 'id="no-attributions"' in html  # item-kNN has no ranker: its reasons are exact score terms
