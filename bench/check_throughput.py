"""Re-check throughput against the local simulator: fetch + classify + store, per second.

Usage: python bench/check_throughput.py [--copies N] [--concurrency C]

Captures N×14 articles from ``samizdat simulate`` (its own process), makes every one of them
due, then times one watch pass over all of them in this process (fetch, WARC evidence,
parse, classify, state and check rows). The raw fetch rate of the same URLs is beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import update

from samizdat.app import pipeline
from samizdat.config import FetchSettings, PlatformSettings, Settings
from samizdat.store.schema import articles
from samizdat.watch.loop import watch_pass
from samizdat.watch.workers import capture_urls

sys.path.insert(0, str(Path(__file__).parent))
from capture_throughput import raw_fetch, start_simulator


async def checks_per_second(settings: Settings, concurrency: int) -> tuple[int, float, dict[str, int]]:
    async with pipeline(settings) as pipe:
        with pipe.store.engine.begin() as connection:
            connection.execute(update(articles).values(next_check_at=datetime(2000, 1, 1, tzinfo=UTC)))
        started = time.perf_counter()
        done, outcomes = 0, {}
        while True:
            reports = await watch_pass(pipe.store, pipe.checker, concurrency)
            if not reports:
                break
            done += len(reports)
            for report in reports:
                outcomes[str(report.outcome)] = outcomes.get(str(report.outcome), 0) + 1
        return done, time.perf_counter() - started, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    process, base = start_simulator(args.copies)
    try:
        urls = httpx.get(f"{base}/urls.txt").text.split()
        with tempfile.TemporaryDirectory() as directory:
            settings = Settings(
                data_dir=Path(directory),
                fetch=FetchSettings(
                    allow_private_networks=True,
                    per_host_concurrency=args.concurrency,
                    total_concurrency=args.concurrency,
                    timeout=60,
                ),
                platforms={"wechat": PlatformSettings(hosts=(base.split("://", 1)[1],))},
            )
            settings = replace(settings, capture=replace(settings.capture, images=False))
            asyncio.run(capture_urls(settings, urls))
            raw = len(urls) / asyncio.run(raw_fetch(urls, args.concurrency))
            done, seconds, outcomes = asyncio.run(checks_per_second(settings, args.concurrency))
    finally:
        process.terminate()
        process.wait()
    print(f"articles: {len(urls)}, one process, {args.concurrency} requests in flight")
    print(f"raw fetch: {raw:.1f} pages/s")
    rate = done / seconds
    print(f"checks (fetch + WARC evidence + parse + classify + store): {rate:.1f} checks/s ({done} checks)")
    print(f"outcomes: {outcomes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
