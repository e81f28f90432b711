"""The per-host request queue: most urgent class first, nothing starved, the rate and its
reservations shared between processes, and queue time never counted as a request's timeout."""

import asyncio
import time

import pytest

from samizdat.config import FetchSettings
from samizdat.fetch import Fetcher, FetchFailure, Priority
from samizdat.fetch.scheduler import HostScheduler
from samizdat.fetch.turns import HostTurns, shared_slots
from samizdat.store import open_engine
from samizdat.store.turns import DatabaseTurns


async def _granted_in_order(scheduler: HostScheduler, requests: list[Priority]) -> list[Priority]:
    """Queue ``requests`` at once (in that order) for one host; the order their places came in."""
    granted: list[Priority] = []

    async def one(priority: Priority) -> None:
        async with scheduler.slot("one.example", priority):
            granted.append(priority)

    await asyncio.gather(*(one(priority) for priority in requests))
    return granted


async def test_a_short_budget_serves_the_most_urgent_class_first():
    """Routine checks queued before captures, polls and confirmations still go after them; a
    confirmation and a signalled check go ahead of a poll (one turn each, about a likely removal)."""
    scheduler = HostScheduler(HostTurns(50.0), per_host_concurrency=1, aging_seconds=60)
    queued = [Priority.ROUTINE] * 4 + [Priority.CONFIRM, Priority.POLL, Priority.CAPTURE, Priority.SIGNAL]
    granted = await _granted_in_order(scheduler, queued)
    # The first routine check finds the host idle and goes at once; the others wait, by class.
    assert granted == [
        Priority.ROUTINE,
        Priority.CAPTURE,
        Priority.CONFIRM,
        Priority.SIGNAL,
        Priority.POLL,
        Priority.ROUTINE,
        Priority.ROUTINE,
        Priority.ROUTINE,
    ]


async def test_within_a_class_first_come_first_served_and_a_retry_keeps_its_place():
    scheduler = HostScheduler(HostTurns(100.0), per_host_concurrency=1)
    early = scheduler.ticket()  # a capture that failed once and is now retried
    granted: list[str] = []

    async def one(name: str, order: int | None) -> None:
        async with scheduler.slot("one.example", Priority.CAPTURE, order=order):
            granted.append(name)

    await asyncio.gather(one("first", None), one("new 1", None), one("new 2", None), one("retry", early))
    assert granted == ["first", "retry", "new 1", "new 2"]  # the first found the host idle


async def test_a_waiting_request_promoted_by_its_url_goes_ahead_of_its_old_class():
    """A routine check queued before its article left its listing goes as a signalled one."""
    scheduler = HostScheduler(HostTurns(20.0), per_host_concurrency=1)
    granted: list[str] = []

    async def one(name: str, priority: Priority) -> None:
        async with scheduler.slot("one.example", priority, key=f"https://one.example/{name}"):
            granted.append(name)

    waiting = [asyncio.create_task(one(name, Priority.ROUTINE)) for name in ("busy", "r1", "r2", "r3")]
    waiting.append(asyncio.create_task(one("confirm", Priority.CONFIRM)))
    await asyncio.sleep(0)
    assert scheduler.promote(["https://one.example/r3", "https://elsewhere.example/x"], Priority.SIGNAL) == 1
    assert scheduler.promote(["https://one.example/confirm"], Priority.SIGNAL) == 0  # never down
    await asyncio.gather(*waiting)
    assert granted == ["busy", "confirm", "r3", "r1", "r2"]


async def test_a_request_cancelled_while_it_waits_is_never_granted_and_the_next_one_is():
    """The place freed in the same step as a waiter's cancellation (before its task could run
    its cleanup) goes to the next waiter, not to the cancelled one."""
    scheduler = HostScheduler(HostTurns(0.0), per_host_concurrency=1)
    granted: list[str] = []
    waiters: dict[str, asyncio.Task] = {}

    async def one(name: str) -> None:
        async with scheduler.slot("one.example", Priority.CAPTURE):
            granted.append(name)
            if name == "first":
                await asyncio.sleep(0.01)
                waiters["cancelled"].cancel()  # its future is cancelled now, its task runs later

    first = asyncio.create_task(one("first"))
    await asyncio.sleep(0)
    waiters["cancelled"] = asyncio.create_task(one("cancelled"))
    waiters["next"] = asyncio.create_task(one("next"))
    await asyncio.sleep(0)
    await first
    await waiters["next"]
    with pytest.raises(asyncio.CancelledError):
        await waiters["cancelled"]
    assert granted == ["first", "next"]


async def test_a_class_kept_waiting_too_long_still_gets_a_share_of_the_turns():
    """Captures without end at 100 requests/s: a routine check waits its aging time, then goes."""
    scheduler = HostScheduler(HostTurns(100.0), per_host_concurrency=1, aging_seconds=0.1)
    stop = asyncio.Event()
    routine_done: list[float] = []

    async def captures() -> None:
        while not stop.is_set():
            async with scheduler.slot("one.example", Priority.CAPTURE):
                await asyncio.sleep(0)

    async def routine() -> None:
        started = time.monotonic()
        async with scheduler.slot("one.example", Priority.ROUTINE):
            routine_done.append(time.monotonic() - started)

    flood = [asyncio.create_task(captures()) for _ in range(4)]
    await asyncio.sleep(0.05)
    await asyncio.wait_for(routine(), 2.0)
    stop.set()
    await asyncio.gather(*flood)
    # Served after its aging time and within a tenth of the turns (ten turns: 0.1 s) of it.
    assert 0.1 <= routine_done[0] < 0.5


async def test_a_request_given_up_while_waiting_leaves_the_queue():
    scheduler = HostScheduler(HostTurns(5.0), per_host_concurrency=1)
    async with scheduler.slot("one.example", Priority.CAPTURE):
        waiting = asyncio.create_task(_granted_in_order(scheduler, [Priority.ROUTINE]))
        await asyncio.sleep(0.01)
        assert scheduler.queues()[Priority.ROUTINE].waiting == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert scheduler.queues() == {}
    # The next request is not held up by the one that left.
    assert await asyncio.wait_for(_granted_in_order(scheduler, [Priority.POLL]), 1.0) == [Priority.POLL]


def _reservation_holds(turns) -> None:
    host = "one.example"
    assert turns.take(host, Priority.ROUTINE) == 0  # the turn was free
    wait = turns.take(host, Priority.CAPTURE)  # not free: reserves the next turn for captures
    assert wait > 0
    time.sleep(wait + 0.002)
    assert turns.take(host, Priority.ROUTINE) > 0  # the turn is free, but kept for the capture
    assert turns.take(host, Priority.CAPTURE) == 0
    time.sleep(1 / turns.rate + 0.02)  # the reservation was used: the next free turn is anyone's
    assert turns.take(host, Priority.ROUTINE) == 0
    aged = turns.take(host, Priority.CAPTURE)
    time.sleep(aged + 0.002)
    assert turns.take(host, Priority.ROUTINE, aged=True) == 0  # one that waited too long goes first


def test_a_reservation_holds_lower_classes_back_in_shared_memory():
    _reservation_holds(HostTurns(10.0, shared_slots()))


def test_a_reservation_holds_lower_classes_back_through_the_database(migrated_database_url):
    engine = open_engine(migrated_database_url)
    try:
        _reservation_holds(DatabaseTurns(10.0, engine))
    finally:
        engine.dispose()


@pytest.mark.slow
async def test_time_in_the_queue_is_not_counted_against_the_fetch_timeout(simulator):
    """Two requests a second with a 0.4 s timeout: the fourth waits 1.5 s for its turn and is
    still answered, since the timeout counts from the moment a request is sent."""
    settings = FetchSettings(allow_private_networks=True, per_host_rate=2.0, timeout=0.4)
    async with Fetcher(settings) as fetcher:
        started = time.monotonic()
        results = await asyncio.gather(
            *(fetcher.fetch(simulator.base + simulator.articles[0].path) for _ in range(4))
        )
        elapsed = time.monotonic() - started
    assert elapsed >= 1.4
    assert [r.failure for r in results] == [None] * 4
    assert all(r.status == 200 for r in results)
    # Its capture time is when it was sent, not when it joined the queue.
    assert max(r.fetched_at for r in results) > min(r.fetched_at for r in results)
    assert FetchFailure.TIMEOUT not in {r.failure for r in results}
