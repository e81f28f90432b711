"""The store on SQLite and on PostgreSQL: migrations, capture rows, export, the one-article rule."""

import gzip
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text

from samizdat.archive import ArchiveRef
from samizdat.platforms.wechat import PLATFORM as WECHAT
from samizdat.store import CaptureRecord, StoredImage, open_store
from tests.helpers import WECHAT as PAGES


def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'store.db'}"


def record(url="https://mp.weixin.qq.com/s/short", images=()):
    page = gzip.decompress(
        (PAGES / "pre-deletion" / "gh_4343d07caa0c_2020-10-10_2247490970_H9r40Gc2pl.html.gz").read_bytes()
    )
    article = WECHAT.parse(url, page.decode("utf-8"))
    ref = ArchiveRef("samizdat-test.warc.gz", 311, 4000, "sha256:ABC", "<urn:uuid:1>")
    return CaptureRecord(article, [url], url, 200, datetime(2020, 10, 10, 9, 0, tzinfo=UTC), ref, images)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_capture_rows_round_trip(backend, tmp_path, request):
    url = sqlite_url(tmp_path) if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = open_store(url)
    image_ref = ArchiveRef("samizdat-test.warc.gz", 5000, 300, "sha256:IMG", "<urn:uuid:2>")
    images = [
        StoredImage("https://mmbiz.qpic.cn/a.png", "ab" * 32, "image/png", 69, image_ref),
        StoredImage("https://mmbiz.qpic.cn/a.png?wx_fmt=jpeg", "ab" * 32, "image/png", 69, None),
        StoredImage("https://mmbiz.qpic.cn/never-archived.png", "cd" * 32, "image/png", 9, None),
    ]
    first = store.record_capture(record(images=images))
    again = store.record_capture(
        record(url="https://mp.weixin.qq.com/s?__biz=MzI1MzM5OTczNw==&mid=2247490970&idx=1")
    )
    assert first.new_article and first.new_version
    assert (again.article_id, again.version_id, again.new_article, again.new_version) == (
        first.article_id,
        first.version_id,
        False,
        False,
    )
    article = store.article(first.article_id)
    assert article.title.startswith("权威发布")
    assert article.published_at.isoformat() == "2020-10-10T14:30:13+08:00"
    assert article.versions[0].warc == record().response
    assert [c.outcome for c in article.checks] == ["alive", "alive"]
    assert sorted(i.url for i in article.images) == [
        "https://mmbiz.qpic.cn/a.png",
        "https://mmbiz.qpic.cn/a.png?wx_fmt=jpeg",
    ]
    assert store.counts() == {"articles": 1, "versions": 1, "blobs": 1, "checks": 2}
    (row,) = store.iter_export()
    assert row.canonical_id == "MzI1MzM5OTczNw==:2247490970:1"
    assert row.version_count == 1 and row.latest.warc.offset == 311
    assert len(list(store.all_refs())) == 4  # one version, two checks, one blob
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "sources",
        "articles",
        "article_urls",
        "versions",
        "blobs",
        "version_blobs",
        "checks",
        "search_docs",
        "alembic_version",
    } <= tables
    store.engine.dispose()


def test_migrations_are_idempotent(tmp_path, database_url):
    url = database_url or sqlite_url(tmp_path)
    open_store(url).engine.dispose()
    store = open_store(url)
    with store.engine.connect() as connection:
        assert connection.scalar(text("select version_num from alembic_version")) == "0029"
        if not database_url:
            assert connection.scalar(text("pragma journal_mode")) == "wal"
    store.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0003_fills_the_check_columns_from_the_latest_version(backend, tmp_path, request):
    """An archive made before 0003 keeps being checked against its latest version."""
    from alembic import command

    from samizdat.store.engine import open_engine
    from samizdat.store.migrate import alembic_config, migrate

    url = sqlite_url(tmp_path) if backend == "sqlite" else request.getfixturevalue("postgres_url")
    engine = open_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0002")
        now = datetime(2020, 10, 10, tzinfo=UTC)
        connection.execute(
            text(
                "insert into articles (id, platform, canonical_id, url, state, priority, first_captured_at)"
                " values (1, 'wechat', 'a:1:1', 'u', 'live', 0, :now)"
            ),
            {"now": now},
        )
        for version_id, final_url, digest in ((1, "https://old", "1" * 64), (2, "https://new", "2" * 64)):
            connection.execute(
                text(
                    "insert into versions (id, article_id, content_hash, captured_at, final_url, text, html,"
                    " details) values (:id, 1, :digest, :now, :url, '', '', '{}')"
                ),
                {"id": version_id, "digest": digest, "now": now, "url": final_url},
            )
    migrate(engine)
    with engine.connect() as connection:
        row = connection.execute(text("select check_url, content_hash, page_fingerprint from articles")).one()
    engine.dispose()
    assert tuple(row) == ("https://new", "2" * 64, None)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_claims_never_overlap_and_expire_with_their_lease(backend, tmp_path, request):
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    from samizdat.store import WatchState

    url = sqlite_url(tmp_path) if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = open_store(url)
    base = record()
    due_at = datetime(2020, 10, 10, 10, 0, tzinfo=UTC)
    records = [
        dataclasses.replace(
            base,
            article=dataclasses.replace(
                base.article, canonical_id=f"biz:{i}:1", url=f"https://mp.weixin.qq.com/s/{i}"
            ),
            urls=[f"https://mp.weixin.qq.com/s/{i}"],
            next_check_at=due_at,
        )
        for i in range(200)
    ]
    store.record_captures(records)
    now, lease = due_at + timedelta(minutes=1), timedelta(minutes=5)

    def claim(worker):
        claimed = []
        while batch := store.claim_due(now, 7, worker=f"w{worker}", lease=lease):
            claimed += [a.id for a in batch]
        return claimed

    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(claim, range(4)))
    everything = [i for c in claims for i in c]
    assert len(everything) == len(set(everything)) == 200  # each article to exactly one worker
    assert store.claim_due(now, 10, worker="late", lease=lease) == []
    state = WatchState("live", None, None, now, None, now + timedelta(hours=1), None)
    store.record_checks([(None, everything[0], state)])  # a recorded check releases its claim
    expired = store.claim_due(now + lease * 2, 500, worker="after", lease=lease)
    assert len(expired) == 199 and everything[0] not in {a.id for a in expired}  # the rest expired
    store.engine.dispose()
