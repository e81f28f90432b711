"""Sealing the log: the waiting entries get their places in the Merkle tree, a tree head over
them is signed with the archive's key, and the time-stamping authorities of the settings stamp
it (``samizdat watch`` does it every few seconds; ``samizdat log seal`` by hand). Whatever
writes entries seals them before it ends (:func:`seal_archive`): a capture, a poll or an import
leaves no entry outside a signed head."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samizdat.config import Settings, TimestampSettings
from samizdat.evidence.checkpoints import Checkpoint, default_origin, sign_checkpoint
from samizdat.evidence.heads import TreeHead
from samizdat.evidence.keys import archive_key, sign_head
from samizdat.evidence.timestamps import TimestampError, check, stamp
from samizdat.pools import Pools
from samizdat.store import Store


def seal(store: Store, key: Ed25519PrivateKey, origin: str) -> TreeHead | None:
    """Sequence every waiting entry; sign a head, and its checkpoint under ``origin``, when the
    log grew (the new head, else None). A head an earlier release signed without a checkpoint
    gets one."""
    while store.sequence_log():
        pass
    size = store.log_size()
    latest = store.tree_head()
    if latest is not None and latest.size == size:
        if latest.checkpoint is None:
            store.set_checkpoint(size, sign_checkpoint(key, origin, latest.size, latest.root))
        return None
    if size == 0:
        return None
    root = store.log_root(size)
    head = replace(
        sign_head(key, size, root, datetime.now(UTC)), checkpoint=sign_checkpoint(key, origin, size, root)
    )
    store.add_tree_head(head)
    return head


def log_origin(store: Store, settings: Settings, key: Ed25519PrivateKey) -> str:
    """The origin the log's checkpoints name: the setting, else the one it has signed under so
    far (witnesses know the log by it), else one made from the site's address or the key."""
    if settings.witnesses.origin:
        return settings.witnesses.origin
    latest = store.tree_head()
    if latest is not None and latest.checkpoint is not None:
        return Checkpoint.parse(latest.checkpoint).origin
    return default_origin(settings.web.base_url, key)


def seal_archive(store: Store, settings: Settings) -> TreeHead | None:
    """Seal the log of the archive ``settings`` name with its own key (made at first use)."""
    key = archive_key(settings.data_dir)
    return seal(store, key, log_origin(store, settings, key))


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
