"""The reader site with 100,000 articles: search latency, article page latency and throughput.

Usage: python bench/site_load.py [--articles N] [--data DIR] [--queries Q] [--duration S]

Builds (once; kept in --data) an archive of N articles: titles, accounts, removal times and
reasons from the 17,411 real removals (src/samizdat/testing/pages/removals, reused in rounds), bodies made
of paragraphs drawn from the real sample pages (src/samizdat/testing/pages/wechat), a third of them in
traditional characters. Then, against ``samizdat serve`` (uvicorn, --workers processes) on
loopback:

- search: Q random 2-, 3- and 4-character substrings of stored texts, each through
  GET /api/search (one client, sequential), latency p50/p95/max;
- article pages: latency of 500 sequential requests (one client) for random article ids
  (/articles/<id>), then wrk with --connections connections for --duration seconds over
  random ids: requests/s and latency under that load;
- index size: bytes of the search tables (FTS5 index + folded documents) per article and
  per byte of article text.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import html
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import opencc

from samizdat import testing
from samizdat.testing.timeline import NOTICE_FOR_MESSAGE, OUTCOME_OF_NOTICE

ROOT = Path(__file__).resolve().parent.parent
REMOVALS = testing.REMOVALS
PAGES = testing.WECHAT_PAGES
CHINA = timezone(timedelta(hours=8))


def paragraphs() -> list[str]:
    from samizdat.platforms.base import Article
    from samizdat.platforms.wechat import PLATFORM as WECHAT
    from samizdat.testing.content import load_pages

    pool: list[str] = []
    pages, _ = load_pages(PAGES)
    for page in pages:
        parsed = WECHAT.parse("https://mp.weixin.qq.com/s/x", page)
        if isinstance(parsed, Article):
            pool += [line for line in parsed.text.split("\n") if len(line) >= 8]
    return pool


def build(data: Path, count: int, start: int = 0, own_text: bool = False) -> None:
    """Articles ``start`` to ``count`` (their ids one more), as described above; with
    ``own_text`` each paragraph's characters are shuffled, so that no two articles share text
    (drawn whole from one small pool, most bodies share paragraphs with many others)."""
    from samizdat.archive import ArchiveRef
    from samizdat.config import Settings
    from samizdat.platforms.base import Article
    from samizdat.store import CaptureRecord, open_store

    settings = Settings(data_dir=data)
    data.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.database_url)
    with gzip.open(REMOVALS, "rt", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    pool = paragraphs()
    rng = random.Random(1 + start)
    traditional = opencc.OpenCC("s2t")
    ref = ArchiveRef("none.warc.gz", 0, 1, "sha256:none", "<urn:uuid:none>")
    started = time.monotonic()
    removed = []
    for chunk in range(start, count, 1000):
        records = []
        for i in range(chunk, min(count, chunk + 1000)):
            row = rows[i % len(rows)]
            chosen = rng.sample(pool, rng.randrange(5, 25))
            if own_text:
                chosen = ["".join(rng.sample(p, len(p))) for p in chosen]
            title = row["title"] or f"文章 {i}"
            if i % 3 == 0:
                chosen, title = [traditional.convert(p) for p in chosen], traditional.convert(title)
            try:
                published = datetime.strptime(row["created_at"], "%Y-%m-%d").replace(tzinfo=CHINA)
                detected = datetime.strptime(row["censored_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
            except ValueError:
                published, detected = datetime(2019, 1, 1, tzinfo=UTC), None
            url = f"https://mp.weixin.qq.com/s?__biz=bench{i // 50}&mid={i}&idx=1"
            article = Article(
                "wechat",
                f"bench{i // 50}:{i}:1",
                url,
                title,
                "\n".join(chosen),
                "".join(f"<p>{html.escape(p)}</p>" for p in chosen),
                account=row["nickname"] or None,
                published_at=published,
                published_precision="day",
            )
            records.append(CaptureRecord(article, [url], url, 200, published + timedelta(hours=1), ref))
            notice = NOTICE_FOR_MESSAGE.get(row["censored_msg"].strip())
            removed.append((detected, OUTCOME_OF_NOTICE.get(notice, "unknown_unavailable")))
        store.record_captures(records)
        print(f"  {min(count, chunk + 1000):,} articles ({time.monotonic() - started:.0f} s)", flush=True)
    with store.engine.begin() as connection:
        from sqlalchemy import bindparam, update

        from samizdat.store.schema import articles

        removals = [
            {"article_id": start + i + 1, "state": "removed", "outcome": outcome, "detected_at": detected}
            for i, (detected, outcome) in enumerate(removed)
            if detected is not None
        ]
        if removals:  # an empty list would be one UPDATE without parameters
            connection.execute(update(articles).where(articles.c.id == bindparam("article_id")), removals)
    store.engine.dispose()
    print(f"built {count:,} articles in {time.monotonic() - started:.0f} s", flush=True)


def index_size(database: Path, count: int) -> str:
    with sqlite3.connect(database) as connection:
        sizes = dict(connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        text_bytes = connection.execute(
            "SELECT SUM(length(CAST(title AS BLOB)) + length(CAST(text AS BLOB))) FROM versions"
        ).fetchone()[0]
    fts = sum(v for k, v in sizes.items() if k.startswith("search_fts"))
    docs = sum(
        v for k, v in sizes.items() if k.startswith("search_docs") or k == "sqlite_autoindex_search_docs_1"
    )
    total = sum(sizes.values())
    return (
        f"database {total / 1e6:,.0f} MB; article text {text_bytes / 1e6:,.0f} MB; "
        f"FTS5 bigram index {fts / 1e6:,.0f} MB ({fts / count:,.0f} B/article, "
        f"{fts / text_bytes:.2f} × the text); "
        f"folded documents {docs / 1e6:,.0f} MB ({docs / text_bytes:.2f} × the text)"
    )


def serve(data: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = 18080 + random.Random().randrange(1000)
    command = [
        sys.executable, "-m", "uvicorn", "samizdat.web.asgi:app", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    # The per-client search limit is off: the benchmark is one client searching on purpose.
    environment = {
        "SAMIZDAT_DATA_DIR": str(data),
        "SAMIZDAT_WEB__SEARCH_PER_MINUTE": "0",
        "PATH": "/usr/bin:/bin",
    }
    process = subprocess.Popen(command, env=environment)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(base + "/healthz", timeout=5)
            return process, base
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the site did not start") from None
            time.sleep(0.3)


def search_latency(base: str, data: Path, queries: int) -> None:
    with sqlite3.connect(data / "samizdat.db") as connection:
        texts = [
            row[0] for row in connection.execute("SELECT text FROM versions ORDER BY random() LIMIT 2000")
        ]
    rng = random.Random(2)
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/api/search", params={"q": "北约"})
        for length in (2, 3, 4):
            timings, hits = [], []
            for _ in range(queries):
                text = rng.choice(texts)
                start = rng.randrange(0, max(1, len(text) - length))
                query = text[start : start + length]
                if not query.strip() or "\n" in query:
                    continue
                began = time.perf_counter()
                response = client.get("/api/search", params={"q": query, "limit": 20})
                timings.append((time.perf_counter() - began) * 1000)
                hits.append(response.json()["total"])
            timings.sort()
            print(
                f"search, {length} characters: {len(timings)} queries, "
                f"p50 {statistics.median(timings):.1f} ms, "
                f"p95 {timings[int(0.95 * (len(timings) - 1))]:.1f} ms, max {timings[-1]:.1f} ms; "
                f"matches per query median {statistics.median(hits):,.0f}, max {max(hits):,}",
                flush=True,
            )


def article_latency(base: str, count: int, requests: int = 500) -> None:
    rng = random.Random(3)
    timings = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(requests):
            began = time.perf_counter()
            client.get(f"/articles/{rng.randint(1, count)}").raise_for_status()
            timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    print(
        f"article pages, one client: {requests} requests, p50 {statistics.median(timings):.1f} ms, "
        f"p95 {timings[int(0.95 * (requests - 1))]:.1f} ms, max {timings[-1]:.1f} ms",
        flush=True,
    )


def article_load(base: str, count: int, connections: int, duration: int) -> None:
    script = f"""
math.randomseed(7)
request = function()
  return wrk.format("GET", "/articles/" .. math.random(1, {count}))
end
"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--latency",
        "-s",
        handle.name,
        base,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    print("article pages (wrk):\n" + result.stdout, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "samizdat-site-bench")
    parser.add_argument("--queries", type=int, default=300, help="per query length")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    data = args.data / str(args.articles)
    if not (data / "samizdat.db").exists():
        build(data, args.articles)
    print(index_size(data / "samizdat.db", args.articles), flush=True)
    process, base = serve(data, args.workers)
    try:
        search_latency(base, data, args.queries)
        article_latency(base, args.articles)
        article_load(base, args.articles, args.connections, args.duration)
    finally:
        process.terminate()
        process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
