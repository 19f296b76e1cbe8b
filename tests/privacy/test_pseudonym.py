"""Keyed pseudonyms: stable per key, different across keys, not the id, identity when off."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np

from tuijian.privacy.audit import actor_from_key
from tuijian.privacy.pseudonym import Pseudonymizer


def test_pseudonyms_are_keyed_hmacs() -> None:
    p = Pseudonymizer("k" * 40)
    expected = "ps_" + hmac.new(b"k" * 40, b"12346", hashlib.sha256).hexdigest()[:32]
    assert p("12346") == expected == p("12346") != p("12347")
    assert Pseudonymizer("j" * 40)("12346") != expected
    assert p("用户-1").startswith("ps_") and len(p("x" * 128)) == 35
    assert p.enabled and p.fingerprint() != Pseudonymizer("j" * 40).fingerprint()
    assert "k" * 10 not in repr(p)


def test_many_matches_one_by_one() -> None:
    p = Pseudonymizer(b"secret-key-for-pseudonyms-0123456789")
    ids = np.array(["a", "b", "a", "c"], dtype=object)
    assert p.many(ids).tolist() == [p(u) for u in ids]


def test_off_is_the_identity() -> None:
    p = Pseudonymizer(None)
    assert not p.enabled and p("u1") == "u1" and p.fingerprint() is None
    assert p.many(["a", "b"]).tolist() == ["a", "b"]


def test_audit_actor_never_holds_the_secret() -> None:
    assert actor_from_key("tj_abc123_SECRETPART", None) == "key:abc123"
    assert actor_from_key("admin-secret-value", "admin-secret-value") == "admin-key"
    assert actor_from_key(None) == "anonymous" and actor_from_key("garbage") == "unknown-key"
