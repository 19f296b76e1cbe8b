"""Conversation state for multi-turn questions, and a bounded in-memory store of conversations.

A :class:`Conversation` remembers what the last search asked for (concepts, exclusions, price range, sort), the
items shown and the item in focus, so that "any cheaper?", "in red?", "is it waterproof?" or 那个多少钱 resolve
against the previous turn. :class:`ConversationStore` keeps at most ``max_sessions`` of them, each for
``ttl_s`` seconds after its last use (least recently used dropped first); it is thread-safe.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from tuijian.exceptions import ConfigError, UnknownIdError

#: Allowed conversation ids (what the service hands out, or what a client chose).
SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


@dataclass
class Conversation:
    """What the previous turns established. Plain data: :meth:`to_dict` / :meth:`from_dict` round-trip as JSON."""

    lang: str | None = None
    concepts: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    price_min: float | None = None
    price_max: float | None = None
    sort: str | None = None
    shown: list[str] = field(default_factory=list)
    focus: str | None = None
    turns: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        if not isinstance(data, dict):
            raise ConfigError(f"a conversation must be a JSON object, got {type(data).__name__}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class ConversationStore:
    """Conversations by id with a time-to-live and a size cap (least recently used evicted first)."""

    def __init__(self, max_sessions: int = 1000, ttl_s: float = 1800.0, clock: Any = time.monotonic):
        if max_sessions < 1:
            raise ConfigError(f"max_sessions must be >= 1, got {max_sessions}")
        if ttl_s <= 0:
            raise ConfigError(f"ttl_s must be > 0, got {ttl_s}")
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Conversation]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def _expire(self) -> None:
        now = self._clock()
        while self._items:
            key, (seen, _) = next(iter(self._items.items()))
            if now - seen <= self.ttl_s:
                break
            del self._items[key]

    def new(self) -> tuple[str, Conversation]:
        """A fresh conversation and its id."""
        session_id = secrets.token_urlsafe(12)
        conversation = Conversation()
        self.put(session_id, conversation)
        return session_id, conversation

    def get(self, session_id: str) -> Conversation:
        """The conversation ``session_id``; unknown or expired ids raise :class:`UnknownIdError`."""
        with self._lock:
            self._expire()
            if session_id not in self._items:
                raise UnknownIdError(
                    f"conversation {session_id!r} is unknown or expired (after {self.ttl_s:g} s idle); "
                    "omit 'session' to start a new one"
                )
            _, conversation = self._items.pop(session_id)
            self._items[session_id] = (self._clock(), conversation)
            return conversation

    def put(self, session_id: str, conversation: Conversation) -> None:
        with self._lock:
            self._expire()
            self._items.pop(session_id, None)
            self._items[session_id] = (self._clock(), conversation)
            while len(self._items) > self.max_sessions:
                self._items.popitem(last=False)
