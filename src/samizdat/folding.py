"""One way to compare Chinese and Latin text however it is written: the fold.

Search and the keyword watchlist both compare text in folded form: NFKC (full-width and
half-width forms alike), case-folded, traditional characters mapped to simplified (OpenCC).
The fold works character by character, so each folded piece comes from one original
character: a match in folded text points back to the original text (for highlighting), and
a query folds exactly as the text it is compared with.
"""

from __future__ import annotations

import functools
import unicodedata

# Letters, marks and digits stay; punctuation, symbols, separators and controls go.
_KEPT_CATEGORIES = frozenset({"L", "M", "N"})


@functools.cache
def _to_simplified():
    import opencc

    return opencc.OpenCC("t2s")


@functools.cache
def fold_char(char: str) -> str:
    """
    >>> fold_char("習"), fold_char("Ａ"), fold_char("ß")
    ('习', 'a', 'ss')
    """
    return _to_simplified().convert(unicodedata.normalize("NFKC", char).casefold())


def fold(text: str) -> str:
    """
    >>> fold("北約峰會 NATO")
    '北约峰会 nato'
    """
    return "".join(map(fold_char, text))


def fold_letters(text: str) -> str:
    """The fold with only letters, marks and digits kept: the form in which spacing and
    punctuation no longer matter (``六 ４``, ``六-四``, ``六，四`` all compare as one).

    >>> fold_letters("六 ４ 事件"), fold_letters("習近平"), fold_letters("Tank-Man")
    ('六4事件', '习近平', 'tankman')
    """
    return "".join(c for c in fold(text) if unicodedata.category(c)[0] in _KEPT_CATEGORIES)


def fold_with_origins(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the original character."""
    pieces, origins = [], []
    for index, char in enumerate(text):
        piece = fold_char(char)
        pieces.append(piece)
        origins.extend([index] * len(piece))
    return "".join(pieces), origins
