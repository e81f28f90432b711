"""The tamper-evident log in the database: entries written with the rows they assert, put in
order by one sequencer, the Merkle tree's complete subtrees, and the signed tree heads.

An entry is canonical JSON (sorted keys, no spaces, UTF-8): what was asserted and the WARC
record it rests on (file, offset, length, digest, record id). It is written in the same
transaction as the rows it asserts, without a place in the tree; :meth:`sequence_log` gives the
waiting entries their places, in the order they were written, and stores the new complete
subtrees. Proofs are computed from those subtrees (``evidence/merkle.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from samizdat.archive import ArchiveRef
from samizdat.evidence.heads import TreeHead, head_document
from samizdat.evidence.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    subtree_from_complete,
)
from samizdat.store.schema import cosignatures, head_timestamps, log_entries, log_nodes, tree_heads

SEQUENCE_BATCH = 10_000
_SEQUENCER_LOCK = 0x53414D4C  # PostgreSQL advisory lock: one sequencer at a time


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def ref_payload(ref: ArchiveRef | None) -> dict[str, Any] | None:
    return None if ref is None else dataclasses.asdict(ref)


def add_log_entries(
    connection: Connection, entries: Sequence[tuple[str, int | None, dict[str, Any]]]
) -> None:
    """Write ``(kind, article_id, payload)`` entries inside the caller's transaction."""
    if entries:
        now = datetime.now(UTC)
        connection.execute(
            insert(log_entries),
            [
                {
                    "kind": kind,
                    "article_id": article_id,
                    "entry": canonical({"kind": kind, **payload}),
                    "created_at": now,
                }
                for kind, article_id, payload in entries
            ],
        )


def check_payload(
    article_id: int, checked_at: datetime, outcome: str, http_status: int | None, evidence: ArchiveRef | None
) -> dict[str, Any]:
    """A check that kept the page it saw (a removal notice is the removal's evidence)."""
    return {
        "article": article_id,
        "checked_at": checked_at.astimezone(UTC).isoformat(),
        "outcome": outcome,
        "http_status": http_status,
        "record": ref_payload(evidence),
    }


@dataclass(frozen=True)
class LogEntry:
    seq: int
    kind: str
    article_id: int | None
    entry: str  # the canonical JSON that was hashed

    @property
    def leaf(self) -> bytes:
        return leaf_hash(self.entry.encode("utf-8"))


class LogQueries:
    engine: Engine

    def sequence_log(self, limit: int = SEQUENCE_BATCH) -> int:
        """Give up to ``limit`` waiting entries their places; how many were placed."""
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEQUENCER_LOCK})
            size = _size(connection)
            waiting = connection.execute(
                select(log_entries.c.id, log_entries.c.entry)
                .where(log_entries.c.seq.is_(None))
                .order_by(log_entries.c.id)
                .limit(limit)
            ).all()
            if not waiting:
                return 0
            connection.execute(
                update(log_entries)
                .where(log_entries.c.id == bindparam("entry_id"))
                .values(seq=bindparam("place")),
                [{"entry_id": row.id, "place": size + i} for i, row in enumerate(waiting)],
            )
            made: dict[tuple[int, int], bytes] = {}

            def node(level: int, position: int) -> bytes:
                if (level, position) not in made:
                    made[(level, position)] = _node(connection, level, position)
                return made[(level, position)]

            fresh: dict[tuple[int, int], bytes] = {}
            for i, row in enumerate(waiting):
                level, position = 0, size + i
                made[(0, position)] = fresh[(0, position)] = leaf_hash(row.entry.encode("utf-8"))
                while position % 2 == 1:  # a right child completes its parent
                    parent = node_hash(node(level, position - 1), node(level, position))
                    level, position = level + 1, position // 2
                    made[(level, position)] = fresh[(level, position)] = parent
            connection.execute(
                insert(log_nodes),
                [{"level": lv, "position": pos, "hash": digest} for (lv, pos), digest in fresh.items()],
            )
            return len(waiting)

    def log_size(self) -> int:
        with self.engine.connect() as connection:
            return _size(connection)

    def log_root(self, size: int) -> bytes:
        with self.engine.connect() as connection:
            return _subtrees(connection)(0, size) if size else root_of([])

    def log_roots(self, sizes: Sequence[int]) -> dict[int, bytes | LookupError]:
        """The root at each of ``sizes``, the complete subtrees they share read once (a
        missing one is given as the error)."""
        found: dict[int, bytes | LookupError] = {}
        with self.engine.connect() as connection:
            subtree = _subtrees(connection)
            for size in sizes:
                try:
                    found[size] = subtree(0, size) if size else root_of([])
                except LookupError as exc:
                    found[size] = exc
        return found

    def log_entry(self, seq: int) -> LogEntry | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(log_entries).where(log_entries.c.seq == seq)).first()
        return None if row is None else LogEntry(row.seq, row.kind, row.article_id, row.entry)

    def log_entries_of(self, article_id: int) -> list[LogEntry]:
        """The article's entries under the latest signed tree head (those a proof can be given for)."""
        signed = select(func.max(tree_heads.c.size)).scalar_subquery()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(log_entries)
                .where(log_entries.c.article_id == article_id, log_entries.c.seq < signed)
                .order_by(log_entries.c.seq)
            ).all()
        return [LogEntry(row.seq, row.kind, row.article_id, row.entry) for row in rows]

    def iter_log(self) -> Iterator[tuple[LogEntry, bytes | None]]:
        """Every sequenced entry with the leaf hash the tree holds for it."""
        with self.engine.connect() as connection:
            rows = connection.execution_options(yield_per=2000).execute(
                select(log_entries, log_nodes.c.hash)
                .outerjoin(log_nodes, (log_nodes.c.level == 0) & (log_nodes.c.position == log_entries.c.seq))
                .where(log_entries.c.seq.is_not(None))
                .order_by(log_entries.c.seq)
            )
            for row in rows:
                yield LogEntry(row.seq, row.kind, row.article_id, row.entry), row.hash

    def inclusion(self, seq: int, size: int) -> list[bytes]:
        with self.engine.connect() as connection:
            return inclusion_proof(seq, size, _subtrees(connection))

    def consistency(self, first: int, second: int) -> list[bytes]:
        with self.engine.connect() as connection:
            return consistency_proof(first, second, _subtrees(connection))

    def add_tree_head(self, head: TreeHead) -> None:
        """Keep ``head``, unless a head of its size is kept already (another process sealing at
        the same moment signed the same tree: either head serves)."""
        with contextlib.suppress(IntegrityError), self.engine.begin() as connection:
            connection.execute(
                insert(tree_heads).values(
                    size=head.size,
                    root=head.root,
                    signed_at=head.signed_at,
                    key_id=head.key_id,
                    signature=head.signature,
                    checkpoint=head.checkpoint,
                )
            )

    def set_checkpoint(self, size: int, note: str) -> None:
        """Give the head of ``size`` entries its checkpoint (one signed before checkpoints were)."""
        with self.engine.begin() as connection:
            connection.execute(update(tree_heads).where(tree_heads.c.size == size).values(checkpoint=note))

    def add_cosignature(self, size: int, witness: str, line: str, cosigned_at: datetime) -> None:
        """Keep ``witness``'s cosignature of the head of ``size`` entries (a later one replaces
        an earlier one of the same witness)."""
        with self.engine.begin() as connection:
            connection.execute(
                cosignatures.delete().where(cosignatures.c.size == size, cosignatures.c.witness == witness)
            )
            connection.execute(
                insert(cosignatures).values(size=size, witness=witness, line=line, cosigned_at=cosigned_at)
            )

    def cosignatures(self, size: int) -> list[str]:
        """The witnesses' cosignature lines of the head of ``size`` entries, by witness."""
        with self.engine.connect() as connection:
            return list(
                connection.scalars(
                    select(cosignatures.c.line)
                    .where(cosignatures.c.size == size)
                    .order_by(cosignatures.c.witness)
                )
            )

    def tree_head(self, size: int | None = None) -> TreeHead | None:
        """The head signed at ``size`` entries (None: the latest)."""
        query = select(tree_heads)
        query = (
            query.where(tree_heads.c.size == size)
            if size is not None
            else query.order_by(tree_heads.c.size.desc())
        )
        with self.engine.connect() as connection:
            row = connection.execute(query.limit(1)).first()
        return None if row is None else _head(row)

    def add_head_timestamp(self, size: int, authority: str, token: bytes, stamped_at: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(head_timestamps).values(
                    size=size, authority=authority, token=token, stamped_at=stamped_at
                )
            )

    def head_timestamps(self, size: int) -> list[tuple[str, bytes, datetime]]:
        """(authority, token, time it gives) for each stamp of the head of ``size`` entries."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(head_timestamps)
                .where(head_timestamps.c.size == size)
                .order_by(head_timestamps.c.authority)
            ).all()
        return [(row.authority, row.token, row.stamped_at) for row in rows]

    def covering_head(self, size: int, witnesses: Sequence[str], quorum: int) -> TreeHead | None:
        """The smallest signed head of at least ``size`` entries that ``quorum`` of the
        ``witnesses`` (key names) cosigned, else the smallest of at least ``size`` entries: the
        head an entry's proof is given under once and for all (a later head would change the
        proof each time the log grows)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(tree_heads)
                .where(tree_heads.c.size >= size, _cosigned(witnesses) >= quorum)
                .order_by(tree_heads.c.size)
                .limit(1)
            ).first()
            if row is None:
                row = connection.execute(
                    select(tree_heads).where(tree_heads.c.size >= size).order_by(tree_heads.c.size).limit(1)
                ).first()
        return None if row is None else _head(row)

    def witnessed_size(self, witnesses: Sequence[str], quorum: int) -> int:
        """The size of the largest head ``quorum`` of the ``witnesses`` cosigned (0: none)."""
        with self.engine.connect() as connection:
            found = connection.scalar(
                select(func.max(tree_heads.c.size)).where(_cosigned(witnesses) >= quorum)
            )
        return found or 0

    def published_head(self, head: TreeHead) -> dict[str, Any]:
        """``head`` as published: with its time stamps, and its checkpoint with the witnesses'
        cosignatures."""
        return head_document(head, self.head_timestamps(head.size), self.cosignatures(head.size))

    def tree_heads(self) -> list[TreeHead]:
        with self.engine.connect() as connection:
            return [_head(row) for row in connection.execute(select(tree_heads).order_by(tree_heads.c.size))]


def _size(connection: Connection) -> int:
    return connection.scalar(select(func.coalesce(func.max(log_entries.c.seq) + 1, 0)))


def _node(connection: Connection, level: int, position: int) -> bytes:
    found = connection.scalar(
        select(log_nodes.c.hash).where(log_nodes.c.level == level, log_nodes.c.position == position)
    )
    if found is None:
        raise LookupError(f"the log has no complete subtree at level {level}, position {position}")
    return found


def _subtrees(connection: Connection):
    cache: dict[tuple[int, int], bytes] = {}

    def complete(level: int, position: int) -> bytes:
        if (level, position) not in cache:
            cache[(level, position)] = _node(connection, level, position)
        return cache[(level, position)]

    return subtree_from_complete(complete)


def _cosigned(witnesses: Sequence[str]):
    """How many of ``witnesses`` cosigned the head of the row at hand (a correlated count)."""
    return (
        select(func.count())
        .where(cosignatures.c.size == tree_heads.c.size, cosignatures.c.witness.in_(list(witnesses)))
        .scalar_subquery()
    )


def _head(row) -> TreeHead:
    return TreeHead(row.size, row.root, row.signed_at, row.key_id, row.signature, row.checkpoint)
