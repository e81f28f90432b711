"""The words every stage shares about an article: its ``State``, a check's ``Outcome``, and the
one public ``status`` made of them (export, API, site, feeds, CLI).

Stored as their text values; the store compares columns with ``.value``.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    LIVE = "live"
    SUSPECT = "suspect"  # a check saw a removal; waiting for a spaced second check to agree
    REMOVED = "removed"


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


def public_status(state: str, outcome: str | None) -> str:
    """An article's ``status`` wherever it is shown (export, API, site): ``live``, ``suspect``
    (a check saw a removal, a second one has not confirmed it yet) or, once confirmed, the
    removal's outcome (``deleted_by_author``, ``removed_violation``, ``not_found``, …).

    >>> public_status("live", None), public_status("suspect", "deleted_by_author")
    ('live', 'suspect')
    >>> public_status("removed", "removed_violation")
    'removed_violation'
    """
    return outcome if state == State.REMOVED and outcome else state
