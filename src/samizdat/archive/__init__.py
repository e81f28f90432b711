"""Archive stage: WARC records of every exchange, written durably and read back by reference."""

from samizdat.archive.records import RecordFactory, sha256_label
from samizdat.archive.warc import ArchiveRef, CorruptRecord, StoredRecord, WarcWriter, read_record

__all__ = [
    "ArchiveRef",
    "CorruptRecord",
    "RecordFactory",
    "StoredRecord",
    "WarcWriter",
    "read_record",
    "sha256_label",
]
