"""Sealing the log: the waiting entries get their places in the Merkle tree, and a tree head
over them is signed with the archive's key (``samizdat watch`` does it every few seconds;
``samizdat log seal`` by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samizdat.evidence.heads import TreeHead
from samizdat.evidence.keys import sign_head
from samizdat.store import Store


def seal(store: Store, key: Ed25519PrivateKey) -> TreeHead | None:
    """Sequence every waiting entry; sign a head when the log grew (the new head, else None)."""
    while store.sequence_log():
        pass
    size = store.log_size()
    latest = store.tree_head()
    if size == 0 or (latest is not None and latest.size == size):
        return None
    head = sign_head(key, size, store.log_root(size), datetime.now(UTC))
    store.add_tree_head(head)
    return head
