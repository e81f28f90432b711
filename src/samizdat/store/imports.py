"""Removals the archive did not capture: other people's datasets, and articles removed
before their first capture."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, insert, select

from samizdat.status import State
from samizdat.store.accounts import account_name_of
from samizdat.store.captures import offset_minutes
from samizdat.store.log import add_log_entries, check_payload
from samizdat.store.schema import (
    article_urls,
    articles,
    checks,
    refresh_statistics,
    search_docs,
)
from samizdat.store.search import SearchDoc, index_documents
from samizdat.store.values import ImportedRemoval, UnseenRemoval, ref_columns

BULK = 1_000  # an import adding this many articles or more refreshes the planner's statistics


class ImportQueries:
    engine: Engine

    def import_removals(self, removals: Sequence[ImportedRemoval], *, imported_at: datetime) -> int:
        """Add removals seen elsewhere: removed articles with no next check, each with one check row
        holding the dataset's message; titles are searchable. Rows imported before are left as
        they are; how many were added."""
        added = 0
        with self.engine.begin() as connection:
            for start in range(0, len(removals), 1000):
                chunk = removals[start : start + 1000]
                present = {
                    (row.platform, row.canonical_id)
                    for row in connection.execute(
                        # Both columns, so that the lookup goes through their unique index:
                        # on the id alone it read the whole table for every chunk.
                        select(articles.c.platform, articles.c.canonical_id).where(
                            articles.c.platform.in_({r.platform for r in chunk}),
                            articles.c.canonical_id.in_([r.canonical_id for r in chunk]),
                        )
                    )
                }
                fresh = list(
                    {
                        (r.platform, r.canonical_id): r
                        for r in chunk
                        if (r.platform, r.canonical_id) not in present
                    }.values()
                )
                if not fresh:
                    continue
                ids = (
                    connection.execute(
                        insert(articles).returning(articles.c.id, sort_by_parameter_order=True),
                        [
                            {
                                "platform": r.platform,
                                "canonical_id": r.canonical_id,
                                "url": r.url,
                                "title": r.title,
                                "account": r.account,
                                "account_id": r.account_id,
                                "published_at": r.published_at,
                                "published_offset_minutes": offset_minutes(r.published_at),
                                "published_precision": r.published_precision,
                                "state": State.REMOVED.value,
                                "outcome": r.outcome,
                                "priority": 0,
                                "first_captured_at": imported_at,
                                "detected_at": r.detected_at,
                                "keywords": list(r.keywords),
                            }
                            for r in fresh
                        ],
                    )
                    .scalars()
                    .all()
                )
                connection.execute(
                    insert(checks),
                    [
                        {
                            "article_id": a,
                            "checked_at": r.detected_at,
                            "outcome": r.outcome,
                            "message": r.message,
                        }
                        for a, r in zip(ids, fresh, strict=True)
                    ],
                )
                index_documents(
                    connection,
                    [SearchDoc(a, r.title, r.account, None, "") for a, r in zip(ids, fresh, strict=True)],
                )
                added += len(fresh)
            if added >= BULK:
                refresh_statistics(connection, articles, checks, search_docs)
        return added

    def record_unseen_removal(self, removal: UnseenRemoval) -> int | None:
        """Keep an article removed before its capture, suspected until a second look agrees;
        its id, or None when the article (or its URL) is known already."""
        with self.engine.begin() as connection:
            known = connection.scalar(
                select(articles.c.id).where(
                    articles.c.platform == removal.platform, articles.c.canonical_id == removal.canonical_id
                )
            ) or connection.scalar(select(article_urls.c.article_id).where(article_urls.c.url == removal.url))
            if known is not None:
                return None
            account = removal.account or account_name_of(connection, removal.platform, removal.canonical_id)
            listed = {
                "title": removal.title,
                "account": removal.account,
                "published_at": removal.published_at.isoformat() if removal.published_at else None,
                "summary": removal.summary,
                "reached_by": removal.reached_by,
            }
            article_id = connection.execute(
                insert(articles).returning(articles.c.id),
                {
                    "platform": removal.platform,
                    "canonical_id": removal.canonical_id,
                    "url": removal.url,
                    "title": removal.title,
                    "account": account,
                    "published_at": removal.published_at,
                    "published_offset_minutes": offset_minutes(removal.published_at),
                    "state": State.SUSPECT.value,
                    "outcome": removal.outcome,
                    "priority": 0,
                    "source_id": removal.source_id,
                    # When samizdat first saw it: nothing was captured (it has no version).
                    "first_captured_at": removal.seen_at,
                    "suspected_at": removal.seen_at,
                    "next_check_at": removal.next_check_at,
                    "check_url": removal.url,
                    "keywords": [],
                    "listed": {key: value for key, value in listed.items() if value is not None},
                },
            ).scalar_one()
            connection.execute(insert(article_urls), {"url": removal.url, "article_id": article_id})
            connection.execute(
                insert(checks),
                {
                    "article_id": article_id,
                    "checked_at": removal.seen_at,
                    "outcome": removal.outcome,
                    "http_status": removal.http_status,
                    "message": removal.message,
                    "warc_file": None,
                    "warc_offset": None,
                    "warc_length": None,
                    "warc_digest": None,
                    "warc_record_id": None,
                    **ref_columns(removal.evidence),
                },
            )
            add_log_entries(
                connection,
                [
                    (
                        "check",
                        article_id,
                        check_payload(
                            article_id,
                            removal.seen_at,
                            removal.outcome,
                            removal.http_status,
                            removal.evidence,
                        ),
                    )
                ],
            )
            index_documents(connection, [SearchDoc(article_id, removal.title, account, None, "")])
            return article_id
