"""Threads for work that blocks, a bounded pool for each kind, so that one kind's slowness never
takes the threads another kind needs.

The event loop serves every request of a watcher; whatever would block it runs in a thread.
asyncio's default executor is one pool for everything: when a resolver stops answering, its
six threads all sit in ``getaddrinfo`` for seconds, and every database call and parse waits
behind them — polls and first sights stop although their own host answers at once. So each
kind of blocking work has its own pool (``[pools]`` sets their sizes):

- ``store``: database reads and writes;
- ``cpu``: decoding, parsing, fingerprints and MinHash;
- ``lookups``: name lookups (``fetch/resolver.py``);
- ``outside``: calls that wait on something else — a time-stamp authority, an Apprise
  target, a child process stopping.

Threads are daemons and started as work comes: a thread stuck in a call that never returns
(a lookup behind a dead resolver) cannot keep the process from ending, and :meth:`Pool.close`
gives the work in hand a bounded time to finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from samizdat.config import PoolSettings

T = TypeVar("T")


class Pool:
    """At most ``threads`` threads for one kind of blocking work, started as jobs come."""

    def __init__(self, name: str, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"the {name} pool needs at least one thread, not {threads}")
        self.name = name
        self.threads = threads
        self._jobs: queue.SimpleQueue[tuple[concurrent.futures.Future, Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._idle = threading.Semaphore(0)
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self.running = 0  # jobs being run now

    def submit(
        self, function: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        """Run ``function(*args, **kwargs)`` in one of the pool's threads (with the caller's
        context variables, as :func:`asyncio.to_thread` does)."""
        if self._closed:
            raise RuntimeError(f"the {self.name} pool is closed")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        context = contextvars.copy_context()
        self._jobs.put((future, functools.partial(context.run, function, *args, **kwargs)))
        if not self._idle.acquire(blocking=False):
            with self._lock:
                if len(self._workers) < self.threads:
                    worker = threading.Thread(
                        target=self._work, name=f"samizdat-{self.name}-{len(self._workers)}", daemon=True
                    )
                    self._workers.append(worker)
                    worker.start()
        return future

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Await ``function(*args, **kwargs)`` run in the pool. Cancelling the wait drops a job
        that has not started; one that has started runs to its end, unobserved."""
        return await asyncio.wrap_future(self.submit(function, *args, **kwargs))

    @property
    def waiting(self) -> int:
        """Jobs queued for a thread."""
        return self._jobs.qsize()

    def close(self, wait: float = 0.0) -> bool:
        """Take no more jobs; let the threads finish what they hold for up to ``wait`` seconds.
        True if every thread ended within it."""
        self._closed = True
        for _ in self._workers:
            self._jobs.put(None)
        deadline = time.monotonic() + wait
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        return not any(worker.is_alive() for worker in self._workers)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, call = job
            if future.set_running_or_notify_cancel():
                with self._lock:
                    self.running += 1
                try:
                    result = call()
                except BaseException as exc:  # handed to the caller, as an executor does
                    future.set_exception(exc)
                else:
                    future.set_result(result)
                finally:
                    with self._lock:
                        self.running -= 1
            self._idle.release()


@dataclass(frozen=True)
class Pools:
    """One pool for each kind of blocking work of a process (see the module's text)."""

    store: Pool
    cpu: Pool
    lookups: Pool
    outside: Pool

    @classmethod
    def from_settings(cls, settings: PoolSettings) -> Pools:
        return cls(
            store=Pool("store", settings.store_threads),
            cpu=Pool("cpu", settings.cpu_threads),
            lookups=Pool("lookups", settings.lookup_threads),
            outside=Pool("outside", settings.outside_threads),
        )

    def close(self, wait: float = 2.0) -> None:
        """Let database writes in hand finish (up to ``wait`` seconds); lookups and outside
        calls are left to end with the process."""
        deadline = time.monotonic() + wait
        for pool in (self.cpu, self.store):
            pool.close(max(0.0, deadline - time.monotonic()))
        self.lookups.close()
        self.outside.close()

    def figures(self) -> dict[str, tuple[int, int]]:
        """(running, waiting) for each pool: what ``samizdat status`` shows."""
        return {
            pool.name: (pool.running, pool.waiting)
            for pool in (self.store, self.cpu, self.lookups, self.outside)
        }
