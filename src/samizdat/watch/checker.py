"""One re-check of an archived article: fetch, keep the evidence, classify, move its state.

What the check saw is archived before anything is stored (a notice page is the evidence of
a removal); a live page whose text changed becomes a new version, its new images fetched
after it as a capture's are. A live page whose text did
not change is not archived again: its content already is, and the check moves
``last_seen_alive_at``. Most checks find the very page they found before; its fingerprint
(the page without per-request tokens) says so without parsing it. The next check is set from the
schedule, or sooner to confirm a suspected removal; removed and old articles are still
looked at now and then, since articles do come back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from samizdat.fetch import FetchResult, Priority
from samizdat.fetch.decode import looks_like_text
from samizdat.platforms import Article, Unavailable
from samizdat.status import REMOVALS, Outcome, State
from samizdat.store import (
    Announcement,
    CaptureRecord,
    CheckRow,
    DueArticle,
    WatchState,
    content_hash,
)
from samizdat.store.claims import AHEAD_OF_ROUTINE
from samizdat.watch.outcomes import (
    ArticleState,
    Classification,
    Transition,
    advance,
    classify,
)
from samizdat.watch.refusals import note_answer
from samizdat.watch.schedule import scheduled_interval
from samizdat.watch.step import WatchStep

if TYPE_CHECKING:
    from samizdat.config import WatchSettings

log = logging.getLogger(__name__)

# Live articles made due at once when an article is seen removed: its newest copies, and,
# when its account is gone, the account's newest articles.
COPIES_DUE_PER_REMOVAL = 20
ACCOUNT_DUE_PER_REMOVAL = 500
# A signalled article is made due a day early; one due half a day early or more was signalled.
SIGNALLED = AHEAD_OF_ROUTINE / 2
# A signalled check that met a transient failure stays signalled, tried again as its host
# allows, for this long (schedule seconds) after the signal; then it goes at the failures' pace.
SIGNAL_RETRY_SECONDS = 3600.0


@dataclass(frozen=True)
class CheckReport:
    article_id: int
    outcome: Outcome
    message: str
    declared: bool
    restored: bool
    next_check_at: datetime | None
    same_page: bool = False  # the fingerprint matched: nothing was parsed or stored
    host: str = ""  # where the check was sent
    request_class: str = ""  # its class in the host's queue (fetch.turns.Priority, lower case)


class Checker(WatchStep):
    async def check(self, due: DueArticle) -> CheckReport:
        priority = request_class(due)
        # A suspected removal is confirmed by another way out than the one that saw it: a notice
        # seen from one address only may be that address being blocked.
        page = await self.fetcher.fetch(due.check_url, priority=priority, avoid_egress=due.suspected_by)
        # Fingerprinting, parsing and classifying are CPU work: in a thread, so the event loop
        # keeps serving the other checks' and captures' requests meanwhile.
        fingerprint, parsed, found = await self.pools.cpu.run(self._read, due, page)
        first_capture = due.content_hash is None and isinstance(parsed, Article)
        if first_capture and found.outcome is not Outcome.TRANSIENT:
            # Removed when first seen, and here after all: this is its first capture.
            found = Classification(Outcome.EDITED, "captured at last: it was unavailable when first seen")
        followed = None
        if isinstance(parsed, Unavailable) and parsed.follow_url:
            followed = await self._follow(page, parsed.follow_url, due)
            if followed is not None:
                moved, parsed = followed
                found = classify(
                    moved,
                    parsed,
                    canonical_id=parsed.canonical_id,
                    content_hash=due.content_hash,
                    parsed_hash=content_hash(parsed),
                )
                found = replace(found, message=f"{page.final_url} moved: followed to {moved.final_url}")
        note_answer(self.fetcher, self.settings.watch, page, parsed)
        current = ArticleState(
            State(due.state),
            Outcome(due.outcome) if due.outcome else None,
            due.suspected_at,
            due.last_seen_alive_at,
            due.detected_at,
        )
        scale = self.settings.watch.time_scale
        transition = advance(
            current,
            found,
            page.fetched_at,
            confirmation_delay=timedelta(seconds=self.settings.watch.confirmation_seconds / scale),
            answered_at=page.received_at,
        )
        next_at = self._next_check(
            due,
            transition,
            page.fetched_at,
            looked=found.outcome is not Outcome.TRANSIENT,
            promoted=page.sent_as is Priority.SIGNAL and request_class(due) is not Priority.SIGNAL,
        )
        state = transition.state
        if found.outcome in REMOVALS and State(due.state) is State.LIVE:
            # Copies of a removed text tend to go one by one, and a blocked or closed account
            # takes all its articles with it: look at those now (each is still declared only
            # by its own confirmed checks). A text copied by hundreds would make a request
            # storm of every removal: its newest copies are looked at, the rest on schedule.
            siblings = [("cluster_id", COPIES_DUE_PER_REMOVAL)]
            if found.outcome is Outcome.ACCOUNT_GONE:
                siblings.append(("account_id", ACCOUNT_DUE_PER_REMOVAL))
            for sharing, limit in siblings:
                made_due = await self.pools.store.run(
                    self.store.check_siblings_soon, due.id, page.fetched_at, sharing=sharing, limit=limit
                )
                self.fetcher.promote(made_due, Priority.SIGNAL)
        alive = found.outcome in (Outcome.ALIVE, Outcome.EDITED)
        watch_state = WatchState(
            str(state.state),
            str(state.outcome) if state.outcome else None,
            state.suspected_at,
            state.last_seen_alive_at,
            state.detected_at,
            next_at,
            fingerprint if alive else due.page_fingerprint,
            announce=announcement(transition, found, page.fetched_at),
            suspected_by=(
                (due.suspected_by if State(due.state) is State.SUSPECT else page.egress)
                if state.state is State.SUSPECT
                else None
            ),
        )
        if followed is not None and alive:
            # The account moved: the notice and the page it led to are archived, and the
            # article is checked at its new address from now on.
            moved, article = followed
            moved_fingerprint = self.registry.fingerprint(article.platform, moved.content)
            notice_records = self.records.records_of(page.exchanges)
            records = notice_records + self.records.records_of(moved.exchanges)
            images = await self.images.plan(article)
            _, stored = await self.committer.commit(
                records,
                lambda refs: CaptureRecord(
                    article=article,
                    urls=[due.check_url, moved.requested_url],
                    final_url=moved.final_url,
                    http_status=moved.status or 200,
                    captured_at=moved.fetched_at,
                    response=refs[len(notice_records) + 2 * (len(moved.exchanges) - 1)],
                    images=images.known,
                    page_fingerprint=moved_fingerprint,
                ),
                lambda refs: (
                    CheckRow(
                        due.id,
                        page.fetched_at,
                        str(found.outcome),
                        found.message,
                        page.status,
                        refs[2 * (len(page.exchanges) - 1)],
                    ),
                    due.id,
                    replace(watch_state, page_fingerprint=moved_fingerprint),
                ),
            )
            await self.images.keep(stored.version_id, images.missing, moved.fetched_at)
        elif found.outcome is Outcome.EDITED and isinstance(parsed, Article):
            # The same path as a capture: the changed text becomes a version, the page its evidence.
            records = self.records.records_of(page.exchanges)
            images = await self.images.plan(parsed)
            _, stored = await self.committer.commit(
                records,
                lambda refs: CaptureRecord(
                    article=parsed,
                    urls=[due.check_url],
                    final_url=page.final_url,
                    http_status=page.status or 200,
                    captured_at=page.fetched_at,
                    response=refs[2 * (len(page.exchanges) - 1)],
                    images=images.known,
                    page_fingerprint=fingerprint,
                ),
                lambda refs: (None, due.id, watch_state),
            )
            await self.images.keep(stored.version_id, images.missing, page.fetched_at)
        elif alive:
            # Its content is archived already: an unchanged article only moves its timestamps.
            await self.committer.record_check([], lambda refs: (None, due.id, watch_state))
        else:
            records = self.records.records_of(page.exchanges)

            def check_row(refs):
                evidence = refs[2 * (len(page.exchanges) - 1)] if refs else None
                row = CheckRow(
                    due.id, page.fetched_at, str(found.outcome), found.message or None, page.status, evidence
                )
                return row, due.id, watch_state

            await self.committer.record_check(records, check_row)
        return CheckReport(
            due.id,
            found.outcome,
            found.message,
            transition.declared,
            transition.restored,
            next_at,
            same_page=parsed is None and found.outcome is Outcome.ALIVE,
            host=urlsplit(due.check_url).hostname or "",
            request_class=priority.name.lower(),
        )

    def _read(
        self, due: DueArticle, page: FetchResult
    ) -> tuple[str | None, Article | Unavailable | None, Classification]:
        """The page's fingerprint, what it parses as (None: the very page that last parsed as
        this article, or nothing readable), and what the check found."""
        readable = page.ok and page.status is not None and page.status < 400 and looks_like_text(page.content)
        fingerprint = self.registry.fingerprint(due.platform, page.content) if readable else None
        if fingerprint is not None and fingerprint == due.page_fingerprint:
            return fingerprint, None, Classification(Outcome.ALIVE)  # alive and unchanged: nothing to parse
        parsed = self.registry.parse(page.final_url, page.text().text) if readable else None
        found = classify(
            page,
            parsed,
            canonical_id=due.canonical_id,
            content_hash=due.content_hash,
            parsed_hash=content_hash(parsed) if isinstance(parsed, Article) else None,
        )
        return fingerprint, parsed, found

    async def _follow(
        self, page: FetchResult, link: str, due: DueArticle
    ) -> tuple[FetchResult, Article] | None:
        """The article where a notice says it moved (a migrated account), when it is there."""
        moved = await self.fetcher.fetch(urljoin(page.final_url, link), priority=Priority.CONFIRM)
        if not (moved.ok and moved.status == 200 and looks_like_text(moved.content)):
            return None
        article = await self.pools.cpu.run(lambda: self.registry.parse(moved.final_url, moved.text().text))
        if not isinstance(article, Article) or not (article.text.strip() or article.images):
            return None
        return moved, article

    def _next_check(
        self, due: DueArticle, transition: Transition, now: datetime, *, looked: bool, promoted: bool = False
    ) -> datetime | None:
        """None: never again (past the horizon, with ``watch.after_horizon_hours`` = 0).

        A check that met a transient failure (a refusal, a body cut off) did not look at the
        article: it looks again a quarter of the time since its last real look later (at least
        ``watch.retry_seconds``, at most its scheduled interval), so that one failure costs the
        schedule nothing and a failure that lasts backs off to the schedule's own pace. A
        signalled check stays signalled after a failure for ``SIGNAL_RETRY_SECONDS``, and so does
        a routine one ``promoted`` to a signalled one while it waited (its article left its
        listing meanwhile): its signal is counted from now."""
        watch = self.settings.watch
        if transition.confirm_after is not None:
            return now + transition.confirm_after
        if transition.state.state is State.SUSPECT:
            # The confirming check met a transient failure: look again soon, not on the schedule.
            return now + timedelta(seconds=watch.retry_seconds) / watch.time_scale
        if transition.state.state is State.REMOVED:
            return now + removed_recheck_interval(watch, due.detected_at, now) / watch.time_scale
        if not looked and promoted:
            return now - AHEAD_OF_ROUTINE  # due now, and claimed as signalled (request_class)
        if not looked and due.next_check_at is not None and request_class(due) is Priority.SIGNAL:
            signalled_at = due.next_check_at + AHEAD_OF_ROUTINE
            if (now - signalled_at) * watch.time_scale < timedelta(seconds=SIGNAL_RETRY_SECONDS):
                # It left its listing (or its copy or account went): likely gone, so a fault
                # must not send it back to the routine pace. Its due time keeps the signal's.
                return due.next_check_at
        interval = scheduled_interval(
            self.policy, watch, due.first_captured_at, now, priority=due.priority > 0
        )
        if interval is None:
            if watch.after_horizon_hours <= 0:
                return None
            interval = timedelta(hours=watch.after_horizon_hours)
        if not looked and due.last_seen_alive_at is not None:
            unseen = (now - due.last_seen_alive_at) * watch.time_scale
            interval = min(interval, max(timedelta(seconds=watch.retry_seconds), unseen / 4))
        return now + interval / watch.time_scale


def announcement(transition: Transition, found: Classification, at: datetime) -> Announcement | None:
    """What the operator is told of this check, if anything: a removal once declared (not
    while suspected), a return, an edit."""
    if transition.declared:
        kind = "removed"
    elif transition.restored:
        kind = "restored"
    elif found.outcome is Outcome.EDITED:
        kind = "edited"
    else:
        return None
    outcome = transition.state.outcome if transition.declared else found.outcome
    return Announcement(kind, str(outcome or found.outcome), found.message or None, at)


def request_class(due: DueArticle) -> Priority:
    """Where a check stands in its host's queue: confirming a suspected removal, then checks
    something signalled (they are made due a day early), then routine checks."""
    if due.state == str(State.SUSPECT):
        return Priority.CONFIRM
    if due.next_check_at is not None and due.next_check_at <= datetime.now(UTC) - SIGNALLED:
        return Priority.SIGNAL
    return Priority.ROUTINE


def removed_recheck_interval(watch: WatchSettings, detected_at: datetime | None, now: datetime) -> timedelta:
    """How long a removed article waits for its next look (for a return), in schedule time:
    ``watch.removed_recheck_hours`` at first, then as long as it has been gone, so the looks
    come 1, 2, 4, 8 … waits after the removal, up to the pace of an old live article
    (``watch.after_horizon_hours``). Returns come mostly soon after a removal (an appeal, a
    review), and each look at a removed article is a request taken from a live one's check."""
    first = timedelta(hours=watch.removed_recheck_hours)
    if detected_at is None:
        return first
    gone = (now - detected_at) * watch.time_scale
    return max(first, min(gone, timedelta(hours=max(watch.removed_recheck_hours, watch.after_horizon_hours))))
