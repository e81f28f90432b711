"""``samizdat verify``: every WARC file read whole, every database reference read back, every
image checked against its content hash, and the rows' links; a report that says what is wrong.
First, as any restart does, the torn tail a killed writer left is cut (archive/integrity.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from samizdat.archive import CorruptRecord, read_record
from samizdat.archive.integrity import scan_stream
from samizdat.archive.storage import WarcFiles, warc_files
from samizdat.fetch.decode import ContentEncodingError, decompress
from samizdat.store import Store

MAX_IMAGE_BYTES = 200_000_000


@dataclass
class Report:
    files: int = 0
    records: int = 0
    references: int = 0
    images: int = 0
    repaired: list[tuple[str, int]] = field(default_factory=list)  # torn tails cut, as a restart does
    problems: list[str] = field(default_factory=list)


def verify_archive(
    files: WarcFiles | Path, store: Store, *, progress: Callable[[str, int, int], None] | None = None
) -> Report:
    """Check everything; ``progress(stage, done, total)`` is told along the way."""
    files = warc_files(files)
    report = Report(repaired=files.recover())
    tell = progress or (lambda stage, done, total: None)
    names = files.names()
    for done, name in enumerate(names, 1):
        with files.open(name) as stream:
            scan = scan_stream(stream, name, files.size(name))
        report.files += 1
        report.records += scan.records
        report.problems += scan.problems
        tell("files", done, len(names))
    refs = list(store.all_refs())
    for done, (table, key, ref) in enumerate(refs, 1):
        report.references += 1
        try:
            record = read_record(files, ref)
        except CorruptRecord as exc:
            report.problems.append(f"{table} {key}: {exc}")
            continue
        if table == "blobs":
            report.images += 1
            encoding = dict((k.lower(), v) for k, v in record.http_headers).get("content-encoding")
            try:
                body = decompress(record.payload, encoding, MAX_IMAGE_BYTES)
            except ContentEncodingError as exc:
                report.problems.append(f"blobs {key}: its record does not decode ({exc})")
                continue
            if hashlib.sha256(body).hexdigest() != key:
                report.problems.append(f"blobs {key}: the image in its record has another content hash")
        tell("references", done, len(refs))
    report.problems += store.link_problems()
    return report
