"""Capture requests: URLs the site queues for the watcher, taken by one worker at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, or_, select, update

from samizdat.store.schema import capture_requests
from samizdat.store.values import CaptureRequest

# What a finished request says of its capture (the columns of the same names).
_OUTCOME = ("finished_at", "status", "article_id", "reason", "message", "http_status")


class CaptureRequestQueries:
    engine: Engine

    def request_captures(self, urls: Sequence[str], now: datetime) -> list[CaptureRequest]:
        """Queue ``urls`` for capture, in order."""
        with self.engine.begin() as connection:
            ids = [
                connection.scalar(
                    insert(capture_requests)
                    .values(url=url, requested_at=now)
                    .returning(capture_requests.c.id)
                )
                for url in urls
            ]
        return [CaptureRequest(id, url, now, "queued") for id, url in zip(ids, urls, strict=True)]

    def take_capture_requests(
        self, now: datetime, limit: int, *, worker: str, lease: timedelta
    ) -> list[CaptureRequest]:
        """Up to ``limit`` queued requests, oldest first, claimed for ``worker`` (a request whose
        claim ran out, its worker gone, is queued again)."""
        with self.engine.begin() as connection:
            free = or_(capture_requests.c.claimed_until.is_(None), capture_requests.c.claimed_until < now)
            rows = connection.execute(
                select(capture_requests.c.id, capture_requests.c.url, capture_requests.c.requested_at)
                .where(capture_requests.c.finished_at.is_(None), free)
                .order_by(capture_requests.c.id)
                .limit(limit)
            ).all()
            if not rows:
                return []
            taken = set(
                connection.scalars(
                    update(capture_requests)
                    .where(capture_requests.c.id.in_([row.id for row in rows]), free)
                    .values(claimed_by=worker, claimed_until=now + lease)
                    .returning(capture_requests.c.id)
                )
            )
        return [
            CaptureRequest(row.id, row.url, row.requested_at, "capturing") for row in rows if row.id in taken
        ]

    def finish_capture_request(self, done: CaptureRequest) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(capture_requests)
                .where(capture_requests.c.id == done.id)
                .values(
                    {name: getattr(done, name) for name in _OUTCOME}
                    | {"claimed_by": None, "claimed_until": None}
                )
            )

    def capture_request(self, request_id: int) -> CaptureRequest | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(capture_requests).where(capture_requests.c.id == request_id)
            ).one_or_none()
        if row is None:
            return None
        if row.finished_at is not None:
            state = "done"
        elif row.claimed_by is not None:
            state = "capturing"
        else:
            state = "queued"
        return CaptureRequest(
            row.id,
            row.url,
            row.requested_at,
            state,
            row.finished_at,
            row.status,
            row.article_id,
            row.reason,
            row.message,
            row.http_status,
        )
