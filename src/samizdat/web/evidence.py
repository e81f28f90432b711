"""The log's public face: the archive's key, signed tree heads, entries with their inclusion
proofs and consistency proofs between heads — what the standalone ``verify_evidence.py``
(served here at ``/api/log/verifier.py``) checks."""

from __future__ import annotations

import asyncio
import binascii
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from samizdat.evidence.checkpoints import Checkpoint, note_signers
from samizdat.evidence.heads import entry_document, head_document
from samizdat.evidence.keys import key_document, published_key

router = APIRouter(prefix="/api/log", tags=["evidence"])
checkpoint_router = APIRouter(tags=["evidence"])
MAX_COSIGNED_NOTE = 64 * 1024
VERIFIER = Path(__file__).resolve().parent.parent / "evidence" / "verify_evidence.py"


@router.get("/verifier.py", response_class=PlainTextResponse)
async def verifier() -> str:
    """The standalone checker of heads and proofs (Python and the ``cryptography`` package, no
    samizdat), to download and run: ``python3 verifier.py key.json entry.json``."""
    return VERIFIER.read_text(encoding="utf-8")


@router.get("/key")
async def key(request: Request) -> dict[str, Any]:
    """The archive's public key (Ed25519, raw 32 bytes in base64), its id (SHA-256, hex), and the
    package key that signs its WACZ files (SPKI in base64) with the archive key's endorsement."""
    found = await asyncio.to_thread(published_key, request.app.state.settings.data_dir)
    if found is None:  # the site never makes the key, nor reads its private half
        raise HTTPException(
            404, "this archive has no key yet: the watcher makes it when it first seals the log"
        )
    return key_document(found, request.app.state.settings.data_dir)


@router.get("/head")
async def head(request: Request, size: int | None = None) -> dict[str, Any]:
    """The latest signed tree head (or the one signed at ``size`` entries)."""
    store = request.app.state.store
    found = await asyncio.to_thread(store.tree_head, size)
    if found is None:
        raise HTTPException(
            404, "no tree head has been signed yet" if size is None else f"no head of size {size}"
        )
    return await asyncio.to_thread(store.published_head, found)


@router.get("/entries/{seq}")
async def entry(request: Request, seq: int, size: int | None = None) -> dict[str, Any]:
    """Entry ``seq`` as it was hashed, with its inclusion proof in the tree of the latest
    signed head (or of the head signed at ``size``)."""
    store = request.app.state.store
    found = await asyncio.to_thread(store.log_entry, seq)
    signed = await asyncio.to_thread(store.tree_head, size)
    if found is None or signed is None or seq >= signed.size:
        raise HTTPException(404, f"entry {seq} is not under a signed tree head yet")
    proof = await asyncio.to_thread(store.inclusion, seq, signed.size)
    head_shown = await asyncio.to_thread(store.published_head, signed)
    return entry_document(found.seq, found.kind, found.entry, found.leaf, proof, head_shown)


@router.get("/consistency")
async def consistency(
    request: Request, first: int = Query(ge=1), second: int = Query(ge=1)
) -> dict[str, Any]:
    """The proof that the log's tree of ``first`` entries is a prefix of the signed head of
    ``second``: ``first`` is the signed head of that size when there is one, else the size
    and root alone (a witness holds its own copy of the head it cosigned)."""
    store = request.app.state.store
    newer = await asyncio.to_thread(store.tree_head, second)
    if newer is None or first > second:
        raise HTTPException(404, "the second size must be a signed head's, the first no larger")
    older = await asyncio.to_thread(store.tree_head, first)
    proof = await asyncio.to_thread(store.consistency, first, second)
    if older is not None:
        shown = head_document(older)
    else:
        shown = {"size": first, "root": (await asyncio.to_thread(store.log_root, first)).hex()}
    return {"first": shown, "second": head_document(newer), "proof": [p.hex() for p in proof]}


@checkpoint_router.get("/log/checkpoint", response_class=PlainTextResponse)
async def checkpoint(request: Request) -> str:
    """The latest tree head as a checkpoint (c2sp.org/tlog-checkpoint) signed by the archive
    key, with the cosignatures of the witnesses it has (c2sp.org/tlog-cosignature): what
    witnesses and transparency-log tools read."""
    store = request.app.state.store
    found = await asyncio.to_thread(store.tree_head)
    if found is None or found.checkpoint is None:
        raise HTTPException(
            404, "no checkpoint has been signed yet: the watcher signs one as it seals the log"
        )
    return (await asyncio.to_thread(store.published_head, found))["checkpoint"]


@router.post("/cosignatures")
async def cosignatures(request: Request) -> dict[str, Any]:
    """A witness gives back a checkpoint of this log with its cosignature: kept when the
    checkpoint is this log's, the witness is one of ``witnesses.keys`` and its signature holds."""
    body = await request.body()
    if len(body) > MAX_COSIGNED_NOTE:
        raise HTTPException(413, f"a cosigned checkpoint is at most {MAX_COSIGNED_NOTE} bytes")
    try:
        offered = Checkpoint.parse(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, binascii.Error) as exc:
        raise HTTPException(400, f"not a signed checkpoint note: {exc}") from exc
    store = request.app.state.store
    head = await asyncio.to_thread(store.tree_head, offered.size)
    if head is None or head.checkpoint is None or Checkpoint.parse(head.checkpoint).text != offered.text:
        raise HTTPException(409, f"this log signed no such checkpoint of {offered.size} entries")
    witnesses = request.app.state.settings.witnesses.keys
    signed = {name: at for name, at in note_signers(offered.note, witnesses).items() if at is not None}
    if not signed:
        raise HTTPException(
            403,
            "no cosignature of a witness this archive knows (its witnesses.keys) holds on this checkpoint",
        )
    lines = {line.split(" ")[1]: line for line in offered.signature_lines}
    for name, at in signed.items():
        cosigned_at = datetime.fromtimestamp(at, UTC)
        await asyncio.to_thread(store.add_cosignature, offered.size, name, lines[name], cosigned_at)
    return {"size": offered.size, "kept": sorted(signed)}
