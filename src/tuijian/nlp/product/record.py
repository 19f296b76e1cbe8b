"""The structured record of one catalogue item: every value with the words it came from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Source = Literal["title", "description", "category"]


@dataclass(frozen=True)
class Evidence:
    """Where a value came from: the input field, the token span ``[start, end)`` and the words as written."""

    source: Source
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Fact:
    """One value of a record field with its evidence."""

    value: str | int
    evidence: Evidence


@dataclass
class ProductRecord:
    """What an item is, read from its title (and category or description where the title is silent)."""

    product_type: Fact | None = None
    theme: list[Fact] = field(default_factory=list)
    colour: list[Fact] = field(default_factory=list)
    material: list[Fact] = field(default_factory=list)
    size: list[Fact] = field(default_factory=list)
    capacity: list[Fact] = field(default_factory=list)
    pack_count: Fact | None = None
    audience: list[Fact] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (values with their evidence)."""
        return asdict(self)

    def values(self, name: str) -> list[str | int]:
        """The bare values of field ``name`` (a list even for single-valued fields)."""
        got = getattr(self, name)
        if got is None:
            return []
        return [f.value for f in got] if isinstance(got, list) else [got.value]
