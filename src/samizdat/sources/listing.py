"""What left a listing: entries a source listed last time that it no longer lists, though no
new entry pushed them off the end its old entries fall off.

A platform's own list of an account's articles (WeChat's history list, a profile's timeline, a
sitemap) stops listing an article the moment it is removed, long before a routine re-check
would look at it. Entries also leave a listing harmlessly, off its old end, as newer ones push
them out. Feeds put their newest entry first; a listing whose new entries arrive at its end is
read the other way round (a newest-first listing that gained nothing and lost only its newest
entries, older ones sliding in at its end, has the same shape as an appending one that lost its
oldest: it is read as appending, and that removal waits for its routine check). A dropped entry
is only made due for a check: the check and its
confirmation decide what happened, so a listing that reorders or forgets costs requests,
never a false deletion.
"""

from __future__ import annotations

from collections.abc import Sequence

# The newest entries kept per source: removals happen in an article's first days, near the
# head of its listing, and a sitemap of 50,000 URLs need not be stored whole at every poll.
REMEMBERED_ENTRIES = 1000
# Feeds and account lists hold their newest 10 to 50 entries: a shorter listing is taken to
# hold all its source has, so nothing new pushes an entry off it. A listing that does hold
# fewer costs a check of each entry it lets go, never a false removal.
LIKELY_CAPACITY = 10


def remembered(previous: Sequence[str] | None, listed: Sequence[str]) -> list[str]:
    """The part of a listing kept for the next comparison: its newest entries."""
    if len(listed) <= REMEMBERED_ENTRIES:
        return list(listed)
    if previous and (_appends_at_end(listed, previous) or previous[-1] == listed[-1]):
        return list(listed[-REMEMBERED_ENTRIES:])  # oldest first, as seen before
    return list(listed[:REMEMBERED_ENTRIES])


def dropped_entries(previous: Sequence[str] | None, listed: Sequence[str]) -> list[str]:
    """The entries of ``previous`` missing from ``listed`` that new entries did not push off
    its old end: as many leave it as came in, less the room a listing shorter than
    ``LIKELY_CAPACITY`` still had (an account's feed of two articles that lists one, or lists
    a new one instead, has lost the other).

    Nothing when more than half of the previous listing is gone (a reshuffle or a listing
    replaced whole, not a series of removals).
    """
    if not previous:
        return []
    still = set(listed)
    came_in = len(still - set(previous))
    pushed_off = max(0, len(previous) + came_in - max(LIKELY_CAPACITY, len(previous)))
    kept = [position for position, url in enumerate(previous) if url in still]
    # What lies before the last entry still listed (after the first, oldest first) did not
    # reach the old end, whatever came in: entries from the old end can slide in as well.
    if kept and _appends_at_end(listed, previous):  # oldest first: old entries leave from the start
        candidates = previous[min(pushed_off, kept[0]) :]
    else:  # newest first: old entries leave from the end
        candidates = previous[: max(len(previous) - pushed_off, kept[-1] if kept else 0)]
    dropped = [url for url in candidates if url not in still]
    if len(dropped) > max(3, len(previous) // 2):
        return []
    return dropped


def _appends_at_end(listed: Sequence[str], previous: Sequence[str]) -> bool:
    """Whether ``listed`` puts the entries ``previous`` lacked after the ones it had."""
    known = set(previous)
    new_positions = [position for position, url in enumerate(listed) if url not in known]
    old_positions = [position for position, url in enumerate(listed) if url in known]
    return bool(new_positions and old_positions) and min(new_positions) > max(old_positions)
