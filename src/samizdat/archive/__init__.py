"""Archive stage: WARC records of every exchange, written durably and read back by reference."""

from samizdat.lazy import exports

_MODULES = {
    "records": ("RecordFactory", "sha256_label"),
    "ref": ("ArchiveRef",),
    "warc": ("ArchiveWriteError", "CorruptRecord", "StoredRecord", "WarcWriter", "read_record"),
}
__getattr__ = exports(__name__, _MODULES)
__all__ = sorted(name for names in _MODULES.values() for name in names)
