"""WARC files kept in memory: a second :class:`samizdat.archive.storage.WarcFiles`, written the
way an object store client would be (a spool per file while written, a whole object once
sealed), to show that every stage reaches the archive through the interface alone."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from samizdat.archive.storage import ArchiveFileMissing, check_name


class MemoryWarcFiles:
    def __init__(self) -> None:
        self.sealed: dict[str, bytes] = {}
        self.spooled: dict[str, io.BytesIO] = {}
        self.syncs = 0
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return "memory:"

    def create(self, name: str) -> BinaryIO:
        with self._lock:
            if check_name(name) in self.sealed or name in self.spooled:
                raise FileExistsError(name)
            spool = self.spooled[name] = io.BytesIO()
        return spool

    def sync(self, handle: BinaryIO) -> None:
        self.syncs += 1

    def seal(self, name: str, handle: BinaryIO) -> None:
        with self._lock:
            self.sealed[name] = self.spooled.pop(name).getvalue()

    def discard(self, name: str, handle: BinaryIO) -> None:
        with self._lock:
            self.spooled.pop(name, None)

    def _bytes(self, name: str) -> bytes:
        with self._lock:
            if check_name(name) in self.sealed:
                return self.sealed[name]
            if name in self.spooled:  # readable while written, as a local spool is to its own host
                return self.spooled[name].getvalue()
        raise ArchiveFileMissing(f"{name}: no such object")

    def read(self, name: str, offset: int, length: int) -> bytes:
        return self._bytes(name)[offset : offset + length]

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        yield io.BytesIO(self._bytes(name))

    def names(self) -> list[str]:
        with self._lock:
            return sorted({*self.sealed, *self.spooled})

    def size(self, name: str) -> int:
        return len(self._bytes(name))

    def recover(self) -> list[tuple[str, int]]:
        return []
