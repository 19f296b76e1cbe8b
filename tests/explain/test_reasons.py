"""The fast constructors of :mod:`tuijian.explain.reasons` (:func:`new_attribution`, :func:`new_reason`)."""

from __future__ import annotations

from dataclasses import fields

from tuijian.explain.reasons import Attribution, Reason, new_attribution, new_reason


def test_fast_constructors_make_the_classes_own_objects() -> None:
    """Equal objects (and hashes, reprs) to the dataclasses' ``__init__``, for every field in order: a field added
    to either class must be added to its constructor too."""
    assert [f.name for f in fields(Attribution)] == ["feature", "value", "contribution", "kind"]
    assert [f.name for f in fields(Reason)] == ["kind", "items", "weight", "terms"]
    for args in [("sim_last1", 0.25, -1e-9, "recent"), ("user_hist_len", float("inf"), 3.0, None)]:
        fast, slow = new_attribution(*args), Attribution(*args)
        assert (
            type(fast) is Attribution
            and fast == slow
            and hash(fast) == hash(slow)
            and repr(fast) == repr(slow)
        )
    for args in [("history", (3, 1), 0.5, ()), ("content", (2,), 1 / 3, ("tea", "茶"))]:
        fast_r, slow_r = new_reason(*args), Reason(*args)  # type: ignore[arg-type]
        assert type(fast_r) is Reason and fast_r == slow_r and hash(fast_r) == hash(slow_r)
        assert repr(fast_r) == repr(slow_r)
