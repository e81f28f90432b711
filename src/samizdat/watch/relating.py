"""Related posts for new and edited articles, computed in a process of its own.

Relating is Python CPU work, and jieba loads its dictionary in one call of about a second
that holds the interpreter lock: in the watcher's process that would stall every poll,
capture and check waiting on the event loop. A child process has an interpreter of its own.
It rests three times as long as it works, so it takes at most a quarter of a core, and it
stops when told to or as soon as its parent is gone (a watcher killed with SIGKILL leaves no
orphan behind).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.synchronize
import os
import signal
import time
from typing import Any

from samizdat import logs
from samizdat.config import LogSettings

BATCH = 50
IDLE_SECONDS = 2.0
SHARE = 0.25
PARENT_CHECK_SECONDS = 0.5
STOP_SECONDS = 5.0

log = logging.getLogger(__name__)


class Relating:
    """The relating process of one watcher: ``done`` counts the articles it related."""

    def __init__(self, database_url: str, log_settings: LogSettings) -> None:
        context = multiprocessing.get_context("spawn")  # no inherited threads or open connections
        self._stop = context.Event()
        self._done = context.Value("q", 0)
        self._process = context.Process(
            target=_relate_until_stopped,
            args=(database_url, log_settings, self._stop, self._done, os.getpid()),
            name="samizdat-relate",
            daemon=True,
        )

    @property
    def done(self) -> int:
        return int(self._done.value)

    def start(self) -> None:
        self._process.start()

    def stop(self) -> None:
        """Stop it after the article it is relating (or at once, past ``STOP_SECONDS``)."""
        self._stop.set()
        if self._process.pid is None:
            return
        self._process.join(STOP_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _relate_until_stopped(
    database_url: str,
    log_settings: LogSettings,
    stop: multiprocessing.synchronize.Event,
    done: Any,
    parent: int,  # its pid, from the parent itself: it may be gone before this process could ask
) -> None:
    from samizdat.store import open_engine
    from samizdat.store.related import relate_pending

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop, through ``stop``
    logs.configure(log_settings)

    def wanted() -> bool:
        return not stop.is_set() and os.getppid() == parent

    engine = open_engine(database_url)
    try:
        while wanted():
            started = time.monotonic()
            try:
                count = relate_pending(engine, limit=BATCH)
            except Exception:  # a bug in one article must not end relating for all the others
                log.exception("relating articles failed; trying again in %g s", IDLE_SECONDS)
                count = 0
            with done.get_lock():
                done.value += count
            worked = time.monotonic() - started
            rest_until = time.monotonic() + (IDLE_SECONDS if count < BATCH else worked * (1 - SHARE) / SHARE)
            while wanted() and (left := rest_until - time.monotonic()) > 0:
                stop.wait(min(left, PARENT_CHECK_SECONDS))
    finally:
        engine.dispose()
