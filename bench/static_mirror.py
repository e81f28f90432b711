"""The static mirror at scale: a full build, an incremental rebuild after 100 new articles, the
size on disk and of the search index, and the search's recall against the server's.

Usage: python bench/static_mirror.py [--articles N] [--data DIR] [--queries Q] [--added A]

The archive is bench/site_load.py's (kept in --data): N articles whose titles, accounts and
removals come from 17,411 real removals, with bodies of paragraphs from the real sample pages.
Its records are synthetic (no WARC files), so the mirror is built without the unprocessed cache
and the WACZ packages (`--no-raw --no-packages`): pages, images, lists, feeds, statistics and
the Pagefind index. Recall: for Q random 2-, 3- and 4-character substrings of stored texts,
the share of the server's top 20 (the site's own search, `Reader.articles`) that the mirror's
search (Pagefind in headless Chromium, on the mirror served by a plain static server) finds
among all its results. The added articles have text of their own (shuffled paragraphs), as most
new captures do: a new copy of an archived text changes every page of its cluster.
Article pages are rendered by one process per CPU (`build_mirror`'s default).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sqlite3
import statistics
import tempfile
import threading
import time
import zlib
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import site_load
from samizdat.archive.storage import warc_storage
from samizdat.config import Settings
from samizdat.evidence.keys import archive_key, key_document
from samizdat.read.reader import ArticleFilter, Reader
from samizdat.store import open_archive
from samizdat.web.mirror import build_mirror

CHROMIUM = "/usr/bin/chromium"


def build(settings: Settings, root: Path) -> None:
    store = open_archive(settings)
    key = archive_key(settings.data_dir)
    try:
        report = build_mirror(
            store,
            warc_storage(settings),
            root,
            key=key,
            key_document=key_document(key, settings.data_dir),
            sign_package=None,
            raw=False,
            packages=False,
        )
    finally:
        store.engine.dispose()
    print(
        f"  {report.articles:,} articles rendered in {report.seconds:,.1f} s; "
        f"{report.written:,} files written, "
        f"{report.unchanged:,} unchanged; mirror {report.files:,} files, {report.bytes / 1e6:,.1f} MB, "
        f"search index {report.search_bytes / 1e6:,.1f} MB",
        flush=True,
    )


def fragments(root: Path) -> dict[str, int]:
    """Pagefind's result ids → article ids, read from its fragment files."""
    found = {}
    for path in (root / "pagefind").glob("*/fragment/*"):
        data = path.read_bytes()
        text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else zlib.decompress(data)
        document = json.loads(text[text.index(b"{") :])
        found[path.name.removesuffix(".pf_fragment")] = int(document["meta"]["id"])
    return found


SEARCH = "(query) => window.samizdatSearch(query)"  # static/search.js: the mirror's own search


def recall(settings: Settings, root: Path, queries: int) -> None:
    from playwright.sync_api import sync_playwright

    with sqlite3.connect(settings.data_dir / "samizdat.db") as connection:
        texts = [
            row[0]  # the same sample at every run: trees and settings are compared on the same queries
            for row in connection.execute(
                "SELECT text FROM versions ORDER BY (id * 2654435761) % 1000003 LIMIT 2000"
            )
        ]
    rng = random.Random(3)
    chosen: list[str] = []
    while len(chosen) < queries:
        text = rng.choice(texts)
        length = rng.choice((2, 3, 4))
        start = rng.randrange(0, max(1, len(text) - length))
        query = text[start : start + length]
        if len(query) == length and all("\u4e00" <= c <= "\u9fff" for c in query):
            chosen.append(query)
    ids = fragments(root)
    reader = Reader(open_archive(settings).engine)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shares, by_length, timings = [], {2: [], 3: [], 4: []}, []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/search.html")
            page.wait_for_function("() => window.samizdatSearch !== undefined")
            # The page loads each shard's index entry while the reader types; searches start
            # once it has (the time it took is printed on its own).
            began = time.perf_counter()
            page.evaluate("async () => { await window.samizdatReady; }")
            ready = (time.perf_counter() - began) * 1000
            for query in chosen:
                expected = [a.id for a in reader.articles(ArticleFilter(query=query), limit=20).items]
                if not expected:
                    continue
                began = time.perf_counter()
                results = page.evaluate(SEARCH, query)
                timings.append((time.perf_counter() - began) * 1000)
                found = {ids.get(r) for r in results}
                share = sum(1 for e in expected if e in found) / len(expected)
                shares.append(share)
                by_length[len(query)].append(share)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    print(
        f"search recall against the server's top 20: {statistics.mean(shares):.3f} "
        f"over {len(shares)} queries "
        + ", ".join(f"{n} characters {statistics.mean(v):.3f} ({len(v)})" for n, v in by_length.items() if v)
        + f"; search ready {ready:.0f} ms after the page; "
        f"mirror search p50 {statistics.median(timings):.0f} ms, "
        f"p95 {statistics.quantiles(timings, n=20)[-1]:.0f} ms, max {max(timings):.0f} ms",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--data", type=Path, help="a new directory (default: a new temporary one)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--added", type=int, default=100)
    args = parser.parse_args()
    workspace = args.data or Path(tempfile.mkdtemp(prefix="samizdat-mirror-bench-"))
    data = workspace / "archive"
    site_load.build(data, args.articles)
    settings = Settings(data_dir=data)
    root = workspace / "mirror"
    print(f"full build of {args.articles:,} articles:", flush=True)
    build(settings, root)
    recall(settings, root, args.queries)
    site_load.build(data, args.articles + args.added, start=args.articles, own_text=True)
    print(f"incremental build after {args.added} new articles, each with its own text:", flush=True)
    build(settings, root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
