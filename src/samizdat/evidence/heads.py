"""A signed tree head of the log: its size and root at a time, and the bytes a signature covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

HEAD_FORMAT = b"samizdat tree head v1\n"


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes
    signed_at: datetime
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        return head_message(self.size, self.root, self.signed_at)


def head_message(size: int, root: bytes, signed_at: datetime) -> bytes:
    """The bytes a tree head's signature covers (a verifier rebuilds them from the head):
    ``samizdat tree head v1``, the size, the root in hex and the time (UTC, ISO 8601, to the
    microsecond), one a line."""
    when = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return HEAD_FORMAT + f"{size}\n{root.hex()}\n{when}\n".encode()
