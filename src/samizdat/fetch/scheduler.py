"""One queue per host for every request this process sends: most urgent class first.

Every fetch waits here for a place among the host's ``per_host_concurrency`` requests and
for a turn of the host's rate (:mod:`.turns`, shared with the other processes). While a
host's budget is short, its waiters are served by :class:`~samizdat.fetch.turns.Priority`
(first-sight captures, polls, confirmations, signalled checks, routine checks) and, within a
class, in the order they came: a capture that is retried keeps its place at the head.

Nothing waits for ever: a request that has waited longer than ``aging_seconds`` may go ahead
of more urgent ones, at most once per ``1 / (fair_share × rate)`` seconds (or every
``1 / fair_share`` turns without a rate), so a saturated host still gives a small share of its
budget to the classes it thins out.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from samizdat.fetch.turns import DatabaseTurns, HostTurns, Priority

FAIR_SHARE = 0.1


@dataclass(order=True)
class _Waiter:
    priority: int
    order: int  # first come, first served within a class
    since: float = field(compare=False)
    granted: asyncio.Future[bool] = field(compare=False)


@dataclass
class _Host:
    waiting: list[_Waiter] = field(default_factory=list)  # a heap
    active: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dispatcher: asyncio.Task[None] | None = None
    grants: int = 0
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
        turns: HostTurns | DatabaseTurns,
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

    @contextlib.asynccontextmanager
    async def slot(self, host: str, priority: Priority, *, order: int | None = None) -> AsyncIterator[None]:
        """Hold one of ``host``'s places for a request of ``priority``. ``order`` (from
        :meth:`ticket`) keeps an earlier place in the class: a retry goes back to the head."""
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host()
        if self._grant_at_once(host, state, priority):
            try:
                yield
            finally:
                self._release(state)
            return
        waiter = _Waiter(
            int(priority),
            next(self._order) if order is None else order,
            time.monotonic(),
            asyncio.get_running_loop().create_future(),
        )
        heapq.heappush(state.waiting, waiter)
        if state.dispatcher is None or state.dispatcher.done():
            state.dispatcher = asyncio.create_task(self._dispatch(host, state))
        else:
            state.wake.set()
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release(state)  # granted just as it was cancelled: give the place back
            elif waiter in state.waiting:
                state.waiting.remove(waiter)
                heapq.heapify(state.waiting)
            raise
        try:
            yield
        finally:
            self._release(state)

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

    def _grant_at_once(self, host: str, state: _Host, priority: Priority) -> bool:
        """Nobody waits, a place is free and so is the turn: no queue to go through."""
        if state.waiting or state.active >= self.concurrency or self.turns.blocking:
            return False
        if self.turns.take(host, priority) > 0:
            return False
        state.active += 1
        state.grants += 1
        state.last_grant = time.monotonic()
        state.grants_since_aged += 1
        return True

    def _release(self, state: _Host) -> None:
        state.active -= 1
        state.wake.set()

    async def _dispatch(self, host: str, state: _Host) -> None:
        """Hand ``host``'s places and turns to its waiters, most urgent first, until none wait."""
        while state.waiting:
            if state.active >= self.concurrency:
                state.wake.clear()
                await state.wake.wait()
                continue
            waiter, aged = self._next(state)
            if self.turns.blocking:
                wait = await asyncio.to_thread(self.turns.take, host, Priority(waiter.priority), aged=aged)
            else:
                wait = self.turns.take(host, Priority(waiter.priority), aged=aged)
            if wait > 0:
                # A more urgent request may arrive meanwhile: the next round chooses again.
                state.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(state.wake.wait(), wait)
                continue
            if waiter not in state.waiting:  # cancelled while the turn was being taken
                continue
            state.waiting.remove(waiter)
            heapq.heapify(state.waiting)
            state.active += 1
            state.grants += 1
            state.last_grant = time.monotonic()
            state.grants_since_aged = 0 if aged else state.grants_since_aged + 1
            waiter.granted.set_result(True)

    def _next(self, state: _Host) -> tuple[_Waiter, bool]:
        """The most urgent waiter, unless one that has waited too long is owed its share."""
        first = state.waiting[0]
        oldest = min(state.waiting, key=lambda w: w.since)
        now = time.monotonic()
        if oldest is first or now - oldest.since < self.aging_seconds:
            return first, False
        rate = self.turns.rate
        owed = state.grants_since_aged * self.fair_share >= 1 or (
            rate > 0 and now - state.last_grant >= 1 / (self.fair_share * rate)
        )
        return (oldest, True) if owed else (first, False)
