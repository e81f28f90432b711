"""Tree heads as checkpoints (c2sp.org/tlog-checkpoint): signed notes that transparency-log
tools and witnesses read, and the witnesses' cosignatures of them (c2sp.org/tlog-cosignature).

A checkpoint is three lines — the log's origin (a schema-less URL naming this log), the tree
size, the root hash in base64 — signed by the archive key as a note (signature type 0x01). A
witness that has checked the head extends every head it saw before adds a cosignature line
(type 0x04): its own key's signature over ``cosignature/v1``, the time, and the checkpoint.
Verification lives in ``verify_evidence.py`` (which imports nothing of ours), so that what
anyone runs is what the archive is tested with.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samizdat.evidence.keys import public_raw
from samizdat.evidence.verify_evidence import (
    COSIGNATURE_ED25519,
    NOTE_ED25519,
    SIGNATURE_PREFIX,
    archive_vkey,
    checkpoint_fields,
    cosigned_message,
    note_key_id,
    note_signers,
    parse_vkey,
    split_note,
    with_signatures,
)

__all__ = [
    "Checkpoint",
    "archive_vkey",
    "checkpoint_fields",
    "checkpoint_text",
    "cosign",
    "default_origin",
    "note_signers",
    "parse_vkey",
    "sign_checkpoint",
    "split_note",
    "vkey",
    "with_signatures",
]


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint note as read: its text, what it says, and its signature lines."""

    note: str
    origin: str
    size: int
    root: bytes

    @classmethod
    def parse(cls, note: str) -> Checkpoint:
        text, _ = split_note(note)
        origin, size, root = checkpoint_fields(text)
        return cls(note, origin, size, root)

    @property
    def text(self) -> str:
        return split_note(self.note)[0]

    @property
    def signature_lines(self) -> list[str]:
        return [line for line in self.note.split("\n") if line.startswith(SIGNATURE_PREFIX)]


def default_origin(base_url: str, key: Ed25519PrivateKey) -> str:
    """The log's origin when none is set: the site's address without its scheme, else a name
    made from the key (unique to this archive, stable while its key is)."""
    if base_url:
        parts = urlsplit(base_url)
        return (parts.netloc + parts.path).rstrip("/")
    return f"samizdat.archive/{hashlib.sha256(public_raw(key)).hexdigest()[:16]}"


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    if not origin or any(c.isspace() or c == "+" for c in origin):
        raise ValueError(f"a checkpoint origin has no spaces or '+': {origin!r}")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def _line(name: str, key_id: bytes, signature: bytes) -> str:
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(key_id + signature).decode()}"


def sign_checkpoint(key: Ed25519PrivateKey, origin: str, size: int, root: bytes) -> str:
    """The signed checkpoint note of the tree of ``size`` entries with ``root``, the origin
    being its key name."""
    text = checkpoint_text(origin, size, root)
    key_id = note_key_id(origin, NOTE_ED25519, public_raw(key))
    return f"{text}\n{_line(origin, key_id, key.sign(text.encode()))}\n"


def cosign(key: Ed25519PrivateKey, name: str, note: str, at: datetime | None = None) -> str:
    """A witness's cosignature line for the checkpoint ``note``, timestamped ``at`` (now)."""
    timestamp = int((at or datetime.now(UTC)).timestamp())
    text, _ = split_note(note)
    signature = key.sign(cosigned_message(text, timestamp))
    key_id = note_key_id(name, COSIGNATURE_ED25519, public_raw(key))
    return _line(name, key_id, timestamp.to_bytes(8, "big") + signature)


def vkey(name: str, key: Ed25519PrivateKey, kind: int = COSIGNATURE_ED25519) -> str:
    """``key``'s verifier key under ``name`` (type 0x04, a witness's, unless ``kind`` says)."""
    public = public_raw(key)
    encoded = base64.b64encode(bytes([kind]) + public).decode()
    return f"{name}+{note_key_id(name, kind, public).hex()}+{encoded}"
