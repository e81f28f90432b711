"""Copies of one text across articles: MinHash fingerprints and their LSH bands (no SQL).

A repost is the same text under another account, usually with a header and a footer added,
a paragraph left out, punctuation retyped, sometimes in traditional characters. Texts are
compared in letters-only fold (:func:`samizdat.folding.fold_letters`: no spacing, no
punctuation, simplified characters), as sets of :data:`SHINGLE`-character shingles. Each
text gets a MinHash signature of :data:`PERMUTATIONS` values, whose share of equal
positions estimates the Jaccard similarity of two shingle sets. Signatures are cut into
:data:`BANDS` bands; texts with an equal band are candidates (locality-sensitive hashing),
and a candidate is a copy when most of the smaller text is in the larger
(:data:`MIN_CONTAINMENT`, estimated from the similarity and the two sets' sizes). Where the
signatures and bands are stored, and how copies join articles into clusters:
:mod:`samizdat.store.copies`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from samizdat.folding import fold_letters

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
