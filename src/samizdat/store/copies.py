"""Copies of one text across articles: MinHash fingerprints, LSH buckets, clusters.

A repost is the same text under another account, usually with a header and a footer added,
a paragraph left out, punctuation retyped, sometimes in traditional characters. Texts are
compared in letters-only fold (:func:`samizdat.folding.fold_letters`: no spacing, no
punctuation, simplified characters), as sets of :data:`SHINGLE`-character shingles. Each
stored version gets a MinHash signature of :data:`PERMUTATIONS` values, whose share of
equal positions estimates the Jaccard similarity of two shingle sets. Signatures are cut
into :data:`BANDS` bands; versions with an equal band are candidates (locality-sensitive
hashing: one indexed lookup for a batch of texts), and a candidate is a copy when most of the
smaller text is in the larger (:data:`MIN_CONTAINMENT`, estimated from the similarity and the
two sets' sizes). Articles joined by copies form a cluster, named by its oldest article's id.
Versions of one article are edits, never a cluster.

A capture computes its text's fingerprint in its own process; the writer finds the copies
with reads (:func:`plan_copies`) before its write transaction and stores them inside it
(:func:`store_copies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, delete, insert, or_, select, update

from samizdat.folding import fold_letters
from samizdat.store.schema import articles, copy_keys, copy_signatures, versions

SHINGLE = 5
PERMUTATIONS = 128
# 48 bands of 2 values (the first 96): a pair with Jaccard similarity J becomes a candidate
# with probability 1 - (1 - J^2)^48, 0.99 at J = 0.31 (a short article reposted without a long
# paragraph) and 0.02 at J = 0.02 (different articles sharing an account's footer).
BANDS = 48
ROWS = 2
# A copy: most of the smaller text is in the larger (reposts measured 0.77 and up, different
# articles 0.27 at most, bench/copies.py), and neither dwarfs the other (an account's footer
# alone is contained in all its articles).
MIN_CONTAINMENT = 0.6
MIN_SIMILARITY = 0.2
# Fewer shingles than this (a caption, a "read the original" stub) says too little to link.
MIN_SHINGLES = 30
# Shingles hashed per block: bounds the memory of one signature (block x PERMUTATIONS x 4 bytes).
_BLOCK = 4096

_PRIME = np.uint64(0x9E3779B97F4A7C15)
_generator = np.random.Generator(np.random.PCG64(20260528))
# The permutations: x -> (a*x + b) mod 2^32 with a odd, a bijection of the 32-bit shingle
# hashes (already well mixed). numpy's uint32 arithmetic wraps, and is vectorised where
# uint64 multiplication is not: 12 times faster.
_A = _generator.integers(1, 2**32, PERMUTATIONS, dtype=np.uint32) | np.uint32(1)
_B = _generator.integers(0, 2**32, PERMUTATIONS, dtype=np.uint32)
_BAND_WEIGHTS = _generator.integers(1, 2**63, ROWS, dtype=np.uint64) | np.uint64(1)


@dataclass(frozen=True)
class Fingerprint:
    signature: np.ndarray  # PERMUTATIONS uint32 minima
    shingles: int

    def similarity(self, other: Fingerprint) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        return float(np.count_nonzero(self.signature == other.signature)) / PERMUTATIONS

    def containment(self, other: Fingerprint) -> float:
        """Estimated share of the smaller shingle set that is in the larger."""
        return float(_containment(self.similarity(other), self.shingles, other.shingles))

    def is_copy_of(self, other: Fingerprint) -> bool:
        return bool(self.copies_among(other.signature[None, :], np.array([other.shingles]))[0])

    def copies_among(self, signatures: np.ndarray, shingles: np.ndarray) -> np.ndarray:
        """Which of the fingerprints (one signature per row, with their shingle counts) are copies."""
        similarity = np.count_nonzero(signatures == self.signature, axis=1) / PERMUTATIONS
        return (similarity >= MIN_SIMILARITY) & (
            _containment(similarity, self.shingles, shingles) >= MIN_CONTAINMENT
        )

    def band_keys(self) -> list[int]:
        """One signed 32-bit key per band (distinct): equal keys make two versions candidates."""
        rows = self.signature[: BANDS * ROWS].reshape(BANDS, ROWS).astype(np.uint64)
        mixed = _mix((rows * _BAND_WEIGHTS).sum(axis=1, dtype=np.uint64) + np.arange(BANDS, dtype=np.uint64))
        return sorted(set((mixed >> np.uint64(32)).astype(np.uint32).view(np.int32).tolist()))

    def to_bytes(self) -> bytes:
        return self.signature.astype("<u4").tobytes()


def fingerprint(text: str) -> Fingerprint | None:
    """The MinHash fingerprint of ``text``, or None when it is too short to compare.

    >>> a = fingerprint("北约峰会七月在维尔纽斯举行，各国领导人讨论了乌克兰问题、防务开支和瑞典入约。")
    >>> b = fingerprint("北約峰會七月在維爾紐斯舉行, 各國領導人討論了烏克蘭問題、防務開支和瑞典入約!")
    >>> a.similarity(b), fingerprint("北约峰会在维尔纽斯举行") is None
    (1.0, True)
    """
    hashes = shingle_hashes(fold_letters(text))
    if len(hashes) < MIN_SHINGLES:
        return None
    minima = np.full(PERMUTATIONS, np.iinfo(np.uint32).max, dtype=np.uint32)
    for start in range(0, len(hashes), _BLOCK):
        block = hashes[start : start + _BLOCK, None]
        np.minimum(minima, (block * _A + _B).min(axis=0), out=minima)
    return Fingerprint(minima, len(hashes))


def _containment(similarity, shingles, other_shingles):
    """The share of the smaller set in the larger, from the Jaccard similarity and the sizes."""
    shared = similarity * (np.add(shingles, other_shingles)) / (1 + similarity)
    return np.minimum(shared / np.minimum(shingles, other_shingles), 1.0)


def shingle_hashes(folded: str) -> np.ndarray:
    """The distinct 32-bit hashes of the text's ``SHINGLE``-character shingles."""
    if len(folded) < SHINGLE:
        return np.empty(0, dtype=np.uint32)
    points = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(points) - SHINGLE + 1
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE):
        combined = combined * _PRIME + points[offset : offset + count]
    return np.unique((_mix(combined) >> np.uint64(32)).astype(np.uint32))


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: spreads nearby inputs over all 64 bits."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


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
