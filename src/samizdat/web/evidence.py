"""The log's public face: the archive's key, signed tree heads, entries with their inclusion
proofs and consistency proofs between heads — what the standalone ``verify_evidence.py``
(served here at ``/api/log/verifier.py``) checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from samizdat.evidence.heads import entry_document, head_document
from samizdat.evidence.keys import key_document, published_key

router = APIRouter(prefix="/api/log", tags=["evidence"])
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
    return head_document(found, await asyncio.to_thread(store.head_timestamps, found.size))


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
    stamps = await asyncio.to_thread(store.head_timestamps, signed.size)
    return entry_document(
        found.seq, found.kind, found.entry, found.leaf, proof, head_document(signed, stamps)
    )


@router.get("/consistency")
async def consistency(
    request: Request, first: int = Query(ge=1), second: int = Query(ge=1)
) -> dict[str, Any]:
    """The proof that the signed head of ``first`` entries is a prefix of the one of ``second``."""
    store = request.app.state.store
    heads = [await asyncio.to_thread(store.tree_head, size) for size in (first, second)]
    if None in heads or first > second:
        raise HTTPException(404, "both sizes must be of signed heads, the first no larger")
    proof = await asyncio.to_thread(store.consistency, first, second)
    return {
        "first": head_document(heads[0]),
        "second": head_document(heads[1]),
        "proof": [p.hex() for p in proof],
    }
