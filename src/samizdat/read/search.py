"""Queries over the search index (its format: :mod:`samizdat.store.search`): a query parsed
into the FTS5 expression that narrows the candidates, and the articles that contain it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Float, Integer, Text, bindparam, func, literal, or_, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from samizdat.folding import fold
from samizdat.store.schema import search_docs
from samizdat.store.search import (
    COLUMNS,
    FTS_TABLE,
    PROTECTED,
    RUN,
    WEIGHTS,
    held_as_token,
    index_tokens,
    is_sqlite,
    required_tokens,
)


@dataclass(frozen=True)
class ParsedQuery:
    folded: str  # what a matching text contains, folded
    match: str | None  # the FTS5 expression narrowing the candidates; None: scan
    exact: bool  # the FTS5 expression alone gives exactly the matches


def parse_query(query: str) -> ParsedQuery | None:
    """
    >>> parse_query("北約")
    ParsedQuery(folded='北约', match='"北约"', exact=True)
    >>> parse_query("峰 NATO")
    ParsedQuery(folded='峰 nato', match='"峰 na at to"', exact=False)
    >>> parse_query("约，峰").exact
    True
    """
    folded = fold(query.strip())
    if not folded:
        return None
    runs = RUN.findall(folded.translate(PROTECTED))
    if len(runs) == 1:
        return ParsedQuery(folded, _phrase(runs[0]), exact=runs[0] == folded.translate(PROTECTED))
    # Runs separated by spaces follow one another in the index: each but the last ends its run
    # (its bigrams, then its last character alone), the last begins one (its bigrams). One
    # phrase of all of them narrows to the texts with these runs side by side; the
    # verification then checks the spaces themselves.
    tokens = [token for run in runs[:-1] for token in index_tokens(run).split()]
    tokens += index_tokens(runs[-1]).split()[:-1]
    return ParsedQuery(folded, '"' + " ".join(tokens) + '"', exact=False)


def _phrase(run: str) -> str:
    """One run as FTS5 sees it: the phrase of its bigrams, or a prefix for a single character."""
    if len(run) == 1:
        return f'"{run}"*'
    return '"' + index_tokens(run).rsplit(" ", 1)[0] + '"'


def matches(connection: Connection, parsed: ParsedQuery, *, ranked: bool = True):
    """A subquery of (article_id, rank) for the articles that contain the query; lower rank is better.

    Unranked, every rank is 0 and nothing is scored: counting and newest-first listing of a
    common word stay cheap however many articles contain it.
    """
    verify = or_(*(_contains(connection, search_docs.c[c], parsed.folded) for c in COLUMNS))
    if is_sqlite(connection) and parsed.match is not None:
        weights = ", ".join(str(w) for w in WEIGHTS)
        rank = f"bm25({FTS_TABLE}, {weights})" if ranked else "0.0"
        hits = (
            text(
                f"SELECT rowid AS article_id, {rank} AS rank FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :match"
            )
            .bindparams(match=parsed.match)
            .columns(article_id=Integer, rank=Float)
            .subquery("hits")
        )
        if parsed.exact:
            return hits
        return (
            select(hits.c.article_id, hits.c.rank)
            .join(search_docs, search_docs.c.article_id == hits.c.article_id)
            .where(verify)
            .subquery("verified")
        )
    # PostgreSQL: candidates from the GIN index of the tokens (migration 0025); a title hit ranks
    # first; what the tokens cannot tell exactly is verified against the folded text.
    in_title = _contains(connection, search_docs.c.title, parsed.folded)
    rank = (-in_title.cast(Integer)).cast(Float) if ranked else literal(0.0, Float)
    query = select(search_docs.c.article_id, rank.label("rank"))
    if required := required_tokens(parsed.folded):
        wanted = bindparam(None, required, type_=postgresql.ARRAY(Text))
        query = query.where(func.search_grams(search_docs.c.tokens).op("@>")(wanted))
    if not held_as_token(parsed.folded):
        query = query.where(verify)
    return query.subquery("scanned")


def plan_from_the_index(connection: Connection) -> None:
    """Keep this transaction's searches on the token index (PostgreSQL; SQLite needs nothing).

    Counting the first 10,001 matches of a common word, the planner prefers a scan of the
    table that stops early, because it charges a bitmap scan for re-testing every row it
    fetches, which an exact bitmap never does; and the cost that makes testing a row
    expensive (migration 0025) would also start the JIT compiler for every search. A bitmap
    that outgrows ``work_mem`` turns lossy and then every row of its pages is tested: 4 MB
    held the matches of a common character up to about 200,000 articles, 64 MB about a
    million."""
    if not is_sqlite(connection):
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        connection.exec_driver_sql("SET LOCAL jit = off")
        connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")


def newest(connection: Connection, query, found, *, before: int | None, wanted: int, matched: int) -> list:
    """Up to ``wanted`` rows of ``query`` (a select joined to ``found``, a :func:`matches`
    subquery), newest first, below the article ``before``.

    FTS5 walks its doclists by rowid backwards and stops after the page. PostgreSQL's GIN index
    returns matches in no order, so the page is read from windows of ids, the newest first,
    each wide enough to hold the page at the share of articles that match (``matched``; a
    capped count only makes the first window wider) and four times wider after one that
    falls short: a few hundred rows are read for a word in every article, not all of them.
    """
    if before is not None:
        query = query.where(found.c.article_id < before)
    query = query.order_by(found.c.article_id.desc())
    if is_sqlite(connection):
        return connection.execute(query.limit(wanted)).all()
    last = connection.scalar(select(func.max(search_docs.c.article_id))) or 0
    top = min(before, last + 1) if before is not None else last + 1
    window = math.ceil(2 * wanted * last / max(matched, 1))
    rows: list = []
    while top > 0 and len(rows) < wanted:
        low = max(0, top - window)
        window_rows = query.where(found.c.article_id >= low, found.c.article_id < top)
        rows += connection.execute(window_rows.limit(wanted - len(rows))).all()
        top, window = low, window * 4
    return rows


def _contains(connection: Connection, column, needle: str):
    if is_sqlite(connection):
        return func.instr(column, bindparam(None, needle)) > 0
    return func.strpos(column, bindparam(None, needle)) > 0
