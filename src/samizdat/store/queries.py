"""Reading and writing the archive's rows. Other stages talk to the database only through here."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.engine import Connection

from samizdat.archive import ArchiveRef
from samizdat.platforms.base import Article
from samizdat.store.schema import article_urls, articles, blobs, checks, version_blobs, versions


@dataclass(frozen=True)
class StoredImage:
    url: str  # as the article gives it
    sha256: str
    media_type: str | None
    size: int
    ref: ArchiveRef | None  # None when the blob was archived by an earlier capture


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    url: str
    media_type: str | None
    size: int
    first_seen_at: datetime
    ref: ArchiveRef


@dataclass(frozen=True)
class CaptureRecord:
    """Everything one successful capture adds; its WARC records are already durable."""

    article: Article
    urls: Sequence[str]  # every URL this capture reached the page by
    final_url: str
    http_status: int
    captured_at: datetime
    response: ArchiveRef
    images: Sequence[StoredImage] = ()


@dataclass(frozen=True)
class CaptureResult:
    article_id: int
    version_id: int
    new_article: bool
    new_version: bool


def content_hash(article: Article) -> str:
    """Identity of an article's content: its title and text, whitespace-normalised."""
    normalized = " ".join(article.title.split()) + "\n" + " ".join(article.text.split())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def ref_columns(ref: ArchiveRef | None, prefix: str = "warc") -> dict[str, Any]:
    if ref is None:
        return {}
    return {
        f"{prefix}_file": ref.file,
        f"{prefix}_offset": ref.offset,
        f"{prefix}_length": ref.length,
        f"{prefix}_digest": ref.digest,
        f"{prefix}_record_id": ref.record_id,
    }


def ref_from_row(row: Any, prefix: str = "warc") -> ArchiveRef | None:
    mapping = row._mapping if hasattr(row, "_mapping") else row
    if mapping.get(f"{prefix}_file") is None:
        return None
    return ArchiveRef(
        mapping[f"{prefix}_file"],
        mapping[f"{prefix}_offset"],
        mapping[f"{prefix}_length"],
        mapping[f"{prefix}_digest"],
        mapping[f"{prefix}_record_id"],
    )


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def article_id_for_url(self, url: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.scalar(select(article_urls.c.article_id).where(article_urls.c.url == url))

    def article_id_for_identity(self, platform: str, canonical_id: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.scalar(
                select(articles.c.id).where(
                    and_(articles.c.platform == platform, articles.c.canonical_id == canonical_id)
                )
            )

    def known_images(self, urls: Sequence[str]) -> dict[str, StoredImage]:
        """Images already archived, by the URL an article gave them (image URLs do not change)."""
        if not urls:
            return {}
        query = (
            select(version_blobs.c.url, blobs.c.sha256, blobs.c.media_type, blobs.c.size)
            .join(blobs, blobs.c.sha256 == version_blobs.c.sha256)
            .where(version_blobs.c.url.in_(list(urls)))
        )
        with self.engine.connect() as connection:
            return {
                row.url: StoredImage(row.url, row.sha256, row.media_type, row.size, None)
                for row in connection.execute(query)
            }

    def blob(self, sha256: str) -> StoredBlob | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(blobs).where(blobs.c.sha256 == sha256)).first()
        if row is None:
            return None
        return StoredBlob(row.sha256, row.url, row.media_type, row.size, row.first_seen_at, ref_from_row(row))

    def record_capture(self, record: CaptureRecord) -> CaptureResult:
        with self.engine.begin() as connection:
            return self._record_capture(connection, record)

    def record_captures(self, records: Sequence[CaptureRecord]) -> list[CaptureResult]:
        """Several captures in one transaction (one commit: group commit under load)."""
        with self.engine.begin() as connection:
            return [self._record_capture(connection, record) for record in records]

    def _record_capture(self, connection: Connection, record: CaptureRecord) -> CaptureResult:
        article = record.article
        article_id = connection.scalar(
            select(articles.c.id).where(
                and_(articles.c.platform == article.platform, articles.c.canonical_id == article.canonical_id)
            )
        )
        new_article = article_id is None
        published = article.published_at
        offset = (
            int(published.utcoffset().total_seconds() // 60)
            if published and published.utcoffset() is not None
            else None
        )
        fields = {
            "url": article.url,
            "title": article.title,
            "account": article.account,
            "account_id": article.account_id,
            "author": article.author,
            "published_at": published,
            "published_offset_minutes": offset,
            "published_precision": article.published_precision,
        }
        if new_article:
            article_id = connection.scalar(
                insert(articles)
                .values(
                    platform=article.platform,
                    canonical_id=article.canonical_id,
                    state="live",
                    priority=0,
                    first_captured_at=record.captured_at,
                    last_seen_alive_at=record.captured_at,
                    **fields,
                )
                .returning(articles.c.id)
            )
        else:
            connection.execute(
                update(articles)
                .where(articles.c.id == article_id)
                .values(last_seen_alive_at=record.captured_at, **fields)
            )
        urls = list(dict.fromkeys([*record.urls, record.final_url, article.url]))
        known_urls = set(connection.scalars(select(article_urls.c.url).where(article_urls.c.url.in_(urls))))
        new_urls = [{"url": url, "article_id": article_id} for url in urls if url not in known_urls]
        if new_urls:
            connection.execute(insert(article_urls), new_urls)
        digest = content_hash(article)
        version_id = connection.scalar(
            select(versions.c.id).where(
                and_(versions.c.article_id == article_id, versions.c.content_hash == digest)
            )
        )
        new_version = version_id is None
        if new_version:
            version_id = connection.scalar(
                insert(versions)
                .values(
                    article_id=article_id,
                    content_hash=digest,
                    captured_at=record.captured_at,
                    final_url=record.final_url,
                    http_status=record.http_status,
                    title=article.title,
                    text=article.text,
                    html=article.html,
                    details=_details(article),
                    **ref_columns(record.response),
                )
                .returning(versions.c.id)
            )
            self._link_images(connection, version_id, record.images, record.captured_at)
        connection.execute(
            insert(checks).values(
                article_id=article_id,
                checked_at=record.captured_at,
                outcome="alive" if not new_version or new_article else "edited",
                http_status=record.http_status,
                version_id=version_id,
                **ref_columns(record.response),
            )
        )
        return CaptureResult(article_id, version_id, new_article, new_version)

    def _link_images(
        self, connection: Connection, version_id: int, images: Sequence[StoredImage], seen_at: datetime
    ) -> None:
        if not images:
            return
        digests = list({image.sha256 for image in images})
        present = set(connection.scalars(select(blobs.c.sha256).where(blobs.c.sha256.in_(digests))))
        new_blobs: dict[str, dict[str, Any]] = {}
        for image in images:
            if image.sha256 not in present and image.ref is not None and image.sha256 not in new_blobs:
                new_blobs[image.sha256] = {
                    "sha256": image.sha256,
                    "media_type": image.media_type,
                    "size": image.size,
                    "url": image.url,
                    "first_seen_at": seen_at,
                    **ref_columns(image.ref),
                }
        if new_blobs:
            connection.execute(insert(blobs), list(new_blobs.values()))
        held = present | set(new_blobs)
        # An image whose bytes were never archived is not linked: never point at bytes we do not hold.
        links = {image.url: image.sha256 for image in images if image.sha256 in held}
        if links:
            connection.execute(
                insert(version_blobs),
                [{"version_id": version_id, "url": url, "sha256": sha256} for url, sha256 in links.items()],
            )

    def article(self, article_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(articles).where(articles.c.id == article_id)).first()
            if row is None:
                return None
            result = dict(row._mapping)
            result["published_at"] = _local_time(row.published_at, row.published_offset_minutes)
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
            result["images"] = [
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
                    .where(
                        version_blobs.c.version_id
                        == (result["versions"][-1]["id"] if result["versions"] else -1)
                    )
                )
            ]
            return result

    def iter_export(self) -> Iterator[dict[str, Any]]:
        """One dict per article with its latest version, oldest article first."""
        latest = (
            select(versions.c.article_id, func.max(versions.c.id).label("version_id"))
            .group_by(versions.c.article_id)
            .subquery()
        )
        counts = (
            select(versions.c.article_id, func.count().label("versions"))
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
                counts.c.versions,
            )
            .join(latest, latest.c.article_id == articles.c.id)
            .join(versions, versions.c.id == latest.c.version_id)
            .join(counts, counts.c.article_id == articles.c.id)
            .order_by(articles.c.id)
        )
        with self.engine.connect() as connection:
            for row in connection.execution_options(yield_per=500).execute(query):
                yield dict(row._mapping) | {
                    "published_at": _local_time(row.published_at, row.published_offset_minutes),
                    "warc": ref_from_row(row),
                }

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {
                table.name: connection.scalar(select(func.count()).select_from(table))
                for table in (articles, versions, blobs, checks)
            }

    def all_refs(self) -> Iterator[tuple[str, int, ArchiveRef]]:
        """Every WARC reference in the database: (table, row key, ref)."""
        with self.engine.connect() as connection:
            for table, key in ((versions, versions.c.id), (checks, checks.c.id), (blobs, blobs.c.sha256)):
                for row in connection.execute(select(table).where(table.c.warc_file.is_not(None))):
                    yield table.name, row._mapping[key.name], ref_from_row(row)


def _details(article: Article) -> dict[str, Any]:
    return {
        "images": list(article.images),
        "media": [asdict(m) for m in article.media],
        "cover": article.cover,
        "description": article.description,
        "repost_of": article.repost_of,
        "labels": list(article.labels),
        "site_name": article.site_name,
        "language": article.language,
    }


def _local_time(moment: datetime | None, offset_minutes: int | None) -> datetime | None:
    if moment is None or offset_minutes is None:
        return moment
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
