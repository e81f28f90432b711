"""The work queue's cost: claiming due checks and recording them, SQLite against PostgreSQL.

Usage: python bench/claims.py [--articles N] [--batch B] [--threads T] [--postgres ADMIN_URL]

Fills a database with N due articles (rows only), then T threads each loop: claim B due
articles (``Store.claim_due``), record a check for each (``Store.record_checks``: the new
state, the claim released, the next check an hour later), until none is due. Reports the
claim and record latencies (p50/p95 per batch) and the queue's overhead per check, on
SQLite (a file, WAL) and on PostgreSQL (a fresh database on ADMIN_URL's server); and the
latency of one per-host turn taken through the database (``DatabaseTurns``).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from samizdat.store import WatchState, open_store
from samizdat.store.schema import articles
from samizdat.store.turns import DatabaseTurns
from samizdat.testing.postgres import fresh_database

DEFAULT_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fill(store, count: int) -> None:
    now = datetime.now(UTC) - timedelta(minutes=1)
    with store.engine.begin() as connection:
        for start in range(0, count, 5000):
            connection.execute(
                insert(articles),
                [
                    {
                        "platform": "wechat",
                        "canonical_id": f"bench:{i}:1",
                        "url": f"https://mp.weixin.qq.com/s?__biz=bench&mid={i}&idx=1",
                        "state": "live",
                        "priority": 0,
                        "first_captured_at": now,
                        "next_check_at": now - timedelta(seconds=i % 3600),
                    }
                    for i in range(start, min(count, start + 5000))
                ],
            )


def run(store, threads: int, batch: int) -> dict[str, float]:
    claims: list[float] = []
    records: list[float] = []
    done = [0]
    lock = threading.Lock()

    def worker(k: int) -> None:
        name = f"bench-{k}"
        while True:
            began = time.perf_counter()
            due = store.claim_due(datetime.now(UTC), batch, worker=name, lease=timedelta(minutes=5))
            claimed = time.perf_counter()
            if not due:
                return
            later = datetime.now(UTC) + timedelta(hours=1)
            state = WatchState("live", None, None, datetime.now(UTC), None, later, None)
            store.record_checks([(None, a.id, state) for a in due])
            with lock:
                claims.append(claimed - began)
                records.append(time.perf_counter() - claimed)
                done[0] += len(due)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    claims.sort()
    records.sort()
    return {
        "checks": done[0],
        "seconds": seconds,
        "claim_p50": statistics.median(claims) * 1000,
        "claim_p95": claims[int(0.95 * (len(claims) - 1))] * 1000,
        "record_p50": statistics.median(records) * 1000,
        "record_p95": records[int(0.95 * (len(records) - 1))] * 1000,
        "per_check": seconds * threads / done[0] * 1000,
    }


def turn_latency(store, turns: int = 2000) -> tuple[float, float]:
    """p50 / p95 ms of one per-host turn taken through the database (rate high enough never to wait)."""
    shared = DatabaseTurns(1e9, store.engine)
    timings = []
    for _ in range(turns):
        began = time.perf_counter()
        shared.take("mp.weixin.qq.com")
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]


def report(name: str, figures: dict[str, float], threads: int, batch: int) -> None:
    print(
        f"{name}: {figures['checks']:,} checks claimed and recorded in {figures['seconds']:.1f} s "
        f"by {threads} threads, batches of {batch}: {figures['checks'] / figures['seconds']:,.0f} checks/s; "
        f"claim p50 {figures['claim_p50']:.1f} ms, p95 {figures['claim_p95']:.1f} ms; "
        f"record p50 {figures['record_p50']:.1f} ms, p95 {figures['record_p95']:.1f} ms; "
        f"queue time per check {figures['per_check']:.3f} ms",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument(
        "--batch", type=int, default=48, help="articles per claim (the watch loop claims 2 × concurrency)"
    )
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 4])
    parser.add_argument("--postgres", default=DEFAULT_ADMIN, help="an admin URL of a PostgreSQL server")
    args = parser.parse_args()
    for threads in args.threads:
        with tempfile.TemporaryDirectory() as directory:
            databases = {
                "SQLite": contextlib.nullcontext(f"sqlite:///{Path(directory) / 'claims.db'}"),
                "PostgreSQL": fresh_database(args.postgres),
            }
            for name, database in databases.items():
                with database as url:
                    store = open_store(url)
                    fill(store, args.articles)
                    report(name, run(store, threads, args.batch), threads, args.batch)
                    if threads == args.threads[0]:
                        p50, p95 = turn_latency(store)
                        print(
                            f"{name}: a per-host turn through the database, p50 {p50:.3f} / p95 {p95:.3f} ms"
                        )
                    store.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
