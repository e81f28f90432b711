"""What `samizdat verify` reads back: every reference to a WARC record, and rows that point at nothing."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, func, or_, select

from samizdat.archive import ArchiveRef
from samizdat.status import State
from samizdat.store.schema import (
    articles,
    blobs,
    checks,
    search_docs,
    versions,
)
from samizdat.store.views import ref_from_row


class IntegrityQueries:
    engine: Engine

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {
                table.name: connection.scalar(select(func.count()).select_from(table))
                for table in (articles, versions, blobs, checks)
            }

    def link_problems(self) -> list[str]:
        """Rows that point at nothing or say something impossible (the foreign keys cover the rest)."""
        problems = []
        cluster = articles.alias("cluster")
        with self.engine.connect() as connection:
            orphans = connection.scalar(
                select(func.count())
                .select_from(articles.outerjoin(cluster, cluster.c.id == articles.c.cluster_id))
                .where(articles.c.cluster_id.is_not(None), cluster.c.id.is_(None))
            )
            if orphans:
                problems.append(f"{orphans} articles name a cluster whose article does not exist")
            undated = connection.scalar(
                select(func.count()).where(
                    articles.c.state == State.REMOVED.value,
                    or_(articles.c.detected_at.is_(None), articles.c.outcome.is_(None)),
                )
            )
            if undated:
                problems.append(f"{undated} removed articles lack their outcome or detection time")
            unsearchable = connection.scalar(
                select(func.count(func.distinct(versions.c.article_id)))
                .select_from(
                    versions.outerjoin(search_docs, search_docs.c.article_id == versions.c.article_id)
                )
                .where(search_docs.c.article_id.is_(None))
            )
            if unsearchable:
                problems.append(f"{unsearchable} captured articles are missing from the search index")
        return problems

    def all_refs(self) -> Iterator[tuple[str, int, ArchiveRef]]:
        """Every WARC reference in the database: (table, row key, ref)."""
        with self.engine.connect() as connection:
            for table, key in ((versions, versions.c.id), (checks, checks.c.id), (blobs, blobs.c.sha256)):
                for row in connection.execute(select(table).where(table.c.warc_file.is_not(None))):
                    yield table.name, row._mapping[key.name], ref_from_row(row)
