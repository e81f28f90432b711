"""Work beside the watcher in processes of their own: related posts, reading images.

Such work is CPU-bound Python (jieba loads its dictionary in one call of about a second that
holds the interpreter lock; an OCR pass takes seconds an image): in the watcher's process it
would stall every poll, capture and check waiting on the event loop. A child process has an
interpreter of its own, runs at a lower priority (``nice``), and rests after each step for as
long as it takes for the CPU time the step used to be at most its ``share`` of one core over
the step and the rest (a step slowed down by busier processes has used less, and rests less).
It stops when told to or as soon as its parent is gone (a watcher killed with SIGKILL leaves
no orphan behind). It is told through a pipe whose writing end the parent closes, not a
``multiprocessing.Event``: setting an Event waits for every process asleep on it to wake, and
one that died asleep (a SIGTERM to the whole process group, as ``systemctl stop`` or ``timeout``
send) never does, so the watcher hung in its stop for ever.

A chore is a module-level function (the child imports it by name) that opens what its work
needs from the settings and yields a step: a call that does a bounded piece of the work and
returns how much it did, 0 when there was nothing to do.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection
from typing import Any

from samizdat import logs
from samizdat.config import Settings

IDLE_SECONDS = 2.0
PARENT_CHECK_SECONDS = 0.5
STOP_SECONDS = 2.0

Step = Callable[[], int]
Chore = Callable[[Settings], AbstractContextManager[Step]]

log = logging.getLogger(__name__)


class Background:
    """One chore's process: ``done`` counts what its steps did."""

    def __init__(
        self, name: str, chore: Chore, settings: Settings, *, share: float, niceness: int = 0
    ) -> None:
        context = multiprocessing.get_context("spawn")  # no inherited threads or open connections
        self.name = name
        # Only the child writes the count: no lock, which a child killed holding it would keep.
        self._done = context.Value("q", 0, lock=False)
        stop_reader, self._stop_writer = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_work_until_stopped,
            args=(name, chore, settings, share, niceness, stop_reader, self._done, os.getpid()),
            name=f"samizdat-{name}",
            daemon=True,
        )

    @property
    def done(self) -> int:
        return int(self._done.value)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        self._process.start()

    def stop(self) -> None:
        """Stop it after its current step (or at once, past ``STOP_SECONDS``)."""
        self._stop_writer.close()  # the child reads the end of the pipe: never blocks, dead child or not
        if self._process.pid is None:
            return
        self._process.join(STOP_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _work_until_stopped(
    name: str,
    chore: Chore,
    settings: Settings,
    share: float,
    niceness: int,
    stop: Connection,  # readable (at its end) once the parent says stop
    done: Any,
    parent: int,  # its pid, from the parent itself: it may be gone before this process could ask
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop, through ``stop``
    logs.configure(settings.log)
    if niceness:
        os.nice(niceness)

    def wanted() -> bool:
        return not stop.poll() and os.getppid() == parent

    with chore(settings) as step:
        while wanted():
            started, cpu_started = time.monotonic(), time.process_time()
            try:
                count = step()
            except Exception:  # a bug in one item must not end the chore for all the others
                log.exception("%s failed; trying again in %g s", name, IDLE_SECONDS)
                count = 0
            done.value += count
            # The CPU time the step used (all its threads) over the step and the rest is the share.
            cpu, worked = time.process_time() - cpu_started, time.monotonic() - started
            rest_until = time.monotonic() + (IDLE_SECONDS if count == 0 else max(0.0, cpu / share - worked))
            while wanted() and (left := rest_until - time.monotonic()) > 0:
                stop.poll(min(left, PARENT_CHECK_SECONDS))
