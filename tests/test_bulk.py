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
from sqlalchemy import text

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


def test_migrate_to_builds_each_partitions_search_index_side_by_side(tmp_path, monkeypatch):
    """The search index of a copied archive is built a partition at a time on connections of
    their own (PostgreSQL 15 builds a GIN index on one core): with partitions of 100 ids, 450
    articles make five partitions, every one indexed and attached, the partitioned index
    valid, and a search finds on PostgreSQL what it finds on SQLite."""
    from samizdat.read.reader import ArticleFilter, Reader

    monkeypatch.setattr("samizdat.store.search.PARTITION_ARTICLES", 100)
    data = tmp_path / "archive"
    bench_module("site_load").build(data, 450)
    source = open_store(f"sqlite:///{data / 'samizdat.db'}")
    with fresh_postgres_database() as url:
        target = open_store(url)
        try:
            built = []
            monkeypatch.setattr("samizdat.store.transfer.build_token_index", _recording(built))
            assert all(check.ok for check in copy_archive(source.engine, target.engine, index_builds=2))
            with target.engine.connect() as connection:
                partitions, indexed, valid = connection.execute(
                    text(
                        "SELECT (SELECT count(*) FROM pg_inherits WHERE inhparent = 'search_docs'::regclass), "
                        "(SELECT count(*) FROM pg_inherits JOIN pg_index ON indexrelid = inhrelid "
                        " WHERE inhparent = 'ix_search_docs_grams'::regclass AND indisvalid), "
                        "(SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_search_docs_grams'::regclass)"
                    )
                ).one()
            assert partitions >= 5 and indexed == partitions and valid
            assert len(built) == partitions
            with source.engine.connect() as connection:
                titles = connection.scalars(
                    text("SELECT title FROM articles ORDER BY id DESC LIMIT 50")
                ).all()
            words = {title[:2] for title in titles if len(title.strip()) >= 2 and " " not in title[:2]}
            for word in sorted(words)[:10]:
                on_sqlite = Reader(source.engine).articles(ArticleFilter(query=word), limit=20)
                on_postgres = Reader(target.engine).articles(ArticleFilter(query=word), limit=20)
                assert on_sqlite.total == on_postgres.total > 0, word
        finally:
            target.engine.dispose()
            source.engine.dispose()


def _recording(built: list):
    from samizdat.store.search import build_token_index

    def build(engine, jobs, **options):
        return build_token_index(engine, jobs, on_built=lambda name, _: built.append(name), **options)

    return build
