"""What an article's page carries so that the reader's browser checks it itself
(``static/verify.js``), on the site and in the mirror, from ``file://`` too, with no request:
the article's log entries with their inclusion proofs, the signed checkpoint they are proved
under with the witnesses' cosignatures, the archive's key and the witnesses' keys — and the
title and text of the version shown, which the capture's entry hashes (``content_hash``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from samizdat.config import WitnessSettings
from samizdat.store import Store
from samizdat.store.log import LogEntry
from samizdat.store.views import VersionView


def page_proofs(
    store: Store, entries: Sequence[LogEntry], key: str | None, witnesses: WitnessSettings
) -> dict[str, Any] | None:
    """The proofs of an article's log ``entries`` under one checkpoint (the smallest cosigned
    by the quorum that holds them all, else the smallest that does: a page once rendered
    stays true as the log grows); None before they are under a checkpoint. ``key`` is the
    archive's public key in base64."""
    if not entries or key is None:
        return None
    head = store.covering_head(entries[-1].seq + 1, witnesses.names, witnesses.needed)
    if head is None or head.checkpoint is None:
        return None
    return {
        "key": key,
        "checkpoint": store.published_head(head)["checkpoint"],
        "witnesses": list(witnesses.keys),
        "quorum": witnesses.needed,
        "entries": [
            {
                "seq": entry.seq,
                "kind": entry.kind,
                "entry": entry.entry,
                "proof": [p.hex() for p in store.inclusion(entry.seq, head.size)],
            }
            for entry in entries
        ],
    }


def shown_version(chosen: VersionView | None) -> dict[str, Any] | None:
    """The version shown as its capture's entry hashed it."""
    if chosen is None:
        return None
    return {"version": chosen.id, "title": chosen.title or "", "text": chosen.text or ""}
