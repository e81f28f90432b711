"""When the next request to a host may start: the per-host rate, shared by every process.

Each host has a slot holding the earliest moment (``time.monotonic()``, one clock for all
processes on a machine) its next request may start. Taking a turn moves the slot on by
1 / rate; a host that asks us to back off has its slot pushed later. With several worker
processes the slots live in shared memory, so the rate holds for all of them together
instead of being split into fixed shares that idle processes would waste. Hosts are hashed
into a fixed number of slots: two hosts sharing a slot only ever make each other wait.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import multiprocessing.sharedctypes
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import text

SLOTS = 4096
MIN_WAIT = 0.0001  # seconds: a turn not taken is never reported as "go now"


def shared_slots(context: Any = None) -> multiprocessing.sharedctypes.SynchronizedArray:
    """Slots to hand to worker processes (made from their multiprocessing ``context``)."""
    return (context or multiprocessing).Array(ctypes.c_double, SLOTS, lock=True)


class HostTurns:
    def __init__(self, rate: float, slots: multiprocessing.sharedctypes.SynchronizedArray | None = None):
        self.rate = rate
        self._shared = slots
        self._local: list[float] = [0.0] * SLOTS if slots is None else []

    def _lock(self) -> AbstractContextManager:
        return self._shared.get_lock() if self._shared is not None else nullcontext()

    def _slots(self) -> Any:
        return self._shared if self._shared is not None else self._local

    def take(self, host: str) -> float:
        """Seconds to wait before a request to ``host`` may start (0: go now; the turn is taken)."""
        index = _slot(host)
        with self._lock():
            slots = self._slots()
            now = time.monotonic()
            start = slots[index]
            if start > now:
                return start - now
            slots[index] = now + (1 / self.rate if self.rate > 0 else 0.0)
            return 0.0

    def back_off(self, host: str, seconds: float) -> None:
        index = _slot(host)
        with self._lock():
            slots = self._slots()
            slots[index] = max(slots[index], time.monotonic() + seconds)


def _slot(host: str) -> int:
    return int.from_bytes(hashlib.blake2b(host.encode(), digest_size=4).digest(), "big") % SLOTS


class DatabaseTurns:
    """The same turns kept in the database (table ``host_turns``), for workers on several machines.

        One statement per turn: the host's row moves on by 1 / rate only if its time has come, on
        the database's clock (PostgreSQL's ``clock_timestamp()``), so workers whose clocks differ
        still share one rate. SQLite serves workers on one machine and reads the clock in the
    statement too.
        A turn costs one round trip to the database (measured in docs/benchmarks.md).
    """

    def __init__(self, rate: float, engine: Any) -> None:
        self.rate = rate
        self.engine = engine
        self._known: set[str] = set()
        # The clock is read inside each statement: the database's, shared by every machine.
        if engine.dialect.name == "postgresql":
            now = "extract(epoch FROM clock_timestamp())::float8"
        else:  # SQLite serves one machine: its clock, read when the statement runs (store/engine.py)
            now = "unix_now()"
        # A row comes back only when the turn was free and is now ours: no ambiguity to resolve.
        self._take = text(
            f"UPDATE host_turns SET next_at = {now} + :step, requests = requests + 1 "
            f"WHERE host = :host AND next_at <= {now} RETURNING next_at"
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
                    "INSERT INTO host_turns (host, next_at, requests) VALUES (:host, 0, 0) "
                    "ON CONFLICT (host) DO NOTHING"
                ),
                {"host": host},
            )
        self._known.add(host)

    def take(self, host: str) -> float:
        step = 1 / self.rate if self.rate > 0 else 0.0
        with self.engine.begin() as connection:
            self._ensure(connection, host)
            if connection.execute(self._take, {"host": host, "step": step}).first() is not None:
                return 0.0
            wait = connection.execute(self._wait, {"host": host}).scalar_one()
        # 0 means "the turn is yours": a turn that came free after the UPDATE is still not taken.
        return max(wait, MIN_WAIT)

    def back_off(self, host: str, seconds: float) -> None:
        with self.engine.begin() as connection:
            self._ensure(connection, host)
            connection.execute(self._back_off, {"host": host, "seconds": seconds})
