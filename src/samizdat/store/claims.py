"""Checks: due articles claimed by one worker at a time, their results, the workers themselves."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, or_, select, update

from samizdat.status import State
from samizdat.store.log import add_log_entries, check_payload
from samizdat.store.notifications import add_notifications
from samizdat.store.schema import (
    article_urls,
    articles,
    capture_requests,
    checks,
    host_turns,
    notifications,
    set_aside_links,
    sources,
    workers,
)
from samizdat.store.values import CheckRow, DueArticle, WatchState, ref_columns

# Every table whose rows a worker claims: a dead worker's claims are freed in all of them.
_CLAIMED = (articles, sources, capture_requests, notifications, set_aside_links)

# A signal that an article may be gone (it left its listing, its account was blocked, a copy
# was removed) puts its next check this far in the past: claims take the most overdue first,
# so it goes ahead of routine checks that are late by less.
AHEAD_OF_ROUTINE = timedelta(days=1)


class ClaimQueries:
    engine: Engine

    def claim_due(
        self, now: datetime, limit: int, *, worker: str, lease: timedelta, routine: bool = True
    ) -> list[DueArticle]:
        """Claim up to ``limit`` due articles for ``worker`` until ``now + lease``: suspects first,
        then the most overdue (``routine`` False: only signalled ones, made due early).

        Any number of workers, on any machines, share one database this way: a claimed article
        is not handed to another worker until its check is recorded (which clears the claim) or
        the lease runs out (its worker died). PostgreSQL skips rows another worker is claiming
        at that moment (``FOR UPDATE SKIP LOCKED``); SQLite has one writer at a time anyway.
        """
        due = articles.c.next_check_at <= now
        # Signalled checks are made due AHEAD_OF_ROUTINE early: half of it tells them apart.
        overdue_by = due if routine else articles.c.next_check_at <= now - AHEAD_OF_ROUTINE / 2
        free = or_(articles.c.claimed_until.is_(None), articles.c.claimed_until < now)
        # Two index walks rather than one sort of everything due: suspected removals (few),
        # then the most overdue (the next-check index, in order, stopping at ``limit``).
        suspects = (
            select(articles.c.id)
            .where(articles.c.state == State.SUSPECT.value, due, free)
            .order_by(articles.c.next_check_at)
            .limit(limit)
        )
        overdue = (
            select(articles.c.id).where(overdue_by, free).order_by(articles.c.next_check_at).limit(limit)
        )
        # Asked many times a second while checks run: a read first, which takes no write lock,
        # so that asking when nothing is due costs the one writer (SQLite's) nothing.
        with self.engine.connect() as connection:
            if all(connection.scalar(candidates.limit(1)) is None for candidates in (suspects, overdue)):
                return []
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
        rows.sort(key=lambda row: (row.state != State.SUSPECT.value, row.next_check_at))
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
                row.suspected_by,
            )
            for row in rows
        ]

    def next_due(self, now: datetime) -> datetime | None:
        """When the soonest check not claimed at ``now`` falls due, if any."""
        free = or_(articles.c.claimed_until.is_(None), articles.c.claimed_until < now)
        with self.engine.connect() as connection:
            return connection.scalar(select(func.min(articles.c.next_check_at)).where(free))

    def heartbeat(self, name: str, *, host: str, pid: int, started_at: datetime, now: datetime, checks: int,
                  captures: int, queues: dict[str, Any] | None = None,
                  requests: dict[str, dict[str, int]] | None = None,
                  egresses: dict[str, dict[str, float]] | None = None) -> None:  # fmt: skip
        """Say that worker ``name`` is alive (``samizdat status`` lists the workers seen lately)."""
        values = {
            "seen_at": now,
            "checks": checks,
            "captures": captures,
            "queues": queues,
            "requests": requests,
            "egresses": egresses,
        }
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
                for table in _CLAIMED
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
            for table in _CLAIMED:
                freed += connection.execute(
                    update(table)
                    .where(table.c.claimed_by.in_(sorted(gone)))
                    .values(claimed_by=None, claimed_until=None)
                ).rowcount
            connection.execute(delete(workers).where(workers.c.name.in_(sorted(gone))))
            return freed

    def worker_stopped(self, name: str) -> None:
        """``name`` has stopped: what it still held (work cut short by the stop) is free again."""
        with self.engine.begin() as connection:
            connection.execute(delete(workers).where(workers.c.name == name))
            for table in _CLAIMED:
                held = update(table).where(table.c.claimed_by == name)
                connection.execute(held.values(claimed_by=None, claimed_until=None))

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
        suspect = articles.c.state == State.SUSPECT.value
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
        # Rows are updated in the order of their ids, the order ``_make_due`` locks them in:
        # a batch in another order deadlocked against a removal making its siblings due.
        done = sorted(done, key=lambda item: item[1])
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
                        "suspected_by": state.suspected_by,
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
            add_notifications(
                connection, [(article_id, state.announce) for _, article_id, state in done if state.announce]
            )
            add_log_entries(
                connection,
                [
                    (
                        "check",
                        check.article_id,
                        check_payload(
                            check.article_id,
                            check.checked_at,
                            check.outcome,
                            check.http_status,
                            check.evidence,
                        ),
                    )
                    for check in check_rows
                    if check.evidence is not None
                ]
                + [
                    (
                        state.announce.kind,
                        article_id,
                        {
                            "article": article_id,
                            "outcome": state.announce.outcome,
                            "detected_at": state.announce.detected_at.astimezone(UTC).isoformat(),
                        },
                    )
                    for _, article_id, state in done
                    if state.announce
                ],
            )

    def check_siblings_soon(self, article_id: int, now: datetime, *, sharing: str, limit: int) -> list[str]:
        """Make the live articles that share this article's ``sharing`` column (``account_id``:
        its account; ``cluster_id``: its copies) due ahead of routine checks, the newest
        ``limit``; the URLs their checks fetch."""
        column = articles.c[sharing]
        with self.engine.begin() as connection:
            value = connection.scalar(select(column).where(articles.c.id == article_id))
            if value is None or value == "":
                return []
            siblings = (
                select(articles.c.id)
                .where(
                    column == value,
                    articles.c.id != article_id,
                    articles.c.state == State.LIVE.value,
                    articles.c.next_check_at > now - AHEAD_OF_ROUTINE,
                )
                .order_by(articles.c.first_captured_at.desc())
                .limit(limit)
            )
            return _make_due(connection, list(connection.scalars(siblings)), now - AHEAD_OF_ROUTINE)

    def check_urls_soon(self, urls: Sequence[str], now: datetime) -> list[str]:
        """Make the live articles reached by ``urls`` due ahead of routine checks; the URLs
        their checks fetch."""
        ids: set[int] = set()
        with self.engine.begin() as connection:
            for start in range(0, len(urls), 500):
                chunk = list(urls[start : start + 500])
                reached = select(article_urls.c.article_id).where(article_urls.c.url.in_(chunk))
                ids.update(
                    connection.scalars(
                        select(articles.c.id).where(
                            articles.c.id.in_(reached),
                            articles.c.state == State.LIVE.value,
                            articles.c.next_check_at > now - AHEAD_OF_ROUTINE,
                        )
                    )
                )
            return _make_due(connection, sorted(ids), now - AHEAD_OF_ROUTINE)


def _make_due(connection: Connection, ids: list[int], due: datetime) -> list[str]:
    """Make the articles ``ids`` due at ``due``; the URLs their checks fetch (a check already
    waiting for its turn is found by them: ``Fetcher.promote``). Their rows are locked in the
    order of their ids first: two removals of one account seen at once make overlapping sets
    due, and each locking them in an order of its own deadlocked on PostgreSQL."""
    if not ids:
        return []
    locked = connection.execute(
        select(articles.c.id, articles.c.check_url)
        .where(articles.c.id.in_(ids))
        .order_by(articles.c.id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: a check's row may still reference it
    ).all()
    for start in range(0, len(locked), 500):
        chunk = [row.id for row in locked[start : start + 500]]
        connection.execute(update(articles).where(articles.c.id.in_(chunk)).values(next_check_at=due))
    return [row.check_url for row in locked]


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
