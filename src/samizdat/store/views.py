"""What the store gives about an article, typed: built here once, read by the CLI, the export,
the API, the site's templates and the watcher's announcements alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from samizdat.archive import ArchiveRef
from samizdat.status import public_status


@dataclass(frozen=True)
class VersionView:
    """One archived version: its text, and the page (a WARC record) it was read from."""

    id: int
    captured_at: datetime
    title: str | None
    text: str
    final_url: str | None
    http_status: int | None
    details: dict[str, Any]  # what the platform read besides the text (images, cover, diff, …)
    warc: ArchiveRef | None
    html: str | None = None  # the article's body as the platform gave it (not in the export)

    @property
    def diff(self) -> Any:
        return self.details.get("diff")


@dataclass(frozen=True)
class CheckView:
    """One re-check that was stored (not every unchanged one is), with the page it saw."""

    id: int
    checked_at: datetime
    outcome: str
    http_status: int | None
    message: str | None
    evidence: ArchiveRef | None


@dataclass(frozen=True)
class ImageView:
    url: str
    sha256: str
    size: int
    media_type: str | None
    warc: ArchiveRef | None


@dataclass(frozen=True)
class ArticleView:
    """An article as it is shown anywhere: its own facts, its latest version, its relations.

    ``status`` is the one public status (:func:`samizdat.status.public_status`)."""

    id: int
    platform: str
    canonical_id: str
    url: str
    title: str | None
    account: str | None
    account_id: str | None
    author: str | None
    published_at: datetime | None  # in the article's own UTC offset when known
    published_precision: str | None
    state: str
    outcome: str | None
    priority: int
    first_seen_at: datetime  # when samizdat first saw it (a capture, or a removal notice)
    last_seen_alive_at: datetime | None
    suspected_at: datetime | None
    detected_at: datetime | None
    next_check_at: datetime | None  # None: never again
    keywords: tuple[str, ...]  # watchlist terms it matched
    cluster_id: int | None  # the oldest article sharing its text; None alone
    listed: dict[str, Any] | None  # what a source's listing said of it
    latest: VersionView | None  # None: removed before it could be captured
    version_count: int
    first_version_at: datetime | None

    @property
    def status(self) -> str:
        return public_status(self.state, self.outcome)


@dataclass(frozen=True)
class ArticleDetail(ArticleView):
    """An article with its whole history: every version, stored check, URL and image."""

    versions: tuple[VersionView, ...] = ()
    checks: tuple[CheckView, ...] = ()
    urls: tuple[str, ...] = ()
    images: tuple[ImageView, ...] = ()


@dataclass(frozen=True)
class ExportedArticle(ArticleView):
    """An article as ``samizdat export`` writes it: its latest version and its related posts."""

    related: tuple[int, ...] = ()
    # The latest version's images as read: url, sha256, text, lines (text, box, confidence).
    image_text: tuple[dict[str, Any], ...] = ()


def article_view_fields(
    row: Any, latest: VersionView | None, version_count: int, first_version_at: datetime | None
) -> dict[str, Any]:
    """The fields of an :class:`ArticleView` from an ``articles`` row: the one place they are mapped."""
    return {
        "id": row.id,
        "platform": row.platform,
        "canonical_id": row.canonical_id,
        "url": row.url,
        "title": row.title,
        "account": row.account,
        "account_id": row.account_id,
        "author": row.author,
        "published_at": local_time(row.published_at, row.published_offset_minutes),
        "published_precision": row.published_precision,
        "state": row.state,
        "outcome": row.outcome,
        "priority": row.priority,
        "first_seen_at": row.first_captured_at,
        "last_seen_alive_at": row.last_seen_alive_at,
        "suspected_at": row.suspected_at,
        "detected_at": row.detected_at,
        "next_check_at": row.next_check_at,
        "keywords": tuple(row.keywords or ()),
        "cluster_id": row.cluster_id,
        "listed": row.listed,
        "latest": latest,
        "version_count": version_count,
        "first_version_at": first_version_at,
    }


def article_detail(
    row: Any, versions: Iterable[Any], checks: Iterable[Any], urls: Iterable[str], images: Iterable[Any]
) -> ArticleDetail:
    """An :class:`ArticleDetail` from its rows (``articles``; its ``versions`` and ``checks``
    oldest first; the latest version's images joined with their blobs), read by SQLAlchemy or
    by sqlite3 alone (:mod:`samizdat.store.plain`): rows that give their columns as attributes."""
    history = tuple(
        VersionView(
            v.id,
            v.captured_at,
            v.title,
            v.text,
            v.final_url,
            v.http_status,
            v.details or {},
            ref_from_row(v),
            v.html,
        )
        for v in versions
    )
    return ArticleDetail(
        **article_view_fields(
            row, history[-1] if history else None, len(history), history[0].captured_at if history else None
        ),
        versions=history,
        checks=tuple(
            CheckView(c.id, c.checked_at, c.outcome, c.http_status, c.message, ref_from_row(c))
            for c in checks
        ),
        urls=tuple(urls),
        images=tuple(ImageView(i.url, i.sha256, i.size, i.media_type, ref_from_row(i)) for i in images),
    )


def local_time(moment: datetime | None, offset_minutes: int | None) -> datetime | None:
    if moment is None or offset_minutes is None:
        return moment
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes)))


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
