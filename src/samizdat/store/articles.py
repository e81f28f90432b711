"""One article with everything about it, and the whole archive as export rows (store/views.py)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, func, select

from samizdat.store.pictures import images_read
from samizdat.store.related import related_ids
from samizdat.store.schema import article_urls, articles, blobs, checks, version_blobs, versions
from samizdat.store.views import (
    ArticleDetail,
    ExportedArticle,
    VersionView,
    article_detail,
    article_view_fields,
    ref_from_row,
)


class ArticleReads:
    engine: Engine

    def article(self, article_id: int) -> ArticleDetail | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(articles).where(articles.c.id == article_id)).first()
            if row is None:
                return None
            history = connection.execute(
                select(versions).where(versions.c.article_id == article_id).order_by(versions.c.id)
            ).all()
            images = []
            if history:
                images = connection.execute(
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
                    .where(version_blobs.c.version_id == history[-1].id)
                ).all()
            return article_detail(
                row,
                history,
                connection.execute(
                    select(checks).where(checks.c.article_id == article_id).order_by(checks.c.id)
                ),
                connection.scalars(select(article_urls.c.url).where(article_urls.c.article_id == article_id)),
                images,
            )

    def iter_export(self) -> Iterator[ExportedArticle]:
        """Every article with its latest version and its related posts, oldest article first.

        Articles never captured (removed before their first capture, or imported from a removal
        dataset) come with no version: ``version_count`` 0, ``latest`` and ``first_version_at`` None."""
        latest = (
            select(
                versions.c.article_id,
                func.max(versions.c.id).label("version_id"),
                func.count().label("version_count"),
                func.min(versions.c.captured_at).label("first_version_at"),
            )
            .group_by(versions.c.article_id)
            .subquery()
        )
        query = (
            select(
                articles,
                latest.c.version_id,
                versions.c.title.label("version_title"),
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
                func.coalesce(latest.c.version_count, 0).label("version_count"),
                latest.c.first_version_at,
            )
            .outerjoin(latest, latest.c.article_id == articles.c.id)
            .outerjoin(versions, versions.c.id == latest.c.version_id)
            .order_by(articles.c.id)
        )
        with self.engine.connect() as connection, self.engine.connect() as lookups:
            for rows in connection.execution_options(yield_per=500).execute(query).partitions():
                related = related_ids(lookups, [row.id for row in rows])
                read = images_read(lookups, [row.version_id for row in rows if row.version_id is not None])
                for row in rows:
                    version = None
                    if row.version_id is not None:
                        version = VersionView(
                            row.version_id,
                            row.version_captured_at,
                            row.version_title,
                            row.text,
                            row.final_url,
                            row.http_status,
                            row.details or {},
                            ref_from_row(row),
                        )
                    yield ExportedArticle(
                        **article_view_fields(row, version, row.version_count, row.first_version_at),
                        related=tuple(related[row.id]),
                        image_text=tuple(read.get(row.version_id, ())),
                    )
