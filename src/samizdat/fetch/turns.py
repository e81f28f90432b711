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

SLOTS = 4096


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
