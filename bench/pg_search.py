"""Search on PostgreSQL at scale: query latency by length, index size, write cost (issue 28).

Usage: python bench/pg_search.py [--articles N] [--url URL] [--queries Q] [--writes W]

Fills a PostgreSQL database (made if missing; kept between runs and grown to N) with N
articles made like ``bench/site_load.py``'s (titles, accounts and removal dates from the
17,411 real removals, bodies of 5-25 paragraphs of the real sample pages, a third in
traditional characters), bulk-loaded with COPY: the search index is dropped during the load
and made again after it (two partitions at a time), then VACUUM ANALYZE. Each document's
searchable form is what ``store/search.py`` writes for it (folded columns, token array).

Then, in this process, through ``Reader.articles`` (what ``/api/search`` answers: 20
results, the capped count, snippets): Q queries each of 1, 2, 3 and 4 characters, random
substrings of stored texts; p50 / p95 / max in ms and the median number of matches. Then
the index's size per article, and the cost of writing: W articles recorded through
``Store.record_captures`` (the capture path, search index included) on top of the N.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import html
import json
import multiprocessing
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import opencc
import psycopg
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from samizdat.folding import fold
from samizdat.store.search import build_token_index, make_partitions, token_set
from site_load import REMOVALS, paragraphs

CHINA = timezone(timedelta(hours=8))
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/samizdat_search_bench"
CHUNK = 10_000


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


class Generator:
    """Article ``i``'s rows, the same for the same ``i`` whatever was generated before."""

    def __init__(self) -> None:
        with gzip.open(REMOVALS, "rt", encoding="utf-8") as handle:
            self.rows = list(csv.DictReader(handle))
        traditional = opencc.OpenCC("s2t")
        pool = paragraphs()
        # Each paragraph in both scripts with its folded form and tokens: a body is a few
        # paragraphs joined by newlines, so its fold and tokens are theirs joined.
        self.pool = []
        for paragraph in pool:
            forms = []
            for shown in (paragraph, traditional.convert(paragraph)):
                folded = fold(shown)
                forms.append((shown, folded, frozenset(token_set(folded))))
            self.pool.append(forms)
        self.traditional = traditional

    def article(self, i: int) -> tuple[tuple, tuple, tuple]:
        rng = random.Random(i)
        row = self.rows[i % len(self.rows)]
        script = 1 if i % 3 == 0 else 0
        chosen = [self.pool[k][script] for k in rng.sample(range(len(self.pool)), rng.randrange(5, 25))]
        title = row["title"] or f"文章 {i}"
        if script:
            title = self.traditional.convert(title)
        account = row["nickname"] or None
        try:
            published = datetime.strptime(row["created_at"], "%Y-%m-%d").replace(tzinfo=CHINA)
            detected = datetime.strptime(row["censored_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
        except ValueError:
            published, detected = datetime(2019, 1, 1, tzinfo=UTC), None
        body = "\n".join(shown for shown, _, _ in chosen)
        folded_title, folded_account = fold(title), fold(account or "")
        tokens = set(token_set(folded_title)) | set(token_set(folded_account))
        for _, _, paragraph_tokens in chosen:
            tokens |= paragraph_tokens
        article_id = i + 1
        url = f"https://mp.weixin.qq.com/s?__biz=bench{i // 50}&mid={i}&idx=1"
        captured = _naive(published + timedelta(hours=1))
        article = (
            article_id, "wechat", f"bench{i // 50}:{i}:1", url, title, account,
            _naive(published), "day", "removed" if detected else "live",
            "deleted_by_author" if detected else None, 0, captured, _naive(detected) if detected else None,
        )  # fmt: skip
        content_hash = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
        page = "".join(f"<p>{html.escape(shown)}</p>" for shown, _, _ in chosen)
        version = (article_id, article_id, content_hash, captured, url, 200, title, body, page, "{}")
        folded_body = "\n".join(folded for _, folded, _ in chosen)
        document = (article_id, folded_title, folded_account, "", folded_body, "", sorted(tokens))
        return article, version, document


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


ARTICLE_COLUMNS = (
    "id, platform, canonical_id, url, title, account, published_at, published_precision, state, "
    "outcome, priority, first_captured_at, detected_at"
)
VERSION_COLUMNS = (
    "id, article_id, content_hash, captured_at, final_url, http_status, title, text, html, details"
)
DOCUMENT_COLUMNS = "article_id, title, account, author, body, images, tokens"


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(values: tuple) -> str:
    """One row in COPY's text format (psycopg's own row writer spent two thirds of the load
    formatting the token arrays element by element)."""
    return "\t".join(_copy_field(value) for value in values) + "\n"


def _copy_field(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, list):
        value = "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value) + "}"
    elif isinstance(value, datetime):
        value = value.isoformat()
    return str(value).translate(COPY_ESCAPES)


def fill(url: str, count: int, processes: int = 2) -> None:
    """Articles up to ``count``, loaded a chunk (one transaction) at a time by ``processes``
    processes, so that one formats rows while the server parses another's; an interrupted
    fill goes on with the chunks that are missing."""
    from samizdat.store import open_store

    engine = open_store(url).engine  # the schema, by the migrations
    with engine.begin() as connection:
        make_partitions(connection, count)
    engine.dispose()
    plain = url.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as connection:
        present = {
            row[0] for row in connection.execute(f"SELECT id - 1 FROM articles WHERE (id - 1) % {CHUNK} = 0")
        }
        missing = [chunk for chunk in range(0, count, CHUNK) if chunk not in present]
        if not missing:
            print(f"{count:,} articles already there", flush=True)
            return
        connection.execute("DROP INDEX IF EXISTS ix_search_docs_grams")
        started = time.monotonic()
        with multiprocessing.Pool(processes, _start_loader, (plain,)) as pool:
            for done, chunk in enumerate(pool.imap_unordered(partial(_load_chunk, count=count), missing), 1):
                elapsed = time.monotonic() - started
                print(
                    f"  chunk {chunk:,}: {done}/{len(missing)} "
                    f"({elapsed:.0f} s, {done * CHUNK / elapsed:.0f}/s)",
                    flush=True,
                )
        for table in ("articles", "versions"):
            connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})")
        loaded = time.monotonic()
        engine = create_engine(url)
        build_token_index(
            engine,
            processes,
            memory="1GB",
            on_built=lambda name, seconds: print(f"  index of {name} made in {seconds:.0f} s", flush=True),
        )
        engine.dispose()
        print(f"index ix_search_docs_grams made in {time.monotonic() - loaded:.0f} s", flush=True)
        # What autovacuum does after a bulk insert, done at once: the visibility map set.
        connection.execute("VACUUM ANALYZE")
        print(
            f"loaded {len(missing) * CHUNK:,} articles in {loaded - started:.0f} s, "
            f"indexed and analysed in {time.monotonic() - loaded:.0f} s",
            flush=True,
        )


_loader: tuple[Generator, psycopg.Connection] | None = None


def _start_loader(url: str) -> None:
    global _loader
    _loader = (Generator(), psycopg.connect(url, autocommit=True))


def _load_chunk(chunk: int, count: int) -> int:
    generator, connection = _loader
    rows = [generator.article(i) for i in range(chunk, min(count, chunk + CHUNK))]
    with connection.transaction(), connection.cursor() as cursor:
        for table, columns, index in (
            ("articles", ARTICLE_COLUMNS, 0),
            ("versions", VERSION_COLUMNS, 1),
            ("search_docs", DOCUMENT_COLUMNS, 2),
        ):
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write("".join(copy_line(row[index]) for row in rows).encode())
    return chunk


def sizes(url: str, count: int) -> None:
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        size, partitions = connection.execute(
            "SELECT sum(pg_relation_size(relid))::bigint, count(*) - 1 "
            "FROM pg_partition_tree('ix_search_docs_grams')"
        ).fetchone()
        print(
            f"index ix_search_docs_grams: {size / 1e6:,.0f} MB in {partitions} partitions, "
            f"{size / count:,.0f} B per article"
        )
        documents = connection.execute(
            "SELECT sum(pg_total_relation_size(relid))::bigint FROM pg_partition_tree('search_docs')"
        ).fetchone()[0]
        print(
            f"search_docs with its indexes: {documents / 1e6:,.0f} MB, {documents / count:,.0f} B per article"
        )


def latency(url: str, queries: int) -> None:
    from samizdat.read.reader import ArticleFilter, Reader
    from samizdat.store import open_store

    store = open_store(url)
    reader = Reader(store.engine)
    with store.engine.connect() as connection:
        texts = connection.scalars(
            text("SELECT body FROM search_docs TABLESAMPLE SYSTEM (1) REPEATABLE (2) LIMIT 2000")
        ).all()
    rng = random.Random(2)
    reader.articles(ArticleFilter(query="北约"), limit=20)
    figures = {}
    for length in (1, 2, 3, 4):
        timings, hits = [], []
        while len(timings) < queries:
            body = rng.choice(texts)
            start = rng.randrange(0, max(1, len(body) - length))
            query = body[start : start + length]
            if len(query) < length or not query.strip() or "\n" in query or " " in query:
                continue
            began = time.perf_counter()
            page = reader.articles(ArticleFilter(query=query), limit=20)
            timings.append((time.perf_counter() - began) * 1000)
            hits.append(page.total)
        timings.sort()
        figures[length] = {
            "p50": statistics.median(timings),
            "p95": timings[int(0.95 * (len(timings) - 1))],
            "max": timings[-1],
            "matches_median": statistics.median(hits),
        }
        print(
            f"search, {length} character{'s' if length > 1 else ''}: {len(timings)} queries, "
            f"p50 {figures[length]['p50']:.1f} ms, p95 {figures[length]['p95']:.1f} ms, "
            f"max {timings[-1]:.1f} ms; matches per query median {statistics.median(hits):,.0f}",
            flush=True,
        )
    store.engine.dispose()
    print(json.dumps(figures))


def write_cost(url: str, count: int, writes: int) -> None:
    """``writes`` new articles through the capture path, in batches of 100 as the watcher
    records them; removed again afterwards so that the archive stays at ``count``."""
    from samizdat.archive import ArchiveRef
    from samizdat.platforms.base import Article
    from samizdat.store import CaptureRecord, open_store

    generator = Generator()
    store = open_store(url)
    with store.engine.begin() as connection:  # what an interrupted run left
        connection.execute(text("DELETE FROM articles WHERE canonical_id LIKE 'write%'"))
    ref = ArchiveRef("none.warc.gz", 0, 1, "sha256:none", "<urn:uuid:none>")
    records = []
    for i in range(count + 1_000_000, count + 1_000_000 + writes):
        article, version, _ = generator.article(i)
        records.append(
            CaptureRecord(
                Article(
                    "wechat", f"write{i}", article[3], article[4], version[7], version[8], account=article[5]
                ),
                [article[3]],
                article[3],
                200,
                datetime.now(UTC),
                ref,
            )
        )
    began = time.perf_counter()
    for start in range(0, writes, 100):
        store.record_captures(records[start : start + 100])
    elapsed = time.perf_counter() - began
    print(
        f"write: {writes:,} captures recorded in {elapsed:.1f} s, {writes / elapsed:.0f} articles/s",
        flush=True,
    )
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM articles WHERE canonical_id LIKE 'write%'"))
    store.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--writes", type=int, default=2_000)
    parser.add_argument("--fill-only", action="store_true", help="make the archive, measure nothing")
    args = parser.parse_args()
    ensure_database(args.url)
    fill(args.url, args.articles)
    if args.fill_only:
        return 0
    sizes(args.url, args.articles)
    latency(args.url, args.queries)
    if args.writes:
        write_cost(args.url, args.articles, args.writes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
