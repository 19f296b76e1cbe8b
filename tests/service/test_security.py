"""Security regressions of issue 11: each test failed on the code before the fix (commit 4c77fa3).

* forged admin dashboard cookie (the cookie secret fell back to a fixed public string);
* secure by default: production refuses missing or weak secrets, development warns loudly;
* storefront impersonation (the shopper picker could not be turned off);
* body cap and auth before the body is read (a 400 MB request without a key was buffered);
* rate limit per key, security headers, the OpenAPI spec's broken ``$ref``s and missing error answers;
* ``run/prometheus-<pid>`` folders left behind by crashed runs.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import ADMIN, DATASET, LiveServer, make_options, make_settings
from tuijian.exceptions import ConfigError
from tuijian.settings import Settings, load_settings

STRONG_SECRET = secrets.token_urlsafe(32)
STRONG_ADMIN = secrets.token_urlsafe(32)


def _settings(home: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "home": home,
        "database_url": f"sqlite:///{home / 'tuijian.sqlite'}",
        "dataset": DATASET,
        "admin_key": ADMIN,
        "env": "test",
    }
    base.update(kw)
    return load_settings(**base)


def _client(settings: Settings) -> Any:
    from fastapi.testclient import TestClient

    from tuijian.service.app import create_app

    return TestClient(create_app(settings, make_options()), follow_redirects=False)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no csrf field"
    return match.group(1)


# ---------------------------------------------------------------------------- 1. forged admin cookie
def test_admin_cookie_signed_with_the_old_public_default_is_refused(home: Path) -> None:
    """Default settings (development, no TUIJIAN_SECRET_KEY): a cookie signed with the once-fixed
    ``dev-insecure-secret`` no longer opens the dashboard or creates admin keys."""
    from tuijian.service.web.security import ADMIN_COOKIE, SID_COOKIE, Signer

    forger = Signer("dev-insecure-secret")
    sid = "forged-visitor-0001"
    cookies = {
        SID_COOKIE: forger.sign(sid),
        ADMIN_COOKIE: forger.sign({"key": "env", "sid": sid, "exp": time.time() + 3600}),
    }
    with _client(_settings(home, env="development")) as c:
        for name, value in cookies.items():
            c.cookies.set(name, value)
        r = c.get("/dashboard")
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.status_code
        r = c.post(
            "/dashboard/keys",
            data={"role": "admin", "name": "forged", "csrf": forger.csrf_token(sid)},
        )
        assert r.status_code in (303, 403), r.status_code
        assert not [k for k in c.app.state.tuijian.store.list_api_keys() if k.get("name") == "forged"]
        # the real secret is random, kept private in the home, and the same for every worker of that home
        secret_file = home / "run" / "secret_key"
        assert secret_file.exists() and oct(secret_file.stat().st_mode & 0o777) == "0o600"
        assert c.app.state.tuijian.settings.secret_key == secret_file.read_text().strip()
        assert len(secret_file.read_text().strip()) >= 32


def test_a_genuine_admin_login_still_works(home: Path) -> None:
    with _client(_settings(home, env="development")) as c:
        csrf = _csrf(c.get("/login").text)
        r = c.post("/login", data={"key": ADMIN, "csrf": csrf, "next": "/dashboard"})
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        assert c.get("/dashboard").status_code == 200


# ---------------------------------------------------------------------------- 2. secure by default
@pytest.mark.parametrize(
    ("secret", "admin", "reason"),
    [
        (None, STRONG_ADMIN, "TUIJIAN_SECRET_KEY is not set"),
        (STRONG_SECRET, None, "TUIJIAN_ADMIN_KEY is not set"),
        ("dev-insecure-secret", STRONG_ADMIN, "published default"),
        ("short-secret", STRONG_ADMIN, "use at least 32"),
        ("a" * 40, STRONG_ADMIN, "distinct characters"),
        (STRONG_SECRET, "test-admin-key-0123456789", "TUIJIAN_ADMIN_KEY"),
        (STRONG_SECRET, "x1" * 20, "TUIJIAN_ADMIN_KEY uses only 2 distinct"),
        (STRONG_SECRET, STRONG_SECRET, "the same value"),
    ],
    ids=[
        "no-secret",
        "no-admin-key",
        "old-default",
        "short",
        "repetitive",
        "weak-admin",
        "repetitive-admin",
        "same",
    ],
)
def test_production_refuses_missing_or_weak_secrets(
    home: Path, secret: str | None, admin: str | None, reason: str
) -> None:
    from tuijian.service.app import create_app

    settings = _settings(home, env="production", secret_key=secret, admin_key=admin)
    with pytest.raises(ConfigError, match=re.escape(reason)) as info:
        create_app(settings, make_options())
    assert "secrets.token_urlsafe(32)" in str(info.value)  # says how to fix it


def test_production_starts_with_strong_secrets(home: Path) -> None:
    with _client(_settings(home, env="production", secret_key=STRONG_SECRET, admin_key=STRONG_ADMIN)) as c:
        assert c.get("/ready").status_code == 200
        r = c.get("/v1/trending", headers={"X-API-Key": STRONG_ADMIN})
        assert r.status_code == 200
        assert c.get("/").status_code == 200
        assert c.app.state.tuijian.settings.secret_key == STRONG_SECRET


def test_development_warns_loudly(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from tuijian.service.app import create_app

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("tuijian.service")
    logger.addHandler(handler)
    try:
        create_app(_settings(home, env="development", admin_key="short"), make_options())
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "DEVELOPMENT MODE WITH INSECURE SETTINGS" in err
    assert "TUIJIAN_SECRET_KEY is not set" in err and "TUIJIAN_ADMIN_KEY is 5 characters long" in err
    warned = [r for r in records if r.levelname == "WARNING" and "insecure settings" in r.getMessage()]
    assert warned and "TUIJIAN_ADMIN_KEY is 5 characters long; use at least 32" in warned[0].problems  # type: ignore[attr-defined]


def test_uvicorn_refuses_a_production_start_without_a_secret(home: Path) -> None:
    """The real entry point (``uvicorn --factory``) exits with the reason, before it serves anything."""
    env = {
        **os.environ,
        "TUIJIAN_HOME": str(home),
        "TUIJIAN_DATABASE_URL": f"sqlite:///{home / 'tuijian.sqlite'}",
        "TUIJIAN_DATASET": DATASET,
        "TUIJIAN_ENV": "production",
        "TUIJIAN_ADMIN_KEY": STRONG_ADMIN,
    }
    env.pop("TUIJIAN_SECRET_KEY", None)
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tuijian.service.app:create_app_from_env",
        "--port",
        "0",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert "refusing to start with TUIJIAN_ENV=production" in proc.stderr
    assert "TUIJIAN_SECRET_KEY is not set" in proc.stderr


# ---------------------------------------------------------------------------- 5. storefront impersonation
def test_production_storefront_binds_the_shopper_to_the_session(home: Path) -> None:
    settings = _settings(home, env="production", secret_key=STRONG_SECRET, admin_key=STRONG_ADMIN)
    assert settings.allows_shopper_picker is False
    with _client(settings) as c:
        home_page = c.get("/")
        assert 'id="shopper-select"' not in home_page.text  # no picker
        csrf = _csrf(c.get("/items/85123A").text)  # the cart form's token
        user = str(c.app.state.tuijian.store.events_frame()["user"].iloc[0])  # a real stored shopper
        r = c.post("/shop/shopper", data={"user": user, "csrf": csrf})
        assert r.status_code == 403 and "TUIJIAN_SHOPPER_PICKER" in r.json()["detail"]
        assert 'id="shopper-name">Guest<' in c.get("/", params={"lang": "en"}).text


def test_a_picked_shopper_is_dropped_when_the_picker_is_turned_off(home: Path) -> None:
    settings = _settings(home, env="test", secret_key=STRONG_SECRET, shopper_picker=True)
    with _client(settings) as c:
        page = c.get("/").text
        user = re.findall(r'<option value="([^"]+)"', page)[1]  # the first stored shopper after "guest"
        assert c.post("/shop/shopper", data={"user": user, "csrf": _csrf(page)}).status_code == 303
        assert f'id="shopper-name">{user}<' in c.get("/").text
        c.app.state.tuijian.settings.shopper_picker = False  # e.g. restarted with the picker off
        page = c.get("/").text
        assert f'id="shopper-name">{user}<' not in page and "shopper-select" not in page


# ---------------------------------------------------------------------------- 3. body cap, auth before body
def _raw_exchange(port: int, head: bytes, body: bytes = b"", wait_s: float = 10.0) -> tuple[int, bytes]:
    """Send ``head`` (and ``body``) on a raw socket; the status and what came back within ``wait_s``."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(head + body)
        data = b""
        deadline = time.monotonic() + wait_s
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 "), f"no answer within {wait_s} s: {data[:200]!r}"
    return int(data[9:12]), data


@pytest.fixture
def live_server(home: Path) -> Iterator[LiveServer]:
    from tuijian.service.app import create_app

    with LiveServer(create_app(make_settings(home), make_options())) as server:
        yield server


def test_huge_bodies_are_refused_before_they_are_read(live_server: LiveServer) -> None:
    port = live_server.port
    for path in ("/v1/sessions/recommendations", "/v1/assistant/ask", "/v1/admin/retrain", "/v1/events"):
        # 400 MB announced, no key, and not one byte of the body sent: answered at once, nothing buffered
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {400 * 1024 * 1024}\r\n\r\n"
        ).encode()
        status, data = _raw_exchange(port, head, wait_s=5)
        assert status == 413, data[:300]
        assert b"x-content-type-options: nosniff" in data.lower()
    # chunked (no Content-Length), no key: 401 before the body is read
    head = (
        b"POST /v1/sessions/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    status, data = _raw_exchange(port, head, b"10\r\n" + b"[" * 16 + b"\r\n", wait_s=5)
    assert status == 401 and b"missing API key" in data
    # chunked with a valid key: streamed bytes are counted, and past the cap (1 MiB) the answer is 413
    head = (
        b"POST /v1/sessions/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + ADMIN.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b" " * 65536
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 20 + b"0\r\n\r\n"
    status, data = _raw_exchange(port, head, body, wait_s=10)
    assert status == 413 and b"over the limit" in data


def test_chunked_ingest_over_the_cap_is_413(home: Path) -> None:
    from tuijian.service.app import create_app

    settings = make_settings(home).model_copy(update={"max_ingest_body_bytes": 4096})
    with LiveServer(create_app(settings, make_options())) as server:
        head = (
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-API-Key: " + ADMIN.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b'{"events": [' + b" " * 3000
        body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n"
        status, data = _raw_exchange(server.port, head, body)
        assert status == 413, data[:300]


# ---------------------------------------------------------------------------- 6. missing guards
def test_rate_limit_per_key_answers_429_with_retry_after(home: Path) -> None:
    settings = make_settings(home).model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 3})
    with _client(settings) as c:
        _, read_key = c.app.state.tuijian.store.create_api_key("read")
        path = "/v1/users/12347/recommendations"  # the hot path
        codes = [c.get(path, headers={"X-API-Key": read_key}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/v1/trending", headers={"X-API-Key": read_key})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"] == "rate_limited_error" and "requests/s per API key" in r.json()["detail"]
        # another key has its own bucket
        assert c.get(path, headers={"X-API-Key": ADMIN}).status_code == 200
        assert c.get("/health").status_code == 200  # no key: not limited per key


def test_security_headers_on_every_response(client: Any) -> None:
    answers = {
        "health": client.get("/health"),
        "hot path": client.get("/v1/users/12347/recommendations"),
        "routed": client.get("/v1/trending"),
        "401": client.get("/v1/trending", headers={"X-API-Key": ""}),
        "guard 422": client.post(
            "/v1/sessions/recommendations", content=b"\xff", headers={"content-type": "application/json"}
        ),
        "404": client.get("/no/such/page"),
        "storefront": client.get("/"),
        "static": client.get("/static/web/style.css"),
    }
    for name, r in answers.items():
        assert r.headers.get("x-frame-options") == "DENY", name
        assert r.headers.get("x-content-type-options") == "nosniff", name
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, name
        assert "script-src 'self';" in csp, name  # no inline scripts on our own pages
    assert "cdn.jsdelivr.net" in client.get("/docs").headers["content-security-policy"]  # Swagger UI's CDN
    assert answers["404"].json()["error"] == "not_found"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_refs_resolve_and_errors_are_documented(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    refs = set(_refs(spec))
    assert refs, "the spec uses $refs"
    broken = sorted(
        r for r in refs if not r.startswith("#/components/schemas/") or r.split("/")[-1] not in schemas
    )
    assert not broken, broken
    for path, item in spec["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            if op.get("security"):
                for status in ("401", "403", "429"):
                    assert status in responses, (method, path, status)
                    assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith(
                        "ErrorBody"
                    )
            if "requestBody" in op:
                assert {"413", "422"} <= set(responses), (method, path)
    events = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/EventBatch"} in events["anyOf"]
    assert "ts" in schemas["EventIn"]["properties"]


def test_stale_metrics_folders_of_dead_runs_are_removed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = home / "run"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = run / f"prometheus-{dead.pid}"
    mine = run / f"prometheus-{os.getpid()}"
    live_other = run / f"prometheus-{os.getppid()}"
    unrelated = run / "prometheus-notes"
    for folder in (stale, mine, live_other, unrelated):
        folder.mkdir(parents=True)
        (folder / "counter_1.db").write_bytes(b"x")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(mine))
    with _client(make_settings(home)) as c:
        assert c.get("/health").status_code == 200
    assert not stale.exists()
    assert mine.exists() and live_other.exists() and unrelated.exists()


# ---------------------------------------------------------------------------- units
def test_rate_limiter_token_bucket() -> None:
    from tuijian.service.limits import RateLimiter

    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.take("k", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k", now=100.0) == pytest.approx(0.5)  # one token comes back every 0.5 s
    assert limiter.take("other", now=100.0) == 0.0
    assert limiter.take("k", now=100.6) == 0.0
    assert limiter.take("k", now=100.6) > 0


def test_secret_weakness() -> None:
    from tuijian.settings import secret_weakness

    assert secret_weakness(secrets.token_urlsafe(32)) is None
    assert secret_weakness(secrets.token_hex(24)) is None  # `openssl rand -hex 24`
    assert "published default" in str(secret_weakness("dev-insecure-secret"))
    assert "published default" in str(secret_weakness("CHANGEME"))
    assert "at least 32" in str(secret_weakness("Tr0ub4dor&3"))
    assert "distinct" in str(secret_weakness("ab" * 30))
