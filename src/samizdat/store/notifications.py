"""The notification outbox: written with the checks that declare something, delivered later."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, or_, select, update

from samizdat.store.schema import articles, notifications
from samizdat.store.values import Announcement, PendingNotification

_PENDING = (notifications.c.delivered_at.is_(None), notifications.c.gave_up_at.is_(None))


def add_notifications(connection: Connection, announced: Sequence[tuple[int, Announcement]]) -> None:
    """Queue ``(article_id, announcement)`` pairs, inside the caller's transaction."""
    if announced:
        connection.execute(
            insert(notifications),
            [
                {
                    "key": uuid.uuid4().hex,
                    "kind": announcement.kind,
                    "article_id": article_id,
                    "outcome": announcement.outcome,
                    "message": announcement.message,
                    "detected_at": announcement.detected_at,
                    "next_attempt_at": announcement.detected_at,
                }
                for article_id, announcement in announced
            ],
        )


class NotificationQueries:
    engine: Engine

    def take_notifications(
        self, now: datetime, limit: int, *, worker: str, lease: timedelta
    ) -> list[PendingNotification]:
        """Up to ``limit`` notifications due for a delivery, claimed for ``worker``."""
        free = or_(notifications.c.claimed_until.is_(None), notifications.c.claimed_until < now)
        with self.engine.begin() as connection:
            due = list(
                connection.scalars(
                    select(notifications.c.id)
                    .where(*_PENDING, notifications.c.next_attempt_at <= now, free)
                    .order_by(notifications.c.next_attempt_at)
                    .limit(limit)
                )
            )
            if not due:
                return []
            taken = list(
                connection.scalars(
                    update(notifications)
                    .where(notifications.c.id.in_(due), free)
                    .values(claimed_by=worker, claimed_until=now + lease)
                    .returning(notifications.c.id)
                )
            )
            rows = connection.execute(
                select(notifications, articles.c.url, articles.c.title, articles.c.account)
                .join(articles, articles.c.id == notifications.c.article_id)
                .where(notifications.c.id.in_(taken))
                .order_by(notifications.c.next_attempt_at)
            ).all()
        return [
            PendingNotification(
                row.id,
                row.key,
                row.kind,
                row.article_id,
                row.outcome,
                row.message,
                row.detected_at,
                row.attempts,
                tuple(row.delivered_to or ()),
                row.url,
                row.title,
                row.account,
            )
            for row in rows
        ]

    def notification_tried(
        self,
        notification_id: int,
        now: datetime,
        *,
        delivered_to: Sequence[str],
        error: str | None,
        retry_at: datetime | None,
    ) -> None:
        """After one delivery attempt: done when ``error`` is None, else tried again at
        ``retry_at`` (None: given up)."""
        values: dict = {
            "attempts": notifications.c.attempts + 1,
            "delivered_to": sorted(delivered_to) or None,
            "last_error": error,
            "claimed_by": None,
            "claimed_until": None,
        }
        if error is None:
            values["delivered_at"] = now
        elif retry_at is None:
            values["gave_up_at"] = now
        else:
            values["next_attempt_at"] = retry_at
        with self.engine.begin() as connection:
            connection.execute(
                update(notifications).where(notifications.c.id == notification_id).values(values)
            )

    def drop_notifications(self, now: datetime, reason: str) -> int:
        """Give up every pending notification (nowhere to send them); how many."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(notifications).where(*_PENDING).values(gave_up_at=now, last_error=reason)
            ).rowcount

    def notification_counts(self) -> dict[str, int]:
        """Notifications by fate: pending, delivered, given up."""
        with self.engine.connect() as connection:
            delivered = connection.scalar(
                select(func.count()).where(notifications.c.delivered_at.is_not(None))
            )
            given_up = connection.scalar(select(func.count()).where(notifications.c.gave_up_at.is_not(None)))
            total = connection.scalar(select(func.count()).select_from(notifications))
        return {"pending": total - delivered - given_up, "delivered": delivered, "given_up": given_up}
