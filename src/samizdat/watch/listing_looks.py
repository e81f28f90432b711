"""A listing that leaves removed articles out is a look at every article it lists.

A platform's list of an account's articles stops listing an article when it is removed, and
one that leaves a listing is checked at once (``sources/listing.py``). Where that holds, a poll
that still lists an article has looked at it: its next check is put off as if a check had just
seen it alive, and the host's requests go to the articles no listing covers. When polls and
checks are counted together, an article's looks come evenly spaced instead of two independent
series that often fall close together.

Whether a listing leaves removed articles out is learnt, never assumed. A source whose listing
left out an article from its middle (``sources/listing.py``) that a check then found removed
(or suspects) leaves them out; one that lists an article declared removed keeps them, and is
never taken as a look again. What left a listing is remembered until that is known
(``sources.left_out``, at most ``LEFT_OUT_KEPT`` URLs). A source not known yet goes by the
others of its host and kind: when every one of them that is known leaves removed articles out.

A listing says nothing of edits, which only checks see: it stands in for at most
``LOOKS_PER_CHECK - 1`` checks in a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from samizdat.config import WatchSettings
from samizdat.status import State
from samizdat.store import ListedArticle, ListingView
from samizdat.watch.schedule import SchedulePolicy, scheduled_interval

# The next check comes at most this many schedule intervals after the last one that saw the
# article alive, however many listings looked at it since.
LOOKS_PER_CHECK = 3
LEFT_OUT_KEPT = 100


def learned(known: int | None, view: ListingView) -> int | None:
    """What this listing teaches of its source (``sources.drops_removed``): 0 when it lists an
    article declared removed, 1 when one it left out was found removed, None when nothing new."""
    if any(article.state == State.REMOVED.value for article in view.articles):
        return None if known == 0 else 0
    if view.left_out_removed and known is None:
        return 1
    return None


def leaves_removed_out(
    url: str, kind: str, known: int | None, others: Sequence[tuple[str, str, int]]
) -> bool:
    """Whether a listing of this source is a look at what it lists: its own record, else that of
    every source of the same host and kind whose listing has shown what it does."""
    if known is not None:
        return known == 1
    host = urlsplit(url).hostname
    alike = [
        flag for other, other_kind, flag in others if other_kind == kind and urlsplit(other).hostname == host
    ]
    return bool(alike) and all(flag == 1 for flag in alike)


def put_off(
    listed: Sequence[ListedArticle], now: datetime, policy: SchedulePolicy, watch: WatchSettings
) -> list[tuple[int, datetime]]:
    """(article id, its next check) for the live listed articles whose next check a look now
    puts later: one schedule interval from now, at most ``LOOKS_PER_CHECK`` intervals after the
    last check that saw it alive."""
    scale = watch.time_scale
    later_checks = []
    for article in listed:
        if article.state != State.LIVE.value or article.next_check_at is None:
            continue
        # Past the schedule (None), checks are rare and for edits as much as removals.
        interval = scheduled_interval(
            policy, watch, article.first_captured_at, now, priority=article.priority > 0
        )
        if interval is None:
            continue
        step = interval / scale
        seen = article.last_seen_alive_at or article.first_captured_at
        later = min(now + step, seen + LOOKS_PER_CHECK * step)
        if later > article.next_check_at:
            later_checks.append((article.id, later))
    return later_checks


def still_left_out(row: dict[str, Any], gone: Sequence[str], learnt: int | None) -> list[str] | None:
    """What left the source's listing and is remembered until its removal is known, with what
    left it at this poll (``gone``); nothing once the source's listings are known."""
    if learnt is not None or row.get("drops_removed") is not None:
        return None
    kept = [*(row.get("left_out") or ()), *gone]
    return list(dict.fromkeys(kept))[-LEFT_OUT_KEPT:] or None


def look_through(
    row: dict[str, Any], view: ListingView, now: datetime, policy: SchedulePolicy, watch: WatchSettings
) -> tuple[int | None, list[tuple[int, datetime]]]:
    """What a poll's listing (``view``, ``Store.listing_view``) teaches of its source
    (``sources.drops_removed``, None: nothing), and the checks it puts off, if the source's
    listings leave removed articles out."""
    known = row.get("drops_removed")
    learnt = learned(known, view)
    current = known if learnt is None else learnt
    if not leaves_removed_out(row["url"], row["kind"], current, view.others):
        return learnt, []
    return learnt, put_off(view.articles, now, policy, watch)
