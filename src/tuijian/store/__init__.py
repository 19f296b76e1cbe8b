"""Storage opened by URL: SQLite (default, WAL) or PostgreSQL, schema by Alembic migrations.

>>> store = open_store("sqlite:///var/tuijian.sqlite")   # doctest: +SKIP
>>> store.add_events(events_df)                           # doctest: +SKIP
InsertResult(inserted=..., duplicates=...)
"""

from tuijian.store.bookkeeping import FEEDBACK_EVENTS
from tuijian.store.store import InsertResult, Store, open_store

__all__ = ["FEEDBACK_EVENTS", "InsertResult", "Store", "open_store"]
