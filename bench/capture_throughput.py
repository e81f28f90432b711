"""Capture throughput against the local simulator, beside the raw fetch rate of the same URLs.

Usage: python bench/capture_throughput.py [--copies N] [--concurrency C] [--no-images]

Starts ``samizdat simulate`` in its own process, then
1. raw: GETs every article URL with a plain httpx client and reads the body, nothing else
   (after one warm-up pass, so the simulator has compressed every page once);
2. capture: runs the full first-sight capture of the same URLs into an empty archive
   (fetch + WARC records fsynced + parse + images + database rows) with ``--workers``
   processes, as ``samizdat capture --workers N`` does. The concurrency is shared among them.
Reports articles per second for both, their ratio, and this process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

from samizdat.config import DatabaseSettings, FetchSettings, PlatformSettings, Settings
from samizdat.store import open_archive
from samizdat.testing.process import simulator_process
from samizdat.watch import CaptureStatus
from samizdat.workers import capture_in_processes, capture_urls


def start_simulator(copies: int) -> tuple[subprocess.Popen, str]:
    return simulator_process(["--copies", str(copies)])


def simulator_settings(directory: Path, base: str, concurrency: int) -> Settings:
    """An archive in ``directory`` that fetches from the simulator at ``base``, ``concurrency`` at once."""
    return Settings(
        data_dir=directory,
        fetch=FetchSettings(
            allow_private_networks=True,
            per_host_concurrency=concurrency,
            total_concurrency=concurrency,
            timeout=60,
        ),
        platforms={"wechat": PlatformSettings(hosts=(base.split("://", 1)[1],))},
    )


async def raw_fetch(urls: list[str], concurrency: int) -> float:
    limit = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers={"Accept-Encoding": "gzip"}) as client:

        async def one(url: str) -> int:
            async with limit:
                response = await client.get(url)
                return len(response.content)

        started = time.perf_counter()
        sizes = await asyncio.gather(*(one(u) for u in urls))
        elapsed = time.perf_counter() - started
    assert all(sizes)
    return elapsed


def capture(urls: list[str], settings: Settings, workers: int) -> tuple[float, dict[str, int]]:
    open_archive(settings).engine.dispose()  # create the schema before the clock starts
    started = time.perf_counter()
    if workers > 1:
        outcomes = capture_in_processes(settings, urls, workers)
    else:
        outcomes = asyncio.run(capture_urls(settings, urls))
    elapsed = time.perf_counter() - started
    bad = [o for o in outcomes if o.status is not CaptureStatus.CAPTURED]
    if bad:
        raise SystemExit(f"{len(bad)} captures did not succeed, e.g. {bad[0]}")
    store = open_archive(settings)
    counts = store.counts()
    store.engine.dispose()
    return elapsed, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100, help="copies of each of the 14 sample articles")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight, all workers together")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="capture processes")
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    process, base = start_simulator(args.copies)
    try:
        urls = httpx.get(f"{base}/urls.txt").text.split()
        with tempfile.TemporaryDirectory() as directory:
            settings = simulator_settings(Path(directory), base, args.concurrency)
            if args.no_images:
                settings = replace(settings, capture=replace(settings.capture, images=False))
            if args.database_url:
                settings = replace(settings, database=DatabaseSettings(url=args.database_url))
            asyncio.run(raw_fetch(urls, args.concurrency))  # warm-up: the simulator compresses each page once
            raw_seconds = asyncio.run(raw_fetch(urls, args.concurrency))
            capture_seconds, counts = capture(urls, settings, args.workers)
            # Only the capture workers have been reaped so far: the simulator is still running.
            workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            warc_bytes = sum(p.stat().st_size for p in (Path(directory) / "warcs").glob("*.warc.gz"))
    finally:
        process.terminate()
        process.wait()
    n = len(urls)
    raw_rate, capture_rate = n / raw_seconds, n / capture_seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"articles: {n} ({args.copies} copies of the sample pages), {args.workers} capture processes, "
        f"{args.concurrency} requests in flight, images {'off' if args.no_images else 'on'}"
    )

    print(f"raw fetch (httpx GET, body read, nothing else): {raw_rate:8.1f} articles/s")
    print(f"capture (fetch + WARC fsync + parse + images + database): {capture_rate:8.1f} articles/s")
    print(f"capture / raw: {capture_rate / raw_rate:.2f}")
    print(f"stored: {counts}, WARC {warc_bytes / 1e6:.1f} MB")
    if args.workers > 1:
        print(
            f"peak memory (max RSS): this process {peak:.0f} MB, largest capture worker {workers_peak:.0f} MB"
        )
    else:
        print(f"peak memory (max RSS): this process, which ran the capture, {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
