"""The values the store takes and gives: what a capture, a check or an import stores, and
references to WARC records."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from samizdat.archive import ArchiveRef

if TYPE_CHECKING:
    from samizdat.platforms.base import Article
    from samizdat.relate.copies import Fingerprint


@dataclass(frozen=True)
class StoredImage:
    url: str  # as the article gives it
    sha256: str
    media_type: str | None
    size: int
    ref: ArchiveRef | None  # None when the blob was archived by an earlier capture


@dataclass(frozen=True)
class ImageLinks:
    """Images fetched after their version was stored, to link to it; their records are durable."""

    version_id: int
    images: Sequence[StoredImage]
    seen_at: datetime


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
    next_check_at: datetime | None = None  # for a new article: its first re-check
    page_fingerprint: str | None = None  # the page without per-request tokens (re-checks compare it)
    keywords: Sequence[str] = ()  # watchlist terms the article matched: it is checked as a priority
    # The text's MinHash (store/copies.py), when the capture computed it; else the store does.
    text_fingerprint: Fingerprint | None = None
    links: Sequence[tuple[str, str | None]] = ()  # (URL, canonical id) of each article it links to


@dataclass(frozen=True)
class ImportedRemoval:
    """A removal someone else saw (a removal dataset's row): no capture, never checked here."""

    platform: str
    canonical_id: str
    url: str  # urn:samizdat:import:<dataset>:<key> when the dataset gives no address
    title: str
    account: str | None
    account_id: str | None
    published_at: datetime
    published_precision: str
    outcome: str
    message: str
    detected_at: datetime
    keywords: Sequence[str] = ()


@dataclass(frozen=True)
class UnseenRemoval:
    """An article that showed a removal the first time samizdat looked: what its listing said
    of it, and the page it showed (the evidence)."""

    platform: str
    canonical_id: str
    url: str
    seen_at: datetime
    outcome: str
    message: str | None
    http_status: int | None
    evidence: ArchiveRef | None
    title: str | None
    account: str | None
    published_at: datetime | None
    summary: str | None
    next_check_at: datetime  # the look that confirms the removal, or captures the article after all
    source_id: int | None = None
    reached_by: str = "listing"  # listing, link (another article's), or request (submitted)


@dataclass(frozen=True)
class DueArticle:
    """An article whose next check is due, with what the check compares against."""

    id: int
    platform: str
    canonical_id: str
    check_url: str  # where its latest version was fetched from
    content_hash: str
    state: str
    outcome: str | None
    priority: int
    first_captured_at: datetime
    last_seen_alive_at: datetime | None
    suspected_at: datetime | None
    detected_at: datetime | None
    page_fingerprint: str | None = None
    next_check_at: datetime | None = None  # when it was due: a day early means it was signalled
    suspected_by: str | None = None  # the way out whose check saw the removal (fetch.egress)


@dataclass(frozen=True)
class ListedArticle:
    """An archived article a source's listing names: what decides whether that listing is a look."""

    id: int
    state: str
    priority: int
    first_captured_at: datetime
    last_seen_alive_at: datetime | None
    next_check_at: datetime | None


@dataclass(frozen=True)
class ListingView:
    """What a poll's listing reaches in the archive (``Store.listing_view``)."""

    articles: list[ListedArticle]
    # A check found removed (or suspects) an article that left the middle of this listing.
    left_out_removed: bool
    # (url, kind, drops_removed) of the other sources whose listings have shown which they do.
    others: list[tuple[str, str, int]]
    known: set[str] = field(default_factory=set)  # the listed URLs that lead to archived articles


@dataclass(frozen=True)
class CheckRow:
    article_id: int
    checked_at: datetime
    outcome: str
    message: str | None
    http_status: int | None
    evidence: ArchiveRef | None  # the page the check saw (a notice is evidence of a removal)


@dataclass(frozen=True)
class Announcement:
    """What a check tells the operator's systems: a declared removal, a return or an edit."""

    kind: str  # removed, restored, edited
    outcome: str
    message: str | None
    detected_at: datetime


@dataclass(frozen=True)
class WatchState:
    state: str
    outcome: str | None
    suspected_at: datetime | None
    last_seen_alive_at: datetime | None
    detected_at: datetime | None
    next_check_at: datetime | None
    page_fingerprint: str | None  # of the latest page that parsed as the article
    # Stored with the check in the notification outbox, in the same transaction.
    announce: Announcement | None = None
    suspected_by: str | None = None  # while suspect: the way out of the check that saw it


@dataclass(frozen=True)
class PendingNotification:
    """A notification to deliver, with what the receiver is told of its article."""

    id: int
    key: str  # the idempotency key: the same for every delivery of this notification
    kind: str
    article_id: int
    outcome: str
    message: str | None
    detected_at: datetime
    attempts: int
    delivered_to: tuple[str, ...]
    url: str | None
    title: str | None
    account: str | None


@dataclass(frozen=True)
class CaptureRequest:
    """A URL submitted through the admin API, and how its capture went once it is done."""

    id: int
    url: str
    requested_at: datetime
    state: str  # queued, capturing, done
    finished_at: datetime | None = None
    status: str | None = None
    article_id: int | None = None
    reason: str | None = None
    message: str | None = None
    http_status: int | None = None


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
