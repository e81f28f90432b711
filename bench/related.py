"""Related posts: precision@5 on a labelled set against a plain TF-IDF baseline, and the cost.

Usage: python bench/related.py [--articles N]

1. Quality. The 83 real articles of the fixtures (69 Chinese web pages of
   tests/fixtures/cwced, 14 WeChat articles), each labelled with one of 12 topics by hand
   (tests/fixtures/topics.json). Each article's five related posts count as right when they
   share its topic; precision@5 is the mean over articles. samizdat's related posts are
   computed through the store as in production (captured, then ``relate_pending``); the
   baseline is plain TF-IDF: raw term counts of the body's jieba words, IDF from the same 83
   articles, cosine over whole vectors, exhaustive search. A random choice scores the share
   of same-topic pairs.
2. Cost. N synthetic articles (30-80 real headlines of the removal dataset each) captured,
   then their related posts computed: time per article (p50/p95) and the index's size.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import math
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from samizdat.archive import ArchiveRef
from samizdat.platforms.base import Article
from samizdat.relate.related import words
from samizdat.store import CaptureRecord, open_store
from samizdat.store.related import relate_pending, related_ids
from samizdat.store.schema import articles, related_terms
from samizdat.testing import REMOVALS
from samizdat.testing.corpus import fixture_texts, topics

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
REF = ArchiveRef("bench.warc.gz", 0, 1, "sha256:X", "<urn:uuid:bench>")
NOW = datetime(2023, 7, 1, tzinfo=UTC)


def record(key: str, title: str, text: str) -> CaptureRecord:
    url = f"https://example.org/{key}"
    return CaptureRecord(
        Article("generic", key, url, title, text, "", account=key), [url], url, 200, NOW, REF
    )


def precision_at_5(ranked: dict[str, list[str]], label: dict[str, str]) -> float:
    return statistics.mean(sum(label[o] == label[k] for o in found[:5]) / 5 for k, found in ranked.items())


def baseline(texts) -> dict[str, list[str]]:
    counted = [words(t.text) for t in texts]
    df = Counter(w for ws in counted for w in set(ws))
    vectors = []
    for ws in counted:
        v = {w: n * math.log(len(texts) / df[w]) for w, n in Counter(ws).items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1
        vectors.append({w: x / norm for w, x in v.items()})
    ranked = {}
    for i, t in enumerate(texts):
        scores = sorted(
            (
                (sum(w * vectors[j].get(k, 0) for k, w in vectors[i].items()), j)
                for j in range(len(texts))
                if j != i
            ),
            reverse=True,
        )
        ranked[t.key] = [texts[j].key for _, j in scores[:5]]
    return ranked


def quality(directory: str) -> None:
    texts = fixture_texts(FIXTURES)
    label = topics(FIXTURES)
    store = open_store(f"sqlite:///{directory}/quality.db")
    store.record_captures([record(t.key, t.title, t.text) for t in texts])
    while relate_pending(store.engine, limit=200):
        pass
    with store.engine.connect() as connection:
        keys = dict(connection.execute(select(articles.c.id, articles.c.canonical_id)).all())
        lists = related_ids(connection, list(keys))
    ours = {keys[a]: [keys[r] for r in found] for a, found in lists.items()}
    pairs = [(a.key, b.key) for a in texts for b in texts if a.key != b.key]
    chance = sum(label[a] == label[b] for a, b in pairs) / len(pairs)
    print(
        f"{len(texts)} articles, {len(set(label.values()))} topics: precision@5 samizdat"
        f" {precision_at_5(ours, label):.3f}, plain TF-IDF {precision_at_5(baseline(texts), label):.3f},"
        f" chance {chance:.3f}; articles with fewer than 5 related posts:"
        f" {sum(1 for v in ours.values() if len(v) < 5)}"
    )
    store.engine.dispose()


def cost(directory: str, count: int) -> None:
    with gzip.open(REMOVALS, "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    store = open_store(f"sqlite:///{directory}/cost.db")
    rng = random.Random(3)
    started = time.perf_counter()
    for start in range(0, count, 1000):
        batch = []
        for i in range(start, min(count, start + 1000)):
            chosen = rng.sample(rows, rng.randint(30, 80))
            batch.append(record(f"a{i}", chosen[0]["title"], "。".join(r["title"] for r in chosen)))
        store.record_captures(batch)
    print(f"{count:,} articles captured in {time.perf_counter() - started:.0f} s")
    timings = []
    while True:
        started = time.perf_counter()
        done = relate_pending(store.engine, limit=100)
        if not done:
            break
        timings.append((time.perf_counter() - started) * 1000 / done)
    with store.engine.connect() as connection:
        rows_indexed = connection.scalar(select(func.count()).select_from(related_terms))
    recent = timings[-max(len(timings) // 10, 1) :]
    print(
        f"related posts for {count:,} articles: mean {statistics.mean(timings):.1f} ms per article;"
        f" the last tenth (the index nearly full) {statistics.mean(recent):.1f} ms;"
        f" {rows_indexed:,} index rows"
    )
    store.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        quality(directory)
        if options.articles:
            cost(directory, options.articles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
