"""What one check of an article found, and what it means for the article's state.

:func:`classify` names the outcome of a check from its fetch and parse; :func:`advance`
moves the article's state. The rule that keeps an archive of deletions honest: a removal is
*declared* only when a second check, spaced by the confirmation delay, agrees; a transient
outcome (network trouble, 5xx, 429, verification or rate-limit pages, unknown page shapes)
never changes anything. Both are pure functions, so the watch loop, the tests and the
simulation all use the same rules.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from samizdat.fetch import FetchResult
from samizdat.platforms import Article, Unavailable, UnavailableReason


class Outcome(enum.StrEnum):
    ALIVE = "alive"
    EDITED = "edited"
    DELETED_BY_AUTHOR = "deleted_by_author"
    REMOVED_VIOLATION = "removed_violation"
    REMOVED_COMPLAINT = "removed_complaint"
    ACCOUNT_GONE = "account_gone"
    NOT_FOUND = "not_found"  # 404, 410
    LEGAL_BLOCK = "legal_block"  # 451
    REDIRECTED_AWAY = "redirected_away"  # sent to a page that is not the article any more
    LINK_EXPIRED = "link_expired"  # a temporary link ran out: not a removal
    TRANSIENT = "transient"
    UNKNOWN_UNAVAILABLE = "unknown_unavailable"


# Outcomes that, once confirmed, mean the article is gone.
REMOVALS = frozenset(
    {
        Outcome.DELETED_BY_AUTHOR,
        Outcome.REMOVED_VIOLATION,
        Outcome.REMOVED_COMPLAINT,
        Outcome.ACCOUNT_GONE,
        Outcome.NOT_FOUND,
        Outcome.LEGAL_BLOCK,
        Outcome.REDIRECTED_AWAY,
        Outcome.UNKNOWN_UNAVAILABLE,
    }
)
_BY_NOTICE = {
    UnavailableReason.DELETED_BY_AUTHOR: Outcome.DELETED_BY_AUTHOR,
    UnavailableReason.REMOVED_VIOLATION: Outcome.REMOVED_VIOLATION,
    UnavailableReason.REMOVED_COMPLAINT: Outcome.REMOVED_COMPLAINT,
    UnavailableReason.ACCOUNT_GONE: Outcome.ACCOUNT_GONE,
    UnavailableReason.LINK_EXPIRED: Outcome.LINK_EXPIRED,
    UnavailableReason.TRANSIENT: Outcome.TRANSIENT,
    # The author hid it or sending failed; the platform's own "bad request": unavailable,
    # for a reason the page does not tell.
    UnavailableReason.RESTRICTED: Outcome.UNKNOWN_UNAVAILABLE,
    UnavailableReason.BAD_REQUEST: Outcome.UNKNOWN_UNAVAILABLE,
}


def outcome_of_notice(reason: UnavailableReason) -> Outcome:
    """The outcome a platform's notice of ``reason`` stands for."""
    return _BY_NOTICE[reason]


# 401/403/407 usually mean "not you, not now" (a firewall, a login wall): never a removal.
TRANSIENT_STATUSES = frozenset({401, 403, 407, 408, 425, 429})


@dataclass(frozen=True)
class Classification:
    outcome: Outcome
    message: str = ""


def classify(
    fetch: FetchResult,
    parsed: Article | Unavailable | None,
    *,
    canonical_id: str,
    content_hash: str | None,
    parsed_hash: str | None = None,
) -> Classification:
    """The outcome of one check of the article ``canonical_id`` whose stored content is ``content_hash``.

    ``parsed`` is the platform's reading of the fetched page (None when nothing was parsed);
    ``parsed_hash`` the content hash of ``parsed`` when it is an article.
    """
    if not fetch.ok:
        return Classification(Outcome.TRANSIENT, f"{fetch.failure}: {fetch.error}")
    status = fetch.status or 0
    if status in (404, 410):
        return Classification(Outcome.NOT_FOUND, f"HTTP {status}")
    if status == 451:
        return Classification(Outcome.LEGAL_BLOCK, "HTTP 451")
    if status >= 500 or status in TRANSIENT_STATUSES:
        return Classification(Outcome.TRANSIENT, f"HTTP {status}")
    if status >= 400:
        return Classification(Outcome.UNKNOWN_UNAVAILABLE, f"HTTP {status}")
    if parsed is None:
        return Classification(Outcome.TRANSIENT, "the page could not be read")
    if isinstance(parsed, Unavailable):
        return Classification(outcome_of_notice(parsed.reason), parsed.message)
    if parsed.canonical_id != canonical_id:
        return Classification(
            Outcome.REDIRECTED_AWAY, f"now serves {parsed.canonical_id} ({fetch.final_url})"
        )
    if not parsed.text.strip() and not parsed.images:
        return Classification(Outcome.TRANSIENT, "the article page came back empty")
    if content_hash is not None and parsed_hash is not None and parsed_hash != content_hash:
        return Classification(Outcome.EDITED)
    return Classification(Outcome.ALIVE)


class State(enum.StrEnum):
    LIVE = "live"
    SUSPECT = "suspect"  # a check saw a removal; waiting for a spaced second check to agree
    REMOVED = "removed"


def public_status(state: str, outcome: str | None) -> str:
    """An article's ``status`` wherever it is shown (export, API, site): ``live``, ``suspect``
    (a check saw a removal, a second one has not confirmed it yet) or, once confirmed, the
    removal's outcome (``deleted_by_author``, ``removed_violation``, ``http_404``, …).

    >>> public_status("live", None), public_status("suspect", "deleted_by_author")
    ('live', 'suspect')
    >>> public_status("removed", "removed_violation")
    'removed_violation'
    """
    return outcome if state == State.REMOVED and outcome else state


@dataclass(frozen=True)
class ArticleState:
    state: State = State.LIVE
    outcome: Outcome | None = None
    suspected_at: datetime | None = None
    last_seen_alive_at: datetime | None = None
    detected_at: datetime | None = None


@dataclass(frozen=True)
class Transition:
    state: ArticleState
    declared: bool = False  # a removal was confirmed by this check
    restored: bool = False  # a removed article is back
    confirm_after: timedelta | None = None  # check again this soon to confirm a suspicion


def advance(
    current: ArticleState, found: Classification, now: datetime, *, confirmation_delay: timedelta
) -> Transition:
    """Apply one check's outcome to an article's state."""
    outcome = found.outcome
    if outcome in (Outcome.TRANSIENT, Outcome.LINK_EXPIRED):
        return Transition(current)  # says nothing about the article itself
    if outcome in (Outcome.ALIVE, Outcome.EDITED):
        restored = current.state is State.REMOVED
        return Transition(ArticleState(State.LIVE, None, None, now, None), restored=restored)
    if current.state is State.REMOVED:
        return Transition(current)  # already declared: the first confirmed reason stands
    if current.state is State.SUSPECT and current.outcome is outcome and current.suspected_at is not None:
        if now - current.suspected_at >= confirmation_delay:
            return Transition(replace(current, state=State.REMOVED, detected_at=now), declared=True)
        return Transition(current, confirm_after=confirmation_delay - (now - current.suspected_at))
    # A first sighting, or a different removal reason than the one suspected: (re)start.
    suspect = ArticleState(State.SUSPECT, outcome, now, current.last_seen_alive_at, None)
    return Transition(suspect, confirm_after=confirmation_delay)
