"""Keyed pseudonyms for user ids: ``ps_`` + the first 32 hex digits of HMAC-SHA256(key, user id).

The same id always maps to the same pseudonym under one key, so a user's events stay linked and the
service can look a user up by the id the shop sends (it hashes the incoming id the same way). Without
the key the pseudonym cannot be reversed or recomputed, and the original id is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import numpy as np

PREFIX = "ps_"
_HEX = 32  # 128 bits: collisions are negligible below ~10^18 users
_CHECK = b"tuijian pseudonym key check v1"


class Pseudonymizer:
    """``p(user_id) -> stored id``; the identity when ``key`` is None (pseudonymisation off)."""

    def __init__(self, key: str | bytes | None = None) -> None:
        self._key = key.encode() if isinstance(key, str) else key

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def __call__(self, user_id: str) -> str:
        if self._key is None:
            return user_id
        digest = hmac.new(self._key, str(user_id).encode("utf-8", "surrogatepass"), hashlib.sha256)
        return PREFIX + digest.hexdigest()[:_HEX]

    def __repr__(self) -> str:
        return f"Pseudonymizer(enabled={self.enabled})"

    def many(self, user_ids: Iterable[str] | np.ndarray) -> np.ndarray:
        """Pseudonyms of many ids (object array), hashing each distinct id once."""
        values = np.asarray(
            list(user_ids) if not isinstance(user_ids, np.ndarray) else user_ids, dtype=object
        )
        if self._key is None:
            return values
        cache: dict[str, str] = {}
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            p = cache.get(v)
            if p is None:
                p = cache[v] = self(v)
            out[i] = p
        return out

    def fingerprint(self) -> str | None:
        """A public check value of the key (stored with the data, so a wrong key is refused)."""
        if self._key is None:
            return None
        return hmac.new(self._key, _CHECK, hashlib.sha256).hexdigest()[:32]
