"""Response bodies of the hot recommendation endpoints, written straight to JSON bytes.

A response is ``{"request_id", "model_version", "source", <extra>, "items": [...]}``; every item entry is the
item's static catalogue part (pre-encoded once per snapshot, :attr:`Catalog.fragments`) plus its score and
reason codes. The bytes parse to exactly what ``fastapi.responses.JSONResponse`` would send for the equivalent dict
(``tests/service/test_encode.py`` checks this); only the spelling of scores differs (``0.500000``, not ``0.5``).
Building them directly skips a dict per item and the generic encoder, the largest per-request cost after the
framework itself.
"""

from __future__ import annotations

import json
from typing import Any

from tuijian.service.snapshot import Snapshot

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_REASONS: dict[Any, bytes] = {}
_MAX_CACHED = 50_000


def _reasons(reasons: list[str]) -> bytes:
    """``,"reasons":[...]}``: the end of an item entry (cached: most lists are one of a few strings)."""
    key: Any = reasons[0] if len(reasons) == 1 else tuple(reasons)
    hit = _REASONS.get(key)
    if hit is None:
        hit = b',"reasons":' + _dumps(reasons).encode() + b"}"
        if len(_REASONS) >= _MAX_CACHED:
            _REASONS.clear()
        _REASONS[key] = hit
    return hit


def encode(snap: Snapshot, ranked: list[tuple[int, float, list[str]]], head: dict[str, Any]) -> bytes:
    """The JSON body for ``head`` (request id, model version, source, …) followed by ``items`` from ``ranked``.

    Scores are written with six decimals (``%.6f``): the same numbers as ``round(score, 6)`` in the dict
    path, a quarter of the formatting cost.
    """
    frags = snap.catalog.fragments
    entries = []
    for i, score, reasons in ranked:
        if score - score != 0:  # nan or ±inf: JSON has no such number
            raise ValueError(f"non-finite score {score!r} for item {i}")
        entries.append(frags[i] + b"%.6f" % score + _reasons(reasons))
    start = _dumps(head).encode()[:-1] + (b',"items":[' if head else b'"items":[')
    return start + b",".join(entries) + b"]}"


def encode_explained(
    snap: Snapshot, ranked: list[tuple[int, float, list[str]]], explained: list[bytes], head: dict[str, Any]
) -> bytes:
    """The ``explain=true`` body: ``head``, then per entry of ``ranked`` its catalogue part, score,
    ``reason_codes`` and its explanation (``explained``: :func:`tuijian.explain.render.explained_item_bytes`,
    from ``"reasons"`` on). Parses to exactly the dict of :func:`tuijian.explain.render.explained_items`
    under ``head`` (``tests/service/test_explain_route.py`` checks it)."""
    frags = snap.catalog.fragments
    entries = []
    for (i, score, codes), tail in zip(ranked, explained, strict=True):
        if score - score != 0:  # nan or ±inf: JSON has no such number
            raise ValueError(f"non-finite score {score!r} for item {i}")
        entries.append(
            frags[i] + b"%.6f" % score + b',"reason_codes":' + _dumps(codes).encode() + b"," + tail
        )
    start = _dumps(head).encode()[:-1] + (b',"items":[' if head else b'"items":[')
    return start + b",".join(entries) + b"]}"
