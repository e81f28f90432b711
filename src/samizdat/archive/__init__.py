"""Archive stage: WARC records of every exchange, written durably and read back by reference."""

from samizdat.archive.records import RecordFactory, sha256_label
from samizdat.archive.warc import (
    ArchiveRef,
    ArchiveWriteError,
    CorruptRecord,
    StoredRecord,
    WarcWriter,
    read_record,
)

__all__ = [
    "ArchiveRef",
    "ArchiveWriteError",
    "CorruptRecord",
    "RecordFactory",
    "StoredRecord",
    "WarcWriter",
    "read_record",
    "sha256_label",
]
