"""Links between articles: what an article's latest version links to, and what links to it.

A link names its target by URL and, when the URL carries it, by the target's canonical id (a
WeChat long URL does; a short one does not). An archived target is found by either: its
canonical id, or any URL it was reached by (``article_urls``) — so a short link resolves once
the linked article has been captured through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from samizdat.store.schema import (
    article_links,
    article_urls,
    articles,
    latest_versions,
    set_aside_links,
    versions,
)

# What a page shows of a linked article.
SHOWN = (articles.c.id, articles.c.title, articles.c.state, articles.c.outcome)
MAX_LINKS = 200  # per article: a page of thousands of links is a link farm, not a reading list


@dataclass(frozen=True)
class SetAsideLink:
    """A linked article whose host could not be reached: tried again at ``next_try_at``."""

    id: int
    url: str
    depth: int
    account: str | None
    attempts: int
    next_try_at: datetime
    note: str | None = None
    gave_up_at: datetime | None = None


@dataclass(frozen=True)
class LinkedArticle:
    url: str
    article_id: int | None  # None: not archived
    title: str | None = None
    state: str | None = None
    outcome: str | None = None


def store_links(
    connection: Connection, links: Sequence[tuple[int, Sequence[tuple[str, str | None]]]]
) -> None:
    """Replace the links of each article given with those of its new version."""
    ids = [article_id for article_id, _ in links]
    if not ids:
        return
    connection.execute(delete(article_links).where(article_links.c.article_id.in_(ids)))
    rows = [
        {"article_id": article_id, "position": position, "url": url, "canonical_id": canonical}
        for article_id, found in links
        for position, (url, canonical) in enumerate(found[:MAX_LINKS])
    ]
    if rows:
        connection.execute(insert(article_links), rows)


class LinkQueries:
    engine: Engine

    def unknown_links(self, links: Sequence[tuple[str, str | None]]) -> list[str]:
        """The URLs of ``links`` (URL, canonical id) whose article is not archived by either,
        nor set aside (its own tries come at their time, not whenever another page links it)."""
        if not links:
            return []
        with self.engine.connect() as connection:
            aside = set(
                connection.scalars(
                    select(set_aside_links.c.url).where(set_aside_links.c.url.in_([url for url, _ in links]))
                )
            )
            known_urls = set(
                connection.scalars(
                    select(article_urls.c.url).where(article_urls.c.url.in_([url for url, _ in links]))
                )
            )
            canonicals = [canonical for _, canonical in links if canonical]
            known_ids = set(
                connection.scalars(
                    select(articles.c.canonical_id).where(articles.c.canonical_id.in_(canonicals))
                )
            )
        return [
            url
            for url, canonical in links
            if url not in known_urls and url not in aside and canonical not in known_ids
        ]

    def set_aside(
        self,
        url: str,
        *,
        depth: int,
        account: str | None,
        attempts: int,
        now: datetime,
        retry_at: datetime | None,
        note: str,
    ) -> None:
        """Note the ``attempts``-th failed try of the linked article ``url``: tried again at
        ``retry_at``, or given up (None) — kept with its ``note`` either way."""
        values = {
            "attempts": attempts,
            "next_try_at": retry_at or now,
            "note": note,
            "gave_up_at": None if retry_at else now,
            "claimed_by": None,
            "claimed_until": None,
        }
        with self.engine.begin() as connection:
            if not connection.execute(
                update(set_aside_links).where(set_aside_links.c.url == url).values(**values)
            ).rowcount:
                connection.execute(
                    insert(set_aside_links).values(
                        url=url, depth=depth, account=account, set_aside_at=now, **values
                    )
                )

    def set_aside_done(self, url: str) -> None:
        """The linked article ``url`` was archived (or found removed) at last: nothing more to try."""
        with self.engine.begin() as connection:
            connection.execute(delete(set_aside_links).where(set_aside_links.c.url == url))

    def take_set_aside(
        self, now: datetime, limit: int, *, worker: str, lease: timedelta
    ) -> list[SetAsideLink]:
        """Up to ``limit`` set-aside links due for another try, claimed for ``worker``."""
        due = (
            set_aside_links.c.gave_up_at.is_(None),
            set_aside_links.c.next_try_at <= now,
            or_(set_aside_links.c.claimed_until.is_(None), set_aside_links.c.claimed_until < now),
        )
        with self.engine.begin() as connection:
            ids = connection.scalars(
                select(set_aside_links.c.id).where(*due).order_by(set_aside_links.c.next_try_at).limit(limit)
            ).all()
            if not ids:
                return []
            rows = connection.execute(
                update(set_aside_links)
                .where(set_aside_links.c.id.in_(ids), *due)
                .values(claimed_by=worker, claimed_until=now + lease)
                .returning(set_aside_links)
            ).all()
        return sorted((_set_aside(row) for row in rows), key=lambda link: link.next_try_at)

    def set_aside_links(self, *, limit: int = 100) -> list[SetAsideLink]:
        """The links set aside, still to try first (soonest first), then those given up."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(set_aside_links)
                .order_by(set_aside_links.c.gave_up_at.is_not(None), set_aside_links.c.next_try_at)
                .limit(limit)
            ).all()
        return [_set_aside(row) for row in rows]

    def set_aside_counts(self) -> dict[str, int]:
        """How many linked articles are set aside to try again, and how many were given up."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(set_aside_links.c.gave_up_at.is_(None), func.count()).group_by(
                    set_aside_links.c.gave_up_at.is_(None)
                )
            ).all()
        counts = {bool(waiting): count for waiting, count in rows}
        return {"waiting": counts.get(True, 0), "given_up": counts.get(False, 0)}

    def outgoing_links(self, article_id: int) -> list[LinkedArticle]:
        """The articles ``article_id`` links to, in page order, archived or not."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(article_links.c.url, article_links.c.canonical_id)
                .where(article_links.c.article_id == article_id)
                .order_by(article_links.c.position)
            ).all()
            if not rows:
                return []
            canonicals = [row.canonical_id for row in rows if row.canonical_id]
            by_canonical = {
                row.canonical_id: row
                for row in connection.execute(
                    select(articles.c.canonical_id, *SHOWN).where(articles.c.canonical_id.in_(canonicals))
                )
            }
            by_url = {
                row.url: row
                for row in connection.execute(
                    select(article_urls.c.url, *SHOWN)
                    .join(articles, articles.c.id == article_urls.c.article_id)
                    .where(article_urls.c.url.in_([row.url for row in rows]))
                )
            }
        found = []
        for row in rows:
            target = by_canonical.get(row.canonical_id) or by_url.get(row.url)
            if target is None:
                found.append(LinkedArticle(row.url, None))
            elif target.id != article_id:
                found.append(LinkedArticle(row.url, target.id, target.title, target.state, target.outcome))
        return found

    def incoming_links(self, article_id: int) -> list[LinkedArticle]:
        """The archived articles whose latest version links to ``article_id``, oldest first."""
        with self.engine.connect() as connection:
            target = connection.execute(
                select(articles.c.canonical_id).where(articles.c.id == article_id)
            ).first()
            if target is None:
                return []
            urls = select(article_urls.c.url).where(article_urls.c.article_id == article_id)
            linking = (
                select(articles.c.url, *SHOWN)
                .where(
                    articles.c.id.in_(
                        select(article_links.c.article_id).where(
                            or_(
                                article_links.c.canonical_id == target.canonical_id,
                                article_links.c.url.in_(urls),
                            )
                        )
                    ),
                    articles.c.id != article_id,
                )
                .order_by(articles.c.id)
                .limit(MAX_LINKS)
            )
            return [
                LinkedArticle(row.url, row.id, row.title, row.state, row.outcome)
                for row in connection.execute(linking)
            ]

    def linking_pages(self, canonical_id: str | None, url: str, *, limit: int = 5) -> list[tuple[str, str]]:
        """(page URL, body HTML) of the latest versions of archived articles that link to the
        article ``canonical_id`` or ``url``, oldest first: what they said of it."""
        links_to = [article_links.c.url == url]
        if canonical_id:
            links_to.append(article_links.c.canonical_id == canonical_id)
        with self.engine.connect() as connection:
            linking = connection.scalars(
                select(article_links.c.article_id)
                .where(or_(*links_to))
                .distinct()
                .order_by(article_links.c.article_id)
                .limit(limit)
            ).all()
            rows = connection.execute(
                select(versions.c.final_url, versions.c.html)
                .where(versions.c.id.in_(latest_versions(linking)))
                .order_by(versions.c.article_id)
            )
            return [(row.final_url, row.html) for row in rows]


def _set_aside(row) -> SetAsideLink:
    return SetAsideLink(
        row.id, row.url, row.depth, row.account, row.attempts, row.next_try_at, row.note, row.gave_up_at
    )
