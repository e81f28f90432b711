"""Exact Chinese-aware search over each article's latest version: the index, and how it is written
(it is queried by :mod:`samizdat.read.search`).

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

from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Connection

from samizdat.folding import fold
from samizdat.store.schema import search_docs

RUN = re.compile(r"\S+")
# ASCII punctuation and controls, which the tokenizer would split on, as plane-15 private use.
PROTECTED = str.maketrans(
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
    for run in RUN.findall(folded.translate(PROTECTED)):
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
