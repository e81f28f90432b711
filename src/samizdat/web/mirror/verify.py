"""``samizdat mirror verify DIR|URL``: a mirror someone else hosts, checked file by file against
the manifest the archive signed (web/mirror/ writes both)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from samizdat.web.mirror.layout import MANIFEST, SIGNATURE, MirrorError, tree_files


@dataclass
class MirrorCheck:
    """What ``mirror verify`` found: the manifest's signer and every difference from it."""

    key_id: str
    signed: bool
    checked: int = 0
    altered: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signed and not (self.altered or self.removed or self.added)


_LOCAL_LINK = re.compile(rb'(?:href|src)="([^"#?:]+)"')


def verify_mirror(source: str, trusted_key: bytes | None = None) -> MirrorCheck:
    """Check the mirror at ``source`` (a directory or an http(s) URL) against its signed
    manifest: every file it names, and what is there that it does not name — in a directory
    every file, over HTTP every local link of its pages. ``trusted_key`` (raw Ed25519) is the
    archive's key as obtained elsewhere; without it the manifest is checked against the key the
    mirror itself carries, which only shows it is self-consistent (the key id says whose)."""
    import httpx
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    remote = source.startswith(("http://", "https://"))
    client = httpx.Client(timeout=30, follow_redirects=True, trust_env=False) if remote else None
    base = source.rstrip("/") + "/"

    def read(name: str) -> bytes | None:
        if client is not None:
            answer = client.get(base + name)
            return answer.content if answer.status_code == 200 else None
        path = Path(source) / name
        return path.read_bytes() if path.is_file() else None

    try:
        manifest, signature, key_file = read(MANIFEST), read(SIGNATURE), read("log/key.json")
        if manifest is None or signature is None:
            raise MirrorError(f"{source} has no {MANIFEST} and {SIGNATURE}: not a samizdat mirror")
        document = json.loads(manifest)
        carried = base64.b64decode(json.loads(key_file)["public_key"]) if key_file else None
        key = trusted_key or carried
        if key is None:
            raise MirrorError(f"{source} carries no log/key.json: give the archive's key with --key")
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(signature.strip()), manifest)
            signed = document.get("key_id") == hashlib.sha256(key).hexdigest()
        except (InvalidSignature, ValueError):
            signed = False
        check = MirrorCheck(key_id=hashlib.sha256(key).hexdigest(), signed=signed)
        listed: dict[str, str] = document["files"]
        linked: set[str] = set()
        for name, digest in listed.items():
            content = read(name)
            check.checked += 1
            if content is None:
                check.removed.append(name)
                continue
            if hashlib.sha256(content).hexdigest() != digest:
                check.altered.append(name)
            if remote and name.endswith(".html"):
                folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
                for target in _LOCAL_LINK.findall(content):
                    linked.add(_normalised(folder + target.decode("utf-8", "replace")))
        if remote:
            check.added = sorted(n for n in linked if n and n not in listed and not n.endswith("/"))
        else:
            present = {n for n, _ in tree_files(Path(source), "")}
            check.added = sorted(present - set(listed) - {MANIFEST, SIGNATURE})
        return check
    finally:
        if client is not None:
            client.close()


def _normalised(path: str) -> str:
    """``a/b/../c.html`` as ``a/c.html``: where a relative link leads from the mirror's root."""
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)
