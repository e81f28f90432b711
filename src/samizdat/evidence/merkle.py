"""An append-only Merkle tree as Certificate Transparency keeps one (RFC 9162, section 2.1).

Leaves are hashed as ``SHA-256(0x00 || entry)``, inner nodes as ``SHA-256(0x01 || left ||
right)``; the tree of ``n`` leaves splits at the largest power of two below ``n``. Proofs are
computed through a :class:`Subtrees` accessor (the store keeps every complete subtree) and
checked by the verification algorithms of RFC 9162 (2.1.3.2 and 2.1.4.2), which need nothing
but hashes: they live in ``verify_evidence.py`` beside this module (served at
``/api/log/verifier.py``), which imports nothing of ours, so that anyone can run it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

# The hashing and the checks are the standalone checker's own, so that what anyone runs is
# what the archive is tested with.
from samizdat.evidence.verify_evidence import leaf_hash, node_hash, verify_consistency, verify_inclusion

__all__ = [
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_of",
    "split",
    "subtree_from_complete",
    "verify_consistency",
    "verify_inclusion",
]

Subtrees = Callable[[int, int], bytes]  # (start, end) -> the hash of the leaves [start, end)


def split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1).

    >>> split(2), split(5), split(8), split(9)
    (1, 4, 4, 8)
    """
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """The tree hash of these leaf hashes (the empty tree's is the hash of nothing)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def subtree_from_complete(complete: Callable[[int, int], bytes]) -> Subtrees:
    """A :data:`Subtrees` accessor over ``complete(level, position)``: the hash of the complete
    subtree of ``2**level`` leaves starting at leaf ``position * 2**level``."""

    def subtree(start: int, end: int) -> bytes:
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            return complete(size.bit_length() - 1, start // size)
        k = split(size)
        return node_hash(subtree(start, start + k), subtree(start + k, end))

    return subtree


def inclusion_proof(index: int, size: int, subtree: Subtrees) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162, PATH)."""

    def path(m: int, start: int, end: int) -> list[bytes]:
        if end - start == 1:
            return []
        k = split(end - start)
        if m < k:
            return [*path(m, start, start + k), subtree(start + k, end)]
        return [*path(m - k, start + k, end), subtree(start, start + k)]

    if not 0 <= index < size:
        raise ValueError(f"entry {index} is not in a tree of {size}")
    return path(index, 0, size)


def consistency_proof(first: int, second: int, subtree: Subtrees) -> list[bytes]:
    """What shows the tree of ``first`` leaves is a prefix of the one of ``second`` (RFC 9162, PROOF)."""

    def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [subtree(start, end)]
        k = split(n)
        if m <= k:
            return [*subproof(m, start, start + k, whole), subtree(start + k, end)]
        return [*subproof(m - k, start + k, end, False), subtree(start, start + k)]

    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from a tree of {first} to one of {second}")
    return subproof(first, 0, second, True)
