"""WARC files: append records durably, read one back by reference, verify it.

One :class:`WarcWriter` per process writes its own files, named uniquely (time, host,
process id, random tag), so several writers can share one archive. A batch of records
is appended, flushed and fsynced before :meth:`WarcWriter.append` returns the references:
a database row is written only after that, so it never points at bytes not on disk. Where
the files are kept is :mod:`samizdat.archive.storage`'s business.
"""

from __future__ import annotations

import gzip
import io
import os
import secrets
import socket
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeadersParserException
from warcio.warcwriter import WARCWriter

from samizdat import __version__
from samizdat.archive.records import RecordFactory, record_id, sha256_label
from samizdat.archive.ref import ArchiveRef
from samizdat.archive.storage import ArchiveFileMissing, WarcFiles, warc_files


@dataclass(frozen=True)
class StoredRecord:
    ref: ArchiveRef
    warc_headers: dict[str, str]
    http_status: int | None
    http_headers: list[tuple[str, str]]
    payload: bytes  # as on the wire (Content-Encoding not undone)

    def header(self, name: str) -> str | None:
        """An HTTP header of the archived response, whatever its case."""
        wanted = name.lower()
        return next((value for key, value in self.http_headers if key.lower() == wanted), None)

    def body(self, limit: int) -> bytes:
        """The payload with its Content-Encoding undone, at most ``limit`` bytes
        (:class:`~samizdat.fetch.decode.ContentEncodingError` otherwise)."""
        from samizdat.fetch.decode import decompress

        return decompress(self.payload, self.header("content-encoding"), limit)


class ArchiveWriteError(OSError):
    """Records could not be written (the disk is full, the directory went read-only)."""


class CorruptRecord(ValueError):
    """A referenced record is missing, torn, or does not match its digest."""


class WarcWriter:
    """Appends gzip-per-record WARC 1.1 files, rotated by size."""

    def __init__(
        self,
        files: WarcFiles | Path,
        *,
        prefix: str = "samizdat",
        max_bytes: int = 1_000_000_000,
        fsync: bool = True,
        factory: RecordFactory | None = None,
    ) -> None:
        self.files = warc_files(files)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.factory = factory or RecordFactory()
        self._tag = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._serial = 0
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._name = ""

    def append(self, records: Sequence[ArcWarcRecord]) -> list[ArchiveRef]:
        """Write ``records`` back to back, make them durable, and return where each landed."""
        return self.append_batches([records])[0]

    def append_batches(self, batches: Sequence[Sequence[ArcWarcRecord]]) -> list[list[ArchiveRef]]:
        """Write several groups of records, then make them all durable with one fsync.

        A group never straddles two files, so each capture's records sit together. When a
        write fails (a full disk), every file is cut back to where this call began and the
        error raised: nothing of the batch stays half-written, and the writer carries on when
        space returns.
        """
        with self._lock:
            result = []
            touched: list[tuple[BinaryIO, int]] = []
            try:
                for records in batches:
                    out = self._current_file()
                    if not touched or touched[-1][0] is not out:
                        touched.append((out, out.tell()))
                    result.append([self._write(out, record) for record in records])
                for out, _ in touched:
                    if self.fsync and not out.closed:  # a file rotated away mid-batch was sealed already
                        self.files.sync(out)
            except OSError as exc:
                for out, start in touched:
                    if not out.closed:
                        out.truncate(start)
                        out.seek(start)
                raise ArchiveWriteError(
                    f"could not write to the archive in {self.files.location}: {exc.strerror or exc};"
                    " nothing of these captures was kept (free some space, they will be captured again)"
                ) from exc
            return result

    def _seal(self, out: BinaryIO) -> None:
        self.files.seal(self._name, out)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._seal(self._file)
                self._file = None

    def _write(self, out: BinaryIO, record: ArcWarcRecord) -> ArchiveRef:
        offset = out.tell()
        data = memoryview(gzip_member(record))
        while data:  # a raw write may take only part of it
            data = data[out.write(data) :]
        headers = record.rec_headers
        digest = headers.get_header("WARC-Payload-Digest") or headers.get_header("WARC-Block-Digest")
        return ArchiveRef(self._name, offset, out.tell() - offset, digest, record_id(record))

    def _current_file(self) -> BinaryIO:
        if self._file is not None and self._file.tell() < self.max_bytes:
            return self._file
        if self._file is not None:
            self._seal(self._file)
        self._serial += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self._name = f"{self.prefix}-{stamp}-{self._serial:05d}-{self._tag}.warc.gz"
        self._file = self.files.create(self._name)
        info = self.factory.warcinfo_record(
            self._name,
            {
                "software": f"samizdat/{__version__}",
                "format": "WARC File Format 1.1",
                "hostname": socket.gethostname(),
            },
        )
        try:
            self._write(self._file, info)
        except OSError:
            self.files.discard(self._name, self._file)
            self._file = None
            raise
        return self._file


# Payloads that are compressed already gain nothing from a second pass: store them (level 0).
_COMPRESSED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress"})
_COMPRESSED_TYPES = ("image/", "video/", "audio/", "application/zip", "application/gzip", "font/woff")


def gzip_member(record: ArcWarcRecord) -> bytes:
    """One record as one gzip member (the per-record gzip of WARC files)."""
    plain = io.BytesIO()
    WARCWriter(plain, gzip=False, warc_version="1.1").write_record(record)
    level = 0 if _already_compressed(record) else 6
    compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(plain.getvalue()) + compressor.flush()


def _already_compressed(record: ArcWarcRecord) -> bool:
    http = record.http_headers
    if http is None or record.rec_type not in ("response", "resource"):
        return False
    encoding = (http.get_header("Content-Encoding") or "").strip().lower()
    content_type = (http.get_header("Content-Type") or "").strip().lower()
    return encoding in _COMPRESSED_ENCODINGS or content_type.startswith(_COMPRESSED_TYPES)


def read_member(files: WarcFiles | Path, ref: ArchiveRef) -> bytes:
    """The bytes of the gzip member at ``ref``, whole; :class:`CorruptRecord` when they are not there."""
    try:
        raw = warc_files(files).read(ref.file, ref.offset, ref.length)
    except ArchiveFileMissing as exc:
        raise CorruptRecord(str(exc)) from None
    except OSError as exc:
        raise CorruptRecord(f"{ref.file}: {exc.strerror or exc}") from None
    if len(raw) != ref.length:
        raise CorruptRecord(f"{ref.file}@{ref.offset}: record is torn ({len(raw)} of {ref.length} bytes)")
    return raw


def read_record(files: WarcFiles | Path, ref: ArchiveRef) -> StoredRecord:
    """Read the record at ``ref`` and check it against the database's digest and its own block
    digest; raise :class:`CorruptRecord` if anything disagrees."""
    raw = read_member(files, ref)
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(raw), no_record_parse=False)))
        payload = record.raw_stream.read()
    except (StopIteration, OSError, EOFError, ValueError, gzip.BadGzipFile) as exc:
        raise CorruptRecord(f"{ref.file}@{ref.offset}: not a WARC record ({exc})") from None
    except (ArchiveLoadFailed, StatusAndHeadersParserException):
        # Bytes that are not a record where the database says one starts: cut out, moved, overwritten.
        raise CorruptRecord(f"{ref.file}@{ref.offset}: no WARC record starts there") from None
    headers = dict(record.rec_headers.headers)
    where = f"{ref.file}@{ref.offset}"
    if headers.get("WARC-Record-ID") != ref.record_id:
        raise CorruptRecord(f"{where}: holds another record than {ref.record_id}")
    # The database's digest is the one that counts: a record whose payload and digest headers
    # were rewritten together agrees with itself, not with it.
    claimed = headers.get("WARC-Payload-Digest") or headers.get("WARC-Block-Digest")
    if claimed != ref.digest:
        raise CorruptRecord(f"{where}: the record's digest header says {claimed}, the database {ref.digest}")
    if "WARC-Payload-Digest" in headers and record.rec_type != "revisit":
        actual = sha256_label(payload)
        if actual != ref.digest:
            raise CorruptRecord(f"{where}: payload digest {actual} != {ref.digest}")
    if "WARC-Block-Digest" in headers:
        actual = sha256_label(_block(raw, headers))
        if actual != headers["WARC-Block-Digest"]:
            raise CorruptRecord(f"{where}: block digest {actual} != {headers['WARC-Block-Digest']}")
    http = record.http_headers
    return StoredRecord(
        ref=ref,
        warc_headers=headers,
        http_status=int(http.get_statuscode())
        if http and record.rec_type in ("response", "revisit")
        else None,
        http_headers=list(http.headers) if http else [],
        payload=payload,
    )


def _block(member: bytes, headers: dict[str, str]) -> bytes:
    """The record's block: what follows its WARC headers, ``Content-Length`` bytes of it."""
    data = gzip.decompress(member)
    start = data.index(b"\r\n\r\n") + 4
    return data[start : start + int(headers.get("Content-Length", "0"))]
