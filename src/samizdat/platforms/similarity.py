"""Shingle overlap between two texts, script-aware: every CJK character is one token.

This is the body-text score of ``shared/samples/README.md`` (4-token shingles, multiset
overlap). The generic extractor uses it to let its candidates vote; ``bench/`` scores with it.
"""

from __future__ import annotations

import re
from collections import Counter

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
SHINGLE = 4


def tokens(text: str) -> list[str]:
    """
    >>> tokens("北约 2023 Summit，峰会")
    ['北', '约', '2023', 'Summit', '峰', '会']
    """
    return TOKEN.findall(text)


def shingles(text: str) -> Counter[tuple[str, ...]]:
    words = tokens(text)
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(max(len(words) - SHINGLE + 1, 0)))


def precision_recall_f1(truth: str, output: str) -> tuple[float, float, float]:
    """
    >>> precision_recall_f1("一二三四五六", "一二三四五六")
    (1.0, 1.0, 1.0)
    >>> precision_recall_f1("一二三四五六", "")
    (0.0, 0.0, 0.0)
    """
    expected, got = shingles(truth), shingles(output)
    if not expected and not got:
        return 1.0, 1.0, 1.0
    overlap = sum((expected & got).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(expected.values()) if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def medoid(candidates: list[str]) -> str:
    """The candidate that agrees best with the others (highest summed F1): a robust vote.

    >>> medoid(["甲乙丙丁戊己庚", "甲乙丙丁戊己庚辛", "完全不同的一段文字"])
    '甲乙丙丁戊己庚'
    """
    present = [c for c in candidates if c.strip()]
    if len(present) <= 1:
        return present[0] if present else ""
    counted = [shingles(c) for c in present]

    def agreement(i: int) -> float:
        total = 0.0
        for j, other in enumerate(counted):
            if j != i:
                overlap = sum((counted[i] & other).values())
                size = sum(counted[i].values()) + sum(other.values())
                total += 2 * overlap / size if size else 0.0
        return total

    best = max(range(len(present)), key=agreement)
    return present[best]
