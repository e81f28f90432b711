"""The static mirror's search at scale, without the rest of the mirror: latency and recall.

Usage: python bench/mirror_search.py [--articles N] [--data DIR] [--shard S] [--queries Q]

The archive is bench/site_load.py's (built once in --data/archive). Only what the search page
needs is built, with the mirror's own code: each article's search document
(``Mirror.search_document``), the Pagefind index of each shard of S articles
(``index_search``), the search page and its script. The rest of a mirror (article pages,
lists, images) plays no part in a search, and at 100,000 articles it takes an hour to render
(bench/static_mirror.py builds it all). Then static_mirror.py's measure: Q random 2-, 3- and
4-character substrings of stored texts through the page's own search in headless Chromium,
latency p50/p95/max, and the share of the server's top 20 in the page's first results.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from pathlib import Path

from sqlalchemy import select

import site_load
from samizdat.archive.storage import warc_storage
from samizdat.config import Settings, WitnessSettings
from samizdat.store import open_archive
from samizdat.store.schema import articles
from samizdat.web.mirror import WEB, index_search, write_search_page, write_static
from samizdat.web.mirror.layout import Files, MirrorReport
from samizdat.web.mirror.pages import Mirror
from samizdat.web.pages import Verification
from static_mirror import recall

_job: dict = {}


def _mirror(settings: Settings, root: Path, shard: int) -> Mirror:
    store = open_archive(settings)
    return Mirror(
        store,
        warc_storage(settings),
        root,
        sign_package=None,
        verification=Verification(None, WitnessSettings()),
        raw=False,
        packages=False,
        search=True,
        search_shard=shard,
    )


def _documents(ids: list[int]) -> int:
    mirror = _mirror(_job["settings"], _job["root"], _job["shard"])
    out = Files(_job["root"], {}, MirrorReport(_job["root"]))
    for article_id in ids:
        article = mirror.store.article(article_id)
        if article is not None:
            mirror.search_document(out, article, [])
    mirror.store.engine.dispose()
    return len(ids)


def build(settings: Settings, root: Path, shard: int) -> None:
    store = open_archive(settings)
    with store.engine.connect() as connection:
        ids = list(connection.scalars(select(articles.c.id).order_by(articles.c.id)))
    store.engine.dispose()
    started = time.monotonic()
    _job.update(settings=settings, root=root, shard=shard)
    chunks = [ids[i : i + 2000] for i in range(0, len(ids), 2000)]
    with multiprocessing.get_context("fork").Pool(multiprocessing.cpu_count()) as pool:
        done = sum(pool.imap_unordered(_documents, chunks))
    print(f"  {done:,} search documents in {time.monotonic() - started:.0f} s", flush=True)
    started = time.monotonic()
    index_search(root, {p.name for p in (root / "search").iterdir()})
    print(f"  Pagefind, shards of {shard:,}: {time.monotonic() - started:.0f} s", flush=True)
    mirror = _mirror(settings, root, shard)
    out = Files(root, {}, MirrorReport(root))
    write_static(out)
    write_search_page(mirror, out)
    mirror.store.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--data", type=Path, required=True, help="kept between runs")
    parser.add_argument(
        "--shard", type=int, default=None, help="articles per search index (default: the mirror's)"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--measure-only", action="store_true", help="the index built by an earlier run")
    args = parser.parse_args()
    from samizdat.web.mirror.pages import SEARCH_SHARD

    shard = args.shard or SEARCH_SHARD
    data = args.data / "archive"
    if not (data / "samizdat.db").exists():
        site_load.build(data, args.articles)
    settings = Settings(data_dir=data)
    root = args.data / f"search-{shard}"
    if not args.measure_only:
        print(f"search index of {args.articles:,} articles:", flush=True)
        build(settings, root, shard)
    else:  # the page's script as it is now
        (root / "static" / "search.js").write_bytes((WEB / "static" / "search.js").read_bytes())
    recall(settings, root, args.queries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
