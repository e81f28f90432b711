"""A host that refuses us (a verification or rate-limit page, 429, 503) rests, for the way out
(``fetch.egress``) that met the refusal; one that answers is fine.

Every answer a capture, a check or a poll gets goes through :func:`note_answer`, so that a
run of refusals rests the host for all of them, in schedule time (``watch.backoff_seconds``
divided by ``watch.time_scale``), however the refusal was met.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from samizdat import logs
from samizdat.config import WatchSettings
from samizdat.fetch import Fetcher, FetchResult
from samizdat.platforms import Article, Unavailable, UnavailableReason

log = logging.getLogger(__name__)


def asks_to_back_off(page: FetchResult, parsed: Article | Unavailable | None) -> bool:
    """A verification or rate-limit page, 429 or 503: the host wants fewer requests from us."""
    if page.status in (429, 503):
        return True
    return isinstance(parsed, Unavailable) and parsed.reason is UnavailableReason.TRANSIENT


def note_answer(
    fetcher: Fetcher, watch: WatchSettings, page: FetchResult, parsed: Article | Unavailable | None
) -> None:
    """Rest the host of ``page`` after a refusal; count a real answer as the end of a run of them."""
    host = urlsplit(page.final_url).hostname or ""
    if asks_to_back_off(page, parsed):
        seconds = fetcher.refused(host, watch.backoff_seconds / watch.time_scale, page.egress)
        logs.event(
            log,
            "host_backing_off",
            f"{host} asked us to slow down: nothing sent to it by {page.egress} for {seconds:g} s",
            level=logging.WARNING,
            host=host,
            seconds=seconds,
            status=page.status,
            egress=page.egress,
        )
    elif page.ok and page.status is not None and page.status < 500:
        fetcher.answered(host, page.egress)
