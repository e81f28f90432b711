"""Where a WARC record lives: the value every stage passes around, without warcio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchiveRef:
    """Where one WARC record lives, and the digest its payload must have."""

    file: str  # name inside the archive directory
    offset: int
    length: int
    digest: str  # WARC-Payload-Digest (or Block-Digest for records without payload digest)
    record_id: str
