"""Exact Chinese-aware search over each article's latest version: the index, and how it is written
(it is queried by :mod:`samizdat.read.search`).

A query of any length returns exactly the articles whose title, account, author, text or
the text read in their images (``images``: the OCR of the latest version's images, kept up to
date as images are linked and read) contain it (after folding: :mod:`samizdat.folding`, so
北約 finds 北约). Chinese has no spaces and SQLite's trigram tokenizer cannot match
two-character words, so the index holds character bigrams, as Lucene's CJK analyzer does:
every run of characters between spaces (punctuation included: Chinese text runs on through
its commas) is indexed as the bigrams starting at each of its characters, and the run's last
character alone. Then

- a query run of two or more characters is the phrase of its bigrams (consecutive positions
  in one run: exactly the texts that contain it);
- a one-character run is the prefix query ``c*`` (every character of a run starts a token);
- a query with spaces (several runs) is narrowed by the phrase of its runs side by side and
  then verified against the folded text kept in ``search_docs``.

FTS5's ``ascii`` tokenizer splits on ASCII punctuation, so inside tokens each ASCII
punctuation character is written as a private-use character of plane 15 (text does not
use them).

SQLite uses FTS5 (contentless, ``ascii`` tokenizer: the tokens are made here) and ranks by
BM25 with the title weighted highest. PostgreSQL keeps each document's distinct characters,
bigrams and trigrams in a ``text[]`` column, GIN-indexed through ``search_grams(tokens)``
(migration 0025: the function tells the planner that testing a row's tokens is expensive).
The documents holding the query itself (up to three characters: exactly the matches) or
every trigram of it are the candidates, and ``strpos`` on the folded text verifies the
latter; title hits rank first, then the newest. Above a few thousand matches both list the
newest first and stop after a page (:func:`samizdat.read.search.newest`).

A GIN index reads the whole posting list of a token before it returns the first match, so
on PostgreSQL ``search_docs`` is split by article id into partitions of
:data:`PARTITION_ARTICLES` (migration 0028), each with its own index: a common word's count
stops within the first partition, its newest page is read from the newest one, and neither
grows with the archive. Partitions are made ahead of the ids written (:func:`make_partitions`).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Connection, Engine

from samizdat.folding import fold
from samizdat.store.schema import articles, image_facts, latest_versions, search_docs, version_blobs, versions

RUN = re.compile(r"\S+")
# ASCII punctuation and controls, which the tokenizer would split on, as plane-15 private use.
PROTECTED = str.maketrans(
    {c: chr(0xF0000 + c) for c in range(128) if not chr(c).isalnum() and not chr(c).isspace()}
)
COLUMNS = ("title", "account", "author", "body", "images")
# BM25 weights of the columns above: a hit in the title counts most.
WEIGHTS = (8.0, 4.0, 2.0, 1.0, 1.0)
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
        tokens.extend(_grams(run, 2))
        tokens.append(run[-1])
    return " ".join(tokens)


GRAM_SIZES = (1, 2, 3)  # PostgreSQL's tokens: a query of up to three characters is one of them


def token_set(folded: str) -> list[str]:
    """Every character, bigram and trigram of the runs of ``folded`` (PostgreSQL's array of tokens).

    >>> token_set("北约 北约峰")
    ['北', '北约', '北约峰', '峰', '约', '约峰']
    """
    tokens: set[str] = set()
    for run in RUN.findall(folded):
        for size in GRAM_SIZES:
            tokens.update(_grams(run, size))
    return sorted(tokens)


def document_tokens(folded: Mapping[str, str | None]) -> list[str]:
    """PostgreSQL's tokens of a document, from its folded :data:`COLUMNS`."""
    return token_set("\n".join(folded[c] or "" for c in COLUMNS))


def required_tokens(folded: str) -> list[str]:
    """Tokens every text containing ``folded`` has: each run itself when it is a token, else
    its trigrams."""
    longest = GRAM_SIZES[-1]
    return sorted(
        {t for run in RUN.findall(folded) for t in ([run] if len(run) <= longest else _grams(run, longest))}
    )


def held_as_token(folded: str) -> bool:
    """Whether holding the token ``folded`` is containing it (one run short enough to be a token)."""
    return len(folded) <= GRAM_SIZES[-1] and len(RUN.findall(folded)) == 1


def _grams(run: str, size: int) -> list[str]:
    return [run[i : i + size] for i in range(len(run) - size + 1)]


@dataclass(frozen=True)
class SearchDoc:
    article_id: int
    title: str | None
    account: str | None
    author: str | None
    body: str | None
    images: str | None = None  # the text read in its images


REINDEX_BATCH = 500  # articles indexed together when the whole index is made again
PARTITION_ARTICLES = 100_000  # PostgreSQL: article ids per partition of search_docs
# Any number that only this lock takes: two writers making the same partition wait for each other.
PARTITION_LOCK = 0x5EA2C4
GRAMS_INDEX_METHOD = "USING gin (search_grams(tokens))"  # the token index (migrations 0025, 0028)


def partition_name(number: int) -> str:
    return f"search_docs_{number:04d}"


def make_partitions(connection: Connection, highest_id: int) -> None:
    """Make the partitions of ``search_docs`` up to the one for ``highest_id``, and the next one
    once half of that is used, so that a write seldom waits for one to be made (PostgreSQL).

    Partitions are contiguous from id 0, so their count says which exist; making one locks
    the table until the transaction ends, once every :data:`PARTITION_ARTICLES` articles. A
    partition made ahead of need is left to whichever writer takes the lock first: the others
    go on without waiting for it."""
    needed = highest_id // PARTITION_ARTICLES + 1
    wanted = (highest_id + PARTITION_ARTICLES // 2) // PARTITION_ARTICLES + 1
    present = partition_count(connection)
    if present is None or present >= wanted:  # one table before migration 0028 (0019 indexes with this code)
        return
    if present >= needed:
        if not connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PARTITION_LOCK}):
            return
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITION_LOCK})
    for number in range(partition_count(connection), wanted):
        low = number * PARTITION_ARTICLES
        connection.exec_driver_sql(
            f"CREATE TABLE {partition_name(number)} PARTITION OF search_docs "
            f"FOR VALUES FROM ({low}) TO ({low + PARTITION_ARTICLES}) "
            "WITH (toast_tuple_target = 8160)"  # the folded text stays in the row (migration 0026)
        )


def set_token_index_aside(connection: Connection) -> None:
    """Drop PostgreSQL's token index before writing many documents; :func:`build_token_index`
    makes it again afterwards: one sorted build per partition instead of an insertion per token
    of every document (PostgreSQL's own advice for loading a table with a GIN index)."""
    if not is_sqlite(connection):
        connection.exec_driver_sql("DROP INDEX IF EXISTS ix_search_docs_grams")


def build_token_index(
    engine: Engine,
    jobs: int,
    *,
    memory: str = "256MB",
    on_built: Callable[[str, float], None] | None = None,
) -> None:
    """Build the token index set aside, ``jobs`` partitions at a time, each on a connection of
    its own (PostgreSQL 15 builds a GIN index on one core), with ``memory`` for each build;
    ``on_built(partition, seconds)`` as each ends. The partitioned index is valid once every
    partition's is attached: until then no query uses it, and an interrupted build is made
    again whole by the next call. SQLite: nothing to do."""
    if engine.dialect.name == "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS ix_search_docs_grams ON ONLY search_docs {GRAMS_INDEX_METHOD}"
        )
        missing = connection.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'search_docs'::regclass AND NOT EXISTS (SELECT FROM pg_inherits x "
                "WHERE x.inhparent = 'ix_search_docs_grams'::regclass AND x.inhrelid IN "
                "(SELECT indexrelid FROM pg_index WHERE indrelid = c.oid)) ORDER BY c.relname"
            )
        ).all()

    def build(partition: str) -> None:
        began = time.monotonic()
        with engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{memory}'")
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {partition}_search_grams_idx")
            connection.exec_driver_sql(
                f"CREATE INDEX {partition}_search_grams_idx ON {partition} {GRAMS_INDEX_METHOD}"
            )
            connection.exec_driver_sql(
                f"ALTER INDEX ix_search_docs_grams ATTACH PARTITION {partition}_search_grams_idx"
            )
        if on_built:
            on_built(partition, time.monotonic() - began)

    with ThreadPoolExecutor(max(1, min(jobs, len(missing))), thread_name_prefix="samizdat-index") as builds:
        list(builds.map(build, missing))  # each build's error, if any, raised here


def partition_count(connection: Connection) -> int | None:
    """How many partitions ``search_docs`` has (they are contiguous from id 0); None while it is
    one table (PostgreSQL)."""
    partitioned, count = connection.execute(
        text(
            "SELECT EXISTS (SELECT FROM pg_partitioned_table WHERE partrelid = 'search_docs'::regclass), "
            "(SELECT count(*) FROM pg_inherits WHERE inhparent = 'search_docs'::regclass)"
        )
    ).one()
    return count if partitioned else None


def is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def index_documents(connection: Connection, documents: Sequence[SearchDoc]) -> None:
    """Make ``documents`` the searchable form of their articles, replacing what was there."""
    if documents and not is_sqlite(connection):
        make_partitions(connection, max(d.article_id for d in documents))
    _write(
        connection,
        [{"article_id": d.article_id} | {c: fold(getattr(d, c) or "") for c in COLUMNS} for d in documents],
    )


# A document's few thousand tokens sent as one string: the driver quoting each one into an array
# literal cost more than PostgreSQL's GIN insertion of them (issue 28). Tokens hold no spaces.
INSERT_SPLITTING_TOKENS = text(
    f"INSERT INTO search_docs (article_id, {', '.join(COLUMNS)}, tokens) "
    f"VALUES (:article_id, {', '.join(':' + c for c in COLUMNS)}, string_to_array(:tokens, ' '))"
)


def _write(connection: Connection, folded: list[dict]) -> None:
    if not folded:
        return
    ids = [row["article_id"] for row in folded]
    sqlite = is_sqlite(connection)
    if sqlite:
        _write_fts(connection, ids, folded)
    else:
        for row in folded:
            row["tokens"] = " ".join(document_tokens(row))
    connection.execute(delete(search_docs).where(search_docs.c.article_id.in_(ids)))
    connection.execute(insert(search_docs) if sqlite else INSERT_SPLITTING_TOKENS, folded)


def _write_fts(connection: Connection, ids: list[int], folded: list[dict]) -> None:
    """SQLite's FTS5 rows of ``folded``, in place of those of the same ids."""
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


def image_texts(connection: Connection, article_ids: Iterable[int]) -> dict[int, str]:
    """The text read in the images of each article's latest version (articles without any: absent)."""
    rows = connection.execute(
        select(versions.c.article_id, image_facts.c.ocr_text)
        .join(version_blobs, version_blobs.c.version_id == versions.c.id)
        .join(image_facts, image_facts.c.sha256 == version_blobs.c.sha256)
        .where(versions.c.id.in_(latest_versions(article_ids)), image_facts.c.ocr_text != "")
        .order_by(versions.c.article_id, version_blobs.c.url)
    )
    texts: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        if row.ocr_text not in texts[row.article_id]:  # one picture shown twice is read once
            texts[row.article_id].append(row.ocr_text)
    return {article_id: "\n".join(found) for article_id, found in texts.items()}


def refresh_image_text(connection: Connection, article_ids: Iterable[int]) -> None:
    """Index again the image text of these articles (their images were linked, or read)."""
    ids = sorted(set(article_ids))
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        texts = image_texts(connection, batch)
        docs = connection.execute(select(search_docs).where(search_docs.c.article_id.in_(batch))).all()
        changed = [
            {"article_id": doc.article_id} | {c: doc._mapping[c] or "" for c in COLUMNS} | {"images": wanted}
            for doc in docs
            if (doc.images or "") != (wanted := fold(texts.get(doc.article_id, "")))
        ]
        _write(connection, changed)


def reindex_all(connection: Connection) -> None:
    """Index every article from its latest version (a new search table, a copied archive); one
    removed before it could be captured by its title.

    Articles are taken :data:`REINDEX_BATCH` at a time by id, and each batch is read by index
    lookups of those ids only: a copied archive has no statistics yet, and a plan over the whole
    tables (PostgreSQL walked every version once per article, issue 28) or a read of every row
    at once would grow with the square of the archive, or with its size in memory."""
    last = 0
    while ids := connection.scalars(
        select(articles.c.id).where(articles.c.id > last).order_by(articles.c.id).limit(REINDEX_BATCH)
    ).all():
        last = ids[-1]
        shown = {
            row.article_id: row
            for row in connection.execute(
                select(versions.c.article_id, versions.c.title, versions.c.text).where(
                    versions.c.id.in_(latest_versions(ids))
                )
            )
        }
        texts = image_texts(connection, ids)
        documents = []
        for row in connection.execute(
            select(articles.c.id, articles.c.title, articles.c.account, articles.c.author)
            .where(articles.c.id.in_(ids))
            .order_by(articles.c.id)
        ):
            version = shown.get(row.id)
            documents.append(
                SearchDoc(
                    row.id,
                    version.title if version is not None else row.title,
                    row.account,
                    row.author,
                    version.text if version is not None else "",
                    images=texts.get(row.id),
                )
            )
        index_documents(connection, documents)


def _tokens(row) -> dict[str, str]:
    return {c: index_tokens(row[c] or "") for c in COLUMNS}
