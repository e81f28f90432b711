"""``samizdat verify``: every WARC file read whole, every database reference read back, every
image checked against its content hash, the rows' links, and the tamper-evident log against
its signed heads, the records and the rows; a report that says what is wrong.
First, as any restart does, the torn tail a killed writer left is cut (archive/integrity.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samizdat.archive import ArchiveRef, CorruptRecord, read_record
from samizdat.archive.integrity import scan_stream
from samizdat.archive.storage import WarcFiles, warc_files
from samizdat.evidence.checkpoints import Checkpoint, archive_vkey, note_signers, with_signatures
from samizdat.evidence.heads import TreeHead
from samizdat.evidence.keys import head_is_signed_by
from samizdat.evidence.timestamps import TimestampError, check
from samizdat.fetch.decode import ContentEncodingError
from samizdat.store import Store

MAX_IMAGE_BYTES = 200_000_000
DEFAULT_ROOTS = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass
class Report:
    files: int = 0
    records: int = 0
    references: int = 0
    images: int = 0
    log_entries: int = 0
    tree_heads: int = 0
    timestamps: int = 0
    repaired: list[tuple[str, int]] = field(default_factory=list)  # torn tails cut, as a restart does
    problems: list[str] = field(default_factory=list)


def verify_archive(
    files: WarcFiles | Path,
    store: Store,
    *,
    public_key: bytes | None = None,
    timestamp_roots: Path | None = None,
    witnesses: Sequence[str] = (),
    progress: Callable[[str, int, int], None] | None = None,
) -> Report:
    """Check everything (the log too, given the archive's ``public_key``); ``progress(stage,
    done, total)`` is told along the way."""
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
    read: set[ArchiveRef] = set()  # read back (well or not) already: the log's check skips them
    for done, (table, key, ref) in enumerate(refs, 1):
        report.references += 1
        read.add(ref)
        try:
            record = read_record(files, ref)
        except CorruptRecord as exc:
            report.problems.append(f"{table} {key}: {exc}")
            continue
        if table == "blobs":
            report.images += 1
            try:
                body = record.body(MAX_IMAGE_BYTES)
            except ContentEncodingError as exc:
                report.problems.append(f"blobs {key}: its record does not decode ({exc})")
                continue
            if hashlib.sha256(body).hexdigest() != key:
                report.problems.append(f"blobs {key}: the image in its record has another content hash")
        tell("references", done, len(refs))
    report.problems += store.link_problems()
    if public_key is not None:
        report.problems += log_problems(
            files, store, refs, read, public_key, report, tell, timestamp_roots, witnesses
        )
    return report


def log_problems(
    files: WarcFiles,
    store: Store,
    rows: list[tuple[str, Any, ArchiveRef]],
    read: set[ArchiveRef],
    public_key: bytes,
    report: Report,
    tell: Callable[[str, int, int], None],
    timestamp_roots: Path | None = None,
    witnesses: Sequence[str] = (),
) -> list[str]:
    """The log against itself, its signed heads, the WARC records and the database's rows.

    Each entry must hash to the leaf the tree holds; every signed head must be signed by the
    archive's key and have the root the tree gives at its size (so no entry under a head was
    changed, dropped or reordered since it was signed); each entry's record must read back with
    the entry's digest, and the database's row must point at that very record."""
    problems: list[str] = []
    versions = {key: ref for table, key, ref in rows if table == "versions"}
    checked = {(ref.record_id, ref.digest) for table, _, ref in rows if table == "checks"}
    size = store.log_size()
    for done, (entry, leaf) in enumerate(store.iter_log(), 1):
        report.log_entries += 1
        if leaf != entry.leaf:
            problems.append(f"log entry {entry.seq}: its text does not hash to the leaf the tree holds")
        payload = json.loads(entry.entry)
        record = payload.get("record")
        if record:
            ref = ArchiveRef(**record)
            if ref not in read:  # a row's record was read above, and its problem said there
                try:
                    read_record(files, ref)
                except CorruptRecord as exc:
                    problems.append(f"log entry {entry.seq}: {exc}")
            if entry.kind == "capture":
                row = versions.get(payload["version"])
                if row != ref:
                    problems.append(
                        f"log entry {entry.seq}: version {payload['version']} no longer points at the record "
                        f"logged for it ({ref.record_id}, {ref.digest}): the row changed after it was logged"
                    )
            elif (ref.record_id, ref.digest) not in checked:
                problems.append(
                    f"log entry {entry.seq}: no check points at its record {ref.record_id} with digest "
                    f"{ref.digest} (a row was changed or removed after it was logged)"
                )
        tell("log", done, size)
    heads = store.tree_heads()
    roots = store.log_roots([head.size for head in heads])
    for head in heads:
        report.tree_heads += 1
        if not head_is_signed_by(head, public_key):
            problems.append(f"tree head of {head.size} entries: not signed by this archive's key")
        root = roots[head.size]
        if isinstance(root, LookupError):
            problems.append(f"tree head of {head.size} entries: {root}")
            continue
        if root != head.root:
            problems.append(
                f"tree head of {head.size} entries: the log now gives another root at that size "
                "(an entry it covers was changed, dropped or reordered)"
            )
        problems += _checkpoint_problems(head, public_key, store.cosignatures(head.size), witnesses)
        for authority, token, stamped_at in store.head_timestamps(head.size):
            report.timestamps += 1
            try:
                given = check(head.message(), token, timestamp_roots or DEFAULT_ROOTS)
            except TimestampError as exc:
                problems.append(f"tree head of {head.size} entries, stamp of {authority}: {exc}")
                continue
            if given != stamped_at:
                problems.append(
                    f"tree head of {head.size} entries, stamp of {authority}: the token says {given}, "
                    f"the database {stamped_at}"
                )
    return problems


def _checkpoint_problems(
    head: TreeHead, public_key: bytes, cosigned: list[str], witnesses: Sequence[str]
) -> list[str]:
    """What does not hold of ``head``'s checkpoint (the archive's signature over the same size
    and root) and of the cosignatures kept with it (each by one of ``witnesses``, verifier keys)."""
    if head.checkpoint is None:
        return []
    where = f"tree head of {head.size} entries, checkpoint"
    try:
        checkpoint = Checkpoint.parse(head.checkpoint)
        signers = note_signers(
            with_signatures(head.checkpoint, cosigned),
            [archive_vkey(checkpoint.origin, public_key), *witnesses],
        )
    except ValueError as exc:  # binascii.Error is one
        return [f"{where}: unreadable ({exc})"]
    problems = []
    if (checkpoint.size, checkpoint.root) != (head.size, head.root):
        problems.append(f"{where}: another size or root than the head's")
    if checkpoint.origin not in signers:
        problems.append(f"{where}: not signed by this archive's key")
    for line in cosigned:
        name = line.split(" ")[1]
        if name not in signers:
            problems.append(f"{where}: the cosignature of {name} does not hold for any key of witnesses.keys")
    return problems
