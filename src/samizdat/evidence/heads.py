"""A signed tree head of the log: its size and root at a time, and the bytes a signature covers."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from samizdat.evidence.verify_evidence import with_signatures

HEAD_FORMAT = b"samizdat tree head v1\n"


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes
    signed_at: datetime
    key_id: str
    signature: bytes
    checkpoint: str | None = None  # the same head as a signed checkpoint note

    def message(self) -> bytes:
        return head_message(self.size, self.root, self.signed_at)


def head_message(size: int, root: bytes, signed_at: datetime) -> bytes:
    """The bytes a tree head's signature covers (a verifier rebuilds them from the head):
    ``samizdat tree head v1``, the size, the root in hex and the time (UTC, ISO 8601, to the
    microsecond), one a line."""
    when = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return HEAD_FORMAT + f"{size}\n{root.hex()}\n{when}\n".encode()


def head_document(
    head: TreeHead,
    stamps: Sequence[tuple[str, bytes, datetime]] = (),
    cosignatures: Sequence[str] = (),
) -> dict[str, Any]:
    """A signed tree head as the API, the CLI and evidence bundles give it, with the RFC 3161
    tokens that stamp its signed bytes and its checkpoint with the witnesses' cosignature lines,
    if any."""
    document: dict[str, Any] = {
        "size": head.size,
        "root": head.root.hex(),
        "signed_at": head.signed_at.isoformat(),
        "key_id": head.key_id,
        "signature": base64.b64encode(head.signature).decode(),
        "signed_bytes": base64.b64encode(head.message()).decode(),
        "timestamps": [
            {"authority": authority, "time": at.isoformat(), "token": base64.b64encode(token).decode()}
            for authority, token, at in stamps
        ],
    }
    if head.checkpoint is not None:
        document["checkpoint"] = with_signatures(head.checkpoint, cosignatures)
    return document


def entry_document(
    seq: int, kind: str, entry: str, leaf: bytes, proof: Sequence[bytes], head: dict[str, Any]
) -> dict[str, Any]:
    """A log entry as it was hashed, with its inclusion proof under ``head`` (a head document)."""
    return {
        "seq": seq,
        "kind": kind,
        "entry": entry,
        "leaf_hash": leaf.hex(),
        "proof": [p.hex() for p in proof],
        "tree_head": head,
    }
