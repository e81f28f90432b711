"""Sources: what is followed, claimed for a poll by one worker, and what each listed last."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from samizdat.store.schema import (
    sources,
)


class SourceQueries:
    engine: Engine

    def add_source(
        self,
        kind: str,
        url: str,
        *,
        title: str | None,
        interval_seconds: int | None = None,
        keywords: Sequence[str] = (),
    ) -> tuple[int, bool]:
        """(id, created): a source URL is stored once, whoever adds it at the same moment (two
        captures naming one album do)."""
        try:
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
        except IntegrityError:
            with self.engine.connect() as connection:
                return connection.scalar(select(sources.c.id).where(sources.c.url == url)), False

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

    def release_source(self, source_id: int, *, retry_at: datetime) -> None:
        """Give up the claim on a source whose poll failed: it is polled again at ``retry_at``."""
        with self.engine.begin() as connection:
            connection.execute(
                update(sources)
                .where(sources.c.id == source_id)
                .values(claimed_by=None, claimed_until=None, next_poll_at=retry_at)
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
        next_poll_at: datetime | None = None,
        publishing: dict[str, Any] | None = None,
    ) -> None:
        """Record a poll; ``listing`` (None: unchanged, as after a 304) is what it listed;
        ``next_poll_at`` and ``publishing`` what it says of the next one (watch/publishing.py)."""
        values: dict[str, Any] = {
            "last_polled_at": at,
            "etag": etag,
            "last_modified": last_modified,
            "claimed_by": None,
            "claimed_until": None,
            "next_poll_at": next_poll_at,
            "publishing": publishing,
        }
        if title:
            values["title"] = title
        if listing is not None:
            values["listing"] = list(listing)
        with self.engine.begin() as connection:
            connection.execute(update(sources).where(sources.c.id == source_id).values(**values))
