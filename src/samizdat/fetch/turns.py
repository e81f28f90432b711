"""When the next request to a host may start: the per-host rate, shared by every process.

Each host has a slot holding the earliest moment (``time.monotonic()``, one clock for all
processes on a machine) its next request may start. Taking a turn moves the slot on by
1 / rate; a host that asks us to back off has its slot pushed later. With several worker
processes the slots live in shared memory, so the rate holds for all of them together
instead of being split into fixed shares that idle processes would waste. Hosts are hashed
into a fixed number of slots: two hosts sharing a slot only ever make each other wait.

Turns go by :class:`Priority` across processes too: a request that finds the host's turn
taken *reserves* the next one for its class: until that turn is taken by its class (or a
more urgent one), or shortly after it came, requests of lower classes in any process wait.
Within a process
the :class:`~samizdat.fetch.scheduler.HostScheduler` orders its own waiters; the slot only
decides between processes. ``aged`` lets a request that has waited too long past a
reservation (the scheduler grants this rarely), so that no class starves.
"""

from __future__ import annotations

import ctypes
import enum
import fcntl
import hashlib
import multiprocessing
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.reduction import DupFd
from typing import Any, Protocol

SLOTS = 4096
FIELDS = 3  # per slot: next turn, reserving class, reservation's end
MIN_WAIT = 0.0001  # seconds: a turn not taken is never reported as "go now"
# A reservation outlives the turn it waits for by this much: time for its holder to wake.
RESERVATION_GRACE = 0.01


class Priority(enum.IntEnum):
    """Who goes first when a host's budget is short, most urgent first.

    First sight (captures, then polls) can never be had later: an article removed before it is
    captured is lost. A suspected removal's confirmation and a signalled check (the article
    left its listing, its account is gone, a copy was removed) go between the two: each is one
    request about one article that is likely gone now, rare beside polls, and so costs a poll a
    single turn; behind the polls of a publishing day they waited hours (issue 26: removals seen
    by a listing at once were looked at 1–8 simulated hours later). Images come next: the page,
    which holds the text and names them, is stored first. Articles that captured pages link to
    are first sights too, but speculative ones: they never hold back what the sources list.
    Routine re-checks are what the schedule can thin out when the budget is short. A poll not
    yet worth a check's turn (``watch/publishing.py``) uses what is left over.
    """

    CAPTURE = 0  # first sight of a new article's page, and its retries
    CONFIRM = 1  # the second look that confirms a suspected removal
    SIGNAL = 2  # a check signalled by a listing, a gone account or a removed copy
    POLL = 3  # a source's poll: the first sight of what it lists
    IMAGE = 4  # the images of a page just stored: what its capture still lacks
    LINK = 5  # the first sight of an article a captured page links to
    ROUTINE = 6  # a re-check on the schedule
    SPARE = 7  # a poll not yet worth a check's turn (watch/publishing.py): only what others leave


class Turns(Protocol):
    """When the next request to a host may start: :class:`HostTurns` here, or the store's
    ``DatabaseTurns`` (``store/turns.py``) for workers on several machines."""

    rate: float
    blocking: bool  # True: take() is a round trip to a database, to call from a thread

    def take(self, host: str, priority: Priority = ..., *, aged: bool = False) -> float: ...

    def back_off(self, host: str, seconds: float) -> None: ...


class SharedSlots:
    """The slots in shared memory, for the processes of one machine, under a lock that ends
    with its holder.

    A ``multiprocessing`` lock is a semaphore: a worker killed while it held one (the kernel's
    out-of-memory killer, a SIGKILL) would leave every other process waiting in :meth:`take`
    for ever, and with them every request. A POSIX record lock (``lockf``) belongs to a
    process and the kernel releases it when that process dies. It is taken on a file removed
    as soon as it is made, whose descriptor is handed to the processes the slots are given
    to: nothing is left behind, however the processes end."""

    def __init__(self, context: Any = None) -> None:
        self.values = (context or multiprocessing).RawArray(ctypes.c_double, SLOTS * FIELDS)
        descriptor, path = tempfile.mkstemp(prefix="samizdat-turns-", suffix=".lock")
        os.unlink(path)
        self._hold(descriptor)

    def _hold(self, descriptor: int) -> None:
        self._descriptor = descriptor
        weakref.finalize(self, os.close, descriptor)
        self._threads = threading.Lock()  # a record lock excludes processes, not one's threads

    def __getstate__(self) -> dict[str, Any]:
        return {"values": self.values, "descriptor": DupFd(self._descriptor)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.values = state["values"]
        self._hold(state["descriptor"].detach())

    @contextmanager
    def locked(self) -> Iterator[Any]:
        with self._threads:
            fcntl.lockf(self._descriptor, fcntl.LOCK_EX)
            try:
                yield self.values
            finally:
                fcntl.lockf(self._descriptor, fcntl.LOCK_UN)


def shared_slots(context: Any = None) -> SharedSlots:
    """Slots to hand to worker processes (made from their multiprocessing ``context``)."""
    return SharedSlots(context)


class HostTurns:
    """The turns in this process's memory, or in ``slots`` shared with other processes."""

    blocking = False  # take() answers at once: call it from the event loop

    def __init__(self, rate: float, slots: SharedSlots | None = None):
        self.rate = rate
        self._shared = slots
        self._local: list[float] = [0.0] * (SLOTS * FIELDS) if slots is None else []

    @contextmanager
    def _slots(self) -> Iterator[Any]:
        if self._shared is None:
            yield self._local
        else:
            with self._shared.locked() as values:
                yield values

    def take(self, host: str, priority: Priority = Priority.CAPTURE, *, aged: bool = False) -> float:
        """Seconds to wait before a request to ``host`` may start (0: go now; the turn is taken)."""
        index = _slot(host) * FIELDS
        step = 1 / self.rate if self.rate > 0 else 0.0
        with self._slots() as slots:
            now = time.monotonic()
            start, reserving, reserved_until = slots[index], slots[index + 1], slots[index + 2]
            held = step > 0 and not aged and reserved_until > now and reserving < priority
            if start <= now and not held:
                slots[index] = now + step
                if reserving >= priority:
                    slots[index + 2] = 0.0  # the turn it was kept for is taken
                return 0.0
            if held:
                return max(reserved_until - now, MIN_WAIT)
            if step > 0 and (reserved_until <= now or priority <= reserving):
                slots[index + 1] = float(priority)
                slots[index + 2] = start + RESERVATION_GRACE
            return max(start - now, MIN_WAIT)

    def back_off(self, host: str, seconds: float) -> None:
        index = _slot(host) * FIELDS
        with self._slots() as slots:
            slots[index] = max(slots[index], time.monotonic() + seconds)


def _slot(host: str) -> int:
    return int.from_bytes(hashlib.blake2b(host.encode(), digest_size=4).digest(), "big") % SLOTS
