"""Whole-file checks of the archive's WARC files, and the repair of a torn tail.

A writer killed in the middle of a record leaves its file ending in part of a gzip member.
Nothing in the database points at it (rows are committed only after their records are
fsynced), so the repair is to cut the file back to the end of its last whole record. The
writer marks each file while it writes it; only marked files whose writer is gone are
scanned and cut: their names carry the host and process id of the writer (see
:class:`samizdat.archive.warc.WarcWriter`), and a file written by a live process on this
host, or by any process on another host, is left alone.
"""

from __future__ import annotations

import os
import re
import socket
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from samizdat.archive.storage import WRITING

# <prefix>-<UTC stamp>-<serial>-<host>-<pid>-<tag>.warc.gz
_WRITER = re.compile(r"-\d{14}-\d{5}-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{6}\.warc\.gz$")


@dataclass
class FileScan:
    name: str
    records: int = 0
    whole_bytes: int = 0  # where the last whole record ends
    size: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def torn_tail(self) -> bool:
        return self.whole_bytes < self.size


def scan_file(path: Path) -> FileScan:
    """Read every record of ``path`` and check its digests, as ``warcio check`` does."""
    with path.open("rb") as handle:
        return scan_stream(handle, path.name, path.stat().st_size)


def scan_stream(handle: BinaryIO, name: str, size: int) -> FileScan:
    """:func:`scan_file` of a file read as a stream (from any :class:`WarcFiles`)."""
    scan = FileScan(name, size=size)
    records = ArchiveIterator(handle, check_digests=True)
    try:
        for record in records:
            stream = record.content_stream()
            while stream.read(1 << 20):
                pass
            declared = int(record.rec_headers.get_header("Content-Length") or 0)
            if record.raw_stream.tell() < declared:
                break  # the record stops short of its length: the file is torn here
            if record.digest_checker.passed is False:
                offset = records.get_record_offset()
                scan.problems += [f"{name}@{offset}: {p}" for p in record.digest_checker.problems]
            records.read_to_end(record)
            scan.records += 1
            scan.whole_bytes = records.get_record_offset() + records.get_record_length()
    except (ArchiveLoadFailed, OSError, EOFError, ValueError, zlib.error) as exc:
        scan.problems.append(f"{name}@{scan.whole_bytes}: unreadable from here on ({exc})")
    if scan.whole_bytes < scan.size and not scan.problems:
        scan.problems.append(
            f"{name}@{scan.whole_bytes}: {scan.size - scan.whole_bytes} bytes after the last record"
        )
    return scan


def writer_gone(name: str, *, host: str | None = None) -> bool:
    """True when the process that wrote ``name`` ran on this host and is no longer running."""
    match = _WRITER.search(name)
    if match is None or match.group("host") != (host or socket.gethostname()):
        return False
    pid = int(match.group("pid"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def repair_torn_tails(directory: Path) -> list[tuple[str, int]]:
    """Cut the torn tail off each file left marked as being written by a writer that is gone
    (see :data:`samizdat.archive.storage.WRITING`); (file, bytes cut) for each file cut."""
    repaired = []
    marks = directory / WRITING
    for mark in sorted(marks.glob("*.warc.gz")) if marks.is_dir() else []:
        if not writer_gone(mark.name):
            continue
        path = directory / mark.name
        if path.exists():
            scan = scan_file(path)
            if scan.torn_tail:
                with path.open("r+b") as handle:
                    handle.truncate(scan.whole_bytes)
                    handle.flush()
                    os.fsync(handle.fileno())
                repaired.append((path.name, scan.size - scan.whole_bytes))
        mark.unlink()
    return repaired
