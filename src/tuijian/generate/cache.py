"""Cache of generated copy per (item, user segment, language, task): an in-memory LRU in front of an optional
persistent :class:`CopyStore` (for example :class:`SqlCopyStore`, one table in the shop database)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, runtime_checkable

from tuijian.exceptions import ConfigError, StorageError

CacheKey = tuple[str, str, str, str]  # item_id, segment, language, task


@runtime_checkable
class CopyStore(Protocol):
    """Persistent copy storage: anything with these two methods."""

    def get_copy(self, key: str) -> str | None: ...

    def put_copy(self, key: str, text: str) -> None: ...


class SqlCopyStore:
    """A ``generated_copy(key, text)`` table in any SQLAlchemy database URL (SQLite by default)."""

    def __init__(self, url: str):
        self.url = url

    def _table(self):  # noqa: ANN202 - (engine, table)
        if not hasattr(self, "table_"):
            import sqlalchemy as sa

            self.engine_ = sa.create_engine(self.url)
            meta = sa.MetaData()
            self.table_ = sa.Table(
                "generated_copy",
                meta,
                sa.Column("key", sa.String(512), primary_key=True),
                sa.Column("text", sa.Text, nullable=False),
            )
            try:
                meta.create_all(self.engine_)
            except sa.exc.SQLAlchemyError as exc:
                raise StorageError(f"cannot create table generated_copy at {self.url}: {exc}") from exc
        return self.engine_, self.table_

    def get_copy(self, key: str) -> str | None:
        import sqlalchemy as sa

        engine, table = self._table()
        with engine.connect() as conn:
            row = conn.execute(sa.select(table.c.text).where(table.c.key == key)).first()
        return None if row is None else str(row[0])

    def put_copy(self, key: str, text: str) -> None:
        import sqlalchemy as sa

        engine, table = self._table()
        with engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.key == key))
            conn.execute(sa.insert(table).values(key=key, text=text))


class CopyCache:
    """LRU of at most ``max_size`` texts, reading through to ``store`` when given."""

    def __init__(self, max_size: int = 4096, store: CopyStore | None = None):
        if max_size < 1:
            raise ConfigError(f"max_size must be >= 1, got {max_size}")
        self.max_size = max_size
        self.store = store
        self._data: OrderedDict[CacheKey, str] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _flat(key: CacheKey) -> str:
        return "|".join(key)

    def get(self, key: CacheKey) -> str | None:
        if key in self._data:
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key]
        if self.store is not None:
            text = self.store.get_copy(self._flat(key))
            if text is not None:
                self._remember(key, text)
                self.hits += 1
                return text
        self.misses += 1
        return None

    def put(self, key: CacheKey, text: str) -> None:
        self._remember(key, text)
        if self.store is not None:
            self.store.put_copy(self._flat(key), text)

    def _remember(self, key: CacheKey, text: str) -> None:
        self._data[key] = text
        self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
