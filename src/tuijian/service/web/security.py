"""Signed cookies and CSRF tokens for the web pages (HMAC-SHA256 with ``settings.secret_key``).

* ``tj_sid``: a random visitor id, signed. Every POST form carries ``csrf = HMAC(secret, "csrf|" + sid)``;
  a POST whose token does not match the visitor's cookie is refused (403).
* ``tj_shopper``: which shopper the storefront acts as (a user id or a guest id), signed.
* ``tj_admin``: the operator session after ``/login``: ``{"key": key_id | "env", "sid": …, "exp": …}``, signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

SID_COOKIE = "tj_sid"
SHOPPER_COOKIE = "tj_shopper"
ADMIN_COOKIE = "tj_admin"
ADMIN_SESSION_SECONDS = 8 * 3600


class Signer:
    """Sign and verify small JSON payloads: ``base64(json).base64(hmac)``."""

    def __init__(self, secret_key: str, salt: str = "tuijian-web") -> None:
        if not secret_key:
            raise ValueError(
                "secret_key must be a non-empty string (settings.secret_key / TUIJIAN_SECRET_KEY)"
            )
        self._key = hashlib.sha256(f"{salt}|{secret_key}".encode()).digest()

    def _mac(self, data: bytes) -> str:
        return _b64(hmac.new(self._key, data, hashlib.sha256).digest())

    def sign(self, payload: Any) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode())
        return f"{body}.{self._mac(body.encode())}"

    def unsign(self, token: str | None) -> Any:
        """The payload of a valid token, else None (tampered, malformed or expired via ``exp``)."""
        if not token or token.count(".") != 1:
            return None
        body, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if isinstance(payload, dict) and "exp" in payload and float(payload["exp"]) < time.time():
            return None
        return payload

    def csrf_token(self, sid: str) -> str:
        return self._mac(f"csrf|{sid}".encode())

    def check_csrf(self, sid: str | None, token: str | None) -> bool:
        return bool(sid and token) and hmac.compare_digest(self.csrf_token(str(sid)), str(token))


def new_sid() -> str:
    return secrets.token_urlsafe(18)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
