"""The AES-GCM keyring: parsing, round trips, binding to the row, tampering, missing keys."""

from __future__ import annotations

import base64

import pytest

from tuijian.exceptions import ConfigError, StorageError
from tuijian.privacy.crypto import Keyring, key_id_of, new_key_spec, split_pii


def test_round_trip_and_token_format() -> None:
    ring = Keyring.parse(new_key_spec("a"))
    token = ring.encrypt(b"ann@example.com", b"row-1")
    assert token.startswith("v1:a:") and key_id_of(token) == "a" and b"ann" not in token.encode()
    assert ring.decrypt(token, b"row-1") == b"ann@example.com"
    assert ring.encrypt(b"same", b"r") != ring.encrypt(b"same", b"r")  # a fresh nonce every time
    assert "a" in repr(ring) and base64.b64encode(ring.keys[0][1]).decode() not in repr(ring)


def test_bound_to_its_row_and_tamper_evident() -> None:
    ring = Keyring.parse(new_key_spec("a"))
    token = ring.encrypt(b"secret", b"user-1")
    with pytest.raises(StorageError, match="does not decrypt"):
        ring.decrypt(token, b"user-2")
    blob = bytearray(base64.b64decode(token.split(":", 2)[2]))
    blob[-1] ^= 1
    with pytest.raises(StorageError, match="altered"):
        ring.decrypt("v1:a:" + base64.b64encode(bytes(blob)).decode(), b"user-1")
    with pytest.raises(StorageError, match="not an encrypted value"):
        ring.decrypt("plain text", b"user-1")


def test_rotation_order_and_missing_keys() -> None:
    old, new = new_key_spec("old"), new_key_spec("new")
    token = Keyring.parse(old).encrypt(b"x", b"r")
    both = Keyring.parse(f" {new} , {old} ")
    assert both.current_id == "new" and both.ids == ("new", "old")
    assert both.decrypt(token, b"r") == b"x" and key_id_of(both.encrypt(b"x", b"r")) == "new"
    with pytest.raises(StorageError, match="key 'old', which is not in TUIJIAN_PII_KEYS"):
        Keyring.parse(new).decrypt(token, b"r")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one key"),
        ("nokeyid", "has no key id"),
        ("a:!!!", "not valid base64"),
        ("a:" + base64.b64encode(b"short").decode(), "5 bytes; AES-256 keys are 32 bytes"),
        ("bad id:" + base64.b64encode(bytes(32)).decode(), "must be 1-32 characters"),
    ],
)
def test_bad_keyrings_are_explained(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Keyring.parse(text)


def test_duplicate_key_ids_refused() -> None:
    spec = new_key_spec("a")
    with pytest.raises(ConfigError, match="appears twice"):
        Keyring.parse(f"{spec},{spec}")


def test_split_pii() -> None:
    rest, pii = split_pii({"email": "e", "name": None, "address": "x", "country": "UK"})
    assert rest == {"country": "UK"} and pii == {"email": "e", "address": "x"}
