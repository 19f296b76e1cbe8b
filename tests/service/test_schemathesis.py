"""Schemathesis over the service's whole OpenAPI spec: every operation, bodies included, with real keys.

The spec is read from the running app (``/openapi.json``), so a new route is fuzzed as soon as it exists.
Each operation gets positive cases (valid by the schema) and negative ones (schema-violating values, wrong
types, missing fields), sent in-process to the real app (lifespan, SQLite store, trained item-kNN) with a key
of a random role (admin, ingest or read), and half the time a real user or item id in the path. The test
asserts at least 1,000 requests in all and **no answer of 500 or more**; every failure is listed with its
curl command.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import ADMIN, make_options, make_settings

#: examples per operation and generation mode (hypothesis stops earlier when an operation has few inputs)
EXAMPLES = int(os.environ.get("TUIJIAN_SCHEMATHESIS_EXAMPLES", "45"))
MIN_REQUESTS = 1000
#: operations whose real work takes seconds: fewer examples (validation paths are what is tested there)
SLOW = {"POST /v1/admin/retrain": 12}


@pytest.fixture
def fuzz_client(home: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from tuijian.service.app import create_app

    app = create_app(make_settings(home), make_options())
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
        retrainer = c.app.state.tuijian.retrainer
        deadline = time.monotonic() + 120
        while retrainer.running and time.monotonic() < deadline:  # let a background retrain finish
            time.sleep(0.2)


def _request_kwargs(case: Any, key: str) -> dict[str, Any]:
    kw = case.as_transport_kwargs(base_url="http://testserver", headers={"X-API-Key": key})
    out: dict[str, Any] = {
        "method": kw["method"],
        "url": kw["url"],
        "headers": kw.get("headers") or {},
        "params": kw.get("params") or None,
        "cookies": kw.get("cookies") or None,
    }
    if "json" in kw:
        out["json"] = kw["json"]
    elif kw.get("data") is not None:
        data = kw["data"]
        if isinstance(data, bytes | str):
            out["content"] = data
        else:
            out["data"] = data
    return out


def test_schemathesis_finds_no_server_errors(fuzz_client: Any) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    client = fuzz_client
    store = client.app.state.tuijian.store
    keys = {
        "admin": ADMIN,
        "ingest": store.create_api_key("ingest")[1],
        "read": store.create_api_key("read")[1],
    }
    items = list(store.items_frame()["item_id"][:50])
    users = ["12347", "12348", "13047", "17850", "no-such-user"]
    spec = client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]

    sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    started = time.monotonic()

    for op in operations:
        budget = SLOW.get(op.label, EXAMPLES)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode)

            @settings(
                max_examples=budget,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(
                case=strategy,
                role=st.sampled_from(["admin", "admin", "ingest", "read"]),
                real_id=st.booleans(),
                pick=st.integers(0, 49),
            )
            def run(case: Any, role: str, real_id: bool, pick: int) -> None:
                op = case.operation
                params = case.path_parameters or {}
                if real_id and "item_id" in params and items:
                    params["item_id"] = items[pick % len(items)]
                if real_id and "user_id" in params:
                    params["user_id"] = users[pick % len(users)]
                if "/admin/retrain" in op.path and isinstance(case.body, dict) and case.body.get("wait"):
                    case.body["wait"] = pick % 4 == 0  # a real retrain takes seconds: one in four waits
                response = client.request(**_request_kwargs(case, keys[role]))
                sent[op.label] += 1
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{response.status_code} {op.label} ({role}): {response.text[:300]}\n"
                        f"  {case.as_curl_command(headers={'X-API-Key': '<' + role + '-key>'})}"
                    )

            try:
                run()
            except Exception as exc:  # schemathesis cannot build a negative case for some operations
                if mode is GenerationMode.NEGATIVE and "Unsatisfiable" in type(exc).__name__:
                    continue
                raise

    elapsed = time.monotonic() - started
    total = sum(sent.values())
    print(
        f"\nschemathesis: {total} requests over {len(sent)} operations in {elapsed:.0f} s; statuses {dict(statuses)}"
    )
    assert set(sent) == {op.label for op in operations}, "every operation was called"
    assert total >= MIN_REQUESTS, f"only {total} requests: {dict(sent)}"
    assert not failures, f"{len(failures)} server error(s) in {total} requests:\n" + "\n".join(failures[:20])
