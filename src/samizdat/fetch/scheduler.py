"""One queue per host for every request this process sends: most urgent class first.

Every fetch waits here for a place among the host's ``per_host_concurrency`` requests and
for a turn of the host's rate (:mod:`.turns`, shared with the other processes). While a
host's budget is short, its waiters are served by :class:`~samizdat.fetch.turns.Priority`
(first-sight captures, confirmations and signalled checks, polls, routine checks) and, within a
class, in the order they came: a capture that is retried keeps its place at the head.

Nothing waits for ever: a request that has waited longer than ``aging_seconds`` may go ahead
of more urgent ones, at most once per ``1 / (fair_share × rate)`` seconds (or every
``1 / fair_share`` turns without a rate), so a saturated host still gives a small share of its
budget to the classes it thins out — all but ``SPARE``, which by its meaning takes only what
the others leave.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import heapq
import itertools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field

from samizdat.fetch.turns import Priority, Turns
from samizdat.pools import Pool

log = logging.getLogger(__name__)

FAIR_SHARE = 0.1


class Rerouted(Exception):
    """The request's way out rests for this host: it chooses again (:meth:`HostScheduler.reroute`)."""


@dataclass(order=True)
class _Waiter:
    priority: int
    order: int  # first come, first served within a class
    since: float = field(compare=False)
    granted: asyncio.Future[bool] = field(compare=False)
    key: str | None = field(default=None, compare=False)  # what it fetches, to be found by :meth:`promote`


@dataclass
class _Host:
    waiting: list[_Waiter] = field(default_factory=list)  # a heap
    active: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dispatcher: asyncio.Task[None] | None = None
    last_grant: float = 0.0
    grants_since_aged: int = 0


@dataclass(frozen=True)
class QueueFigures:
    """Requests of one class waiting in this process, and how long the oldest has waited."""

    waiting: int
    oldest_seconds: float


class HostScheduler:
    def __init__(
        self,
        turns: Turns,
        per_host_concurrency: int,
        *,
        aging_seconds: float = 60.0,
        fair_share: float = FAIR_SHARE,
    ) -> None:
        self.turns = turns
        self.concurrency = per_host_concurrency
        self.aging_seconds = aging_seconds
        self.fair_share = fair_share
        self._hosts: dict[str, _Host] = {}
        self._order = itertools.count()
        # Requests sent to each host by class, since the start: what polls and checks each took.
        self.sent: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # Turns kept in a database are a round trip each: threads of their own, so that a slow
        # store call elsewhere never holds up a request's turn.
        self._turn_threads = Pool("turns", 2) if turns.blocking else None

    @contextlib.asynccontextmanager
    async def slot(
        self, host: str, priority: Priority, *, order: int | None = None, key: str | None = None
    ) -> AsyncIterator[Priority]:
        """Hold one of ``host``'s places for a request of ``priority``; gives the class it was
        granted as (higher when :meth:`promote` moved it up while it waited). ``order`` (from
        :meth:`ticket`) keeps an earlier place in the class: a retry goes back to the head.
        ``key`` (the URL it fetches) lets :meth:`promote` find it while it waits."""
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host()
        waiter = _Waiter(
            int(priority),
            next(self._order) if order is None else order,
            time.monotonic(),
            asyncio.get_running_loop().create_future(),
            key,
        )
        heapq.heappush(state.waiting, waiter)
        self._serve(host, state)
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release(host, state)  # granted just as it was cancelled: give the place back
            elif waiter in state.waiting:
                state.waiting.remove(waiter)
                heapq.heapify(state.waiting)
            raise
        try:
            yield Priority(waiter.priority)
        finally:
            self._release(host, state)

    def promote(self, keys: Collection[str], priority: Priority) -> int:
        """Move the requests for ``keys`` still waiting, in any host's queue, up to ``priority``
        (never down): what was learnt after they joined the queue (a routine check whose
        article has just left its listing) goes ahead as it would had it been known. How many."""
        wanted, moved = set(keys), 0
        for host, state in self._hosts.items():
            raised = [w for w in state.waiting if w.key in wanted and w.priority > priority]
            for waiter in raised:
                waiter.priority = int(priority)
            if raised:
                moved += len(raised)
                heapq.heapify(state.waiting)
                self._serve(host, state)
        return moved

    def back_off(self, host: str, seconds: float) -> None:
        """Give ``host`` no turn for ``seconds`` (in the database's turns: written by the turns'
        own threads, never on the event loop)."""
        if self._turn_threads is None:
            self.turns.back_off(host, seconds)
            return
        future = self._turn_threads.submit(self.turns.back_off, host, seconds)
        future.add_done_callback(_logged_failure)

    def reroute(self, host: str) -> None:
        """Send back every request still waiting in ``host``'s queue (:class:`Rerouted`): the
        way out that queue is for rests, and another may take them now."""
        state = self._hosts.get(host)
        if state is None:
            return
        for waiter in state.waiting:
            if not waiter.granted.done():
                waiter.granted.set_exception(Rerouted())
        state.waiting.clear()

    def load(self, host: str) -> int:
        """Requests for ``host`` in flight or waiting in this process."""
        state = self._hosts.get(host)
        return 0 if state is None else state.active + len(state.waiting)

    def ticket(self) -> int:
        """A place in line, for a request that will be retried (see :meth:`slot`)."""
        return next(self._order)

    def queues(self) -> dict[Priority, QueueFigures]:
        """What waits in this process now, by class (for ``samizdat status`` and the live view)."""
        now = time.monotonic()
        figures: dict[Priority, QueueFigures] = {}
        for state in self._hosts.values():
            for waiter in state.waiting:
                priority = Priority(waiter.priority)
                before = figures.get(priority, QueueFigures(0, 0.0))
                figures[priority] = QueueFigures(
                    before.waiting + 1, max(before.oldest_seconds, now - waiter.since)
                )
        return figures

    def _release(self, host: str, state: _Host) -> None:
        state.active -= 1
        self._serve(host, state)

    def _serve(self, host: str, state: _Host) -> None:
        """Grant what can be granted now, in this very call (a place freed goes straight to the
        next waiter); what must wait for a turn, or ask the database for one, is left to the
        host's dispatcher task."""
        if self.turns.blocking or (state.dispatcher is not None and not state.dispatcher.done()):
            if state.dispatcher is None or state.dispatcher.done():
                state.dispatcher = asyncio.create_task(self._dispatch(host, state))
            state.wake.set()
            return
        if self._grant_ready(host, state) > 0:
            state.dispatcher = asyncio.create_task(self._dispatch(host, state))

    def _grant_ready(self, host: str, state: _Host) -> float:
        """Grant places while a place and a turn are free; the wait for the next turn (0: none needed)."""
        while state.active < self.concurrency and (chosen := self._next(state)) is not None:
            waiter, aged = chosen
            wait = self.turns.take(host, Priority(waiter.priority), aged=aged)
            if wait > 0:
                return wait
            self._grant(host, state, waiter, aged)
        return 0.0

    def _grant(self, host: str, state: _Host, waiter: _Waiter, aged: bool) -> None:
        self.sent[host][Priority(waiter.priority).name.lower()] += 1
        if state.waiting[0] is waiter:
            heapq.heappop(state.waiting)
        else:
            state.waiting.remove(waiter)
            heapq.heapify(state.waiting)
        state.active += 1
        state.last_grant = time.monotonic()
        state.grants_since_aged = 0 if aged else state.grants_since_aged + 1
        waiter.granted.set_result(True)

    async def _dispatch(self, host: str, state: _Host) -> None:
        """Wait for ``host``'s next turn (or take it from the database) and grant it, most urgent
        first, until nobody waits or all its places are taken."""
        while state.waiting and state.active < self.concurrency:
            if self.turns.blocking:
                chosen = self._next(state)
                if chosen is None:
                    return
                waiter, aged = chosen
                assert self._turn_threads is not None
                wait = await self._turn_threads.run(
                    self.turns.take, host, Priority(waiter.priority), aged=aged
                )
                if wait <= 0 and not waiter.granted.done() and waiter in state.waiting:  # not cancelled
                    self._grant(host, state, waiter, aged)
                    continue
            else:
                wait = self._grant_ready(host, state)
            if wait > 0:
                # A more urgent request, or a freed place, may come meanwhile: choose again then.
                state.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(state.wake.wait(), wait)

    def _next(self, state: _Host) -> tuple[_Waiter, bool] | None:
        """The most urgent waiter, unless one that has waited too long is owed its share.

        A waiter cancelled since it queued (its task has not run its cleanup yet) is dropped
        here, so that no turn is granted to a request that is gone."""
        while state.waiting and state.waiting[0].granted.done():
            heapq.heappop(state.waiting)
        if not state.waiting:
            return None
        first = state.waiting[0]
        now = time.monotonic()
        rate = self.turns.rate
        owed = state.grants_since_aged * self.fair_share >= 1 or (
            rate > 0 and now - state.last_grant >= 1 / (self.fair_share * rate)
        )
        if not owed:
            return first, False
        ageing = [w for w in state.waiting if not w.granted.done() and w.priority != Priority.SPARE]
        oldest = min(ageing, key=lambda w: w.since, default=first)
        if oldest is first or now - oldest.since < self.aging_seconds:
            return first, False
        return oldest, True


def _logged_failure(done: concurrent.futures.Future) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("a host's rest could not be written to the shared turns", exc_info=done.exception())
