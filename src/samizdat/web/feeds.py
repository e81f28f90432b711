"""Atom feeds of removals: all of them, or filtered as the home page is (outcome, account, search)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from samizdat.read.reader import ArticleFilter
from samizdat.web.i18n import Translator

router = APIRouter(tags=["feeds"])
FEED_ENTRIES = 50


def query_string(filters: ArticleFilter) -> str:
    params = {
        "outcome": filters.outcome,
        "account": filters.account,
        "q": filters.query,
        "since": filters.since.isoformat() if filters.since else None,
        "until": filters.until.isoformat() if filters.until else None,
    }
    present = {k: v for k, v in params.items() if v}
    return "?" + urlencode(present) if present else ""


@router.get(
    "/feeds/removed.atom", response_class=Response, responses={200: {"content": {"application/atom+xml": {}}}}
)
def removed_feed(
    request: Request,
    outcome: str | None = None,
    account: str | None = None,
    q: str | None = None,
    since: date | None = None,
    until: date | None = None,
    lang: str = "zh",
) -> Response:
    """Confirmed removals, newest first, with the same filters as the home page."""
    filters = ArticleFilter(
        removed_only=True, outcome=outcome, account=account, query=q, since=since, until=until
    )
    try:
        items = request.app.state.reader.articles(filters, limit=FEED_ENTRIES).items
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    t = Translator(lang if lang in ("zh", "en") else "zh")
    configured = request.app.state.settings.web.base_url
    base = configured.rstrip("/") if configured else str(request.base_url).rstrip("/")
    query = query_string(filters)
    title = " · ".join(
        part for part in (t("site.name"), t.outcome(outcome) if outcome else None, account, q) if part
    )
    atom = removals_atom(
        items,
        t,
        title=title,
        feed_url=f"{base}/feeds/removed.atom{query}",
        site_url=f"{base}/{query}",
        article_url=lambda article_id: f"{base}/articles/{article_id}",
    )
    return Response(atom, media_type="application/atom+xml")


def removals_atom(
    items: list, t: Translator, *, title: str, feed_url: str, site_url: str, article_url: Callable[[int], str]
) -> bytes:
    """An Atom feed of ``items`` (removals, newest first); the site and the static mirror share it."""
    feed = FeedGenerator()
    feed.id(feed_url)
    feed.title(title)
    feed.subtitle(t("site.tagline"))
    feed.link(href=feed_url, rel="self")
    feed.link(href=site_url, rel="alternate")
    feed.language(t.lang)
    if items:
        feed.updated(max(i.detected_at or i.first_seen_at for i in items))
    else:
        feed.updated(date(2000, 1, 1).isoformat() + "T00:00:00Z")
    for item in reversed(items):  # feedgen prepends: add oldest first so the newest leads
        entry = feed.add_entry()
        entry.id(article_url(item.id))
        entry.title(item.title or item.url)
        entry.link(href=article_url(item.id), rel="alternate")
        entry.updated(item.detected_at or item.first_seen_at)
        if item.published_at:
            entry.published(item.published_at)
        if item.account:
            entry.author(name=item.account)
        summary = f"{t.outcome(item.outcome)} · {t('banner.detected', date=t.date(item.detected_at))}"
        snippet = "".join(piece for piece, _ in item.snippet)
        entry.summary(
            summary + (f" — {snippet}" if snippet else "") + f" · {t('banner.original')}: {item.url}"
        )
        if item.outcome:
            entry.category(term=item.outcome, label=t.outcome(item.outcome))
    return feed.atom_str(pretty=True)
