"""The guard in front of the service: security headers, per-key rate limits, body caps, early auth, strict JSON.

:class:`Guard` is a pure ASGI layer, the outermost one, so it sees every request before anything reads a body:

* every response gets ``Content-Security-Policy``, ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``
  and ``Referrer-Policy`` (the hot path's answers included);
* requests that carry an ``X-API-Key`` are rate limited per key (token bucket per worker process):
  ``429`` with ``Retry-After`` when the bucket is empty;
* a body is capped (``max_body_bytes``; ``max_ingest_body_bytes`` for the four ingestion routes): a
  ``Content-Length`` over the cap is refused with ``413`` before a byte is read, and streamed bytes are counted
  so a chunked upload cannot get past the cap either;
* a ``/v1`` request with a body and no valid key is refused with ``401`` before its body is read;
* a JSON body (outside the ingestion routes, which parse their bodies themselves with :func:`loads_strict`) is
  checked before the framework parses it: UTF-8, valid JSON, no ``NaN``/``Infinity``, no lone surrogates,
  nesting at most :data:`MAX_JSON_DEPTH` deep. Each refusal is a 4xx whose ``detail`` says what was wrong.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from typing import Any

from tuijian.exceptions import AuthError, DataError, TuijianError
from tuijian.service.errors import PayloadTooLargeError, RateLimitedError, error_body, status_for

log = logging.getLogger("tuijian.service")

#: JSON nesting deeper than this is refused (no request body of the API needs more than 4 levels)
MAX_JSON_DEPTH = 32
#: routes that read their (large, batched) JSON bodies themselves with :func:`loads_strict`
INGEST_PATHS = frozenset({"/v1/events", "/v1/items", "/v1/users", "/v1/feedback"})
#: methods that carry a body
BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})

#: the pages' policy: own scripts, styles and images only (inline ``style=""`` attributes are used for colours)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from a CDN and start them with an inline script
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


def security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]


_HEADERS = security_headers(CSP)
_DOCS_HEADERS = security_headers(DOCS_CSP)


# ---------------------------------------------------------------------------- strict JSON
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (send a finite number or null)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range (send a finite number)")
    return value


def _check_tree(value: Any) -> None:
    """Depth and lone-surrogate check of a parsed JSON value, iteratively (no recursion limit to hit)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not node.isascii():
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError:
                    raise DataError(
                        "request body has a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair); "
                        "send valid Unicode text"
                    ) from None
            continue
        if isinstance(node, dict):
            children: Any = list(node.keys()) + list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise DataError(f"request body nests JSON more than {MAX_JSON_DEPTH} levels deep; flatten it")
        stack.extend((child, depth + 1) for child in children)


def loads_strict(body: bytes) -> Any:
    """Parse a JSON request body, refusing what the standard library would let through.

    Raises :class:`DataError` (422) naming the problem: not UTF-8, not JSON, ``NaN``/``Infinity`` or an
    out-of-range number, an integer of more than 4,300 digits, nesting deeper than :data:`MAX_JSON_DEPTH`,
    or a lone surrogate escape (which no database or JSON encoder can store).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"request body is not UTF-8 (invalid byte at offset {exc.start}); send JSON encoded as UTF-8"
        ) from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise DataError(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise DataError(
            f"request body nests JSON more than {MAX_JSON_DEPTH} levels deep; flatten it"
        ) from None
    except ValueError as exc:  # NaN/Infinity, huge numbers, integers over 4,300 digits
        raise DataError(f"request body is not acceptable JSON: {exc}") from None
    brackets = text.count("[") + text.count("{")
    if brackets > MAX_JSON_DEPTH or _SURROGATE_ESCAPE.search(text) is not None:
        _check_tree(value)
    return value


# ---------------------------------------------------------------------------- rate limit
class RateLimiter:
    """Token buckets per key: ``rate`` requests a second on average, bursts of ``burst``; thread-safe."""

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = float(rate)
        self.burst = float(max(burst, 1))
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0.0 when the request may go ahead, else the seconds to wait before the next one will."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                if len(self._buckets) >= self.max_keys and key not in self._buckets:
                    self._buckets.clear()  # unbounded distinct keys (random junk): forget them all
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


# ---------------------------------------------------------------------------- the ASGI layer
class _BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes the cap (the guard then answers 413)."""


class Guard:
    """Pure ASGI middleware; see the module docstring. ``state`` is the app's ``ServiceState``."""

    def __init__(self, app: Any, state: Any) -> None:
        settings = state.settings
        self.app = app
        self.state = state
        self.max_body = int(settings.max_body_bytes)
        self.max_ingest_body = int(settings.max_ingest_body_bytes)
        rate = float(settings.rate_limit_per_second)
        self.limiter = RateLimiter(rate, int(settings.rate_limit_burst)) if rate > 0 else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _DOCS_HEADERS if scope["path"] in DOCS_PATHS else _HEADERS

        async def send_secure(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":  # the app never sets these headers itself
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        key = content_type = length = None
        for name, value in scope.get("headers", ()):
            if name == b"x-api-key":
                key = value.decode("latin-1")
            elif name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
        try:
            if key and self.limiter is not None:
                wait = self.limiter.take(key)
                if wait > 0:
                    raise RateLimitedError(
                        f"rate limit of {self.limiter.rate:g} requests/s per API key exceeded; "
                        f"retry after {math.ceil(wait)} s",
                        retry_after=wait,
                    )
            if scope.get("method", "").encode() not in BODY_METHODS:
                await self.app(scope, receive, send_secure)
                return
            path = scope["path"]
            ingest = path in INGEST_PATHS
            cap = self.max_ingest_body if ingest else self.max_body
            if length is not None:
                try:
                    declared = int(length)
                except ValueError:
                    raise DataError(f"Content-Length {length[:40]!r} is not a number") from None
                if declared > cap:
                    raise PayloadTooLargeError(
                        f"request body is {declared} bytes; the limit for {path} is {cap} bytes"
                        + (": split the batch" if ingest else "")
                    )
            if path.startswith("/v1/"):
                self._authenticate(key)
        except TuijianError as exc:
            await self._refuse(scope, send_secure, exc)
            return

        if not ingest and (content_type is None or b"json" in content_type.lower()):
            try:
                body = await self._read(receive, cap, path)
                if body:
                    loads_strict(body)
            except TuijianError as exc:
                await self._refuse(scope, send_secure, exc)
                return
            await self.app(scope, _replay(body, receive), send_secure)
            return
        await self._counted(scope, receive, send_secure, cap, path)

    def _authenticate(self, key: str | None) -> None:
        """401 before the body is read (the route checks the role again, with its own 403)."""
        auth = self.state.auth
        if auth is None:
            return
        if not key:
            raise AuthError(
                "missing API key: send it in the X-API-Key header (create one with `tuijian keys create`)"
            )
        if auth.role_of(key) is None:
            raise AuthError("invalid or revoked API key")

    @staticmethod
    async def _read(receive: Any, cap: int, path: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise PayloadTooLargeError(f"request body is over the limit of {cap} bytes for {path}")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _counted(self, scope: dict[str, Any], receive: Any, send: Any, cap: int, path: str) -> None:
        """Run the app with a ``receive`` that counts bytes; past the cap the answer becomes 413."""
        seen = 0
        over = False
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    over = True
                    raise _BodyTooLarge
            return dict(message)

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started
            if over:
                return  # the app's own error answer is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not over:
                raise
        if over and not started:
            exc = PayloadTooLargeError(f"request body is over the limit of {cap} bytes for {path}")
            await self._refuse(scope, send, exc)

    async def _refuse(self, scope: dict[str, Any], send: Any, exc: TuijianError) -> None:
        status = status_for(exc)
        rid = next(
            (v.decode("latin-1")[:64] for k, v in scope.get("headers", ()) if k == b"x-request-id"),
            uuid.uuid4().hex[:16],
        )
        body = json.dumps(error_body(exc, rid), ensure_ascii=True).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        if status == 401:
            headers.append((b"www-authenticate", b"ApiKey"))
        if isinstance(exc, RateLimitedError):
            headers.append((b"retry-after", str(max(1, math.ceil(exc.retry_after))).encode()))
        if status >= 413:
            log.info(
                "request refused", extra={"status": status, "path": scope.get("path"), "request_id": rid}
            )
        metrics = getattr(self.state, "metrics", None)
        if metrics is not None:
            metrics.requests.labels(route="(guard)", method=scope.get("method", ""), status=str(status)).inc()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands the already-read body to the app, then waits on the real one."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay
