"""Exact Chinese-aware search over each article's latest version.

A query of any length returns exactly the articles whose title, account, author or text
contain it (after folding: :mod:`samizdat.folding`, so 北約 finds 北约). Chinese has no spaces
and SQLite's trigram tokenizer cannot match two-character words, so the index holds
character bigrams, as Lucene's CJK analyzer does: every run of characters between spaces
(punctuation included: Chinese text runs on through its commas) is indexed as the bigrams
starting at each of its characters, and the run's last character alone. Then

- a query run of two or more characters is the phrase of its bigrams (consecutive positions
  in one run: exactly the texts that contain it);
- a one-character run is the prefix query ``c*`` (every character of a run starts a token);
- a query with spaces (several runs) is narrowed by the phrase of its runs side by side and
  then verified against the folded text kept in ``search_docs``.

FTS5's ``ascii`` tokenizer splits on ASCII punctuation, so inside tokens each ASCII
punctuation character is written as a private-use character of plane 15 (text does not
use them).

SQLite uses FTS5 (contentless, ``ascii`` tokenizer: the tokens are made here) and ranks by
BM25 with the title weighted highest. PostgreSQL keeps each document's distinct characters and
bigrams in a ``text[]`` column with a GIN index: the documents holding every bigram of the
query (or its one character) are the candidates, and ``strpos`` on the folded text verifies
them; title hits rank first, then the newest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Float, Integer, Text, bindparam, delete, func, insert, or_, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from samizdat.folding import fold
from samizdat.store.schema import search_docs

RUN = re.compile(r"\S+")
# ASCII punctuation and controls, which the tokenizer would split on, as plane-15 private use.
_PROTECTED = str.maketrans(
    {c: chr(0xF0000 + c) for c in range(128) if not chr(c).isalnum() and not chr(c).isspace()}
)
COLUMNS = ("title", "account", "author", "body")
# BM25 weights of the columns above: a hit in the title counts most.
WEIGHTS = (8.0, 4.0, 2.0, 1.0)
FTS_TABLE = "search_fts"
CREATE_FTS = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    + ", ".join(COLUMNS)
    + ", content='', tokenize='ascii')"
)


def index_tokens(folded: str) -> str:
    """
    >>> index_tokens("北约峰会 nato 1")
    '北约 约峰 峰会 会 na at to o 1'
    """
    tokens: list[str] = []
    for run in RUN.findall(folded.translate(_PROTECTED)):
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        tokens.append(run[-1])
    return " ".join(tokens)


def token_set(folded: str) -> list[str]:
    """Every character and bigram of the runs of ``folded`` (PostgreSQL's array of tokens).

    >>> token_set("北约 北约峰")
    ['北', '北约', '峰', '约', '约峰']
    """
    tokens: set[str] = set()
    for run in RUN.findall(folded):
        tokens.update(run)
        tokens.update(run[i : i + 2] for i in range(len(run) - 1))
    return sorted(tokens)


def required_tokens(folded: str) -> list[str]:
    """Tokens every text containing ``folded`` has: each run's bigrams, or its one character."""
    return sorted(
        {t for run in RUN.findall(folded) for t in (token_set(run) if len(run) == 1 else _bigrams(run))}
    )


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


@dataclass(frozen=True)
class SearchDoc:
    article_id: int
    title: str | None
    account: str | None
    author: str | None
    body: str | None


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
    runs = RUN.findall(folded.translate(_PROTECTED))
    if len(runs) == 1:
        return ParsedQuery(folded, _phrase(runs[0]), exact=runs[0] == folded.translate(_PROTECTED))
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


def is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def index_documents(connection: Connection, documents: Sequence[SearchDoc]) -> None:
    """Make ``documents`` the searchable form of their articles, replacing what was there."""
    if not documents:
        return
    ids = [d.article_id for d in documents]
    folded = [
        {"article_id": d.article_id} | {c: fold(getattr(d, c) or "") for c in COLUMNS} for d in documents
    ]
    if is_sqlite(connection):
        old = connection.execute(select(search_docs).where(search_docs.c.article_id.in_(ids))).all()
        fts_insert = text(
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {', '.join(COLUMNS)}) "
            f"VALUES (:command, :article_id, {', '.join(':' + c for c in COLUMNS)})"
        )
        # A contentless FTS5 table forgets a row only when told the tokens it was indexed with.
        if old:
            connection.execute(
                fts_insert,
                [{"command": "delete", "article_id": row.article_id} | _tokens(row._mapping) for row in old],
            )
        connection.execute(
            text(
                f"INSERT INTO {FTS_TABLE}(rowid, {', '.join(COLUMNS)}) "
                f"VALUES (:article_id, {', '.join(':' + c for c in COLUMNS)})"
            ),
            [{"article_id": row["article_id"]} | _tokens(row) for row in folded],
        )
    if not is_sqlite(connection):
        for row in folded:
            row["tokens"] = token_set("\n".join(row[c] for c in COLUMNS))
    connection.execute(delete(search_docs).where(search_docs.c.article_id.in_(ids)))
    connection.execute(insert(search_docs), folded)


def reindex_all(connection: Connection) -> None:
    """Index every article from its latest version (a new search table, a copied archive)."""
    rows = connection.execute(
        text(
            "SELECT a.id, v.title, a.account, a.author, v.text FROM articles a "
            "JOIN versions v ON v.id = (SELECT max(id) FROM versions WHERE article_id = a.id)"
        )
    ).all()
    for start in range(0, len(rows), 500):
        index_documents(connection, [SearchDoc(*row) for row in rows[start : start + 500]])


def _tokens(row) -> dict[str, str]:
    return {c: index_tokens(row[c] or "") for c in COLUMNS}


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
    # PostgreSQL: candidates from the GIN-indexed tokens, verified; a title hit ranks first.
    in_title = _contains(connection, search_docs.c.title, parsed.folded)
    query = select(search_docs.c.article_id, (-in_title.cast(Integer)).cast(Float).label("rank")).where(
        verify
    )
    if required := required_tokens(parsed.folded):
        wanted = bindparam(None, required, type_=postgresql.ARRAY(Text))
        query = query.where(search_docs.c.tokens.op("@>")(wanted))
    return query.subquery("scanned")


def _contains(connection: Connection, column, needle: str):
    if is_sqlite(connection):
        return func.instr(column, bindparam(None, needle)) > 0
    return func.strpos(column, bindparam(None, needle)) > 0
