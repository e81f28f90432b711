"""What the site, the API and the feeds read: lists, search, accounts, statistics, captures by URL.

Read-only; every list is keyset-paginated (a cursor, not an offset) so a page deep into a
million articles costs what the first one does.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select, true

from samizdat.archive import ArchiveRef
from samizdat.archive.wacz import Page
from samizdat.folding import fold, fold_with_origins
from samizdat.read.image_statistics import ImageStatistics, ImageStatisticsCache
from samizdat.read.search import matches, newest, parse_query, plan_from_the_index
from samizdat.read.statistics import Group, StatisticsCache, hours_to_removal
from samizdat.status import State, public_status
from samizdat.store.captures import latest_texts
from samizdat.store.schema import (
    article_urls,
    articles,
    blobs,
    checks,
    related_posts,
    version_blobs,
    versions,
)
from samizdat.store.search import image_texts, is_sqlite
from samizdat.store.views import local_time, ref_from_row

SNIPPET_CHARS = 70
# Scoring every match is cheap for a few thousand and slow for tens of thousands (a common
# two-character word): above RANKED_MAX matches a search lists the newest first.
RANKED_MAX = 5_000
COUNT_CAP = 10_000  # matches are counted up to here; beyond, the count says "more than"


@dataclass(frozen=True)
class ArticleFilter:
    removed_only: bool = False
    outcome: str | None = None
    account: str | None = None
    since: date | None = None  # on the day an article was detected removed (or first captured)
    until: date | None = None
    query: str | None = None


@dataclass(frozen=True)
class ArticleSummary:
    id: int
    title: str | None
    account: str | None
    author: str | None
    url: str
    state: str
    outcome: str | None
    published_at: datetime | None
    first_seen_at: datetime  # a capture, or a removal notice seen before any capture
    first_captured_at: datetime | None  # its first version; None: removed before it was captured
    last_seen_alive_at: datetime | None
    detected_at: datetime | None
    snippet: Sequence[tuple[str, bool]] = ()  # (text, highlighted) pieces around a search hit
    in_image: bool = False  # the search hit is in the text read in one of its images

    @property
    def status(self) -> str:
        return public_status(self.state, self.outcome)


@dataclass(frozen=True)
class ArticlePage:
    items: list[ArticleSummary]
    next_cursor: str | None
    total: int | None = None  # counted for searches, up to COUNT_CAP
    more_than_total: bool = False  # the search matched more than ``total``


@dataclass(frozen=True)
class Capture:
    """One archived representation of the URLs an article was reached by (a Memento): a version
    of the article, or the page a check kept (a removal notice) when ``check_id`` is set."""

    article_id: int
    version_id: int | None
    captured_at: datetime
    url: str
    check_id: int | None = None


@dataclass
class Statistics:
    removals_by_day: dict[str, Counter] = field(default_factory=dict)  # ISO day -> outcome counts
    removal_ages_hours: list[float] = field(default_factory=list)
    top_accounts: list[tuple[str, int, int]] = field(default_factory=list)  # account, removed, total
    top_keywords: list[tuple[str, int]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


# A list's articles with the time of their first version (none for an article removed before
# it was captured): one index lookup per listed row.
_LISTED = (
    articles,
    select(func.min(versions.c.captured_at))
    .where(versions.c.article_id == articles.c.id)
    .correlate(articles)
    .scalar_subquery()
    .label("first_version_at"),
)


def _sort_key():
    return func.coalesce(articles.c.detected_at, articles.c.first_captured_at)


def _ranked_page(hits, conditions: list[Any], limit: int, offset: int):
    """The listed articles of ``hits`` (article_id, rank) that meet ``conditions``: best rank
    first, then the newest, the page at ``offset``."""
    return (
        select(*_LISTED)
        .join(hits, hits.c.article_id == articles.c.id)
        .where(*conditions)
        .order_by(hits.c.rank, _sort_key().desc(), articles.c.id.desc())
        .limit(limit)
        .offset(offset)
    )


def _count_and_rank(
    connection, parsed, conditions: list[Any], *, limit: int, offset: int
) -> tuple[int, list | None]:
    """The matches counted up to ``COUNT_CAP`` + 1, and the page at ``offset`` ranked best
    first when there are at most ``RANKED_MAX`` of them (None: too many to rank).

    SQLite counts from its FTS5 index, then ranks by BM25 over it. PostgreSQL verifies each
    candidate of its token index against the text (``read/search.py``), which is most of a
    search's time: one statement does it once for both, the matches held while they are
    counted and, if few enough, ordered for the page."""
    if is_sqlite(connection):
        found = matches(connection, parsed, ranked=False)
        matching = select(found.c.article_id)
        if conditions:  # every indexed document is an article's
            matching = matching.join(articles, articles.c.id == found.c.article_id).where(*conditions)
        total = connection.scalar(select(func.count()).select_from(matching.limit(COUNT_CAP + 1).subquery()))
        if total > RANKED_MAX:
            return total, None
        return total, connection.execute(
            _ranked_page(matches(connection, parsed), conditions, limit, offset)
        ).all()
    hits = matches(connection, parsed)
    matching = select(hits.c.article_id, hits.c.rank)
    if conditions:
        matching = matching.join(articles, articles.c.id == hits.c.article_id).where(*conditions)
    capped = matching.limit(COUNT_CAP + 1).cte("capped").prefix_with("MATERIALIZED")
    counted = select(func.count().label("total")).select_from(capped).subquery("counted")
    page = _ranked_page(capped, [counted.c.total <= RANKED_MAX], limit, offset).lateral("page")
    rows = connection.execute(
        select(counted.c.total, *page.c).select_from(counted.outerjoin(page, true()))
    ).all()
    total = rows[0].total
    if total > RANKED_MAX:
        return total, None
    return total, [row for row in rows if row.id is not None]


class Reader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._breakdowns = StatisticsCache(engine)
        self._images = ImageStatisticsCache(engine)

    def breakdowns(self) -> dict[str, list[Group]]:
        """Removal rate and time to removal by outcome, account, keyword and month."""
        return self._breakdowns.get()

    def image_statistics(self) -> ImageStatistics:
        """The pictures in removed articles (read/image_statistics.py)."""
        return self._images.get()

    def articles(self, filters: ArticleFilter, *, limit: int = 30, cursor: str | None = None) -> ArticlePage:
        """Newest first (by detection, else first capture); with a query, best match first."""
        conditions = self._conditions(filters)
        if filters.query and (parsed := parse_query(filters.query)) is not None:
            return self._search(parsed, conditions, limit, cursor)
        key = _sort_key()
        query = select(*_LISTED, key.label("sort_key")).where(*conditions)
        if cursor:
            moment, last_id = _decode_cursor(cursor)
            query = query.where(or_(key < moment, and_(key == moment, articles.c.id < int(last_id))))
        query = query.order_by(key.desc(), articles.c.id.desc()).limit(limit + 1)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        items = [_summary(row) for row in rows[:limit]]
        next_cursor = (
            _encode_cursor(rows[limit - 1].sort_key.isoformat(), rows[limit - 1].id)
            if len(rows) > limit
            else None
        )
        return ArticlePage(items, next_cursor)

    def _search(self, parsed, conditions, limit: int, cursor: str | None) -> ArticlePage:
        """Best match first while the matches are few enough to score; newest first beyond that."""
        position = _decode_cursor(cursor) if cursor else None
        with self.engine.connect() as connection:
            plan_from_the_index(connection)
            offset = int(position[1]) if position and position[0] == "offset" else 0
            total, ranked = _count_and_rank(connection, parsed, conditions, limit=limit, offset=offset)
            if ranked is not None:
                rows = ranked
                more = offset + limit < total
                next_cursor = _encode_cursor("offset", offset + limit) if more else None
            else:
                found = matches(connection, parsed, ranked=False)
                query = select(*_LISTED).join(found, found.c.article_id == articles.c.id).where(*conditions)
                before = int(position[1]) if position and position[0] == "before" else None
                rows = newest(connection, query, found, before=before, wanted=limit + 1, matched=total)
                next_cursor = _encode_cursor("before", rows[limit - 1].id) if len(rows) > limit else None
                rows = rows[:limit]
            texts = {i: text for i, (_, text) in latest_texts(connection, [row.id for row in rows]).items()}
            snippets = {
                row.id: _snippet(texts.get(row.id, ""), parsed.folded)
                or _snippet(row.title or "", parsed.folded)
                for row in rows
            }
            in_images = image_texts(connection, [i for i, snippet in snippets.items() if not snippet])
        items = []
        for row in rows:
            snippet = snippets[row.id]
            image_snippet = [] if snippet else _snippet(in_images.get(row.id, ""), parsed.folded)
            items.append(_summary(row, snippet or image_snippet, in_image=bool(image_snippet)))
        return ArticlePage(items, next_cursor, min(total, COUNT_CAP), total > COUNT_CAP)

    def related(self, article_id: int, *, limit: int = 6) -> list[ArticleSummary]:
        """The articles nearest this one in what they talk about (store/related.py), nearest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(*_LISTED)
                .join(related_posts, related_posts.c.related_id == articles.c.id)
                .where(related_posts.c.article_id == article_id)
                .order_by(related_posts.c.score.desc(), articles.c.id)
                .limit(limit)
            )
            return [_summary(row) for row in rows]

    def copies(
        self, article_id: int, cluster_id: int | None, limit: int | None = None
    ) -> list[ArticleSummary]:
        """The other articles sharing this one's text: those still online first, then by capture."""
        if cluster_id is None:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(*_LISTED)
                .where(articles.c.cluster_id == cluster_id, articles.c.id != article_id)
                .order_by(
                    (articles.c.state == State.REMOVED.value).asc(),
                    articles.c.first_captured_at,
                    articles.c.id,
                )
                .limit(limit)
            )
            return [_summary(row) for row in rows]

    def copy_count(self, cluster_id: int | None) -> int:
        """How many other articles share the text of an article of ``cluster_id``."""
        if cluster_id is None:
            return 0
        with self.engine.connect() as connection:
            return connection.scalar(select(func.count()).where(articles.c.cluster_id == cluster_id)) - 1

    def matching_ids(self, query: str) -> set[int]:
        """Every article that contains ``query`` (the search's answer as a set; tests compare it)."""
        parsed = parse_query(query)
        if parsed is None:
            return set()
        with self.engine.connect() as connection:
            hits = matches(connection, parsed)
            return set(connection.scalars(select(hits.c.article_id)))

    def _conditions(self, filters: ArticleFilter) -> list[Any]:
        conditions: list[Any] = []
        if filters.removed_only or filters.outcome:
            conditions.append(articles.c.state == State.REMOVED.value)
        if filters.outcome:
            conditions.append(articles.c.outcome == filters.outcome)
        if filters.account:
            conditions.append(articles.c.account == filters.account)
        key = _sort_key()
        if filters.since:
            conditions.append(key >= datetime.combine(filters.since, time(), UTC))
        if filters.until:
            conditions.append(key < datetime.combine(filters.until + timedelta(days=1), time(), UTC))
        return conditions

    def account_names(self) -> list[tuple[str, int, int]]:
        """Every account with its articles and removals, most removals first."""
        removed = func.sum(case((articles.c.state == State.REMOVED.value, 1), else_=0))
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(articles.c.account, func.count(), removed)
                .where(articles.c.account.is_not(None))
                .group_by(articles.c.account)
                .order_by(removed.desc(), func.count().desc(), articles.c.account)
            ).all()
        return [(name, total, int(gone or 0)) for name, total, gone in rows]

    def account(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(
                    func.count().label("total"),
                    func.sum(case((articles.c.state == State.REMOVED.value, 1), else_=0)).label("removed"),
                    func.min(articles.c.first_captured_at).label("first"),
                    func.max(articles.c.first_captured_at).label("last"),
                ).where(articles.c.account == name)
            ).one()
        if not row.total:
            return None
        removed = int(row.removed or 0)
        return {
            "name": name,
            "articles": row.total,
            "removed": removed,
            "removal_rate": removed / row.total,
            "first_captured_at": row.first,
            "last_captured_at": row.last,
        }

    def captures(self, url: str) -> list[Capture]:
        """Every archived representation of the article reached by ``url``, oldest first (a
        Memento TimeMap): its versions and the notices its checks kept."""
        return self._captures(select(article_urls.c.article_id).where(article_urls.c.url == url))

    def captures_of(self, platform: str, canonical_id: str) -> list[Capture]:
        return self._captures(
            select(articles.c.id).where(
                articles.c.platform == platform, articles.c.canonical_id == canonical_id
            )
        )

    def _captures(self, article_query) -> list[Capture]:
        with self.engine.connect() as connection:
            article_id = connection.scalar(article_query)
            if article_id is None:
                return []
            kept = [
                Capture(article_id, row.id, row.captured_at, row.final_url)
                for row in connection.execute(
                    select(versions.c.id, versions.c.captured_at, versions.c.final_url).where(
                        versions.c.article_id == article_id
                    )
                )
            ]
            url = connection.scalar(select(articles.c.url).where(articles.c.id == article_id))
            kept += [
                Capture(article_id, None, row.checked_at, url, check_id=row.id)
                for row in connection.execute(
                    select(checks.c.id, checks.c.checked_at).where(
                        checks.c.article_id == article_id, checks.c.warc_file.is_not(None)
                    )
                )
            ]
        return sorted(kept, key=lambda c: (c.captured_at, c.check_id is not None, c.version_id or c.check_id))

    def package(self, article_ids: Sequence[int]) -> tuple[list[ArchiveRef], list[Page]]:
        """What a WACZ of these articles holds: every version's response and images, the evidence of
        every check that kept a page, and one page per version."""
        refs: list[ArchiveRef] = []
        pages: list[Page] = []
        with self.engine.connect() as connection:
            for chunk in range(0, len(article_ids), 500):
                ids = list(article_ids[chunk : chunk + 500])
                for row in connection.execute(
                    select(versions).where(versions.c.article_id.in_(ids)).order_by(versions.c.id)
                ):
                    if (ref := ref_from_row(row)) is not None:
                        refs.append(ref)
                        pages.append(Page(row.final_url, row.captured_at, row.title))
                images = (
                    select(blobs)
                    .join(version_blobs, version_blobs.c.sha256 == blobs.c.sha256)
                    .join(versions, versions.c.id == version_blobs.c.version_id)
                    .where(versions.c.article_id.in_(ids))
                    .distinct()
                )
                refs += [ref for row in connection.execute(images) if (ref := ref_from_row(row)) is not None]
                evidence = select(checks).where(
                    checks.c.article_id.in_(ids),
                    checks.c.warc_file.is_not(None),
                    checks.c.version_id.is_(None),
                )
                refs += [
                    ref for row in connection.execute(evidence) if (ref := ref_from_row(row)) is not None
                ]
        return refs, pages

    def statistics(self, *, top: int = 10) -> Statistics:
        stats = Statistics()
        with self.engine.connect() as connection:
            removed = connection.execute(
                select(
                    articles.c.account,
                    articles.c.outcome,
                    articles.c.detected_at,
                    articles.c.published_at,
                    articles.c.first_captured_at,
                    articles.c.last_seen_alive_at,
                ).where(articles.c.state == State.REMOVED.value)
            ).all()
            totals = dict(
                connection.execute(select(articles.c.state, func.count()).group_by(articles.c.state)).all()
            )
            per_account = dict(
                connection.execute(
                    select(articles.c.account, func.count())
                    .where(articles.c.account.is_not(None))
                    .group_by(articles.c.account)
                ).all()
            )
            keywords = Counter(
                term
                for terms in connection.scalars(
                    select(articles.c.keywords).where(
                        articles.c.state == State.REMOVED.value, articles.c.keywords.is_not(None)
                    )
                )
                for term in terms or ()
            )
        for row in removed:
            if row.detected_at is not None:
                day = row.detected_at.date().isoformat()
                stats.removals_by_day.setdefault(day, Counter())[row.outcome or "unknown_unavailable"] += 1
            hours = hours_to_removal(
                row.published_at, row.first_captured_at, row.last_seen_alive_at, row.detected_at
            )
            if hours is not None:
                stats.removal_ages_hours.append(hours)
        removed_by_account = Counter(row.account for row in removed if row.account)
        stats.top_accounts = [
            (name, count, per_account.get(name, count)) for name, count in removed_by_account.most_common(top)
        ]
        stats.top_keywords = keywords.most_common(top)
        stats.totals = {"articles": sum(totals.values()), **{str(k): v for k, v in totals.items()}}
        return stats


def _summary(row, snippet: Sequence[tuple[str, bool]] = (), *, in_image: bool = False) -> ArticleSummary:
    return ArticleSummary(
        id=row.id,
        title=row.title,
        account=row.account,
        author=row.author,
        url=row.url,
        state=row.state,
        outcome=row.outcome,
        published_at=local_time(row.published_at, row.published_offset_minutes),
        first_seen_at=row.first_captured_at,
        first_captured_at=row.first_version_at,
        last_seen_alive_at=row.last_seen_alive_at,
        detected_at=row.detected_at,
        snippet=snippet,
        in_image=in_image,
    )


def _snippet(text: str, folded_query: str) -> list[tuple[str, bool]]:
    """The text around the first hit, split into (piece, highlighted) parts; [] when no hit."""
    folded = fold(text)
    at = folded.find(folded_query)
    if at < 0:
        return []
    if len(folded) == len(text):  # each character folded to one: positions agree
        start, end = at, at + len(folded_query)
    else:
        _, origins = fold_with_origins(text)
        start, end = origins[at], origins[at + len(folded_query) - 1] + 1
    before = max(0, start - SNIPPET_CHARS)
    after = min(len(text), end + SNIPPET_CHARS * 2)
    return [
        (("…" if before else "") + text[before:start], False),
        (text[start:end], True),
        (text[end:after] + ("…" if after < len(text) else ""), False),
    ]


def _encode_cursor(key: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{key}|{last_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, last_id = raw.rsplit("|", 1)
        int(last_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("malformed cursor: use the next_cursor value of the previous page") from exc
    if key in ("offset", "before"):
        return key, last_id
    moment = datetime.fromisoformat(key)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), last_id


MAX_PACKAGE_ARTICLES = 100_000


def selected_articles(
    reader: Reader, *, query: str | None = None, ids: Sequence[int] | None = None
) -> list[int]:
    """The ids a package holds: those given, else those matching ``query``, else every article."""
    if ids:
        return list(ids)
    chosen: list[int] = []
    cursor = None
    while len(chosen) < MAX_PACKAGE_ARTICLES:
        page = reader.articles(ArticleFilter(query=query), limit=500, cursor=cursor)
        chosen += [item.id for item in page.items]
        if not (cursor := page.next_cursor):
            break
    return chosen
