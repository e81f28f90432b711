"""Memento (RFC 7089): a TimeMap and a TimeGate for every archived URL, headers on each memento.

Original URLs go in the path, as in pywb and the Wayback Machine: ``/timemap/link/<url>``
and ``/timegate/<url>``; the request's query string belongs to the original URL (WeChat's
article URLs are all query). An archived version of an article is a memento: its page is
``/articles/<id>?version=<version id>``; so is every page a check kept (a removal notice, seen at
that URI at that time), at ``/raw/<id>/checks/<check id>``. Every route answers HEAD as GET does
(``web/app.py``), as Memento clients ask.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from samizdat.platforms import Registry
from samizdat.read.reader import Capture

router = APIRouter(tags=["memento"])
LINK_FORMAT = "application/link-format"


def timemap_path(url: str) -> str:
    return "/timemap/link/" + quote(url, safe=":/?&=%~+,;@")


def timegate_path(url: str) -> str:
    return "/timegate/" + quote(url, safe=":/?&=%~+,;@")


def memento_path(capture: Capture) -> str:
    if capture.check_id is not None:  # the notice a check kept: shown as it was served
        return f"/raw/{capture.article_id}/checks/{capture.check_id}"
    return f"/articles/{capture.article_id}?version={capture.version_id}"


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def add_headers(response: Response, request: Request, original: str, captured_at: datetime) -> None:
    """Mark ``response`` as a memento of ``original`` captured at ``captured_at``."""
    base = _base(request)
    response.headers["Memento-Datetime"] = http_date(captured_at)
    response.headers["Link"] = ", ".join(
        [
            f'<{original}>; rel="original"',
            f'<{base}{timegate_path(original)}>; rel="timegate"',
            f'<{base}{timemap_path(original)}>; rel="timemap"; type="{LINK_FORMAT}"',
        ]
    )


@router.get(
    "/timemap/link/{url:path}", response_class=Response, responses={200: {"content": {LINK_FORMAT: {}}}}
)
def timemap(request: Request, url: str) -> Response:
    """Every capture of ``url`` in link-format."""
    original, captures = _captures(request, url)
    base = _base(request)
    lines = [
        f'<{original}>; rel="original"',
        f'<{base}{timegate_path(original)}>; rel="timegate"',
        f'<{base}{timemap_path(original)}>; rel="self"; type="{LINK_FORMAT}"; '
        f'from="{http_date(captures[0].captured_at)}"; until="{http_date(captures[-1].captured_at)}"',
    ]
    for index, capture in enumerate(captures):
        rel = "memento"
        if index == 0:
            rel = "first memento"
        if index == len(captures) - 1:
            rel = "last memento" if index else "first last memento"
        lines.append(
            f'<{base}{memento_path(capture)}>; rel="{rel}"; datetime="{http_date(capture.captured_at)}"'
        )
    return Response(",\n".join(lines) + "\n", media_type=LINK_FORMAT)


@router.get("/timegate/{url:path}")
def timegate(request: Request, url: str) -> Response:
    """Redirect to the capture nearest ``Accept-Datetime`` (the newest without it)."""
    original, captures = _captures(request, url)
    wanted = request.headers.get("accept-datetime")
    chosen = captures[-1]
    if wanted:
        try:
            moment = parsedate_to_datetime(wanted)
        except (TypeError, ValueError):
            raise HTTPException(
                400, "Accept-Datetime must be an HTTP date, e.g. 'Wed, 26 Jul 2023 00:00:00 GMT'"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        chosen = min(captures, key=lambda c: abs((c.captured_at - moment).total_seconds()))
    response = RedirectResponse(_base(request) + memento_path(chosen), status_code=302)
    response.headers["Vary"] = "accept-datetime"
    base = _base(request)
    response.headers["Link"] = (
        f'<{original}>; rel="original", <{base}{timemap_path(original)}>; rel="timemap"; type="{LINK_FORMAT}"'
    )
    return response


def _captures(request: Request, url: str) -> tuple[str, list[Capture]]:
    original = url + ("?" + request.url.query if request.url.query else "")
    reader = request.app.state.reader
    captures = reader.captures(original)
    if not captures:
        registry: Registry = request.app.state.registry
        platform = registry.for_url(original)
        canonical = platform.canonical_id(original) if platform else None
        if canonical:
            captures = reader.captures_of(platform.name, canonical)
    if not captures:
        raise HTTPException(404, f"no capture of {original} in this archive")
    return original, captures


def _base(request: Request) -> str:
    configured = request.app.state.settings.web.base_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")
