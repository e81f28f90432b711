"""Bulk paths scale with the archive, not with its square: `migrate-to` of an archive six times
larger takes at most about six times as long. The archives are `bench/site_load.py`'s (real
titles and accounts from the removal dataset, bodies from the saved WeChat pages); the target
is a fresh PostgreSQL database with no statistics, where a plan over whole tables (the search
index rebuilt by one query joining each article to its latest version) once walked every
version for every article at 100,000 articles. At these sizes that query stayed flat too (the
pathology needs the size the issue saw, too slow for CI): the test guards the whole path against
growing faster than the archive; the search index is now rebuilt by id batches read through
their indexes (store/search.py: reindex_all), whatever the planner knows."""

from __future__ import annotations

import time

import pytest

from samizdat.store import open_store
from samizdat.store.transfer import copy_archive
from tests.helpers import bench_module, fresh_postgres_database

pytestmark = pytest.mark.slow

SMALL, LARGE = 2_000, 12_000
MAX_GROWTH = 2.0  # seconds per article at LARGE over seconds per article at SMALL


def migrate_seconds_per_article(tmp_path, count: int) -> float:
    data = tmp_path / f"archive-{count}"
    bench_module("site_load").build(data, count)
    source = open_store(f"sqlite:///{data / 'samizdat.db'}")
    with fresh_postgres_database() as url:
        target = open_store(url)
        try:
            started = time.perf_counter()
            checks = copy_archive(source.engine, target.engine)
            seconds = time.perf_counter() - started
            assert all(check.ok for check in checks)
            with target.engine.connect() as connection:
                indexed = connection.exec_driver_sql("SELECT count(*) FROM search_docs").scalar()
            assert indexed == count
        finally:
            target.engine.dispose()
            source.engine.dispose()
    return seconds / count


def test_migrate_to_takes_no_longer_per_article_as_the_archive_grows(tmp_path):
    small = migrate_seconds_per_article(tmp_path, SMALL)
    large = migrate_seconds_per_article(tmp_path, LARGE)
    assert large <= small * MAX_GROWTH, (
        f"{small * 1000:.2f} ms an article at {SMALL:,}, {large * 1000:.2f} ms at {LARGE:,}"
    )
