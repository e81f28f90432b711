"""The reader site: server-rendered pages, the raw cache, images, feeds, the JSON API and Memento.

``create_app(settings)`` builds the ASGI application; ``samizdat serve`` runs it with uvicorn
and ``samizdat run`` beside the watcher. Every page is plain HTML and CSS (no JavaScript),
so it is fast on a phone and readable where scripts are blocked.
"""

from __future__ import annotations

import base64
import io
import json
import math
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from samizdat.archive import CorruptRecord, read_record
from samizdat.archive.storage import WarcFiles, warc_storage
from samizdat.archive.wacz import write_wacz
from samizdat.config import Settings
from samizdat.evidence.keys import public_raw, published_key
from samizdat.evidence.packages import PackageSigningError, package_signer
from samizdat.evidence.timestamps import TimestampError
from samizdat.fetch.decode import ContentEncodingError
from samizdat.fetch.resolver import Resolver
from samizdat.platforms import Registry
from samizdat.pools import Pool
from samizdat.read.image_statistics import TABLES as IMAGE_TABLES
from samizdat.read.image_statistics import to_csv as image_csv
from samizdat.read.reader import ArticleFilter, Reader
from samizdat.read.statistics import GROUPINGS, to_csv
from samizdat.store import Store, open_archive
from samizdat.store.views import ArticleDetail, VersionView
from samizdat.web import api, evidence, feeds, memento
from samizdat.web.i18n import OUTCOMES, Translator, choose
from samizdat.web.limits import RateLimiter
from samizdat.web.pages import (
    Verification,
    account_context,
    article_context,
    image_stats_context,
    stats_context,
)

HERE = Path(__file__).parent
REMOVAL_OUTCOMES = (
    "deleted_by_author",
    "removed_violation",
    "removed_complaint",
    "account_gone",
    "not_found",
    "legal_block",
    "redirected_away",
    "unknown_unavailable",
)
# The raw cache: shown as captured, but unable to run anything or reach anything.
RAW_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; media-src 'none'"
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
LANG_COOKIE_DAYS = 365
MAX_RAW_BYTES = 200_000_000
MAX_WACZ_ARTICLES = 1000


def create_app(settings: Settings, store: Store | None = None, files: WarcFiles | None = None) -> FastAPI:
    store = store or open_archive(settings)
    app = FastAPI(
        title="samizdat",
        summary="Articles that vanished, and why: the archive's public read-only API.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.files = files or warc_storage(settings)
    app.state.store = store
    app.state.reader = Reader(store.engine)
    app.state.registry = Registry(settings.platforms)
    # Submitted URLs are checked before they are queued: lookups in threads of their own.
    app.state.resolver = Resolver(
        Pool("lookups", settings.pools.lookup_threads),
        timeout=settings.fetch.lookup_timeout,
        cache_seconds=settings.fetch.lookup_cache_seconds,
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["outcome_names"] = OUTCOMES
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(memento.router)
    app.include_router(evidence.router)
    app.include_router(evidence.checkpoint_router)
    app.add_middleware(HeadAsGet)

    searches = RateLimiter(settings.web.search_per_minute, settings.web.search_burst)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        wait = 0.0
        if settings.web.search_per_minute and request.query_params.get("q"):
            wait = searches.wait_for(request.client.host if request.client else "")
        if wait:
            response: Response = PlainTextResponse(
                "too many searches from your address: wait a little",
                429,
                {"Retry-After": str(math.ceil(wait))},
            )
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = _language(request)
        t = Translator(lang)
        response = templates.TemplateResponse(
            request,
            name,
            {"t": t, "lang": lang, "link": _same_path, "switch_url": _switched(request, lang), **context},
            status_code=status,
        )
        if request.query_params.get("lang") in ("zh", "en"):
            response.set_cookie("lang", lang, max_age=LANG_COOKIE_DAYS * 86400, samesite="lax")
        response.headers["Vary"] = "Accept-Language, Cookie"
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(
        request: Request,
        q: str | None = None,
        outcome: str | None = None,
        account: str | None = None,
        since: Annotated[date | None, Query()] = None,
        until: Annotated[date | None, Query()] = None,
        all: bool = False,
        cursor: str | None = None,
    ):
        filters = ArticleFilter(
            removed_only=not all and not q,
            outcome=outcome or None,
            account=account or None,
            since=since,
            until=until,
            query=q or None,
        )
        try:
            listing = app.state.reader.articles(filters, limit=settings.web.page_size, cursor=cursor)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        feed_query = feeds.query_string(filters)
        return page(
            request,
            "home.html",
            listing=listing,
            filters=filters,
            show_all=all,
            outcomes=REMOVAL_OUTCOMES,
            feed_url="/feeds/removed.atom" + feed_query,
            next_url=_with(request, cursor=listing.next_cursor) if listing.next_cursor else None,
        )

    @app.get("/search", include_in_schema=False)
    def search_page(request: Request):
        return RedirectResponse("/?" + str(request.query_params), status_code=308)

    @app.get("/articles/{article_id}.wacz", tags=["archive"], response_class=Response)
    def article_wacz(article_id: int):
        """The article's captures, images and removal evidence as a WACZ package."""
        _article_or_404(app, article_id)
        return _wacz(app.state, [article_id], f"samizdat-article-{article_id}")

    @app.get("/articles/{article_id}", response_class=HTMLResponse, include_in_schema=False)
    def article_page(request: Request, article_id: int, version: int | None = None):
        article = _article_or_404(app, article_id)
        chosen = _version(article, version)
        context = article_context(app.state.reader, app.state.store, article, chosen, _verification(app))
        response = page(request, "article.html", timemap_url=memento.timemap_path(article.url), **context)
        if context["proofs"] is not None:  # the page checks itself: its script, and nothing else, runs
            site = app.state.settings.web.base_url or str(request.base_url)  # as readers reach it
            static = f"{site.rstrip('/')}/static"
            scripts = f"{static}/verify.js {static}/noble.js"  # noble.js: where WebCrypto has no Ed25519
            policy = PAGE_POLICY.replace("script-src 'none'", f"script-src {scripts}")
            response.headers["Content-Security-Policy"] = policy
        if chosen:
            memento.add_headers(response, request, article.url, chosen.captured_at)
        return response

    @app.get("/articles/{article_id}/versions", response_class=HTMLResponse, include_in_schema=False)
    def versions_page(request: Request, article_id: int):
        article = _article_or_404(app, article_id)
        return page(request, "versions.html", article=article)

    @app.get("/accounts/{name}", response_class=HTMLResponse, include_in_schema=False)
    def account_page(request: Request, name: str, cursor: str | None = None):
        context = account_context(app.state.reader, app.state.store, name, Translator(_language(request)))
        if context is None:
            raise HTTPException(404, "no archived article of this account, and it is not watched")
        listing = app.state.reader.articles(
            ArticleFilter(account=context["account_name"]), limit=settings.web.page_size, cursor=cursor
        )
        return page(
            request,
            "account.html",
            **context,
            listing=listing,
            feed_url=f"/feeds/removed.atom?account={_quote(context['account_name'])}",
            next_url=_with(request, cursor=listing.next_cursor) if listing.next_cursor else None,
        )

    @app.get("/stats", response_class=HTMLResponse, include_in_schema=False)
    def stats_page(request: Request):
        return page(request, "stats.html", **stats_context(app.state.reader, Translator(_language(request))))

    @app.get("/stats.csv", include_in_schema=False)
    def stats_csv(by: str = "outcome"):
        if by not in GROUPINGS:
            raise HTTPException(400, f"by must be one of {', '.join(GROUPINGS)}")
        return Response(
            to_csv(app.state.reader.breakdowns()[by], by),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="samizdat-removals-by-{by}.csv"'},
        )

    @app.get("/stats/images", response_class=HTMLResponse, include_in_schema=False)
    def image_stats_page(request: Request):
        return page(
            request,
            "stats_images.html",
            **image_stats_context(app.state.reader, Translator(_language(request))),
        )

    @app.get("/stats/images.csv", include_in_schema=False)
    def image_stats_csv(table: str = "pictures"):
        if table not in IMAGE_TABLES:
            raise HTTPException(400, f"table must be one of {', '.join(IMAGE_TABLES)}")
        return Response(
            image_csv(app.state.reader.image_statistics(), table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="samizdat-images-{table}.csv"'},
        )

    @app.get("/raw/{article_id}", include_in_schema=False)
    def raw_latest(article_id: int):
        article = _article_or_404(app, article_id)
        if article.latest is None:
            raise HTTPException(404, "no capture of this article")
        return _raw(app.state.files, article.latest.warc)

    @app.get("/raw/{article_id}/versions/{version_id}", include_in_schema=False)
    def raw_version(request: Request, article_id: int, version_id: int):
        article = _article_or_404(app, article_id)
        chosen = next((v for v in article.versions if v.id == version_id), None)
        if chosen is None:
            raise HTTPException(404, "no such version of this article")
        response = _raw(app.state.files, chosen.warc)
        memento.add_headers(response, request, article.url, chosen.captured_at)
        return response

    @app.get("/raw/{article_id}/checks/{check_id}", include_in_schema=False)
    def raw_check(request: Request, article_id: int, check_id: int):
        article = _article_or_404(app, article_id)
        check = next((c for c in article.checks if c.id == check_id and c.evidence), None)
        if check is None:
            raise HTTPException(404, "this check kept no page")
        response = _raw(app.state.files, check.evidence)
        memento.add_headers(response, request, article.url, check.checked_at)
        return response

    @app.get("/blobs/{sha256}", include_in_schema=False)
    def blob(sha256: str):
        stored = app.state.store.blob(sha256) if len(sha256) == 64 else None
        if stored is None:
            raise HTTPException(404, "no such image in the archive")
        try:
            record = read_record(app.state.files, stored.ref)
        except CorruptRecord as exc:
            raise HTTPException(500, f"the archived image cannot be read: {exc}") from None
        media_type = stored.media_type or "application/octet-stream"
        if not media_type.startswith("image/") or media_type == "image/svg+xml":
            media_type = "application/octet-stream"
        return Response(
            _decoded(record),
            media_type=media_type,
            headers={
                "Content-Security-Policy": RAW_POLICY,
                "Cache-Control": "public, max-age=31536000, immutable",
            },
        )

    @app.get("/search.wacz", tags=["archive"], response_class=Response)
    def search_wacz(q: Annotated[str, Query(min_length=1)]):
        """Every article matching ``q`` (up to 1,000), as one WACZ package."""
        ids = app.state.reader.articles(ArticleFilter(query=q), limit=MAX_WACZ_ARTICLES).items
        return _wacz(app.state, [i.id for i in ids], "samizdat-search")

    @app.get("/healthz", include_in_schema=False)
    def health():
        return {"status": "ok", **app.state.store.counts()}

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith(("/api/", "/timemap/", "/timegate/", "/feeds/", "/log/")):
            return Response(
                content=f'{{"error": {_json(exc.detail)}}}',
                status_code=exc.status_code,
                media_type="application/json",
                headers=exc.headers,
            )
        return page(request, "error.html", status=exc.status_code, message=exc.detail)

    return app


def _wacz(state, ids: list[int], name: str) -> Response:
    """The WACZ of ``ids``, signed with the archive's package key once there is one."""
    refs, pages = state.reader.package(ids)
    buffer = io.BytesIO()
    try:
        write_wacz(buffer, state.files, refs, pages, title=name, sign=package_signer(state.settings))
    except (CorruptRecord, OSError, PackageSigningError, TimestampError) as exc:
        raise HTTPException(500, f"the archive cannot be packaged: {exc}") from None
    return Response(
        buffer.getvalue(),
        media_type="application/wacz+zip",
        headers={"Content-Disposition": f'attachment; filename="{name}.wacz"'},
    )


class HeadAsGet:
    """HEAD wherever GET is served (Memento clients and link checkers ask with HEAD first): the
    GET's status and headers, without its body."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app(dict(scope, method="GET"), receive, headers_only)


def _verification(app: FastAPI) -> Verification:
    """The archive's public key (read once it exists: the site never makes it) and witnesses."""
    settings = app.state.settings
    key = getattr(app.state, "public_key", None)
    if key is None:
        found = published_key(settings.data_dir)
        if found is not None:
            key = app.state.public_key = base64.b64encode(public_raw(found)).decode()
    return Verification(key, settings.witnesses)


def _article_or_404(app: FastAPI, article_id: int) -> ArticleDetail:
    article = app.state.store.article(article_id)
    if article is None:
        raise HTTPException(404, "no such article in the archive")
    return article


def _version(article: ArticleDetail, version_id: int | None) -> VersionView | None:
    if version_id is None:
        return article.latest
    for version in article.versions:
        if version.id == version_id:
            return version
    raise HTTPException(404, "no such version of this article")


def _raw(files: WarcFiles, ref) -> Response:
    if ref is None:
        raise HTTPException(404, "no archived page")
    try:
        record = read_record(files, ref)
    except CorruptRecord as exc:
        raise HTTPException(500, f"the archived page cannot be read: {exc}") from None
    return Response(
        _decoded(record),
        status_code=200,
        media_type=record.header("content-type") or "application/octet-stream",
        headers={
            "Content-Security-Policy": RAW_POLICY,
            "X-Frame-Options": "DENY",
            "Cache-Control": "public, max-age=86400",
        },
    )


def _decoded(record) -> bytes:
    try:
        return record.body(MAX_RAW_BYTES)
    except ContentEncodingError as exc:
        raise HTTPException(500, f"the archived body cannot be decoded: {exc}") from None


def _language(request: Request) -> str:
    """The reader's language: the switch (query, then cookie), else Accept-Language."""
    return choose(
        request.query_params.get("lang"), request.cookies.get("lang"), request.headers.get("accept-language")
    )


def _switched(request: Request, lang: str) -> str:
    return _with(request, lang="en" if lang == "zh" else "zh")


def _with(request: Request, **changes: str | None) -> str:
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return request.url.path + ("?" + urlencode(params) if params else "")


def _same_path(path: str) -> str:
    """How the live site links to its own pages: by their paths (the mirror maps them to files)."""
    return path


def _quote(value: str) -> str:
    return quote(value, safe="")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


__all__ = ["create_app"]
