"""Reading and writing the archive's rows. Other stages talk to the database only through here."""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from samizdat.archive import ArchiveRef
from samizdat.platforms.base import Article
from samizdat.store.copies import Fingerprint, NewVersion, plan_copies, store_copies
from samizdat.store.related import forget, related_ids
from samizdat.store.schema import (
    article_urls,
    articles,
    blobs,
    checks,
    host_turns,
    search_docs,
    sources,
    version_blobs,
    versions,
    workers,
)
from samizdat.store.search import SearchDoc, index_documents


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


@dataclass(frozen=True)
class CheckRow:
    article_id: int
    checked_at: datetime
    outcome: str
    message: str | None
    http_status: int | None
    evidence: ArchiveRef | None  # the page the check saw (a notice is evidence of a removal)


@dataclass(frozen=True)
class WatchState:
    state: str
    outcome: str | None
    suspected_at: datetime | None
    last_seen_alive_at: datetime | None
    detected_at: datetime | None
    next_check_at: datetime | None
    page_fingerprint: str | None  # of the latest page that parsed as the article


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


# A signal that an article may be gone (it left its listing, its account was blocked, a copy
# was removed) puts its next check this far in the past: claims take the most overdue first,
# so it goes ahead of routine checks that are late by less.
AHEAD_OF_ROUTINE = timedelta(days=1)


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def article_id_for_url(self, url: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.scalar(select(article_urls.c.article_id).where(article_urls.c.url == url))

    def claim_due(self, now: datetime, limit: int, *, worker: str, lease: timedelta) -> list[DueArticle]:
        """Claim up to ``limit`` due articles for ``worker`` until ``now + lease``: suspects first,
        then the most overdue.

        Any number of workers, on any machines, share one database this way: a claimed article
        is not handed to another worker until its check is recorded (which clears the claim) or
        the lease runs out (its worker died). PostgreSQL skips rows another worker is claiming
        at that moment (``FOR UPDATE SKIP LOCKED``); SQLite has one writer at a time anyway.
        """
        due = articles.c.next_check_at <= now
        free = or_(articles.c.claimed_until.is_(None), articles.c.claimed_until < now)
        # Two index walks rather than one sort of everything due: suspected removals (few),
        # then the most overdue (the next-check index, in order, stopping at ``limit``).
        suspects = (
            select(articles.c.id)
            .where(articles.c.state == "suspect", due, free)
            .order_by(articles.c.next_check_at)
            .limit(limit)
        )
        overdue = select(articles.c.id).where(due, free).order_by(articles.c.next_check_at).limit(limit)
        with self.engine.begin() as connection:
            postgres = connection.dialect.name == "postgresql"
            rows = []
            for candidates in (suspects, overdue):
                wanted = limit - len(rows)
                if wanted <= 0:
                    break
                candidates = candidates.limit(wanted)
                if postgres:
                    candidates = candidates.with_for_update(skip_locked=True)
                rows += connection.execute(
                    update(articles)
                    .where(articles.c.id.in_(candidates.scalar_subquery()))
                    .values(claimed_by=worker, claimed_until=now + lease)
                    .returning(articles)
                ).all()
        rows.sort(key=lambda row: (row.state != "suspect", row.next_check_at))
        return [
            DueArticle(
                row.id,
                row.platform,
                row.canonical_id,
                row.check_url,
                row.content_hash,
                row.state,
                row.outcome,
                row.priority,
                row.first_captured_at,
                row.last_seen_alive_at,
                row.suspected_at,
                row.detected_at,
                row.page_fingerprint,
                row.next_check_at,
            )
            for row in rows
        ]

    def heartbeat(self, name: str, *, host: str, pid: int, started_at: datetime, now: datetime, checks: int,
                  captures: int, queues: dict[str, Any] | None = None) -> None:  # fmt: skip
        """Say that worker ``name`` is alive (``samizdat status`` lists the workers seen lately)."""
        values = {"seen_at": now, "checks": checks, "captures": captures, "queues": queues}
        with self.engine.begin() as connection:
            if not connection.execute(
                update(workers).where(workers.c.name == name).values(**values)
            ).rowcount:
                connection.execute(
                    insert(workers).values(name=name, host=host, pid=pid, started_at=started_at, **values)
                )

    def release_dead_claims(self, now: datetime, *, host: str, silent_after: timedelta) -> int:
        """Free at once the claims (checks and source polls) of workers that are gone: a process of
        this machine that no longer runs, or a worker whose last sign of life is older than
        ``silent_after``. A worker is named ``host:pid:tag`` (``watch.loop.worker_name``), so a
        process that died before its first sign of life is found too. How many claims were freed."""
        with self.engine.begin() as connection:
            known = {row.name: row for row in connection.execute(select(workers))}
            claimers = {
                name
                for table in (articles, sources)
                for name in connection.scalars(
                    select(table.c.claimed_by).where(table.c.claimed_by.is_not(None)).distinct()
                )
            }
            gone = set()
            for name in claimers | set(known):
                row = known.get(name)
                worker_host, pid = (row.host, row.pid) if row is not None else _host_and_pid(name)
                if (worker_host == host and pid is not None and not _process_alive(pid)) or (
                    row is not None and row.seen_at < now - silent_after
                ):
                    gone.add(name)
            if not gone:
                return 0
            freed = 0
            for table in (articles, sources):
                freed += connection.execute(
                    update(table)
                    .where(table.c.claimed_by.in_(sorted(gone)))
                    .values(claimed_by=None, claimed_until=None)
                ).rowcount
            connection.execute(delete(workers).where(workers.c.name.in_(sorted(gone))))
            return freed

    def workers_alive(self, now: datetime, *, within: timedelta) -> int:
        """How many workers gave a sign of life within ``within`` of ``now``."""
        with self.engine.connect() as connection:
            return connection.scalar(
                select(func.count()).select_from(workers).where(workers.c.seen_at >= now - within)
            )

    def worker_stopped(self, name: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(workers).where(workers.c.name == name))

    def queue(self, now: datetime, *, late_after: timedelta) -> dict[str, Any]:
        """The work queue at ``now``: due, claimed, late (due for longer than ``late_after``), workers."""
        unclaimed = or_(articles.c.claimed_until.is_(None), articles.c.claimed_until < now)
        with self.engine.connect() as connection:
            count = lambda *where: connection.scalar(select(func.count()).select_from(articles).where(*where))  # noqa: E731
            return {
                "due": count(articles.c.next_check_at <= now),
                "claimed": count(articles.c.claimed_until >= now),
                "late": count(articles.c.next_check_at <= now - late_after, unclaimed),
                "oldest_due": connection.scalar(
                    select(func.min(articles.c.next_check_at)).where(articles.c.next_check_at <= now)
                ),
                "workers": [
                    dict(row._mapping) for row in connection.execute(select(workers).order_by(workers.c.name))
                ],
                "hosts": [
                    dict(row._mapping)
                    for row in connection.execute(select(host_turns).order_by(host_turns.c.host))
                ],
            }

    def due_by_class(self, now: datetime, *, signalled: timedelta) -> dict[str, tuple[int, float]]:
        """Articles due now by what their check is for — ``confirm`` (a suspected removal),
        ``signal`` (made due ``signalled`` early or more) and ``routine`` — each with how
        late the most overdue one is, in seconds."""
        due = articles.c.next_check_at <= now
        suspect = articles.c.state == "suspect"
        early = articles.c.next_check_at <= now - signalled
        classes = {
            "confirm": (due, suspect),
            "signal": (early, ~suspect),
            "routine": (due, ~suspect, articles.c.next_check_at > now - signalled),
        }
        figures = {}
        with self.engine.connect() as connection:
            for name, where in classes.items():
                count, oldest = connection.execute(
                    select(func.count(), func.min(articles.c.next_check_at)).where(*where)
                ).one()
                if oldest is not None and name == "signal":
                    oldest += AHEAD_OF_ROUTINE  # when it was signalled
                late = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
                figures[name] = (count, late)
        return figures

    def record_checks(self, done: Sequence[tuple[CheckRow | None, int, WatchState]]) -> None:
        """Store checks (those not already stored with a version) and their articles' new states."""
        if not done:
            return
        check_rows = [check for check, _, _ in done if check is not None]
        with self.engine.begin() as connection:
            if check_rows:
                connection.execute(
                    insert(checks),
                    [
                        {
                            "article_id": check.article_id,
                            "checked_at": check.checked_at,
                            "outcome": check.outcome,
                            "http_status": check.http_status,
                            "message": check.message,
                            "warc_file": None,
                            "warc_offset": None,
                            "warc_length": None,
                            "warc_digest": None,
                            "warc_record_id": None,
                            **ref_columns(check.evidence),
                        }
                        for check in check_rows
                    ],
                )
            connection.execute(
                update(articles).where(articles.c.id == bindparam("article_id")),
                [
                    {
                        "article_id": article_id,
                        "state": state.state,
                        "outcome": state.outcome,
                        "suspected_at": state.suspected_at,
                        "last_seen_alive_at": state.last_seen_alive_at,
                        "detected_at": state.detected_at,
                        "next_check_at": state.next_check_at,
                        "page_fingerprint": state.page_fingerprint,
                        "claimed_by": None,
                        "claimed_until": None,
                    }
                    for _, article_id, state in done
                ],
            )

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
                        select(articles.c.platform, articles.c.canonical_id).where(
                            articles.c.canonical_id.in_([r.canonical_id for r in chunk])
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
                                "published_offset_minutes": _offset_minutes(r.published_at),
                                "published_precision": r.published_precision,
                                "state": "removed",
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
            listed = {
                "title": removal.title,
                "account": removal.account,
                "published_at": removal.published_at.isoformat() if removal.published_at else None,
                "summary": removal.summary,
            }
            article_id = connection.execute(
                insert(articles).returning(articles.c.id),
                {
                    "platform": removal.platform,
                    "canonical_id": removal.canonical_id,
                    "url": removal.url,
                    "title": removal.title,
                    "account": removal.account,
                    "published_at": removal.published_at,
                    "published_offset_minutes": _offset_minutes(removal.published_at),
                    "state": "suspect",
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
            index_documents(connection, [SearchDoc(article_id, removal.title, removal.account, None, "")])
            return article_id

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

    def add_source(
        self, kind: str, url: str, *, title: str | None, interval_seconds: int, keywords: Sequence[str] = ()
    ) -> tuple[int, bool]:
        """(id, created): a source URL is stored once."""
        with self.engine.begin() as connection:
            existing = connection.scalar(select(sources.c.id).where(sources.c.url == url))
            if existing is not None:
                return existing, False
            created = connection.scalar(
                insert(sources)
                .values(
                    kind=kind,
                    url=url,
                    title=title,
                    poll_interval_seconds=interval_seconds,
                    keywords=list(keywords) or None,
                    created_at=datetime.now(UTC),
                )
                .returning(sources.c.id)
            )
            return created, True

    def list_sources(self) -> list[dict[str, Any]]:
        """Every source, without its remembered listing (read at poll time: :meth:`source_listing`)."""
        columns = [column for column in sources.c if column.name != "listing"]
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(*columns).order_by(sources.c.id))]

    def source_listing(self, source_id: int) -> list[str]:
        """What the source's last poll listed (less what could not be captured)."""
        with self.engine.connect() as connection:
            return connection.scalar(select(sources.c.listing).where(sources.c.id == source_id)) or []

    def remove_source(self, key: str) -> bool:
        condition = sources.c.id == int(key) if key.isdigit() else sources.c.url == key
        with self.engine.begin() as connection:
            return connection.execute(delete(sources).where(condition)).rowcount > 0

    def claim_source(self, source_id: int, *, now: datetime, worker: str, lease: timedelta) -> bool:
        """Take the poll of a source for ``worker`` (False: another worker holds it)."""
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(sources)
                .where(
                    sources.c.id == source_id,
                    or_(sources.c.claimed_until.is_(None), sources.c.claimed_until < now),
                )
                .values(claimed_by=worker, claimed_until=now + lease)
            )
            return taken.rowcount == 1

    def release_source(self, source_id: int) -> None:
        """Give up the claim on a source whose poll failed: it is due again at once."""
        with self.engine.begin() as connection:
            connection.execute(
                update(sources).where(sources.c.id == source_id).values(claimed_by=None, claimed_until=None)
            )

    def source_polled(
        self,
        source_id: int,
        *,
        at: datetime,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
        listing: Sequence[str] | None = None,
    ) -> None:
        """Record a poll; ``listing`` (None: unchanged, as after a 304) is what it listed."""
        values: dict[str, Any] = {
            "last_polled_at": at,
            "etag": etag,
            "last_modified": last_modified,
            "claimed_by": None,
            "claimed_until": None,
        }
        if title:
            values["title"] = title
        if listing is not None:
            values["listing"] = list(listing)
        with self.engine.begin() as connection:
            connection.execute(update(sources).where(sources.c.id == source_id).values(**values))

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
        with self.engine.connect() as connection:
            plans = plan_copies(connection, [(r.article.text, r.text_fingerprint) for r in records])
        with self.engine.begin() as connection:
            results: list[CaptureResult | None] = [None] * len(records)
            for round_indices in _rounds(records):
                batch = [records[i] for i in round_indices]
                for i, result in zip(round_indices, self._record_batch(connection, batch), strict=True):
                    results[i] = result
            done: list[CaptureResult] = results  # type: ignore[assignment]
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
                            "state": "live",
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
        seen = [r for i, r in enumerate(records) if i not in fresh_indices]
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
            self._link_images(
                connection,
                [(existing_versions[(a, d)], r.images, r.captured_at) for r, a, d in new_versions],
            )
            index_documents(
                connection,
                [
                    SearchDoc(a, r.article.title, r.article.account, r.article.author, r.article.text)
                    for r, a, _ in new_versions
                ],
            )
            forget(connection, [a for _, a, _ in new_versions])
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
                        "published_at": _local_time(row.published_at, row.published_offset_minutes),
                        "warc": ref_from_row(row),
                        "related": related[row.id],
                    }

    def check_siblings_soon(self, article_id: int, now: datetime, *, sharing: str, limit: int) -> int:
        """Make the live articles that share this article's ``sharing`` column (``account_id``:
        its account; ``cluster_id``: its copies) due ahead of routine checks, the newest
        ``limit``; how many."""
        column = articles.c[sharing]
        with self.engine.begin() as connection:
            value = connection.scalar(select(column).where(articles.c.id == article_id))
            if value is None or value == "":
                return 0
            siblings = (
                select(articles.c.id)
                .where(
                    column == value,
                    articles.c.id != article_id,
                    articles.c.state == "live",
                    articles.c.next_check_at > now - AHEAD_OF_ROUTINE,
                )
                .order_by(articles.c.first_captured_at.desc())
                .limit(limit)
            )
            ids = list(connection.scalars(siblings))
            if ids:
                connection.execute(
                    update(articles)
                    .where(articles.c.id.in_(ids))
                    .values(next_check_at=now - AHEAD_OF_ROUTINE)
                )
            return len(ids)

    def check_urls_soon(self, urls: Sequence[str], now: datetime) -> int:
        """Make the live articles reached by ``urls`` due ahead of routine checks; how many."""
        made_due = 0
        with self.engine.begin() as connection:
            for start in range(0, len(urls), 500):
                chunk = list(urls[start : start + 500])
                reached = select(article_urls.c.article_id).where(article_urls.c.url.in_(chunk))
                made_due += connection.execute(
                    update(articles)
                    .where(
                        articles.c.id.in_(reached),
                        articles.c.state == "live",
                        articles.c.next_check_at > now - AHEAD_OF_ROUTINE,
                    )
                    .values(next_check_at=now - AHEAD_OF_ROUTINE)
                ).rowcount
        return made_due

    def check_ref(self, check_id: int) -> ArchiveRef | None:
        """Where the page a check saw is kept (a removal notice is the removal's evidence)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(checks).where(checks.c.id == check_id)).first()
        return ref_from_row(row) if row is not None else None

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
                    articles.c.state == "removed",
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


def _host_and_pid(worker: str) -> tuple[str | None, int | None]:
    """The machine and process of a worker named ``host:pid:tag``."""
    host, _, pid = worker.rpartition(":")[0].rpartition(":")
    return (host or None, int(pid)) if pid.isdigit() else (None, None)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def latest_texts(connection: Connection, article_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """(version id, text) of each article's latest version, for those that have one."""
    if not article_ids:
        return {}
    latest = (
        select(func.max(versions.c.id))
        .where(versions.c.article_id.in_(list(article_ids)))
        .group_by(versions.c.article_id)
    )
    rows = connection.execute(
        select(versions.c.article_id, versions.c.id, versions.c.text).where(versions.c.id.in_(latest))
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
        "published_offset_minutes": _offset_minutes(published),
        "published_precision": article.published_precision,
    }


def _offset_minutes(moment: datetime | None) -> int | None:
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
        "site_name": article.site_name,
        "language": article.language,
    }


def _local_time(moment: datetime | None, offset_minutes: int | None) -> datetime | None:
    if moment is None or offset_minutes is None:
        return moment
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
