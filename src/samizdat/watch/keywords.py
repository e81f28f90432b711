"""The keyword watchlist: which listed terms an article contains, however it writes them.

A term matches the simplified and the traditional form (OpenCC), full-width and half-width
forms (NFKC), any case, and the evasions that put spaces or symbols between characters
(``习 近 平``, ``六-四``): text and terms are compared with all of these folded away.
"""

from __future__ import annotations

from collections.abc import Iterable

from samizdat.folding import fold_letters as fold


class Watchlist:
    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = _folded(t.strip() for t in terms)

    def matches(self, *texts: str | None, extra: Iterable[str] = ()) -> tuple[str, ...]:
        """The terms (this list's and ``extra``) found in ``texts``, in the order they were listed."""
        terms = {**self.terms, **_folded(extra)}
        if not terms:
            return ()
        folded = fold(" ".join(t for t in texts if t))
        return tuple(term for term, form in terms.items() if form in folded)


def _folded(terms: Iterable[str]) -> dict[str, str]:
    """Each term and its folded form, leaving out terms that fold to nothing."""
    return {term: form for term in dict.fromkeys(terms) if (form := fold(term))}
