"""API keys: generation and salted hashing. Only hashes are ever stored.

A key looks like ``tj_<key_id>_<secret>``. ``key_id`` is public (shown by
``tuijian keys list``); the database keeps ``sha256(salt + secret)`` with a
random per-key salt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: roles, weakest first; a role may do everything the roles before it may
ROLES: tuple[str, ...] = ("read", "ingest", "admin")


def role_allows(role: str, required: str) -> bool:
    """Whether ``role`` includes ``required`` (admin ⊃ ingest ⊃ read)."""
    return role in ROLES and required in ROLES and ROLES.index(role) >= ROLES.index(required)


def new_key() -> tuple[str, str, str]:
    """A fresh ``(key_id, secret, plaintext_key)``."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    return key_id, secret, f"tj_{key_id}_{secret}"


def split_key(key: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else None."""
    if not key.startswith("tj_"):
        return None
    key_id, sep, secret = key[3:].partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def check_secret(secret: str, salt: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt), key_hash)
