"""Links inside captured articles lead to more articles: they are captured at first sight too.

An article a source listed is at depth 0; the articles it links to are at depth 1, and are
captured when ``links.depth`` ≥ 1 (the default), on platforms named in ``links.follow``
(WeChat by default: its articles link 往期推荐, 相关阅读, series and reposted originals). So that
one link-farm page cannot flood the queue, the captures links start are capped per account of
the linking page and per day, and a day is a schedule day (``watch.time_scale``). The caps are
kept by each watching process. A link to an article archived already (by URL or canonical id)
costs nothing.

A linked article is a first sight on its own host, under that host's rate, a class below what
the sources list (``Priority.LINK``). Its host may be out of reach — a name that does not
resolve on a censored network, a platform that is not served here — so one that fails is not
tried again at once: it is *set aside* with a note (``set_aside_links``) and tried again
``links.retry_seconds`` later in schedule time, doubling, ``links.retries`` times, then given up
(kept with its note, for the operator to see).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from samizdat.config import LinkSettings

DAY_SECONDS = 86_400
MAX_TITLE = 200  # characters of a link's text kept as the title of the article it leads to


class LinkBudget:
    """How many more linked captures may start today, per account and in all."""

    def __init__(self, settings: LinkSettings, time_scale: float, clock=time.monotonic) -> None:
        self.settings, self.time_scale, self.clock = settings, time_scale, clock
        self.started = clock()
        self._day = 0
        self._by_account: Counter[str] = Counter()
        self._total = 0
        self.refused = 0  # links left alone by the caps, since the start

    def take(self, account: str | None) -> bool:
        """Whether a link found in ``account``'s page may start a capture now (and count it)."""
        day = int((self.clock() - self.started) * self.time_scale // DAY_SECONDS)
        if day != self._day:
            self._day, self._total = day, 0
            self._by_account.clear()
        key = account or ""
        if self._total >= self.settings.per_day or self._by_account[key] >= self.settings.per_account_per_day:
            self.refused += 1
            return False
        self._total += 1
        self._by_account[key] += 1
        return True


def link_title(pages: list[tuple[str, str]], target: str, same: Callable[[str], bool]) -> str | None:
    """What the linking ``pages`` ((URL, body HTML) each) call the article at ``target``: the
    text of the first link to it (``same(url)``: whether a URL names it) that has any. A page
    that links an article usually names it by its title (往期推荐, "read more")."""
    from lxml import html

    from samizdat.platforms.base import join_url

    for page_url, body in pages:
        try:
            tree = html.fromstring(body or "<div></div>")
        except (ValueError, html.etree.ParserError):
            continue
        for anchor in tree.iter("a"):
            href = anchor.get("href") or anchor.get("data-link") or ""
            joined = join_url(page_url, href.strip()) if href.strip() else None
            if joined and (joined == target or same(joined)):
                text = " ".join(anchor.text_content().split())
                if len(text) >= 2:
                    return text[:MAX_TITLE]
    return None


def follows(settings: LinkSettings, platform: str | None, depth: int) -> bool:
    """Whether the links of a page of ``platform`` captured at ``depth`` are followed."""
    return platform is not None and platform in settings.follow and depth < settings.depth


def next_try(settings: LinkSettings, time_scale: float, attempts: int, now: datetime) -> datetime | None:
    """When a linked article that failed its ``attempts``-th try is tried again (None: given up)."""
    if attempts > settings.retries:
        return None
    return now + timedelta(seconds=settings.retry_seconds * 2 ** (attempts - 1)) / time_scale
