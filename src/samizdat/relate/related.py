"""Related posts: an article as a TF-IDF vector over its words (no SQL).

An article is a TF-IDF vector over its words (jieba, in folded form: simplified, case-folded;
words of two or more letters or digits), its title's words counted :data:`TITLE_WEIGHT`
times, term frequencies dampened (1 + log tf), and each word weighted by the inverse
document frequency jieba ships (computed on a large general Chinese corpus, with its median
for words it does not know, names mostly): an article's vector never changes when others
arrive, so each is computed once per version. The :data:`VECTOR_TERMS` heaviest words are
kept; cosine similarity compares two vectors. How the nearest are found and kept:
:mod:`samizdat.store.related`.
"""

from __future__ import annotations

import functools
import heapq
import logging
import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samizdat.folding import fold, fold_letters

TITLE_WEIGHT = 3
VECTOR_TERMS = 200


def vector(title: str | None, text: str | None) -> dict[str, float]:
    """The article's unit-length TF-IDF vector over its heaviest words.

    >>> v = vector("北约峰会在维尔纽斯举行", "北约峰会讨论乌克兰。峰会在维尔纽斯。")
    >>> max(v, key=v.get), round(sum(w * w for w in v.values()), 3)
    ('维尔纽斯', 1.0)
    """
    counts = Counter(words(text or ""))
    for word in words(title or ""):
        counts[word] += TITLE_WEIGHT
    idf, unknown = _idf()
    weights = {word: (1 + math.log(n)) * idf.get(word, unknown) for word, n in counts.items()}
    heaviest = heapq.nlargest(VECTOR_TERMS, weights.items(), key=lambda item: item[1])
    norm = math.sqrt(sum(w * w for _, w in heaviest)) or 1.0
    return {word: round(w / norm, 5) for word, w in heaviest}


@dataclass(frozen=True)
class Packed:
    """A vector as stored: its words' 32-bit hashes (sorted) and their weights."""

    hashes: np.ndarray  # int32
    weights: np.ndarray  # float32

    @classmethod
    def of(cls, found: dict[str, float]) -> Packed:
        hashed = sorted((word_hash(word), weight) for word, weight in found.items())
        return cls(
            np.array([h for h, _ in hashed], dtype="<i4"), np.array([w for _, w in hashed], dtype="<f4")
        )

    def to_bytes(self) -> bytes:
        return self.hashes.tobytes() + self.weights.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Packed:
        half = len(data) // 2
        return cls(np.frombuffer(data[:half], dtype="<i4"), np.frombuffer(data[half:], dtype="<f4"))

    def cosines(self, others: Sequence[Packed]) -> np.ndarray:
        """The cosine similarity of this vector with each of ``others``, all at once."""
        if not others or not len(self.hashes):
            return np.zeros(len(others))
        hashes = np.concatenate([o.hashes for o in others])
        weights = np.concatenate([o.weights for o in others]).astype(np.float64)
        owners = np.repeat(np.arange(len(others)), [len(o.hashes) for o in others])
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        shared = self.hashes[at] == hashes
        products = weights[shared] * self.weights[at[shared]]
        return np.bincount(owners[shared], weights=products, minlength=len(others))


def words(text: str) -> list[str]:
    """The words an article is compared by: jieba words of the folded text, two or more letters or digits."""
    return [w for w in _cut(fold(text)) if len(w) >= 2 and not w.isdigit() and fold_letters(w) == w]


def word_hash(word: str) -> int:
    """A word's signed 32-bit hash (CRC-32): stored vectors and the index hold words as these."""
    return zlib.crc32(word.encode("utf-8")) - 2**31


def _cut(text: str) -> list[str]:
    return list(_jieba().cut(text))


@functools.cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


@functools.cache
def _idf() -> tuple[dict[str, float], float]:
    """jieba's word IDF table (``jieba/analyse/idf.txt``) and its median, for unknown words."""
    path = Path(_jieba().__file__).parent / "analyse" / "idf.txt"
    table = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, value = line.strip().partition(" ")
            if value:
                table[word] = float(value)
    ordered = sorted(table.values())
    return table, ordered[len(ordered) // 2]
