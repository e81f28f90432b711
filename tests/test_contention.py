"""Writers that touch the same rows at once on PostgreSQL: removals of one account seen by
several checks together each make the account's other articles due, over overlapping sets of
rows. Each must lock them in one order (ids ascending) or two can deadlock: CI met one in the
browser tests' archive (every article of an account removed at once, 8 checks in flight), and a
script of 8 threads making siblings due met 2 in 320 calls. Deadlocks are a matter of timing:
this test does not reproduce the old one every run; it holds that none happens now. Articles:
`bench/site_load.py`'s (real titles and accounts, bodies from the saved WeChat pages)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from samizdat.store import open_store
from samizdat.store.transfer import copy_archive
from tests.helpers import bench_module, fresh_postgres_database

pytestmark = pytest.mark.slow

ARTICLES, THREADS, CALLS = 80, 8, 40


def test_making_one_account_s_articles_due_from_many_threads_never_deadlocks(tmp_path):
    bench_module("site_load").build(tmp_path / "archive", ARTICLES)
    source = open_store(f"sqlite:///{tmp_path / 'archive' / 'samizdat.db'}")
    with fresh_postgres_database() as url:
        store = open_store(url)
        try:
            copy_archive(source.engine, store.engine, compare_source=False)
            with store.engine.begin() as connection:
                connection.exec_driver_sql(
                    "UPDATE articles SET account_id = 'gh_one', state = 'live', next_check_at = '2031-01-01'"
                )
            # Each call is a little earlier than the one before, so that most find siblings due
            # later than they want and make them due again (threads interleave: not all of them).
            base, calls, lock, failures = datetime(2030, 1, 1, tzinfo=UTC), [0], threading.Lock(), []

            def make_due(first: int) -> None:
                for step in range(CALLS):
                    with lock:
                        calls[0] += 1
                        now = base - timedelta(seconds=calls[0])
                    try:
                        store.check_siblings_soon(
                            (first * 7 + step * 13) % ARTICLES + 1, now, sharing="account_id", limit=ARTICLES
                        )
                    except Exception as exc:  # a deadlock
                        failures.append(repr(exc)[:200])

            threads = [threading.Thread(target=make_due, args=(n,)) for n in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == [], failures[:3]
        finally:
            store.engine.dispose()
            source.engine.dispose()
