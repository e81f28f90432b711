"""Connecting to the database: the one place that knows SQLite from PostgreSQL.

SQLite gets WAL (readers never block the writer), foreign keys, a busy timeout and
``synchronous=NORMAL`` (durable at each WAL checkpoint; with WAL a commit survives a
process crash, and archive records are fsynced before the rows that point at them).
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)
PG_CONNECT_TIMEOUT = 10  # seconds; a database.url's own connect_timeout wins


class DatabaseURLError(ValueError):
    pass


def open_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise DatabaseURLError(
            f"database.url {url!r} is not a database URL "
            "(expected sqlite:///path/to/file.db or postgresql://user@host/db)"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if "connect_timeout" not in parsed.query:
            # libpq waits for ever on a server that takes the connection and never answers; a
            # watcher would hang with it instead of saying the database is unreachable.
            parsed = parsed.update_query_dict({"connect_timeout": str(PG_CONNECT_TIMEOUT)})
        return create_engine(parsed, pool_pre_ping=True)
    raise DatabaseURLError(f"database.url: unsupported database {backend!r} (use sqlite or postgresql)")


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # SQLite's own 'now' is cached with a prepared statement; per-host turns need the time at
    # the moment the statement runs, after it holds the write lock (fetch/turns.py).
    dbapi_connection.create_function("unix_now", 0, time.time)
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()
