"""External ids <-> dense integer indices.

Models only ever see the integers; the service and CLI translate at the edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from tuijian.exceptions import UnknownIdError

MissingPolicy = Literal["error", "drop", "negative"]


class Vocabulary:
    """An ordered, immutable mapping of external string ids to ``0..n-1``.

    ``lookup`` follows an explicit policy for unknown ids: ``"error"`` raises
    :class:`UnknownIdError`, ``"negative"`` maps them to ``-1`` and ``"drop"``
    removes them.
    """

    __slots__ = ("_ids", "_index")

    def __init__(self, ids: Iterable[object]) -> None:
        arr = np.asarray([str(i) for i in ids], dtype=object)
        index = pd.Index(arr)
        if not index.is_unique:
            dup = index[index.duplicated()][:5].tolist()
            raise ValueError(f"vocabulary ids must be unique; duplicates include {dup}")
        self._ids = arr
        self._index = index

    @classmethod
    def from_values(cls, values: Iterable[object]) -> Vocabulary:
        """Build from (possibly repeated) values, in order of first appearance."""
        return cls(
            pd.unique(
                pd.Series(list(values) if not isinstance(values, pd.Series) else values, dtype=object).astype(
                    str
                )
            )
        )

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, ext_id: object) -> bool:
        return str(ext_id) in self._index

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocabulary)
            and len(self) == len(other)
            and bool((self._ids == other._ids).all())
        )

    def __hash__(self) -> int:  # pragma: no cover - identity hashing is enough
        return id(self)

    def __repr__(self) -> str:
        return f"Vocabulary(n={len(self)})"

    @property
    def ids(self) -> np.ndarray:
        """External ids, position = index."""
        return self._ids

    def index(self, ext_id: object) -> int:
        """Index of one id; raises :class:`UnknownIdError` if unknown."""
        try:
            return int(self._index.get_loc(str(ext_id)))
        except KeyError:
            raise UnknownIdError(f"unknown id {ext_id!r}") from None

    def lookup(
        self, ext_ids: Sequence[object] | np.ndarray | pd.Series, missing: MissingPolicy = "error"
    ) -> np.ndarray:
        """Indices of many ids, following ``missing`` for unknown ones."""
        keys = pd.Index(np.asarray(ext_ids, dtype=object).astype(str))
        idx = self._index.get_indexer(keys)
        if (idx < 0).any():
            if missing == "error":
                bad = keys[idx < 0][:5].tolist()
                raise UnknownIdError(f"{int((idx < 0).sum())} unknown id(s), e.g. {bad}")
            if missing == "drop":
                idx = idx[idx >= 0]
        return idx.astype(np.int64)

    def to_ids(self, indices: np.ndarray | Sequence[int]) -> np.ndarray:
        """External ids of indices (works for 1-D and 2-D arrays)."""
        return self._ids[np.asarray(indices, dtype=np.int64)]

    def extend(self, new_ids: Iterable[object]) -> Vocabulary:
        """A new vocabulary with unseen ids appended (existing indices are stable)."""
        extra = [
            str(i)
            for i in pd.unique(pd.Series(list(new_ids), dtype=object).astype(str))
            if str(i) not in self._index
        ]
        return Vocabulary(list(self._ids) + extra) if extra else self
