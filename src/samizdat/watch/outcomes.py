"""What one check of an article found, and what it means for the article's state.

:func:`classify` names the outcome of a check from its fetch and parse; :func:`advance`
moves the article's state. The rule that keeps an archive of deletions honest: a removal is
*declared* only when a second check, spaced by the confirmation delay, agrees; a transient
outcome (network trouble, 5xx, 429, verification or rate-limit pages, unknown page shapes)
never changes anything. Both are pure functions, so the watch loop, the tests and the
simulation all use the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from samizdat.fetch import FetchResult
from samizdat.platforms import Article, Unavailable, UnavailableReason
from samizdat.status import Outcome, State

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
    current: ArticleState,
    found: Classification,
    now: datetime,
    *,
    confirmation_delay: timedelta,
    answered_at: datetime | None = None,
) -> Transition:
    """Apply one check's outcome to an article's state: a check sent at ``now`` whose answer
    came at ``answered_at`` saw the article alive at ``now`` (it was removed, if at all, after
    the platform answered) and saw a removal by ``answered_at`` (the platform may have removed
    it while the request was on its way)."""
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
            # Detected when first seen gone: the confirming look only rules out a passing fault,
            # and the first look's record is the evidence of when the archive knew.
            declared = replace(current, state=State.REMOVED, detected_at=current.suspected_at)
            return Transition(declared, declared=True)
        return Transition(current, confirm_after=confirmation_delay - (now - current.suspected_at))
    # A first sighting, or a different removal reason than the one suspected: (re)start.
    suspect = ArticleState(State.SUSPECT, outcome, answered_at or now, current.last_seen_alive_at, None)
    return Transition(suspect, confirm_after=confirmation_delay)
