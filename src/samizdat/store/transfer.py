"""Moving an archive between databases (``samizdat migrate-to``): copy every row, then prove it.

Everything the archive holds moves: its articles and what was found of them, the evidence log
(entries, tree, signed heads and their time stamps: the archive goes on signing the same log,
unforked), and the work in hand (notifications not yet delivered, linked articles set aside,
submitted URLs). What belongs to running processes (workers, host turns) does not.

The target is brought to the newest schema and must be empty. Rows are copied table by table
in foreign-key order, in primary-key order, in batches; the search index is rebuilt in the
target's own form (FTS5 on SQLite, token arrays on PostgreSQL) rather than copied. Then every
copied table is compared: its row count and a SHA-256 over its rows in key order, each value
normalised (times as UTC ISO 8601, JSON with sorted keys), must be equal on both sides.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Integer, func, insert, select, text

from samizdat.store.schema import (
    accounts,
    article_links,
    article_urls,
    articles,
    blobs,
    capture_requests,
    checks,
    copy_keys,
    copy_signatures,
    cosignatures,
    head_timestamps,
    image_bands,
    image_facts,
    log_entries,
    log_nodes,
    notifications,
    refresh_statistics,
    related_posts,
    related_terms,
    related_vectors,
    search_docs,
    set_aside_links,
    sources,
    tree_heads,
    version_blobs,
    versions,
    witness_alerts,
    witnessed_logs,
)
from samizdat.store.search import build_token_index, reindex_all, set_token_index_aside

# Foreign-key order: a row's parents are copied before it.
COPIED = (
    accounts,
    sources,
    articles,
    article_urls,
    article_links,
    versions,
    blobs,
    image_facts,
    image_bands,
    version_blobs,
    checks,
    copy_signatures,
    copy_keys,
    related_vectors,
    related_terms,
    related_posts,
    log_entries,
    log_nodes,
    tree_heads,
    head_timestamps,
    cosignatures,
    witnessed_logs,
    witness_alerts,
    notifications,
    set_aside_links,
    capture_requests,
)
BATCH = 2000


class TransferRefused(ValueError):
    """The target cannot receive this archive (it is not empty, or is the source itself)."""


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_digest: str
    target_digest: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_digest == self.target_digest


def copy_archive(
    source: Engine,
    target: Engine,
    *,
    on_rows: Callable[[str, int], None] | None = None,
    compare_source: bool = True,
    index_builds: int = min(4, os.cpu_count() or 1),
) -> list[TableCheck]:
    """Copy every row of ``source`` into the empty, migrated ``target``; the per-table comparison.

    Every table is read in one transaction (repeatable read on PostgreSQL): the copy is one
    moment of the source even while others write to it. ``compare_source`` False compares
    nothing (the source has moved on: a backup) and reports the target's own digests.
    PostgreSQL's search index is built ``index_builds`` partitions at a time (each a core and
    256 MB of the server's, and a connection of the engine's pool).
    """
    if source.url == target.url:
        raise TransferRefused("the target is the source database")
    with target.connect() as connection:
        present = connection.scalar(select(func.count()).select_from(articles))
    if present:
        raise TransferRefused(f"the target already holds {present:,} articles: give an empty database")
    with source.connect() as reading:
        if reading.dialect.name == "postgresql":
            reading = reading.execution_options(isolation_level="REPEATABLE READ")
        with reading.begin():
            if reading.dialect.name == "sqlite":
                # The sqlite3 module begins no transaction before a SELECT: without this each
                # table would be read at its own moment, and rows of one could point at rows
                # the other was read too early to hold.
                reading.exec_driver_sql("BEGIN")
            for table in COPIED:
                _copy_table(reading, target, table, on_rows)
    with target.begin() as writing:
        # The planner learns the new tables' sizes before the search index is rebuilt from them:
        # without statistics PostgreSQL walked every version once per article (issue 28).
        writing.exec_driver_sql("ANALYZE")
        if writing.dialect.name == "postgresql":
            _advance_sequences(writing)
        set_token_index_aside(writing)
        reindex_all(writing)
    build_token_index(target, index_builds)
    with target.begin() as writing:
        refresh_statistics(writing, search_docs)
    if compare_source:
        return [compare(source, target, table) for table in COPIED]
    found = []
    for table in COPIED:
        rows, hexdigest = digest(target, table)
        found.append(TableCheck(table.name, rows, rows, hexdigest, hexdigest))
    return found


def _copy_table(reading, target: Engine, table, on_rows: Callable[[str, int], None] | None) -> None:
    key = list(table.primary_key.columns)
    with target.begin() as writing:
        batch: list[dict[str, Any]] = []
        for row in reading.execution_options(yield_per=BATCH).execute(select(table).order_by(*key)):
            batch.append(dict(row._mapping))
            if len(batch) == BATCH:
                writing.execute(insert(table), batch)
                if on_rows:
                    on_rows(table.name, len(batch))
                batch = []
        if batch:
            writing.execute(insert(table), batch)
            if on_rows:
                on_rows(table.name, len(batch))


def _advance_sequences(connection) -> None:
    """Copied ids were given explicitly: PostgreSQL's id sequences must continue after them."""
    for table in COPIED:
        key = list(table.primary_key.columns)
        if len(key) == 1 and isinstance(key[0].type, Integer) and key[0].name == "id":
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )
            )


def compare(source: Engine, target: Engine, table) -> TableCheck:
    (source_rows, source_digest), (target_rows, target_digest) = (digest(e, table) for e in (source, target))
    return TableCheck(table.name, source_rows, target_rows, source_digest, target_digest)


def digest(engine: Engine, table) -> tuple[int, str]:
    """(rows, SHA-256 of the rows in key order, values normalised)."""
    hasher = hashlib.sha256()
    count = 0
    key = list(table.primary_key.columns)
    with engine.connect() as connection:
        for row in connection.execution_options(yield_per=BATCH).execute(select(table).order_by(*key)):
            hasher.update(json.dumps([_normal(v) for v in row], sort_keys=True, ensure_ascii=False).encode())
            hasher.update(b"\n")
            count += 1
    return count, hasher.hexdigest()


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value
