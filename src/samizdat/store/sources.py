"""Sources: what is followed, claimed for a poll by one worker, and what each listed last."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from samizdat.status import State
from samizdat.store.schema import (
    article_urls,
    articles,
    sources,
)
from samizdat.store.values import ListedArticle, ListingView


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
        left_out: Sequence[str] | None = None,
        drops_removed: int | None = None,
    ) -> None:
        """Record a poll; ``listing`` (None: unchanged, as after a 304) is what it listed;
        ``next_poll_at`` and ``publishing`` what it says of the next one (watch/publishing.py);
        ``left_out`` what left its listing lately, ``drops_removed`` what its listing was learnt
        to do with removed articles (None: nothing learnt; watch/listing_looks.py)."""
        values: dict[str, Any] = {
            "last_polled_at": at,
            "etag": etag,
            "last_modified": last_modified,
            "claimed_by": None,
            "claimed_until": None,
            "next_poll_at": next_poll_at,
            "publishing": publishing,
            "left_out": list(left_out) if left_out else None,
        }
        if title:
            values["title"] = title
        if drops_removed is not None:
            values["drops_removed"] = drops_removed
        if listing is not None:
            values["listing"] = list(listing)
        with self.engine.begin() as connection:
            connection.execute(update(sources).where(sources.c.id == source_id).values(**values))

    def listing_view(
        self, source_id: int, urls: Sequence[str], left_out: Sequence[str], *, others: bool
    ) -> ListingView:
        """What a poll's listing reaches: which of ``urls`` lead to archived articles, and those
        articles; whether a check found removed (or suspects) an article that this source's
        listing left out (``left_out``: URLs that left it, ``sources/listing.py``); and, with
        ``others``, what the other sources' listings have shown of removals."""
        with self.engine.connect() as connection:
            known: set[str] = set()
            found: dict[int, ListedArticle] = {}
            for start in range(0, len(urls), 500):
                for row in connection.execute(
                    select(
                        article_urls.c.url,
                        articles.c.id,
                        articles.c.state,
                        articles.c.priority,
                        articles.c.first_captured_at,
                        articles.c.last_seen_alive_at,
                        articles.c.next_check_at,
                    )
                    .join(articles, articles.c.id == article_urls.c.article_id)
                    .where(article_urls.c.url.in_(list(urls[start : start + 500])))
                ):
                    known.add(row.url)
                    found[row.id] = ListedArticle(*row[1:])
            left_out_removed = bool(left_out) and bool(
                connection.scalar(
                    select(
                        exists().where(
                            articles.c.id.in_(
                                select(article_urls.c.article_id).where(
                                    article_urls.c.url.in_(list(left_out))
                                )
                            ),
                            articles.c.state.in_([State.SUSPECT.value, State.REMOVED.value]),
                        )
                    )
                )
            )
            shown = (
                [
                    (row.url, row.kind, row.drops_removed)
                    for row in connection.execute(
                        select(sources.c.url, sources.c.kind, sources.c.drops_removed).where(
                            sources.c.drops_removed.is_not(None), sources.c.id != source_id
                        )
                    )
                ]
                if others
                else []
            )
        return ListingView(list(found.values()), left_out_removed, shown, known)

    def put_off_checks(self, later_checks: Sequence[tuple[int, datetime]], now: datetime) -> int:
        """Put the next checks of these articles off to the times given: only later than they
        were, of live articles no check holds now (a listing looked at them). How many."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(articles)
                .where(
                    articles.c.id == bindparam("article_id"),
                    articles.c.state == State.LIVE.value,
                    articles.c.next_check_at < bindparam("later"),
                    or_(articles.c.claimed_until.is_(None), articles.c.claimed_until < now),
                )
                .values(next_check_at=bindparam("later")),
                [{"article_id": article_id, "later": later} for article_id, later in sorted(later_checks)],
            ).rowcount
