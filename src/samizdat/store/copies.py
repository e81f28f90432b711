"""Copies of one text across articles, in the database: signatures, band keys, clusters.

The fingerprints and what makes a copy are :mod:`samizdat.relate.copies`. A version's
signature and its band keys are stored with it; versions with an equal band key are
candidates, looked up for a whole batch at once. Articles joined by copies form a cluster,
named by its oldest article's id. Versions of one article are edits, never a cluster.

A capture computes its text's fingerprint in its own process; the writer finds the copies
with reads (:func:`plan_copies`) before its write transaction and stores them inside it
(:func:`store_copies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, delete, insert, or_, select, update

from samizdat.relate.copies import PERMUTATIONS, Fingerprint, fingerprint
from samizdat.store.schema import articles, copy_keys, copy_signatures, versions


@dataclass(frozen=True)
class CopyPlan:
    """What storing one text's fingerprint will do, found by reads alone (see :func:`plan_copies`)."""

    fingerprint: Fingerprint
    keys: tuple[int, ...]  # its band keys
    copies_of: frozenset[int]  # articles already stored whose text this one copies
    earlier: tuple[int, ...]  # earlier texts of the same plan_copies call that it copies (indices)
    # Its signature is stored already (or comes earlier in the call): its band keys would add
    # nothing to the lookups but length (a text reposted a hundred times is looked up as one).
    duplicate: bool


def plan_copies(
    connection: Connection, texts: Sequence[tuple[str, Fingerprint | None]]
) -> list[CopyPlan | None]:
    """For each (text, its fingerprint when computed already): the copies among the stored
    versions and among the texts before it; None for a text too short to compare.

    Only reads: a writer plans before its write transaction and holds the database's write
    lock only to store the result (:func:`store_copies`).
    """
    found = [computed or fingerprint(text) for text, computed in texts]
    keys = [f.band_keys() if f is not None else [] for f in found]
    # Two plain lookups for the whole batch, each on a primary key.
    versions_by_key: dict[int, list[int]] = {}
    wanted = sorted({key for some in keys for key in some})
    for start in range(0, len(wanted), 900):
        for row in connection.execute(
            select(copy_keys.c.key, copy_keys.c.version_id).where(
                copy_keys.c.key.in_(wanted[start : start + 900])
            )
        ):
            versions_by_key.setdefault(row.key, []).append(row.version_id)
    stored = {}
    sharing = sorted({v for found_versions in versions_by_key.values() for v in found_versions})
    for start in range(0, len(sharing), 900):
        stored.update(
            (row.version_id, row)
            for row in connection.execute(
                select(
                    copy_signatures.c.version_id,
                    copy_signatures.c.article_id,
                    copy_signatures.c.signature,
                    copy_signatures.c.shingles,
                ).where(copy_signatures.c.version_id.in_(sharing[start : start + 900]))
            )
        )
    plans: list[CopyPlan | None] = []
    for this, these_keys in zip(found, keys, strict=True):
        if this is None:
            plans.append(None)
            continue
        candidates = [
            stored[v] for v in sorted({v for key in these_keys for v in versions_by_key.get(key, ())})
        ]
        before = [(i, plan.fingerprint) for i, plan in enumerate(plans) if plan is not None]
        signatures = np.frombuffer(
            b"".join(row.signature for row in candidates) + b"".join(f.to_bytes() for _, f in before),
            dtype="<u4",
        ).reshape(len(candidates) + len(before), PERMUTATIONS)
        shingles = np.array([row.shingles for row in candidates] + [f.shingles for _, f in before])
        copies = this.copies_among(signatures, shingles) if len(shingles) else np.zeros(0, dtype=bool)
        plans.append(
            CopyPlan(
                this,
                tuple(these_keys),
                frozenset(row.article_id for row, copy in zip(candidates, copies, strict=False) if copy),
                tuple(i for (i, _), copy in zip(before, copies[len(candidates) :], strict=True) if copy),
                bool((signatures == this.signature).all(axis=1).any()),
            )
        )
    return plans


@dataclass(frozen=True)
class NewVersion:
    version_id: int
    article_id: int
    plan: CopyPlan


def store_copies(
    connection: Connection, new_versions: Sequence[NewVersion], article_of: Sequence[int]
) -> None:
    """Store the planned fingerprints of new versions and join their articles' clusters;
    ``article_of`` gives the article of each text of the plan_copies call (for ``earlier``)."""
    if not new_versions:
        return
    connection.execute(
        insert(copy_signatures),
        [
            {
                "version_id": v.version_id,
                "article_id": v.article_id,
                "signature": v.plan.fingerprint.to_bytes(),
                "shingles": v.plan.fingerprint.shingles,
            }
            for v in new_versions
        ],
    )
    keys = [
        {"key": key, "version_id": v.version_id}
        for v in new_versions
        if not v.plan.duplicate
        for key in v.plan.keys
    ]
    if keys:
        connection.execute(insert(copy_keys), keys)
    groups: list[set[int]] = []
    for v in new_versions:
        # Versions of one article are its edits, never copies of each other.
        linked = (v.plan.copies_of | {article_of[i] for i in v.plan.earlier}) - {v.article_id}
        if not linked:
            continue
        group = {v.article_id, *linked}
        for overlapping in [g for g in groups if g & group]:
            group |= overlapping
            groups.remove(overlapping)
        groups.append(group)
    for group in groups:
        _join(connection, group)


def index_copies(connection: Connection, versions_and_texts: Sequence[tuple[int, int, str]]) -> None:
    """Fingerprint stored versions (version id, article id, text) one by one, each seeing
    those before it, and join the clusters (the migration rebuilds them this way)."""
    for version_id, article_id, text in versions_and_texts:
        (plan,) = plan_copies(connection, [(text, None)])
        if plan is not None:
            store_copies(connection, [NewVersion(version_id, article_id, plan)], [article_id])


def _join(connection: Connection, article_ids: set[int]) -> None:
    """Put these articles and everything already clustered with them into one cluster."""
    clusters = {
        cluster
        for cluster in connection.scalars(
            select(articles.c.cluster_id).where(
                articles.c.id.in_(article_ids), articles.c.cluster_id.is_not(None)
            )
        )
    }
    target = min(clusters | article_ids)
    members = articles.c.id.in_(article_ids)
    if clusters:
        members = or_(members, articles.c.cluster_id.in_(clusters))
    # A copy joining the cluster it is already in (a large one, re-captured) changes no row.
    stale = or_(articles.c.cluster_id.is_(None), articles.c.cluster_id != target)
    connection.execute(update(articles).where(members, stale).values(cluster_id=target))


def reindex_copies(connection: Connection) -> None:
    """Fingerprint every stored version again, oldest first, and rebuild the clusters."""
    connection.execute(delete(copy_keys))
    connection.execute(delete(copy_signatures))
    connection.execute(update(articles).values(cluster_id=None))
    last_id = 0
    while True:
        page = connection.execute(
            select(versions.c.id, versions.c.article_id, versions.c.text)
            .where(versions.c.id > last_id)
            .order_by(versions.c.id)
            .limit(500)
        ).all()
        if not page:
            return
        index_copies(connection, [(row.id, row.article_id, row.text) for row in page])
        last_id = page[-1].id
