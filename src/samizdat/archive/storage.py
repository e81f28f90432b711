"""Where the WARC files are kept: the one module that knows they are files in a directory.

The rest of the program reaches them through :class:`WarcFiles`, whose operations an object
store has too: a new file is created by one writer, appended to by it alone, then sealed and
never changed; readers take byte ranges or stream a whole file; files are listed by name.
:class:`LocalWarcFiles` is the directory of the embedded default and of workers sharing a
filesystem. An object store would follow as another class: its writer appends to a local
spool file and uploads it when sealed, and reads become ranged GETs (docs/scaling.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from samizdat.config import Settings

# The directory (inside the archive's) of marks for files being written.
WRITING = ".writing"
SUFFIX = ".warc.gz"


class ArchiveFileMissing(OSError):
    """A named file is not in the archive, or its name is not one the archive gives."""


class WarcFiles(Protocol):
    """The archive's WARC files, by name (names are plain: no directories, no leading dot)."""

    @property
    def location(self) -> str:
        """Where they are, for messages: a directory, a bucket URL."""
        ...

    def create(self, name: str) -> BinaryIO:
        """A new, empty file for one writer to append to, unbuffered (refused if ``name`` exists).

        It stays marked as being written until :meth:`seal`: after a crash, :meth:`recover`
        knows which files may end in a torn record."""
        ...

    def sync(self, handle: BinaryIO) -> None:
        """Make what was appended through ``handle`` durable (on disk, not in a cache)."""
        ...

    def seal(self, name: str, handle: BinaryIO) -> None:
        """Make the file durable, close ``handle``, and publish the file as whole."""
        ...

    def discard(self, name: str, handle: BinaryIO) -> None:
        """Close ``handle`` and remove a file that was never sealed nor referenced."""
        ...

    def read(self, name: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer only at the end of the file)."""
        ...

    def open(self, name: str) -> Iterator[BinaryIO]:
        """The whole file as a stream, for scans, indexes and copies (a context manager)."""
        ...

    def names(self) -> list[str]:
        """Every WARC file, sorted."""
        ...

    def size(self, name: str) -> int: ...

    def recover(self) -> list[tuple[str, int]]:
        """After a crash: make every file left by a dead writer whole; (name, bytes cut) each."""
        ...


def check_name(name: str) -> str:
    """``name`` if it is a plain file name; otherwise :class:`ArchiveFileMissing` (no traversal)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        raise ArchiveFileMissing(f"refusing archive file name {name!r}")
    return name


class LocalWarcFiles:
    """WARC files in one directory (shared by every writer of the archive)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"LocalWarcFiles({str(self.directory)!r})"

    @property
    def location(self) -> str:
        return str(self.directory)

    def path(self, name: str) -> Path:
        return self.directory / check_name(name)

    def create(self, name: str) -> BinaryIO:
        (self.directory / WRITING).mkdir(parents=True, exist_ok=True)
        (self.directory / WRITING / check_name(name)).touch()
        # "xb": never append to (or clobber) a file another writer may own. Unbuffered: each
        # record is written whole by its writer's own calls, so a failed write leaves nothing
        # in a buffer to be flushed later.
        return open(self.directory / name, "xb", buffering=0)

    def sync(self, handle: BinaryIO) -> None:
        os.fsync(handle.fileno())

    def seal(self, name: str, handle: BinaryIO) -> None:
        os.fsync(handle.fileno())
        handle.close()
        (self.directory / WRITING / check_name(name)).unlink(missing_ok=True)

    def discard(self, name: str, handle: BinaryIO) -> None:
        handle.close()
        self.path(name).unlink(missing_ok=True)
        (self.directory / WRITING / name).unlink(missing_ok=True)

    def read(self, name: str, offset: int, length: int) -> bytes:
        try:
            with open(self.path(name), "rb") as handle:
                handle.seek(offset)
                return handle.read(length)
        except FileNotFoundError:
            raise ArchiveFileMissing(f"{name}: no such file in {self.directory}") from None

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        try:
            handle = open(self.path(name), "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise ArchiveFileMissing(f"{name}: no such file in {self.directory}") from None
        with handle:
            yield handle

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(path.name for path in self.directory.glob("*" + SUFFIX))

    def size(self, name: str) -> int:
        return self.path(name).stat().st_size

    def recover(self) -> list[tuple[str, int]]:
        from samizdat.archive.integrity import repair_torn_tails

        return repair_torn_tails(self.directory) if self.directory.is_dir() else []


def warc_files(where: WarcFiles | Path | str) -> WarcFiles:
    """``where`` itself, or the directory it names as :class:`LocalWarcFiles`."""
    return LocalWarcFiles(Path(where)) if isinstance(where, Path | str) else where


def warc_storage(settings: Settings) -> WarcFiles:
    """Where the archive of ``settings`` keeps its WARC files."""
    return LocalWarcFiles(settings.warc_dir)
