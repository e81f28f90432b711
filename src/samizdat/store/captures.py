"""Captures: an article, its versions, URLs and images, stored in one transaction per batch."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from samizdat.status import State
from samizdat.store.links import store_links
from samizdat.store.log import add_log_entries, ref_payload
from samizdat.store.related import forget
from samizdat.store.schema import (
    article_urls,
    articles,
    blobs,
    checks,
    image_facts,
    latest_versions,
    version_blobs,
    versions,
)
from samizdat.store.search import SearchDoc, index_documents, refresh_image_text
from samizdat.store.values import (
    CaptureRecord,
    CaptureResult,
    ImageLinks,
    StoredBlob,
    StoredImage,
    content_hash,
    ref_columns,
)
from samizdat.store.views import ref_from_row

if TYPE_CHECKING:
    from samizdat.platforms.base import Article


def capture_payload(record: CaptureRecord, result: CaptureResult) -> dict[str, Any]:
    """A new version: the page it was read from, and the images stored with it (by content)."""
    return {
        "article": result.article_id,
        "version": result.version_id,
        "platform": record.article.platform,
        "canonical_id": record.article.canonical_id,
        "url": record.final_url,
        "captured_at": record.captured_at.astimezone(UTC).isoformat(),
        "content_hash": content_hash(record.article),
        "record": ref_payload(record.response),
        "images": sorted({image.sha256 for image in record.images}),
    }


class CaptureQueries:
    engine: Engine

    def article_id_for_url(self, url: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.scalar(select(article_urls.c.article_id).where(article_urls.c.url == url))

    def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Which of ``urls`` already lead to an archived article."""
        found: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(urls), 500):
                chunk = list(urls[start : start + 500])
                found.update(
                    connection.scalars(select(article_urls.c.url).where(article_urls.c.url.in_(chunk)))
                )
        return found

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
        return self.record_captures([record])[0]

    def record_captures(self, records: Sequence[CaptureRecord]) -> list[CaptureResult]:
        """Store several captures in one transaction, each step once for all of them.

        Under load the writer hands over a batch; a handful of statements per batch instead of
        per capture is what keeps the database off the critical path. The copies among the
        stored texts are looked up before the transaction: it holds the write lock only to
        write.
        """
        # Here, not at the top: MinHash (numpy) is for writers; readers of the store skip it.
        from samizdat.store.copies import NewVersion, plan_copies, store_copies

        with self.engine.connect() as connection:
            plans = plan_copies(connection, [(r.article.text, r.text_fingerprint) for r in records])
        with self.engine.begin() as connection:
            results: list[CaptureResult | None] = [None] * len(records)
            for round_indices in _rounds(records):
                batch = [records[i] for i in round_indices]
                for i, result in zip(round_indices, self._record_batch(connection, batch), strict=True):
                    results[i] = result
            done: list[CaptureResult] = results  # type: ignore[assignment]
            add_log_entries(
                connection,
                [
                    ("capture", result.article_id, capture_payload(record, result))
                    for record, result in zip(records, done, strict=True)
                    if result.new_version
                ],
            )
            store_copies(
                connection,
                [
                    NewVersion(result.version_id, result.article_id, plan)
                    for result, plan in zip(done, plans, strict=True)
                    if result.new_version and plan is not None
                ],
                [result.article_id for result in done],
            )
            return done

    def _record_batch(self, connection: Connection, records: Sequence[CaptureRecord]) -> list[CaptureResult]:
        """Captures of distinct articles (see :func:`_rounds`)."""
        identities = [(r.article.platform, r.article.canonical_id) for r in records]
        known = {
            (row.platform, row.canonical_id): row.id
            for row in connection.execute(
                select(articles.c.id, articles.c.platform, articles.c.canonical_id).where(
                    articles.c.canonical_id.in_([canonical for _, canonical in identities])
                )
            )
        }
        fresh_indices = {i for i, identity in enumerate(identities) if identity not in known}
        fresh = [records[i] for i in sorted(fresh_indices)]
        if fresh:
            inserted = (
                connection.execute(
                    insert(articles).returning(articles.c.id, sort_by_parameter_order=True),
                    [
                        _article_fields(r)
                        | {
                            "platform": r.article.platform,
                            "canonical_id": r.article.canonical_id,
                            "state": State.LIVE.value,
                            "priority": 1 if r.keywords else 0,
                            "keywords": list(r.keywords),
                            "first_captured_at": r.captured_at,
                            "last_seen_alive_at": r.captured_at,
                            "next_check_at": r.next_check_at,
                        }
                        for r in fresh
                    ],
                )
                .scalars()
                .all()
            )
            known.update(
                {
                    (r.article.platform, r.article.canonical_id): i
                    for r, i in zip(fresh, inserted, strict=True)
                }
            )
        seen = sorted(
            (r for i, r in enumerate(records) if i not in fresh_indices),
            key=lambda r: known[(r.article.platform, r.article.canonical_id)],
        )  # in the order of their ids, as every batch of article rows is locked
        if seen:
            connection.execute(
                update(articles).where(articles.c.id == bindparam("article_id")),
                [
                    _article_fields(r)
                    | {
                        "article_id": known[(r.article.platform, r.article.canonical_id)],
                        "last_seen_alive_at": r.captured_at,
                    }
                    for r in seen
                ],
            )
        article_ids = [known[identity] for identity in identities]
        self._link_urls(connection, records, article_ids)
        digests = [content_hash(r.article) for r in records]
        existing_versions = {
            (row.article_id, row.content_hash): row.id
            for row in connection.execute(
                select(versions.c.id, versions.c.article_id, versions.c.content_hash).where(
                    versions.c.article_id.in_(article_ids)
                )
            )
        }
        new_version_indices = {
            i
            for i, (a, d) in enumerate(zip(article_ids, digests, strict=True))
            if (a, d) not in existing_versions
        }
        new_versions = [(records[i], article_ids[i], digests[i]) for i in sorted(new_version_indices)]
        previous = latest_texts(connection, [a for _, a, _ in new_versions])
        if new_versions:
            version_ids = (
                connection.execute(
                    insert(versions).returning(versions.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "article_id": a,
                            "content_hash": d,
                            "captured_at": r.captured_at,
                            "final_url": r.final_url,
                            "http_status": r.http_status,
                            "title": r.article.title,
                            "text": r.article.text,
                            "html": r.article.html,
                            "details": _details(r.article) | _diff(previous.get(a), r.article.text),
                            **ref_columns(r.response),
                        }
                        for r, a, d in new_versions
                    ],
                )
                .scalars()
                .all()
            )
            existing_versions.update(
                {(a, d): v for (_, a, d), v in zip(new_versions, version_ids, strict=True)}
            )
            index_documents(
                connection,
                [
                    SearchDoc(a, r.article.title, r.article.account, r.article.author, r.article.text)
                    for r, a, _ in new_versions
                ],
            )
            self._link_images(  # after indexing: images whose text was read before add it to the index
                connection,
                [(existing_versions[(a, d)], r.images, r.captured_at) for r, a, d in new_versions],
            )
            forget(connection, [a for _, a, _ in new_versions])
            store_links(connection, [(a, r.links) for r, a, _ in new_versions])
        results = []
        check_rows = []
        for i, (r, a, d) in enumerate(zip(records, article_ids, digests, strict=True)):
            version_id = existing_versions[(a, d)]
            new_article = i in fresh_indices
            new_version = i in new_version_indices
            results.append(CaptureResult(a, version_id, new_article, new_version))
            check_rows.append(
                {
                    "article_id": a,
                    "checked_at": r.captured_at,
                    "outcome": "edited" if new_version and not new_article else "alive",
                    "http_status": r.http_status,
                    "version_id": version_id,
                    **ref_columns(r.response),
                }
            )
        connection.execute(insert(checks), check_rows)
        return results

    def _link_urls(
        self, connection: Connection, records: Sequence[CaptureRecord], article_ids: list[int]
    ) -> None:
        wanted: dict[str, int] = {}
        for record, article_id in zip(records, article_ids, strict=True):
            for url in (*record.urls, record.final_url, record.article.url):
                wanted.setdefault(url, article_id)
        present = set(
            connection.scalars(select(article_urls.c.url).where(article_urls.c.url.in_(list(wanted))))
        )
        rows = [{"url": url, "article_id": a} for url, a in wanted.items() if url not in present]
        if rows:
            connection.execute(insert(article_urls), rows)

    def link_images(self, batches: Sequence[ImageLinks]) -> None:
        """Link images to versions stored before them; a link that exists already is kept as is."""
        with self.engine.begin() as connection:
            version_ids = list({batch.version_id for batch in batches})
            linked = {
                (row.version_id, row.url)
                for row in connection.execute(
                    select(version_blobs.c.version_id, version_blobs.c.url).where(
                        version_blobs.c.version_id.in_(version_ids)
                    )
                )
            }
            self._link_images(
                connection,
                [
                    (
                        batch.version_id,
                        [image for image in batch.images if (batch.version_id, image.url) not in linked],
                        batch.seen_at,
                    )
                    for batch in batches
                ],
            )

    def _link_images(
        self, connection: Connection, versions_images: list[tuple[int, Sequence[StoredImage], datetime]]
    ) -> None:
        images = [image for _, found, _ in versions_images for image in found]
        if not images:
            return
        digests = list({image.sha256 for image in images})
        present = set(connection.scalars(select(blobs.c.sha256).where(blobs.c.sha256.in_(digests))))
        new_blobs: dict[str, dict[str, Any]] = {}
        for _, found, seen_at in versions_images:
            for image in found:
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
        links = {
            (version_id, image.url): image.sha256
            for version_id, found, _ in versions_images
            for image in found
            if image.sha256 in held
        }
        if links:
            connection.execute(
                insert(version_blobs),
                [{"version_id": v, "url": url, "sha256": sha} for (v, url), sha in links.items()],
            )
            with_text = select(image_facts.c.sha256).where(
                image_facts.c.sha256.in_(set(links.values())), image_facts.c.ocr_text != ""
            )
            if connection.execute(with_text.limit(1)).first():
                linked = select(versions.c.article_id).where(versions.c.id.in_({v for v, _ in links}))
                refresh_image_text(connection, connection.scalars(linked))


def latest_texts(connection: Connection, article_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """(version id, text) of each article's latest version, for those that have one."""
    if not article_ids:
        return {}
    rows = connection.execute(
        select(versions.c.article_id, versions.c.id, versions.c.text).where(
            versions.c.id.in_(latest_versions(article_ids))
        )
    )
    return {row.article_id: (row.id, row.text) for row in rows}


def _rounds(records: Sequence[CaptureRecord]) -> list[list[int]]:
    """Split a batch so that no article appears twice in a round (they must see each other)."""
    rounds: list[list[int]] = []
    placed: list[set[tuple[str, str]]] = []
    for index, record in enumerate(records):
        identity = (record.article.platform, record.article.canonical_id)
        for members, identities in zip(rounds, placed, strict=True):
            if identity not in identities:
                members.append(index)
                identities.add(identity)
                break
        else:
            rounds.append([index])
            placed.append({identity})
    return rounds


def _article_fields(record: CaptureRecord) -> dict[str, Any]:
    article = record.article
    published = article.published_at
    return {
        "check_url": record.final_url,
        "content_hash": content_hash(article),
        "page_fingerprint": record.page_fingerprint,
        "url": article.url,
        "title": article.title,
        "account": article.account,
        "account_id": article.account_id,
        "author": article.author,
        "published_at": published,
        "published_offset_minutes": offset_minutes(published),
        "published_precision": article.published_precision,
    }


def offset_minutes(moment: datetime | None) -> int | None:
    offset = moment.utcoffset() if moment else None
    return int(offset.total_seconds() // 60) if offset is not None else None


MAX_DIFF_LINES = 400


def _diff(previous: tuple[int, str] | None, text: str) -> dict[str, Any]:
    """An edit's changes against the version before it, as unified-diff lines (paragraph by paragraph)."""
    if previous is None:
        return {}
    version_id, before = previous
    lines = list(difflib.unified_diff(before.splitlines(), text.splitlines(), lineterm="", n=1))[2:]
    return {
        "previous_version_id": version_id,
        "diff": lines[:MAX_DIFF_LINES],
        "diff_truncated": len(lines) > MAX_DIFF_LINES,
    }


def _details(article: Article) -> dict[str, Any]:
    return {
        "images": list(article.images),
        "media": [asdict(m) for m in article.media],
        "cover": article.cover,
        "description": article.description,
        "repost_of": article.repost_of,
        "labels": list(article.labels),
        "listings": list(article.listings),
        "site_name": article.site_name,
        "language": article.language,
    }
