"""Copies: how well reposts are told from different articles, and what a new article costs.

Usage: python bench/copies.py [--articles N] [--postgres ADMIN_URL] [--no-postgres]

1. Separation, on the repost set (samizdat.testing.reposts) made from the real texts of
   tests/fixtures/cwced (69 Chinese web pages) and src/samizdat/testing/pages/wechat (14 WeChat
   articles): every repost against its original, and every pair of different texts.
   MinHash containment (what samizdat links on) beside SimHash over jieba words (64 bits,
   Hamming distance), the usual alternative: where the two groups overlap, a threshold
   cannot separate them.
2. Recall and false links through the store: originals and reposts captured into a database
   (``Store.record_captures``), then the clusters read back.
3. Cost per new article with N articles already fingerprinted: N synthetic articles (30-80
   real headlines from the removal dataset each, so articles share phrases and now and then
   a whole line), then the reposts clustered one by one (``index_copies``: fingerprint, LSH
   lookup, verification, insert, join), SQLite and PostgreSQL. ``--base collage`` makes the N
   articles of the reposted texts' own sentences instead: every lookup then meets versions
   that quote the text (a stress case for the verification step).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import hashlib
import itertools
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from samizdat.archive import ArchiveRef
from samizdat.folding import fold
from samizdat.platforms.base import Article
from samizdat.relate.copies import fingerprint
from samizdat.store import CaptureRecord, open_store
from samizdat.store.copies import index_copies
from samizdat.store.schema import articles, copy_keys, copy_signatures, versions
from samizdat.testing import REMOVALS
from samizdat.testing.corpus import fixture_texts
from samizdat.testing.postgres import fresh_database
from samizdat.testing.reposts import repost_set

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
DEFAULT_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REF = ArchiveRef("bench.warc.gz", 0, 1, "sha256:X", "<urn:uuid:bench>")
NOW = datetime(2023, 7, 1, tzinfo=UTC)


def simhash(text: str) -> int:
    import jieba

    jieba.setLogLevel(60)
    weights = [0] * 64
    for word in jieba.cut(text):
        if not word.strip():
            continue
        value = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def separation(texts: list[str]) -> None:
    reposts = repost_set(texts)
    everything = [(i, t) for i, t in enumerate(texts)] + [(r.original, r.text) for r in reposts]
    prints = [fingerprint(t) for _, t in everything]
    hashes = [simhash(t) for _, t in everything]
    folded_hashes = [simhash(fold(t)) for _, t in everything]
    pairs: dict[bool, list[tuple[float, float, bool, int, int]]] = {True: [], False: []}
    for (a, (i, _)), (b, (j, _)) in itertools.combinations(enumerate(everything), 2):
        pairs[i == j].append(
            (
                prints[a].similarity(prints[b]),
                prints[a].containment(prints[b]),
                prints[a].is_copy_of(prints[b]),
                bin(hashes[a] ^ hashes[b]).count("1"),
                bin(folded_hashes[a] ^ folded_hashes[b]).count("1"),
            )
        )
    same, different = pairs[True], pairs[False]
    print(f"texts {len(texts)}, reposts {len(same)}, pairs of different texts {len(different)}")
    print(
        f"MinHash: reposts similarity min {min(p[0] for p in same):.2f}, containment min"
        f" {min(p[1] for p in same):.2f}, linked {sum(p[2] for p in same)}/{len(same)};"
        f" different texts similarity max {max(p[0] for p in different):.2f},"
        f" linked {sum(p[2] for p in different)}"
    )
    for column, label in ((3, "words"), (4, "folded words")):
        worst = max(p[column] for p in same)
        print(
            f"SimHash over {label}: reposts distance max {worst}, different texts min"
            f" {min(p[column] for p in different)}; different pairs within the reposts' range:"
            f" {sum(1 for p in different if p[column] <= worst)}"
        )


def record(key: str, text: str, account: str) -> CaptureRecord:
    url = f"https://example.org/{key}"
    article = Article("generic", key, url, key, text, "", account=account)
    return CaptureRecord(article, [url], url, 200, NOW, REF)


def recall(texts: list[str], url: str) -> None:
    store = open_store(url)
    reposts = repost_set(texts)
    store.record_captures([record(f"original-{i}", t, "a") for i, t in enumerate(texts)])
    store.record_captures([record(f"repost-{r.original}", r.text, "b") for r in reposts])
    with store.engine.connect() as connection:
        cluster = dict(connection.execute(select(articles.c.canonical_id, articles.c.cluster_id)).all())
    joined = sum(
        1 for r in reposts if cluster[f"original-{r.original}"] == cluster[f"repost-{r.original}"] is not None
    )
    members: dict[int, set[int]] = {}
    for key, cluster_id in cluster.items():
        if cluster_id is not None:
            members.setdefault(cluster_id, set()).add(int(key.split("-")[1]))
    false = sum(len(m) - 1 for m in members.values())
    different_pairs = len(cluster) * (len(cluster) - 1) // 2 - len(reposts)
    print(
        f"store: recall {joined}/{len(reposts)} = {joined / len(reposts):.3f};"
        f" different texts in one cluster: {false} (of {different_pairs} pairs of different articles)"
    )
    store.engine.dispose()


def headlines() -> list[str]:
    """The 17,411 real titles of the removal dataset: Chinese text unrelated to the reposts."""
    with gzip.open(REMOVALS, "rt", encoding="utf-8") as f:
        return [row["title"] + "。" for row in csv.DictReader(f)]


def collage(texts: list[str]) -> list[str]:
    """The sentences of the reposted texts themselves: every base article quotes some of them."""
    return [s for t in texts for s in re.split(r"(?<=[。！？!?])", t) if len(s.strip()) >= 8]


def synthetic(pool: list[str], seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(pool) for _ in range(rng.randint(30, 80)))


def _signature_rows(args: tuple[list[str], int]) -> list[tuple[int, bytes, int, list[int]]]:
    pool, start = args
    rows = []
    for i in range(start, start + 1000):
        found = fingerprint(synthetic(pool, i))
        if found is not None:
            rows.append((i, found.to_bytes(), found.shingles, found.band_keys()))
    return rows


def fill(store, pool: list[str], count: int) -> None:
    """``count`` articles with one version each, fingerprinted in parallel, inserted as rows."""
    with multiprocessing.Pool() as workers, store.engine.begin() as connection:
        for chunk in workers.imap(_signature_rows, [(pool, s) for s in range(0, count, 1000)]):
            connection.execute(
                insert(articles),
                [
                    {
                        "id": i + 1,
                        "platform": "generic",
                        "canonical_id": f"bench-{i}",
                        "url": f"u{i}",
                        "state": "live",
                        "priority": 0,
                        "first_captured_at": NOW,
                    }
                    for i, *_ in chunk
                ],
            )
            connection.execute(
                insert(versions),
                [
                    {
                        "id": i + 1,
                        "article_id": i + 1,
                        "content_hash": "-",
                        "captured_at": NOW,
                        "final_url": "u",
                        "text": "",
                        "html": "",
                        "details": {},
                    }
                    for i, *_ in chunk
                ],
            )
            connection.execute(
                insert(copy_signatures),
                [
                    {"version_id": i + 1, "article_id": i + 1, "signature": s, "shingles": n}
                    for i, s, n, _ in chunk
                ],
            )
            connection.execute(
                insert(copy_keys), [{"key": k, "version_id": i + 1} for i, _, _, keys in chunk for k in keys]
            )


def cost(texts: list[str], url: str, count: int, label: str, base: str) -> None:
    store = open_store(url)
    pool = headlines() if base == "headlines" else collage(texts)
    started = time.perf_counter()
    fill(store, pool, count)
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")  # as autovacuum would after a bulk load
    print(f"{label}: {count:,} articles fingerprinted and stored in {time.perf_counter() - started:.0f} s")
    reposts = repost_set(texts, seed=11)
    timings: list[float] = []
    candidates: list[int] = []
    with store.engine.begin() as connection:
        next_id = connection.scalar(select(func.max(articles.c.id))) + 1
        for offset, r in enumerate(reposts):
            article_id = next_id + offset
            connection.execute(
                insert(articles),
                {
                    "id": article_id,
                    "platform": "generic",
                    "canonical_id": f"new-{offset}",
                    "url": f"n{offset}",
                    "state": "live",
                    "priority": 0,
                    "first_captured_at": NOW,
                },
            )
            connection.execute(
                insert(versions),
                {
                    "id": article_id,
                    "article_id": article_id,
                    "content_hash": "-",
                    "captured_at": NOW,
                    "final_url": "n",
                    "text": r.text,
                    "html": "",
                    "details": {},
                },
            )
            keys = fingerprint(r.text).band_keys()
            candidates.append(
                connection.scalar(
                    select(func.count(func.distinct(copy_keys.c.version_id))).where(copy_keys.c.key.in_(keys))
                )
            )
            started = time.perf_counter()
            index_copies(connection, [(article_id, article_id, r.text)])
            timings.append((time.perf_counter() - started) * 1000)
        stored_keys = connection.scalar(select(func.count()).select_from(copy_keys))
    timings.sort()
    print(
        f"{label}: per new article p50 {statistics.median(timings):.1f} ms,"
        f" p95 {timings[int(len(timings) * 0.95)]:.1f} ms, max {timings[-1]:.1f} ms"
        f" ({len(timings)} articles of {statistics.mean(len(r.text) for r in reposts):,.0f} characters);"
        f" {stored_keys:,} band keys; versions sharing a key with a new article: mean"
        f" {statistics.mean(candidates):.1f}, max {max(candidates)}"
    )
    store.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--postgres", default=DEFAULT_ADMIN)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--base",
        choices=("headlines", "collage"),
        default="headlines",
        help="the N articles: real headlines, or sentences of the reposted texts (a stress case)",
    )
    options = parser.parse_args()
    texts = [t.text for t in fixture_texts(FIXTURES)]
    separation(texts)
    with tempfile.TemporaryDirectory() as directory:
        recall(texts, f"sqlite:///{directory}/recall.db")
        cost(texts, f"sqlite:///{directory}/cost.db", options.articles, "SQLite", options.base)
    if not options.no_postgres:
        with contextlib.ExitStack() as stack:
            cost(
                texts,
                stack.enter_context(fresh_database(options.postgres)),
                options.articles,
                "PostgreSQL",
                options.base,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
