"""API-key authentication: ``X-API-Key`` header, roles admin ⊃ ingest ⊃ read.

Keys live hashed in the store. ``TUIJIAN_ADMIN_KEY`` (when set at start) is accepted
as an admin key. Verified keys are cached in memory for ``ttl_seconds`` (default 10 s)
so the hot path does not hash and query per request; a revoked key therefore stops
working within that time on every worker.
"""

from __future__ import annotations

import hmac
import threading
import time
from typing import Any

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from tuijian.exceptions import AuthError, PermissionDeniedError
from tuijian.store import Store
from tuijian.store.keys import role_allows

HEADER = "X-API-Key"


class KeyChecker:
    def __init__(
        self, store: Store, admin_key: str | None = None, ttl_seconds: float = 10.0, max_cached: int = 10_000
    ) -> None:
        self.store = store
        self.admin_key = admin_key or None
        self.ttl_seconds = ttl_seconds
        self.max_cached = max_cached
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def role_of(self, key: str) -> str | None:
        if self.admin_key and hmac.compare_digest(key.encode(), self.admin_key.encode()):
            return "admin"
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        role = self.store.verify_api_key(key)
        with self._lock:
            if len(self._cache) >= self.max_cached:
                self._cache.clear()
            self._cache[key] = (role, now + self.ttl_seconds)
        return role

    def require(self, key: str | None, role: str) -> str:
        """The caller's role; raises 401 without a valid key, 403 when the role is too weak."""
        if not key:
            raise AuthError(
                f"missing API key: send it in the {HEADER} header (create one with `tuijian keys create`)"
            )
        have = self.role_of(key)
        if have is None:
            raise AuthError("invalid or revoked API key")
        if not role_allows(have, role):
            raise PermissionDeniedError(f"this endpoint needs role {role!r}; the key has role {have!r}")
        return have


def requires(role: str) -> Any:
    """A FastAPI dependency enforcing ``role`` (shows up as an API-key scheme in /docs)."""
    scheme = APIKeyHeader(name=HEADER, auto_error=False, description="API key; roles admin > ingest > read")

    async def dependency(request: Request, key: str | None = Security(scheme)) -> str:
        # async: no thread-pool hop per request; a cache miss is one indexed read
        return request.app.state.tuijian.auth.require(key, role)

    return dependency
