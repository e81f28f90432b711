"""The Merkle log's hashing and proofs (RFC 9162), against a tree built the plain way."""

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from samizdat.evidence.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    subtree_from_complete,
    verify_consistency,
    verify_inclusion,
)


def tree(size: int):
    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(size)]

    def complete(level: int, position: int) -> bytes:
        width = 1 << level
        return root_of(leaves[position * width : (position + 1) * width])

    return leaves, subtree_from_complete(complete)


def test_the_hashes_are_rfc_9162_s():
    # RFC 9162's leaf and node prefixes; the empty tree's root is the hash of the empty string.
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert root_of([]) == hashlib.sha256(b"").digest()
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert root_of([a, b, c]) == node_hash(node_hash(a, b), c)


@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_every_entry_s_inclusion_proof_verifies_and_no_other_leaf_s_does(case):
    size, index = case
    leaves, subtree = tree(size)
    root = root_of(leaves)
    assert subtree(0, size) == root
    proof = inclusion_proof(index, size, subtree)
    assert verify_inclusion(index, size, leaves[index], proof, root)
    assert not verify_inclusion(index, size, leaf_hash(b"forged"), proof, root)
    if size > 1:
        assert not verify_inclusion((index + 1) % size, size, leaves[index], proof, root)
        assert not verify_inclusion(index, size, leaves[index], proof[:-1], root)


@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_every_older_tree_is_proved_a_prefix_of_a_newer_one_and_a_fork_is_not(case):
    first, second = case
    leaves, subtree = tree(second)
    old, new = root_of(leaves[:first]), root_of(leaves)
    proof = consistency_proof(first, second, subtree)
    assert verify_consistency(first, second, old, new, proof)
    forked = root_of([*leaves[: first - 1], leaf_hash(b"rewritten")])
    assert not verify_consistency(first, second, forked, new, proof)
    if first < second:
        assert not verify_consistency(first, second, old, root_of([*leaves[:-1], leaf_hash(b"x")]), proof)
