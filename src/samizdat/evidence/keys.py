"""The archive's signing keys, made once and kept in the data directory, their public halves
published by the site and the CLI:

- the **archive key** (Ed25519) signs the log's tree heads;
- the **package key** (ECDSA P-384, the curve and signature the WACZ signing specification's
  anonymous mode and ReplayWeb.page use) signs WACZ packages. The archive key endorses it
  (``package-key.sig``), so that a package signature leads back to the same archive.

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
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from samizdat.evidence.heads import TreeHead, head_message

KEY_FILE = "archive-key.pem"
PUBLIC_FILE = "archive-key.pub"  # its public half: what readers of the archive need, and all
PACKAGE_KEY_FILE = "package-key.pem"
PACKAGE_PUBLIC_FILE = "package-key.pub"
PACKAGE_ENDORSEMENT_FILE = "package-key.sig"  # the archive key's signature of the package key
WITNESS_KEY_FILE = "witness-key.pem"  # this archive's key as a witness of other logs
PACKAGE_CURVE = ec.SECP384R1()
ENDORSEMENT_CONTEXT = b"samizdat package key\n"
KEY_FILES = (
    KEY_FILE,
    PUBLIC_FILE,
    PACKAGE_KEY_FILE,
    PACKAGE_PUBLIC_FILE,
    PACKAGE_ENDORSEMENT_FILE,
    WITNESS_KEY_FILE,
)


def _private_file(path: Path, make) -> None:
    """Write the PEM ``make()`` returns to ``path`` (owner-readable only), unless it exists."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = make().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use that one
        return
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)


def _public_pem(key) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def archive_key(data_dir: Path) -> Ed25519PrivateKey:
    """The archive's key, made the first time (readable by its owner only), its public half
    written beside it; the package key too, endorsed by it."""
    path = data_dir / KEY_FILE
    _private_file(path, Ed25519PrivateKey.generate)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    public = data_dir / PUBLIC_FILE
    if not public.exists():
        public.write_bytes(_public_pem(key.public_key()))
    _private_file(data_dir / PACKAGE_KEY_FILE, lambda: ec.generate_private_key(PACKAGE_CURVE))
    package = package_key(data_dir)
    if package is not None and not (data_dir / PACKAGE_ENDORSEMENT_FILE).exists():
        (data_dir / PACKAGE_PUBLIC_FILE).write_bytes(_public_pem(package.public_key()))
        endorsement = key.sign(ENDORSEMENT_CONTEXT + spki(package.public_key()))
        (data_dir / PACKAGE_ENDORSEMENT_FILE).write_bytes(endorsement)
    return key


def witness_key(data_dir: Path) -> Ed25519PrivateKey:
    """The key this archive cosigns other logs' checkpoints with, made the first time: a key of
    its own, as the cosignature format asks (a witness's key signs nothing else)."""
    path = data_dir / WITNESS_KEY_FILE
    _private_file(path, Ed25519PrivateKey.generate)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def package_key(data_dir: Path) -> ec.EllipticCurvePrivateKey | None:
    """The key that signs WACZ packages; None before the archive's keys were made (the watcher,
    ``samizdat init`` and ``samizdat log key`` make them)."""
    path = data_dir / PACKAGE_KEY_FILE
    if not path.exists():
        return None
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != PACKAGE_CURVE.name:
        raise ValueError(f"{path} is not an ECDSA {PACKAGE_CURVE.name} key")
    return key


def package_key_document(data_dir: Path) -> dict[str, str] | None:
    """The package key's public half with the archive key's endorsement of it, as published."""
    public, endorsement = data_dir / PACKAGE_PUBLIC_FILE, data_dir / PACKAGE_ENDORSEMENT_FILE
    if not (public.exists() and endorsement.exists()):
        return None
    key = serialization.load_pem_public_key(public.read_bytes())
    return {
        "algorithm": "ECDSA P-384 SHA-256",
        "public_key": base64.b64encode(spki(key)).decode(),
        "endorsement": base64.b64encode(endorsement.read_bytes()).decode(),
    }


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


def key_document(key: Ed25519PrivateKey | Ed25519PublicKey, data_dir: Path | None = None) -> dict:
    """The public key as the API, the CLI and evidence bundles publish it, with the package key
    it endorsed when ``data_dir`` holds one."""
    document: dict = {
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(public_raw(key)).decode(),
        "key_id": key_id(key),
    }
    package = package_key_document(data_dir) if data_dir is not None else None
    if package is not None:
        document["package_key"] = package
    return document


def sign_head(key: Ed25519PrivateKey, size: int, root: bytes, signed_at: datetime) -> TreeHead:
    return TreeHead(size, root, signed_at, key_id(key), key.sign(head_message(size, root, signed_at)))


def head_is_signed_by(head: TreeHead, public: bytes) -> bool:
    """Whether ``head`` carries a valid signature of the key whose raw public bytes are ``public``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(head.signature, head.message())
    except (InvalidSignature, ValueError):
        return False
    return True
