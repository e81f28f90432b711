"""The archive's signing key (Ed25519): made once, kept in the data directory, its public half
published by the site and the CLI; it signs the log's tree heads.

What a tree head's signature says: this archive, holding this key, had these ``size`` entries
with this ``root`` at ``signed_at``. It does not say the archive's clock was right (trusted
time is a time-stamping authority's job) nor that what was fetched was true — only that the
log has not been rewritten since without the change showing.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from samizdat.evidence.heads import TreeHead, head_message

KEY_FILE = "archive-key.pem"
PUBLIC_FILE = "archive-key.pub"  # its public half: what readers of the archive need, and all


def archive_key(data_dir: Path) -> Ed25519PrivateKey:
    """The archive's key, made the first time (readable by its owner only), its public half
    written beside it."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use that one
            pass
        else:
            with os.fdopen(descriptor, "wb") as out:
                out.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    public = data_dir / PUBLIC_FILE
    if not public.exists():
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return key


def published_key(data_dir: Path) -> Ed25519PublicKey | None:
    """The archive's public key, read without touching the private one (the site, ``verify``,
    bundles); None before the first key was made."""
    path = data_dir / PUBLIC_FILE
    if not path.exists():
        return None
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    return hashlib.sha256(public_raw(key)).hexdigest()


def key_document(key: Ed25519PrivateKey | Ed25519PublicKey) -> dict[str, str]:
    """The public key as the API, the CLI and evidence bundles publish it."""
    return {
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(public_raw(key)).decode(),
        "key_id": key_id(key),
    }


def sign_head(key: Ed25519PrivateKey, size: int, root: bytes, signed_at: datetime) -> TreeHead:
    return TreeHead(size, root, signed_at, key_id(key), key.sign(head_message(size, root, signed_at)))


def head_is_signed_by(head: TreeHead, public: bytes) -> bool:
    """Whether ``head`` carries a valid signature of the key whose raw public bytes are ``public``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(head.signature, head.message())
    except (InvalidSignature, ValueError):
        return False
    return True
