"""Sealing the log: the waiting entries get their places in the Merkle tree, a tree head over
them is signed with the archive's key, and the time-stamping authorities of the settings stamp
it (``samizdat watch`` does it every few seconds; ``samizdat log seal`` by hand). Whatever
writes entries seals them before it ends (:func:`seal_archive`): a capture, a poll or an import
leaves no entry outside a signed head."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samizdat.config import Settings, TimestampSettings
from samizdat.evidence.heads import TreeHead
from samizdat.evidence.keys import archive_key, sign_head
from samizdat.evidence.timestamps import TimestampError, check, stamp
from samizdat.pools import Pools
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


def seal_archive(store: Store, settings: Settings) -> TreeHead | None:
    """Seal the log of the archive ``settings`` name with its own key (made at first use)."""
    return seal(store, archive_key(settings.data_dir))


async def stamp_head(store: Store, head: TreeHead, settings: TimestampSettings, pools: Pools) -> list[str]:
    """Have each authority of ``settings`` stamp ``head``; a token is kept once it checks out
    against ``settings.ca_file``. What went wrong, one line per authority that failed."""
    failures = []
    for authority in settings.authorities:
        try:
            token = await pools.outside.run(stamp, authority, head.message(), timeout=settings.timeout)
            stamped_at = await pools.outside.run(check, head.message(), token, Path(settings.ca_file))
        except TimestampError as exc:
            failures.append(f"{authority}: {exc}")
            continue
        await pools.store.run(store.add_head_timestamp, head.size, authority, token, stamped_at)
    return failures
