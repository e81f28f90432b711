"""Capture throughput against the local simulator, beside the raw fetch rate of the same URLs.

Usage: python bench/capture_throughput.py [--copies N] [--concurrency C] [--no-images]

Starts ``samizdat simulate`` in its own process (so the server does not share this
process's CPU time slice), then
1. raw: GETs every article URL with a plain httpx client and reads the body, nothing else;
2. capture: runs the full first-sight capture of the same URLs into an empty archive
   (fetch + WARC records fsynced + parse + images + database rows).
Reports articles per second for both, their ratio, and this process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

from samizdat.app import pipeline
from samizdat.config import FetchSettings, PlatformSettings, Settings
from samizdat.watch import CaptureStatus


def start_simulator(copies: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "samizdat.cli", "simulate", "--port", "0", "--copies", str(copies)],
        stdout=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()
    if not first.startswith("serving"):
        process.kill()
        raise SystemExit(f"the simulator did not start: {first!r}")
    return process, first.rsplit(" ", 1)[1].strip()


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


async def capture(urls: list[str], settings: Settings, concurrency: int) -> tuple[float, dict[str, int]]:
    limit = asyncio.Semaphore(concurrency)
    async with pipeline(settings) as pipe:

        async def one(url: str):
            async with limit:
                return await pipe.capturer.capture(url)

        started = time.perf_counter()
        outcomes = await asyncio.gather(*(one(u) for u in urls))
        elapsed = time.perf_counter() - started
        counts = pipe.store.counts()
    bad = [o for o in outcomes if o.status is not CaptureStatus.CAPTURED]
    if bad:
        raise SystemExit(f"{len(bad)} captures did not succeed, e.g. {bad[0]}")
    return elapsed, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100, help="copies of each of the 14 sample articles")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-images", action="store_true")
    args = parser.parse_args()
    process, base = start_simulator(args.copies)
    try:
        urls = httpx.get(f"{base}/urls.txt").text.split()
        host = base.split("://", 1)[1]
        with tempfile.TemporaryDirectory() as directory:
            settings = Settings(
                data_dir=Path(directory),
                fetch=FetchSettings(
                    allow_private_networks=True,
                    per_host_concurrency=args.concurrency,
                    total_concurrency=args.concurrency,
                    timeout=60,
                ),
                platforms={"wechat": PlatformSettings(hosts=(host,))},
            )
            if args.no_images:
                settings = replace(settings, capture=replace(settings.capture, images=False))
            asyncio.run(raw_fetch(urls, args.concurrency))  # warm-up: the simulator compresses each page once
            raw_seconds = asyncio.run(raw_fetch(urls, args.concurrency))
            capture_seconds, counts = asyncio.run(capture(urls, settings, args.concurrency))
            warc_bytes = sum(p.stat().st_size for p in (Path(directory) / "warcs").glob("*.warc.gz"))
    finally:
        process.terminate()
        process.wait()
    n = len(urls)
    raw_rate, capture_rate = n / raw_seconds, n / capture_seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"articles: {n} ({args.copies} copies of the sample pages), concurrency {args.concurrency}, "
        f"images {'off' if args.no_images else 'on'}"
    )
    print(f"raw fetch (httpx GET, body read, nothing else): {raw_rate:8.1f} articles/s")
    print(f"capture (fetch + WARC fsync + parse + images + database): {capture_rate:8.1f} articles/s")
    print(f"capture / raw: {capture_rate / raw_rate:.2f}")
    print(f"stored: {counts}, WARC {warc_bytes / 1e6:.1f} MB")
    print(f"peak memory (this process, max RSS): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
