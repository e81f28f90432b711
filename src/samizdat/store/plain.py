"""The embedded archive read with the standard library's sqlite3 alone, for a command that must
answer at once (``samizdat show``): SQLAlchemy's import alone takes 18–24 times a bare
interpreter's start (docs/benchmarks.md, "Fast start").

The queries are those of :meth:`ArticleReads.article` written out, and the rows become views
through the same :func:`article_detail`; columns are converted by the types the schema declared
for them (``DATETIME``, ``JSON``, ``BOOLEAN``), as SQLAlchemy converts them.
``tests/test_quick_show.py`` holds both readers to equal answers on a real archive."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from samizdat.store.migrate import head_revision
from samizdat.store.views import ArticleDetail, article_detail

_CONVERT = {
    "DATETIME": lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC),
    "JSON": json.loads,
    "BOOLEAN": bool,
}
_ARTICLE = "SELECT * FROM articles WHERE id = ?"
_VERSIONS = "SELECT * FROM versions WHERE article_id = ? ORDER BY id"
_CHECKS = "SELECT * FROM checks WHERE article_id = ? ORDER BY id"
_URLS = "SELECT url FROM article_urls WHERE article_id = ?"
_IMAGES = """SELECT version_blobs.url, blobs.sha256, blobs.size, blobs.media_type, blobs.warc_file,
blobs.warc_offset, blobs.warc_length, blobs.warc_digest, blobs.warc_record_id
FROM version_blobs JOIN blobs ON blobs.sha256 = version_blobs.sha256 WHERE version_blobs.version_id = ?"""


class _Row(dict):
    """A row whose columns read as attributes too, as SQLAlchemy's rows do."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class PlainReader:
    """An SQLite archive, opened only if it exists and its schema is the newest (otherwise
    :meth:`open` gives None and the caller takes the full path, which creates or migrates)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._types: dict[str, dict[str, str]] = {}

    @classmethod
    def open(cls, database: Path) -> PlainReader | None:
        if not database.is_file():
            return None
        # mode=rw: never creates a file; the watcher may be writing (WAL), so wait as it does.
        connection = sqlite3.connect(f"file:{database}?mode=rw", uri=True, timeout=30)
        try:
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            revision = None
        if revision is None or revision[0] != head_revision():
            connection.close()
            return None
        return cls(connection)

    def close(self) -> None:
        self._connection.close()

    def article(self, article_id: int) -> ArticleDetail | None:
        rows = self._rows("articles", _ARTICLE, article_id)
        if not rows:
            return None
        versions = self._rows("versions", _VERSIONS, article_id)
        images = self._rows("blobs", _IMAGES, versions[-1].id) if versions else []
        return article_detail(
            rows[0],
            versions,
            self._rows("checks", _CHECKS, article_id),
            [url for (url,) in self._connection.execute(_URLS, (article_id,))],
            images,
        )

    def _rows(self, table: str, query: str, *parameters: Any) -> list[_Row]:
        types = self._declared_types(table)
        cursor = self._connection.execute(query, parameters)
        names = [column[0] for column in cursor.description]
        return [
            _Row(
                (
                    name,
                    value
                    if value is None or types.get(name) not in _CONVERT
                    else _CONVERT[types[name]](value),
                )
                for name, value in zip(names, row, strict=True)
            )
            for row in cursor
        ]

    def _declared_types(self, table: str) -> dict[str, str]:
        if table not in self._types:
            self._types[table] = {
                row[1]: row[2].upper() for row in self._connection.execute(f"PRAGMA table_info({table})")
            }
        return self._types[table]
