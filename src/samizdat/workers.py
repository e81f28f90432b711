"""Capture URLs, or run the re-checks, with several worker processes, one pipeline each.

Fetching, parsing and record building are CPU work that one Python process does on one
core. Each worker has its own fetcher, WARC file (names are unique per process) and
group-commit writer; they share the database. Checking workers split the articles by id
(``id mod N``), so no article is checked by two at once. Politeness is global: the per-host
rate is kept in shared memory (``fetch/turns.py``) that all the processes take turns from,
and the concurrency limits are divided between them, so N workers never send more to a host
than one would.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from multiprocessing.connection import Connection
from typing import Any

from samizdat import logs
from samizdat.app import pipeline
from samizdat.config import Settings
from samizdat.fetch.turns import HostTurns, shared_slots
from samizdat.watch.capture import CaptureOutcome, CaptureStatus
from samizdat.watch.checker import CheckReport

# Below this many URLs a second process costs more to start than it saves.
URLS_PER_EXTRA_WORKER = 100
PARENT_CHECK_SECONDS = 0.2  # how often a worker looks whether its parent is still there


def default_workers(url_count: int) -> int:
    return max(1, min(os.cpu_count() or 1, url_count // URLS_PER_EXTRA_WORKER))


async def capture_urls(
    settings: Settings,
    urls: Sequence[str],
    on_done: Callable[[int, CaptureOutcome], None] | None = None,
    *,
    turns: HostTurns | None = None,
    on_linked: Callable[[CaptureOutcome], None] | None = None,
) -> list[CaptureOutcome]:
    """Capture ``urls`` in this process; ``on_done(index, outcome)`` is called as each ends.

    With ``on_linked``, the articles a captured page links to are captured too, as a source's
    first sight's are (``links.*``: depth, caps, set aside when out of reach), and each of
    their outcomes is handed to it; the call returns when they have ended too."""
    from samizdat.watch.firstsight import FirstSight, Sighting

    async with pipeline(settings, turns=turns) as pipe:
        limit = asyncio.Semaphore(settings.fetch.total_concurrency)
        linked = FirstSight(pipe, lambda _, outcome: on_linked(outcome)) if on_linked else None

        async def one(index: int, url: str) -> CaptureOutcome:
            async with limit:
                try:
                    outcome = await pipe.capturer.capture(url)
                except Exception as exc:  # a bug or a broken disk must not stop the other captures
                    outcome = CaptureOutcome(url, CaptureStatus.FAILED, reason="error", message=repr(exc))
            if on_done:
                on_done(index, outcome)
            if linked is not None:
                await linked.follow_links(Sighting(url), outcome)
            return outcome

        outcomes = await asyncio.gather(*(one(i, url) for i, url in enumerate(urls)))
        if linked is not None:
            await linked.wait()
        return outcomes


def capture_in_processes(
    settings: Settings,
    urls: Sequence[str],
    workers: int,
    on_done: Callable[[CaptureOutcome], None] | None = None,
    *,
    on_linked: Callable[[CaptureOutcome], None] | None = None,
) -> list[CaptureOutcome]:
    """Capture ``urls`` with ``workers`` processes; outcomes come back in the order of ``urls``
    (with ``on_linked``, the articles they link to are captured too: see :func:`capture_urls`)."""
    share = shared_limits(settings, workers)
    context = multiprocessing.get_context("spawn")  # no inherited threads or open connections
    results: multiprocessing.Queue = context.Queue()
    slots = shared_slots(context)
    slices = [list(range(w, len(urls), workers)) for w in range(workers)]
    processes = [
        context.Process(
            target=_worker,
            args=(share, slots, [(i, urls[i]) for i in indices], results, on_linked is not None, os.getpid()),
            daemon=True,
        )
        for indices in slices
        if indices
    ]
    for process in processes:
        process.start()
    outcomes: list[CaptureOutcome | None] = [None] * len(urls)
    ended = False
    while True:  # until every process has ended and all it said is read
        try:
            index, outcome = results.get(timeout=0 if ended else 1)
        except queue.Empty:
            if ended:
                break
            ended = not any(p.is_alive() for p in processes)
            continue
        if index is None:  # an article a captured page links to
            if on_linked:
                on_linked(outcome)
            continue
        outcomes[index] = outcome
        if on_done:
            on_done(outcome)
    for process in processes:
        process.join()
    return [
        outcome
        or CaptureOutcome(url, CaptureStatus.FAILED, reason="error", message="the worker process died")
        for url, outcome in zip(urls, outcomes, strict=True)
    ]


def shared_limits(settings: Settings, workers: int) -> Settings:
    """``settings`` with the concurrency limits divided by ``workers`` (the rate is shared: turns)."""
    fetch = settings.fetch
    return replace(
        settings,
        fetch=replace(
            fetch,
            per_host_concurrency=max(1, fetch.per_host_concurrency // workers),
            total_concurrency=max(1, fetch.total_concurrency // workers),
        ),
    )


def _worker(
    settings: Settings,
    slots: Any,
    indexed_urls: list[tuple[int, str]],
    results: multiprocessing.Queue,
    follow_links: bool,
    parent: int,  # its pid, from the parent itself: it may be gone before this process could ask
) -> None:
    logs.configure(settings.log)
    indices = [index for index, _ in indexed_urls]

    def report(position: int, outcome: CaptureOutcome) -> None:
        results.put((indices[position], outcome))

    def linked(outcome: CaptureOutcome) -> None:
        results.put((None, outcome))

    async def run() -> None:
        turns = HostTurns(settings.fetch.per_host_rate, slots)
        urls = [url for _, url in indexed_urls]
        capturing = asyncio.create_task(
            capture_urls(settings, urls, report, turns=turns, on_linked=linked if follow_links else None)
        )
        # A capture killed with SIGKILL takes its workers with it: an orphan would go on
        # writing to the archive beside whatever runs next (a restart, a `verify`).
        orphaned = asyncio.create_task(_until_parent_gone(parent))
        await asyncio.wait([capturing, orphaned], return_when=asyncio.FIRST_COMPLETED)
        orphaned.cancel()
        capturing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await capturing

    asyncio.run(run())
    _leave_unread_reports_if_orphaned(results, parent)


def check_in_processes(
    settings: Settings,
    workers: int,
    on_report: Callable[[CheckReport], None] | None = None,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    until_idle: bool = False,
    budget_parts: int | None = None,
    slots: Any = None,
) -> None:
    """Run the watch loop in ``workers`` processes until ``should_stop()`` (or nothing is due).

    Each worker gets 1/``budget_parts`` of the per-host concurrency (default: 1/``workers``;
    more parts leave the rest to another user, such as the process polling and capturing);
    the per-host rate is taken in turns from ``slots`` (shared memory; made here when not
    given). The workers finish the checks in flight before they stop.
    """
    share = shared_limits(settings, budget_parts or workers)
    context = multiprocessing.get_context("spawn")
    # Told to stop by closing this pipe: a worker killed while it looked at a shared Event
    # would have kept the Event's lock, and the stop would have waited for it for ever.
    stop, stop_writer = context.Pipe(duplex=False)
    reports: multiprocessing.Queue = context.Queue()
    slots = slots if slots is not None else shared_slots(context)
    processes = [
        context.Process(
            target=_check_worker,
            args=(share, slots, stop, reports, until_idle, os.getpid()),
            daemon=True,
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    stop.close()
    while any(p.is_alive() for p in processes) or not reports.empty():
        if should_stop():
            stop_writer.close()
        try:
            report = reports.get(timeout=0.2)
        except queue.Empty:
            continue
        if on_report:
            on_report(report)
    for process in processes:
        process.join()


def _check_worker(
    settings: Settings,
    slots: Any,
    stop: Connection,  # readable (closed) once the parent wants the worker to stop
    reports: multiprocessing.Queue,
    until_idle: bool,
    parent: int,  # its pid, from the parent itself: it may be gone before this process could ask
) -> None:
    from samizdat.watch.loop import watch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop, through ``stop``
    logs.configure(settings.log)

    async def run() -> None:
        stopping = asyncio.Event()

        async def relay_stop() -> None:
            # Stop when told to, or when the parent is gone (killed): never run on as an orphan.
            await _until_parent_gone(parent, stop)
            stopping.set()

        relay = asyncio.create_task(relay_stop())
        async with pipeline(settings, turns=HostTurns(settings.fetch.per_host_rate, slots)) as pipe:
            await watch(
                pipe.store,
                pipe.checker,
                settings.fetch.total_concurrency,
                stopping,
                reports.put,
                until_idle=until_idle,
                lease=timedelta(seconds=settings.watch.claim_lease_seconds),
            )
        relay.cancel()

    asyncio.run(run())
    _leave_unread_reports_if_orphaned(reports, parent)


async def _until_parent_gone(parent: int, stop: Connection | None = None) -> None:
    """Return once ``parent`` is no longer this process's parent (or ``stop`` is closed)."""
    while os.getppid() == parent and not (stop is not None and stop.poll()):
        await asyncio.sleep(PARENT_CHECK_SECONDS)


def _leave_unread_reports_if_orphaned(reports: multiprocessing.Queue, parent: int) -> None:
    """Exit without waiting for the reports to be read when the parent is gone. The other
    workers hold the queue's reading end too, so its pipe never breaks: once full, the thread
    that feeds it waits for ever, and so did the process at its exit (seen: the workers of a
    `samizdat capture` killed with SIGKILL, still there minutes later)."""
    if os.getppid() != parent:
        reports.cancel_join_thread()
