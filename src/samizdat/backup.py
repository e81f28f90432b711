"""``samizdat backup DEST`` and ``samizdat restore SRC``: a consistent copy of a running archive.

A backup is a directory: ``samizdat.db`` (SQLite, whatever the archive's database), the WARC
files under ``warcs/``, the archive's keys under ``keys/`` (owner-readable only: the archive
goes on signing with the same keys after a restore, so its log does not fork), and
``manifest.json`` (what it holds, with a SHA-256 of every file).
The database is copied first, in one read transaction (store/transfer.py: one moment of the
archive while captures and checks go on); the WARC files after. Records are fsynced before
the rows that point at them are committed, so every record the copied rows name is already
on disk when the files are copied; a file still being written is copied up to its last whole
record. Restoring copies the database into the configured one (SQLite or PostgreSQL, empty)
and the files into the archive's storage, after checking them against the manifest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from samizdat import __version__
from samizdat.archive.integrity import scan_file
from samizdat.archive.storage import warc_storage
from samizdat.config import Settings
from samizdat.evidence.keys import KEY_FILES
from samizdat.store import Store, open_store
from samizdat.store.transfer import TableCheck, copy_archive

MANIFEST = "manifest.json"


class BackupError(ValueError):
    """The backup cannot be made or restored; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    tables: list[TableCheck]
    files: int
    bytes: int


def backup(settings: Settings, store: Store, destination: Path) -> BackupSummary:
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: give a new directory for the backup")
    (destination / "warcs").mkdir(parents=True, exist_ok=True)
    target = open_store(f"sqlite:///{(destination / 'samizdat.db').resolve()}")
    try:
        tables = copy_archive(store.engine, target.engine, compare_source=False)
    finally:
        target.engine.dispose()
    files = {}
    archive = warc_storage(settings)
    for name in archive.names():
        copied = destination / "warcs" / name
        digest = hashlib.sha256()
        with archive.open(name) as source, copied.open("xb") as out:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        scan = scan_file(copied)
        if scan.torn_tail:  # being written as we copied: keep its whole records
            with copied.open("r+b") as handle:
                handle.truncate(scan.whole_bytes)
            digest = None
        files[name] = digest.hexdigest() if digest else _sha256(copied)
    keys = _copy_keys(settings.data_dir, destination / "keys")
    manifest = {
        "samizdat": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": store.engine.dialect.name,
        "tables": {t.table: {"rows": t.target_rows, "sha256": t.target_digest} for t in tables},
        "warcs": files,
        "keys": keys,
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    size = sum((destination / "warcs" / name).stat().st_size for name in files)
    return BackupSummary(destination, tables, len(files), size)


def restore(settings: Settings, source: Path) -> BackupSummary:
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{source} holds no {MANIFEST}: not a samizdat backup")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    for name, expected in manifest["warcs"].items():
        path = source / "warcs" / name
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"{path} is missing or differs from the manifest: the backup is damaged")
    archive = warc_storage(settings)
    if archive.names():
        raise BackupError(f"{archive.location} already holds WARC files: restore into an empty archive")
    keys = manifest.get("keys", {})
    for name, expected in keys.items():
        present = settings.data_dir / name
        if present.exists() and _sha256(present) != expected:
            raise BackupError(
                f"{present} differs from the backup's key: move it away to restore the archive's own keys"
            )
        if _sha256(source / "keys" / name) != expected:
            raise BackupError(f"{source / 'keys' / name} differs from the manifest: the backup is damaged")
    backup_store = open_store(f"sqlite:///{(source / 'samizdat.db').resolve()}")
    target = open_store(settings.database_url)
    try:
        tables = copy_archive(backup_store.engine, target.engine)
    except ValueError as exc:
        raise BackupError(str(exc)) from None
    finally:
        backup_store.engine.dispose()
        target.engine.dispose()
    different = [
        t.table for t in tables if not t.ok or t.target_digest != manifest["tables"][t.table]["sha256"]
    ]
    if different:
        raise BackupError(f"restored tables differ from the backup: {', '.join(different)}")
    for name in manifest["warcs"]:
        with (source / "warcs" / name).open("rb") as stream:
            handle = archive.create(name)
            shutil.copyfileobj(stream, handle, 1 << 20)
            archive.seal(name, handle)
    _copy_keys(source / "keys", settings.data_dir, only=keys)
    size = sum(archive.size(name) for name in manifest["warcs"])
    return BackupSummary(settings.data_dir, tables, len(manifest["warcs"]), size)


def _copy_keys(source: Path, destination: Path, only=KEY_FILES) -> dict[str, str]:
    """Copy the key files of ``source`` not yet in ``destination``, keeping their modes (private
    halves stay owner-readable only); their SHA-256 by name."""
    copied = {}
    for name in only:
        path = source / name
        if not path.is_file():
            continue
        destination.mkdir(parents=True, exist_ok=True)
        if not (destination / name).exists():
            shutil.copy2(path, destination / name)
        copied[name] = _sha256(path)
    return copied


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
