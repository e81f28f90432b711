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
import hashlib
import multiprocessing
import multiprocessing.sharedctypes
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import text

SLOTS = 4096
FIELDS = 3  # per slot: next turn, reserving class, reservation's end
MIN_WAIT = 0.0001  # seconds: a turn not taken is never reported as "go now"
# A reservation outlives the turn it waits for by this much: time for its holder to wake.
RESERVATION_GRACE = 0.01


class Priority(enum.IntEnum):
    """Who goes first when a host's budget is short, most urgent first.

    First sight (captures, then polls) can never be had later: an article removed before it is
    captured is lost. Its images come next: the page, which holds the text and names them, is
    stored first. A suspected removal waits for its confirmation; a signalled check (the
    article left its listing, its account is gone, a copy was removed) is likely a removal;
    routine re-checks are what the schedule can thin out when the budget is short. Polls
    beyond their share (``watch.poll_share``) use what is left over.
    """

    CAPTURE = 0  # first sight of a new article's page, and its retries
    POLL = 1  # a source's poll: the first sight of what it lists
    IMAGE = 2  # the images of a page just stored: what its capture still lacks
    CONFIRM = 3  # the second look that confirms a suspected removal
    SIGNAL = 4  # a check signalled by a listing, a gone account or a removed copy
    ROUTINE = 5  # a re-check on the schedule
    SPARE = 6  # a poll beyond the share of the budget polls are given: only what others leave


def shared_slots(context: Any = None) -> multiprocessing.sharedctypes.SynchronizedArray:
    """Slots to hand to worker processes (made from their multiprocessing ``context``)."""
    return (context or multiprocessing).Array(ctypes.c_double, SLOTS * FIELDS, lock=True)


class HostTurns:
    """The turns in this process's memory, or in ``slots`` shared with other processes."""

    blocking = False  # take() answers at once: call it from the event loop

    def __init__(self, rate: float, slots: multiprocessing.sharedctypes.SynchronizedArray | None = None):
        self.rate = rate
        self._shared = slots
        self._local: list[float] = [0.0] * (SLOTS * FIELDS) if slots is None else []

    def _lock(self) -> AbstractContextManager:
        return self._shared.get_lock() if self._shared is not None else nullcontext()

    def _slots(self) -> Any:
        return self._shared if self._shared is not None else self._local

    def take(self, host: str, priority: Priority = Priority.CAPTURE, *, aged: bool = False) -> float:
        """Seconds to wait before a request to ``host`` may start (0: go now; the turn is taken)."""
        index = _slot(host) * FIELDS
        step = 1 / self.rate if self.rate > 0 else 0.0
        with self._lock():
            slots = self._slots()
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
        with self._lock():
            slots = self._slots()
            slots[index] = max(slots[index], time.monotonic() + seconds)


def _slot(host: str) -> int:
    return int.from_bytes(hashlib.blake2b(host.encode(), digest_size=4).digest(), "big") % SLOTS


class DatabaseTurns:
    """The same turns kept in the database (table ``host_turns``), for workers on several machines.

    One statement per turn: the host's row moves on by 1 / rate only if its time has come and
    no more urgent class holds a reservation, on the database's clock (PostgreSQL's
    ``clock_timestamp()``), so workers whose clocks differ still share one rate and one order.
    SQLite serves workers on one machine and reads the clock in the statement too. A turn
    costs one round trip to the database (measured in docs/benchmarks.md).
    """

    blocking = True  # a round trip to the database: call it from a thread

    def __init__(self, rate: float, engine: Any) -> None:
        self.rate = rate
        self.engine = engine
        self._known: set[str] = set()
        # The clock is read inside each statement: the database's, shared by every machine.
        if engine.dialect.name == "postgresql":
            now = "extract(epoch FROM clock_timestamp())::float8"
        else:  # SQLite serves one machine: its clock, read when the statement runs (store/engine.py)
            now = "unix_now()"
        held = f"(NOT :aged AND :step > 0 AND reserved_until > {now} AND reserved_class < :priority)"
        # A row comes back only when the turn was free and is now ours: no ambiguity to resolve.
        self._take = text(
            f"UPDATE host_turns SET next_at = {now} + :step, requests = requests + 1, "
            "reserved_until = CASE WHEN reserved_class >= :priority THEN 0 ELSE reserved_until END "
            f"WHERE host = :host AND next_at <= {now} AND NOT {held} RETURNING next_at"
        )
        # Not ours: reserve the next turn for this class when none more urgent holds it; the
        # wait is until that turn, or until a more urgent class's reservation ends.
        reservable = f"(reserved_until <= {now} OR :priority <= reserved_class)"
        self._reserve = text(
            "UPDATE host_turns SET "
            f"reserved_class = CASE WHEN {reservable} THEN :priority ELSE reserved_class END, "
            f"reserved_until = CASE WHEN {reservable} THEN next_at + :grace ELSE reserved_until END "
            f"WHERE host = :host AND :step > 0 "
            f"RETURNING CASE WHEN {held} THEN reserved_until - {now} ELSE next_at - {now} END"
        )
        self._wait = text(f"SELECT next_at - {now} FROM host_turns WHERE host = :host")
        self._back_off = text(
            f"UPDATE host_turns SET next_at = CASE WHEN next_at > {now} + :seconds THEN next_at "
            f"ELSE {now} + :seconds END WHERE host = :host"
        )

    def _ensure(self, connection: Any, host: str) -> None:
        if host in self._known:
            return
        exists = connection.execute(
            text("SELECT 1 FROM host_turns WHERE host = :host"), {"host": host}
        ).first()
        if exists is None:
            connection.execute(
                text(
                    "INSERT INTO host_turns (host, next_at, requests, reserved_class, reserved_until) "
                    "VALUES (:host, 0, 0, 0, 0) ON CONFLICT (host) DO NOTHING"
                ),
                {"host": host},
            )
        self._known.add(host)

    def take(self, host: str, priority: Priority = Priority.CAPTURE, *, aged: bool = False) -> float:
        step = 1 / self.rate if self.rate > 0 else 0.0
        values = {"host": host, "step": step, "priority": int(priority), "aged": aged}
        with self.engine.begin() as connection:
            self._ensure(connection, host)
            if connection.execute(self._take, values).first() is not None:
                return 0.0
            wait = connection.execute(self._reserve, values | {"grace": RESERVATION_GRACE}).scalar()
            if wait is None:
                wait = connection.execute(self._wait, {"host": host}).scalar_one()
        # 0 means "the turn is yours": a turn that came free after the UPDATE is still not taken.
        return max(wait, MIN_WAIT)

    def back_off(self, host: str, seconds: float) -> None:
        with self.engine.begin() as connection:
            self._ensure(connection, host)
            connection.execute(self._back_off, {"host": host, "seconds": seconds})
