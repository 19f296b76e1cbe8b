"""AES-256-GCM encryption of personal fields, with a keyring of named keys for rotation.

A keyring is written ``kid:base64key[,kid:base64key...]`` (``TUIJIAN_PII_KEYS``); the **first** key
encrypts every new value, every key listed decrypts. A ciphertext names its key::

    v1:<kid>:<base64(12-byte nonce || ciphertext || 16-byte tag)>

and is bound to where it is stored by the associated data (for a user profile, the stored user id), so a
value copied onto another row does not decrypt. Rotating: put a new key first (``tuijian privacy new-key``),
keep the old ones after it, run ``tuijian privacy rotate-key`` (re-encrypts every value with the first key),
then drop the old keys.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

from tuijian.exceptions import ConfigError, StorageError

#: the personal fields encrypted when a user profile carries them
PII_FIELDS: tuple[str, ...] = ("email", "name", "address")
VERSION = "v1"
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_NONCE = 12


def _aesgcm(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


@dataclass(frozen=True)
class Keyring:
    """Named AES-256 keys, the current (encrypting) one first."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigError("a keyring needs at least one key")
        seen: set[str] = set()
        for kid, key in self.keys:
            if not _KID.match(kid):
                raise ConfigError(f"key id {kid!r} must be 1-32 characters of A-Z a-z 0-9 _ . -")
            if kid in seen:
                raise ConfigError(f"key id {kid!r} appears twice in the keyring")
            if len(key) != 32:
                raise ConfigError(f"key {kid!r} is {len(key)} bytes; AES-256 keys are 32 bytes")
            seen.add(kid)

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(current={self.current_id!r}, ids={self.ids!r})"

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """``kid:base64key[,kid:base64key...]`` (whitespace ignored); the first key encrypts."""
        keys = []
        for n, part in enumerate(p.strip() for p in text.split(",")):
            if not part:
                continue
            kid, sep, b64 = part.partition(":")
            if not sep:
                raise ConfigError(
                    f"TUIJIAN_PII_KEYS entry {n} has no key id: expected 'kid:base64key' "
                    "(make one with `tuijian privacy new-key`)"
                )
            try:
                key = base64.b64decode(b64.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise ConfigError(f"TUIJIAN_PII_KEYS key {kid.strip()!r} is not valid base64") from None
            keys.append((kid.strip(), key))
        return cls(tuple(keys))

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.keys)

    def _key(self, kid: str) -> bytes:
        for k, key in self.keys:
            if k == kid:
                return key
        raise StorageError(
            f"a stored value is encrypted with key {kid!r}, which is not in TUIJIAN_PII_KEYS "
            f"(it holds {list(self.ids)}); add that key back to decrypt it"
        )

    def encrypt(self, plaintext: bytes, associated: bytes) -> str:
        """A ``v1:<kid>:<base64>`` token of ``plaintext`` under the current key."""
        kid, key = self.keys[0]
        nonce = os.urandom(_NONCE)
        sealed = _aesgcm(key).encrypt(nonce, plaintext, associated)
        return f"{VERSION}:{kid}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, associated: bytes) -> bytes:
        """The plaintext of a token; :class:`StorageError` when it is malformed, tampered or keyless."""
        from cryptography.exceptions import InvalidTag

        kid = key_id_of(token)
        blob = base64.b64decode(token.split(":", 2)[2])
        try:
            return bytes(_aesgcm(self._key(kid)).decrypt(blob[:_NONCE], blob[_NONCE:], associated))
        except InvalidTag:
            raise StorageError(
                f"a value encrypted with key {kid!r} does not decrypt: wrong key material or altered data"
            ) from None


def key_id_of(token: str) -> str:
    """The key id a ``v1:<kid>:...`` token was encrypted with."""
    parts = token.split(":", 2)
    if len(parts) != 3 or parts[0] != VERSION or not parts[1]:
        raise StorageError(f"not an encrypted value (expected '{VERSION}:<kid>:<data>')")
    return parts[1]


def new_key_spec(kid: str | None = None) -> str:
    """A fresh ``kid:base64key`` entry for ``TUIJIAN_PII_KEYS`` (kid defaults to ``k`` + 8 hex digits)."""
    kid = kid or f"k{secrets.token_hex(4)}"
    if not _KID.match(kid):
        raise ConfigError(f"key id {kid!r} must be 1-32 characters of A-Z a-z 0-9 _ . -")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def split_pii(attributes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(attributes without personal fields, the personal fields)`` (see :data:`PII_FIELDS`)."""
    pii = {k: attributes[k] for k in PII_FIELDS if k in attributes and attributes[k] is not None}
    rest = {k: v for k, v in attributes.items() if k not in PII_FIELDS}
    return rest, pii
