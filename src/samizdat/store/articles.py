"""One article with everything about it, and the whole archive as export rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, func, select

from samizdat.store.related import related_ids
from samizdat.store.schema import (
    article_urls,
    articles,
    blobs,
    checks,
    version_blobs,
    versions,
)
from samizdat.store.values import ref_from_row


class ArticleReads:
    engine: Engine

    def article(self, article_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(articles).where(articles.c.id == article_id)).first()
            if row is None:
                return None
            result = dict(row._mapping)
            result["published_at"] = local_time(row.published_at, row.published_offset_minutes)
            result["versions"] = [
                {**dict(v._mapping), "warc": ref_from_row(v)}
                for v in connection.execute(
                    select(versions).where(versions.c.article_id == article_id).order_by(versions.c.id)
                )
            ]
            result["checks"] = [
                dict(c._mapping)
                for c in connection.execute(
                    select(checks).where(checks.c.article_id == article_id).order_by(checks.c.id)
                )
            ]
            result["urls"] = list(
                connection.scalars(select(article_urls.c.url).where(article_urls.c.article_id == article_id))
            )
            latest = result["versions"][-1]["id"] if result["versions"] else None
            result["images"] = (
                []
                if latest is None
                else [
                    dict(i._mapping)
                    for i in connection.execute(
                        select(
                            version_blobs.c.url,
                            blobs.c.sha256,
                            blobs.c.size,
                            blobs.c.media_type,
                            blobs.c.warc_file,
                            blobs.c.warc_offset,
                            blobs.c.warc_length,
                            blobs.c.warc_digest,
                            blobs.c.warc_record_id,
                        )
                        .join(blobs, blobs.c.sha256 == version_blobs.c.sha256)
                        .where(version_blobs.c.version_id == latest)
                    )
                ]
            )
            return result

    def iter_export(self) -> Iterator[dict[str, Any]]:
        """One dict per article with its latest version and its related posts, oldest article first.

        Articles never captured (removed before their first capture, or imported from a removal
        dataset) come with no version: ``versions`` 0, ``first_version_at`` and the text None."""
        latest = (
            select(
                versions.c.article_id,
                func.max(versions.c.id).label("version_id"),
                func.count().label("versions"),
                func.min(versions.c.captured_at).label("first_version_at"),
            )
            .group_by(versions.c.article_id)
            .subquery()
        )
        query = (
            select(
                articles,
                versions.c.text,
                versions.c.captured_at.label("version_captured_at"),
                versions.c.details,
                versions.c.final_url,
                versions.c.http_status,
                versions.c.warc_file,
                versions.c.warc_offset,
                versions.c.warc_length,
                versions.c.warc_digest,
                versions.c.warc_record_id,
                func.coalesce(latest.c.versions, 0).label("versions"),
                latest.c.first_version_at,
            )
            .outerjoin(latest, latest.c.article_id == articles.c.id)
            .outerjoin(versions, versions.c.id == latest.c.version_id)
            .order_by(articles.c.id)
        )
        with self.engine.connect() as connection, self.engine.connect() as lookups:
            for rows in connection.execution_options(yield_per=500).execute(query).partitions():
                related = related_ids(lookups, [row.id for row in rows])
                for row in rows:
                    yield dict(row._mapping) | {
                        "published_at": local_time(row.published_at, row.published_offset_minutes),
                        "warc": ref_from_row(row),
                        "related": related[row.id],
                    }


def local_time(moment: datetime | None, offset_minutes: int | None) -> datetime | None:
    if moment is None or offset_minutes is None:
        return moment
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
