"""Re-check throughput against the local simulator: fetch + classify + store, per second.

Usage: python bench/check_throughput.py [--copies N] [--concurrency C] [--workers W] [--postgres ADMIN_URL]

Captures N×14 articles from ``samizdat simulate`` (its own process; every response carries
fresh per-request tokens, as the real platform's do), makes every one of them due, then times
the watch loop in W worker processes until none is due (fetch, fingerprint or parse,
classify, evidence, state). The raw fetch rate of the same URLs, with as many processes, is
beside it. The workers claim their checks from the database (``Store.claim_due``), as
``samizdat worker`` processes on several machines do; with ``--postgres`` the archive's
database is a fresh PostgreSQL database on that server instead of SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import update

from capture_throughput import raw_fetch, simulator_settings, start_simulator
from samizdat.config import DatabaseSettings, Settings
from samizdat.store import open_archive
from samizdat.store.schema import articles
from samizdat.testing.postgres import fresh_database
from samizdat.watch.checker import CheckReport
from samizdat.workers import capture_in_processes, check_in_processes


def checks_per_second(settings: Settings, workers: int) -> tuple[int, float, dict[str, int], int]:
    """Make every article due, then time the watch loop in ``workers`` processes until none is."""
    store = open_archive(settings)
    with store.engine.begin() as connection:
        connection.execute(update(articles).values(next_check_at=datetime(2000, 1, 1, tzinfo=UTC)))
    store.engine.dispose()
    outcomes: dict[str, int] = {}
    same_page = 0
    first_and_last: list[float] = []

    def count(report: CheckReport) -> None:
        nonlocal same_page
        outcomes[str(report.outcome)] = outcomes.get(str(report.outcome), 0) + 1
        same_page += report.same_page
        now = time.perf_counter()
        first_and_last[:] = [first_and_last[0] if first_and_last else now, now]

    started = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    check_in_processes(settings, workers, count, until_idle=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    done = sum(outcomes.values())
    print(f"with worker start-up: {done / seconds:.1f} checks/s, {cpu / seconds:.2f} cores busy")
    # A watcher runs for days: the figure is the steady rate, from the first report to the last.
    return done - 1, first_and_last[-1] - first_and_last[0], outcomes, same_page


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _raw_worker(urls: list[str], concurrency: int, seconds: multiprocessing.Queue) -> None:
    seconds.put(asyncio.run(raw_fetch(urls, concurrency)))


def raw_fetch_in_processes(urls: list[str], concurrency: int, workers: int) -> float:
    """Pages/s of plain httpx GETs (gzip, decoded) over the same URLs, in ``workers`` processes."""
    context = multiprocessing.get_context("spawn")
    seconds: multiprocessing.Queue = context.Queue()
    share = max(1, concurrency // workers)
    processes = [
        context.Process(target=_raw_worker, args=(urls[w::workers], share, seconds)) for w in range(workers)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return len(urls) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight, all workers together"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--postgres", help="admin URL of a PostgreSQL server, e.g. postgresql://postgres@127.0.0.1/postgres"
    )
    args = parser.parse_args()
    process, base = start_simulator(args.copies)
    try:
        urls = httpx.get(f"{base}/urls.txt").text.split()
        postgres = fresh_database(args.postgres) if args.postgres else contextlib.nullcontext(None)
        with tempfile.TemporaryDirectory() as directory, postgres as url:
            settings = simulator_settings(Path(directory), base, args.concurrency)
            settings = replace(settings, capture=replace(settings.capture, images=False))
            if url:
                settings = replace(settings, database=DatabaseSettings(url=url))
            capture_in_processes(settings, urls, args.workers)
            raw = raw_fetch_in_processes(urls, args.concurrency, args.workers)
            simulator_cpu = cpu_seconds(process.pid)
            done, seconds, outcomes, same_page = checks_per_second(settings, args.workers)
            simulator_cpu = cpu_seconds(process.pid) - simulator_cpu
    finally:
        process.terminate()
        process.wait()
    print(f"articles: {len(urls)}, {args.workers} processes, {args.concurrency} requests in flight in all")
    print(f"raw fetch (httpx GET, {args.workers} processes): {raw:.1f} pages/s")
    rate = done / seconds
    print(
        f"checks (fetch + fingerprint or parse + classify + store): {rate:.1f} checks/s "
        f"({done} checks, {same_page} found the same page), ratio to raw {rate / raw:.2f}"
    )
    print(f"outcomes: {outcomes}")
    print(f"the simulator used {simulator_cpu / seconds:.0%} of one core meanwhile ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
