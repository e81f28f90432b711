"""An append-only Merkle tree as Certificate Transparency keeps one (RFC 9162, section 2.1).

Leaves are hashed as ``SHA-256(0x00 || entry)``, inner nodes as ``SHA-256(0x01 || left ||
right)``; the tree of ``n`` leaves splits at the largest power of two below ``n``. Proofs are
computed through a :class:`Subtrees` accessor (the store keeps every complete subtree) and
checked by the verification algorithms of RFC 9162 (2.1.3.2 and 2.1.4.2), which need nothing
but hashes: ``verify_evidence.py`` beside this module (served at ``/api/log/verifier.py``)
carries a copy of them that imports nothing of ours, so that anyone can run it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
Subtrees = Callable[[int, int], bytes]  # (start, end) -> the hash of the leaves [start, end)


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


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


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162, 2.1.3.2: whether ``leaf`` (a leaf hash) is entry ``index`` of the tree ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162, 2.1.4.2: whether the tree ``first_root`` of ``first`` leaves is a prefix of the
    tree ``second_root`` of ``second`` leaves."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a subtree of the second
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
