"""The JSON API: public and read-only, except two admin endpoints behind the operator's token."""

from __future__ import annotations

import asyncio
import hmac
import statistics
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from samizdat.fetch.safety import UnsafeURL, safe_address
from samizdat.read.reader import ArticleFilter, ArticleSummary
from samizdat.store import CaptureRequest
from samizdat.watch.polling import SourceRefused, add_source
from samizdat.web.memento import timemap_path

router = APIRouter(prefix="/api", tags=["archive"])


class ArticleOut(BaseModel):
    id: int
    title: str | None
    account: str | None
    author: str | None
    url: str
    status: str = Field(description="'live', 'suspect', or the confirmed removal outcome")
    published_at: datetime | None
    first_captured_at: datetime | None = Field(description="its first capture; null: removed before it")
    first_seen_at: datetime = Field(description="its first capture, or the removal notice seen before it")
    last_seen_alive_at: datetime | None
    detected_at: datetime | None
    snippet: str | None = None
    in_image: bool = Field(False, description="the search hit is in the text read in one of its images")
    links: dict[str, str]


class ArticleList(BaseModel):
    items: list[ArticleOut]
    next_cursor: str | None
    total: int | None = None


def _out(item: ArticleSummary) -> ArticleOut:
    shown = {name: getattr(item, name) for name in ArticleOut.model_fields if hasattr(item, name)}
    return ArticleOut(
        **shown | {"snippet": "".join(piece for piece, _ in item.snippet) or None},
        links=_links(item.id, item.url),
    )


def _links(article_id: int, url: str) -> dict[str, str]:
    return {
        "html": f"/articles/{article_id}",
        "raw": f"/raw/{article_id}",
        "versions": f"/articles/{article_id}/versions",
        "timemap": timemap_path(url),
    }


def _filters(
    outcome: str | None = None,
    account: str | None = None,
    since: date | None = None,
    until: date | None = None,
    removed: Annotated[bool, Query(description="only articles whose removal is confirmed")] = False,
) -> dict[str, Any]:
    return {"outcome": outcome, "account": account, "since": since, "until": until, "removed_only": removed}


def _page(request: Request, filters: ArticleFilter, limit: int, cursor: str | None) -> ArticleList:
    try:
        page = request.app.state.reader.articles(filters, limit=limit, cursor=cursor)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return ArticleList(items=[_out(i) for i in page.items], next_cursor=page.next_cursor, total=page.total)


@router.get("/articles", response_model=ArticleList)
def list_articles(
    request: Request,
    filters: Annotated[dict, Depends(_filters)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
):
    """Articles, newest first (by detection of their removal, else first capture)."""
    return _page(request, ArticleFilter(**filters), limit, cursor)


@router.get("/search", response_model=ArticleList)
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, description="any text: one character or more")],
    filters: Annotated[dict, Depends(_filters)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
):
    """Articles whose latest version contains ``q`` (simplified and traditional alike), best first."""
    return _page(request, ArticleFilter(query=q, **filters), limit, cursor)


@router.get("/articles/{article_id}")
def article(request: Request, article_id: int) -> dict[str, Any]:
    """One article with its versions (text, diff) and every check."""
    found = request.app.state.store.article(article_id)
    if found is None:
        raise HTTPException(404, "no such article in the archive")
    return {
        "id": found.id,
        "platform": found.platform,
        "canonical_id": found.canonical_id,
        "url": found.url,
        "urls": list(found.urls),
        "title": found.title,
        "account": found.account,
        "author": found.author,
        "status": found.status,
        "published_at": found.published_at,
        "first_captured_at": found.first_version_at,  # null: removed before it could be captured
        "first_seen_at": found.first_seen_at,
        "last_seen_alive_at": found.last_seen_alive_at,
        "suspected_at": found.suspected_at,
        "detected_at": found.detected_at,
        "keywords": list(found.keywords),
        # Other articles with this text (null when alone) and related posts, nearest first.
        "cluster_id": found.cluster_id,
        "copies": [
            {
                "id": c.id,
                "account": c.account,
                "url": c.url,
                "status": c.status,
                "detected_at": c.detected_at,
                "last_seen_alive_at": c.last_seen_alive_at,
            }
            for c in request.app.state.reader.copies(article_id, found.cluster_id)
        ],
        "related": [r.id for r in request.app.state.reader.related(article_id, limit=8)],
        # Links in its latest version to other articles (archived or not), and the archived
        # articles that link to it.
        "links_to": [_linked(item) for item in request.app.state.store.outgoing_links(article_id)],
        "linked_from": [_linked(item) for item in request.app.state.store.incoming_links(article_id)],
        # Its images as read (samizdat images read): text, boxes, and the articles showing the same image.
        "images": [_picture(p) for p in request.app.state.store.images_elsewhere(article_id)],
        "versions": [
            {
                "id": v.id,
                "captured_at": v.captured_at,
                "title": v.title,
                "text": v.text,
                "final_url": v.final_url,
                "http_status": v.http_status,
                "diff": v.diff,
                "links": {
                    "raw": f"/raw/{article_id}/versions/{v.id}",
                    "html": f"/articles/{article_id}?version={v.id}",
                },
            }
            for v in found.versions
        ],
        "checks": [
            {
                "checked_at": c.checked_at,
                "outcome": c.outcome,
                "http_status": c.http_status,
                "message": c.message,
                "evidence": f"/raw/{article_id}/checks/{c.id}" if c.evidence else None,
            }
            for c in found.checks
        ],
        "links": _links(article_id, found.url),
    }


def _linked(item) -> dict[str, Any]:
    return {
        "url": item.url,
        "id": item.article_id,
        "title": item.title,
        "status": item.state,
        "outcome": item.outcome,
    }


def _picture(picture) -> dict[str, Any]:
    facts = picture.facts
    return {
        "sha256": picture.sha256,
        "read": facts is not None,
        "width": facts.width if facts else None,
        "height": facts.height if facts else None,
        "refused": facts.refused if facts else None,
        "decoration": facts.decoration if facts else None,
        "wordless": facts.wordless if facts else None,
        "text": facts.ocr_text if facts else None,
        "lines": list(facts.ocr_lines) if facts and facts.ocr_lines else [],
        "elsewhere": [{"id": id_, "title": title, "state": state} for id_, title, state in picture.articles],
    }


@router.get("/stats/images")
def image_stats(request: Request) -> dict[str, Any]:
    """Pictures in the most removed articles, removals carrying a picture seen in an earlier
    removal (by month), and words over-represented in removed articles' image text."""
    s = request.app.state.reader.image_statistics()
    return {
        "images": {"archived": s.images, "read": s.read, "content": s.content, "with_text": s.with_text},
        "removed": s.removed,
        "removed_with_pictures": s.removed_with_pictures,
        "seen_in_earlier_removal": s.seen_before,
        "pictures": [vars(p) for p in s.pictures],
        "months": [vars(m) for m in s.months],
        "terms": [vars(t) for t in s.terms],
    }


def _account(summary) -> dict[str, Any]:
    account = summary.account
    return {
        "id": account.id,
        "name": account.name,
        "platform": account.platform,
        "biz": account.biz,
        "user_name": account.user_name,
        "nickname": account.nickname,
        "follow_albums": account.follow_albums,
        "watched_since": account.created_at,
        "articles": summary.articles,
        "removed": summary.removed,
        "by_state": summary.states,
        "sources": summary.sources,
    }


@router.get("/accounts")
def accounts(request: Request) -> dict[str, Any]:
    """The watched accounts (``samizdat account add``), with their articles by state."""
    return {"accounts": [_account(summary) for summary in request.app.state.store.list_accounts()]}


@router.get("/accounts/{name}")
def account(request: Request, name: str) -> dict[str, Any]:
    """One watched account (by nickname, user name, biz or id): its sources and its removals by
    month of first capture."""
    store = request.app.state.store
    found = store.find_account(name)
    if found is None:
        raise HTTPException(404, "no watched account of this name, user name, biz or id")
    return _account(store.account_summary(found)) | {
        "sources": [
            {
                "id": s["id"],
                "kind": s["kind"],
                "url": s["url"],
                "title": s["title"],
                "last_polled_at": s["last_polled_at"],
            }
            for s in store.account_sources(found)
        ],
        "by_month": [
            {"month": month, "articles": total, "removed": removed}
            for month, total, removed in store.removals_by_month(found)
        ],
    }


@router.get("/stats")
def stats(request: Request) -> dict[str, Any]:
    """Counts by state, removals per day and outcome, time to removal, top accounts and keywords."""
    s = request.app.state.reader.statistics()
    ages = sorted(s.removal_ages_hours)
    return {
        "totals": s.totals,
        "removals_by_day": {day: dict(counts) for day, counts in sorted(s.removals_by_day.items())},
        "hours_to_removal": {
            "count": len(ages),
            "median": statistics.median(ages) if ages else None,
            "p90": ages[int(0.9 * (len(ages) - 1))] if ages else None,
        },
        "top_accounts": [{"account": a, "removed": r, "articles": t} for a, r, t in s.top_accounts],
        "top_keywords": [{"keyword": k, "removed": c} for k, c in s.top_keywords],
        # Per outcome, account, keyword and month of publication (the first 100 of each; the
        # whole tables are at /stats.csv?by=...).
        "by": {
            by: [
                {
                    "name": g.name,
                    "articles": g.articles,
                    "removed": g.removed,
                    "removal_rate": g.removal_rate,
                    "hours_p25": g.quantile(0.25),
                    "hours_median": g.quantile(0.5),
                    "hours_p75": g.quantile(0.75),
                }
                for g in groups[:100]
            ]
            for by, groups in request.app.state.reader.breakdowns().items()
        },
    }


def require_admin(request: Request) -> None:
    token = request.app.state.settings.web.admin_token
    if not token:
        raise HTTPException(
            403, "the admin API is off: set web.admin_token (SAMIZDAT_WEB__ADMIN_TOKEN) to enable it"
        )
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(
            401,
            "send the operator's token as 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": "Bearer"},
        )


class SourceIn(BaseModel):
    url: str
    interval_seconds: int | None = Field(
        None, ge=60, description="poll at most this often, seconds (default watch.poll_floor_seconds)"
    )
    keywords: list[str] = []


class UrlsIn(BaseModel):
    urls: list[str] = Field(min_length=1, max_length=200)


@router.post("/sources", dependencies=[Depends(require_admin)], status_code=201, tags=["admin"])
async def add_source_endpoint(request: Request, source: SourceIn) -> dict[str, Any]:
    """Watch a feed, sitemap, URL list or every feed of an OPML file; its kind is recognised."""
    try:
        added = await add_source(
            request.app.state.settings,
            request.app.state.store,
            source.url,
            interval_seconds=source.interval_seconds,
            keywords=source.keywords,
        )
    except SourceRefused as exc:
        raise HTTPException(422, str(exc)) from None
    return {"sources": [asdict(a) for a in added]}


@router.post("/captures", dependencies=[Depends(require_admin)], status_code=202, tags=["admin"])
async def capture(request: Request, response: Response, body: UrlsIn) -> dict[str, Any]:
    """Queue these URLs for capture at first sight; each becomes a watched article.

    The site never writes the archive: the watcher (``samizdat watch`` or a ``samizdat worker``)
    takes queued URLs at the head of their host's queue. Each queued URL has its own
    ``/api/captures/<id>`` that says how its capture went. URLs that can never be fetched
    (not http(s), or on a private network) are refused at once; none queued: 422.
    """
    settings = request.app.state.settings
    refused: dict[int, str] = {}

    async def check(index: int, url: str) -> None:
        try:
            await safe_address(
                url, allow_private=settings.fetch.allow_private_networks, resolver=request.app.state.resolver
            )
        except (UnsafeURL, LookupError) as exc:
            refused[index] = str(exc)

    await asyncio.gather(*(check(index, url) for index, url in enumerate(body.urls)))
    wanted = [url for index, url in enumerate(body.urls) if index not in refused]
    queued = iter(
        await asyncio.to_thread(request.app.state.store.request_captures, wanted, datetime.now(UTC))
        if wanted
        else ()
    )
    answers = []
    for index, url in enumerate(body.urls):
        if index in refused:
            answers.append({"url": url, "state": "refused", "message": refused[index]})
        else:
            answers.append(_capture_request(next(queued)))
    if not wanted:
        response.status_code = 422
    elif len(body.urls) == 1:
        response.headers["Location"] = answers[0]["links"]["self"]
    return {"captures": answers}


@router.get("/captures/{request_id}", dependencies=[Depends(require_admin)], tags=["admin"])
async def capture_status(request: Request, request_id: int) -> dict[str, Any]:
    """How a submitted URL's capture went: ``queued``, ``capturing`` or ``done`` (with the
    capture.s ``status`` — captured, unchanged, unavailable, http_error, failed — its article
    and why)."""
    found = await asyncio.to_thread(request.app.state.store.capture_request, request_id)
    if found is None:
        raise HTTPException(404, f"no capture request {request_id}")
    return _capture_request(found)


def _capture_request(found: CaptureRequest) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": found.id,
        "url": found.url,
        "state": found.state,
        "requested_at": found.requested_at.isoformat(),
        "links": {"self": f"/api/captures/{found.id}"},
    }
    if found.state == "done":
        answer |= {
            "finished_at": found.finished_at.isoformat() if found.finished_at else None,
            "status": found.status,
            "article_id": found.article_id,
            "reason": found.reason,
            "message": found.message,
            "http_status": found.http_status,
        }
        if found.article_id is not None:
            answer["links"]["article"] = f"/api/articles/{found.article_id}"
    return answer
