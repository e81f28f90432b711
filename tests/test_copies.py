"""Copies across articles: MinHash fingerprints, LSH candidates, clusters in the store.

The texts are the extraction ground truth of real Chinese web pages
(tests/fixtures/cwced/cleaned, from immortal-autumn/Chinese-Web-Content-Extraction-Dataset,
MIT); the reposts are made from them by samizdat.testing.reposts.
"""

import itertools
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from samizdat.archive import ArchiveRef
from samizdat.platforms.base import Article
from samizdat.relate.copies import fingerprint
from samizdat.store import CaptureRecord, open_store
from samizdat.store.copies import reindex_copies
from samizdat.store.related import relate_pending
from samizdat.store.schema import articles
from samizdat.testing.corpus import fixture_texts
from samizdat.testing.reposts import repost_set
from tests.helpers import FIXTURES

TEXTS = [t.text for t in fixture_texts(FIXTURES)]
REPOSTS = repost_set(TEXTS)


def test_every_repost_is_a_copy_of_its_original_and_of_nothing_else():
    originals = [fingerprint(text) for text in TEXTS]
    reposts = [fingerprint(r.text) for r in REPOSTS]
    assert all(originals) and all(reposts)
    missed = [
        r.original for r, f in zip(REPOSTS, reposts, strict=True) if not f.is_copy_of(originals[r.original])
    ]
    assert missed == []
    everything = [(i, f) for i, f in enumerate(originals)] + [
        (r.original, f) for r, f in zip(REPOSTS, reposts, strict=True)
    ]
    different = [(a, b) for (i, a), (j, b) in itertools.combinations(everything, 2) if i != j]
    assert len(different) >= 1000
    assert [pair for pair in different if pair[0].is_copy_of(pair[1])] == []


def test_a_copy_is_found_by_its_band_keys():
    """The LSH lookup finds the pair: at least one band key in common."""
    for r in REPOSTS:
        original, copy = fingerprint(TEXTS[r.original]), fingerprint(r.text)
        assert set(original.band_keys()) & set(copy.band_keys()), r.original


def test_short_texts_and_boilerplate_are_not_linked():
    assert fingerprint("长按二维码关注我们，点击阅读原文") is None
    footer = (
        "长按二维码关注我们，点击阅读原文。本号所发文章仅代表作者观点，不代表本号立场；"
        "欢迎各位读者投稿，投稿请发送邮件至公众号菜单所列的邮箱，来稿请注明真实姓名和联系方式。"
    )
    boilerplate = fingerprint(footer)
    assert boilerplate is not None
    assert not fingerprint(TEXTS[0] + "\n" + footer).is_copy_of(boilerplate)


def capture(platform_id: str, text: str, *, at: datetime, account: str = "a") -> CaptureRecord:
    url = f"https://example.org/{platform_id}"
    article = Article(
        "generic", platform_id, url, f"title {platform_id}", text, f"<p>{text}</p>", account=account
    )
    ref = ArchiveRef("samizdat-test.warc.gz", 0, 100, "sha256:ABC", "<urn:uuid:1>")
    return CaptureRecord(article, [url], url, 200, at, ref)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    return open_store(url)


def clusters(store) -> dict[str, int | None]:
    with store.engine.connect() as connection:
        return dict(connection.execute(select(articles.c.canonical_id, articles.c.cluster_id)).all())


def test_the_store_clusters_reposts_across_articles_and_not_edits(store):
    start = datetime(2023, 7, 1, tzinfo=UTC)
    chosen = REPOSTS[:12]
    # Originals one at a time, their reposts in one batch with a new article that copies nothing.
    for r in chosen:
        store.record_capture(capture(f"original-{r.original}", TEXTS[r.original], at=start))
    store.record_captures(
        [capture(f"repost-{r.original}", r.text, at=start + timedelta(hours=1), account="b") for r in chosen]
        + [capture("alone", TEXTS[40], at=start + timedelta(hours=1))]
    )
    # An edit of an original is a new version of the same article, not a copy.
    edited = TEXTS[chosen[0].original] + "\n\n更正：文中一处日期有误，已改正。"
    store.record_capture(capture(f"original-{chosen[0].original}", edited, at=start + timedelta(hours=2)))
    found = clusters(store)
    ids = {canonical: article_id for article_id, canonical in _ids(store)}
    for r in chosen:
        original, copy = f"original-{r.original}", f"repost-{r.original}"
        assert found[original] == found[copy] == ids[original], r.original  # named by the oldest
    assert found["alone"] is None
    assert len({found[f"original-{r.original}"] for r in chosen}) == len(chosen)
    article = store.article(ids[f"original-{chosen[0].original}"])
    assert len(article.versions) == 2 and article.cluster_id == ids[f"original-{chosen[0].original}"]

    # An article made of two texts of like length copies both: it merges their clusters under
    # the oldest article (texts 9 and 10 have 1,346 and 1,351 shingles).
    store.record_capture(capture("bridge", TEXTS[9] + "\n\n" + TEXTS[10], at=start + timedelta(hours=3)))
    merged = clusters(store)
    assert merged["bridge"] == merged["repost-10"] == merged["original-10"] == ids["original-9"]

    # Rebuilding from the stored versions (what the migration does) gives the same clusters.
    with store.engine.begin() as connection:
        reindex_copies(connection)
    assert clusters(store) == merged
    exported = {row.canonical_id: row.cluster_id for row in store.iter_export()}
    assert exported == merged


def _ids(store):
    with store.engine.connect() as connection:
        return connection.execute(select(articles.c.id, articles.c.canonical_id)).all()


@pytest.mark.slow
def test_the_article_page_lists_the_other_copies_with_their_status(tmp_path, database_url):
    from samizdat.config import DatabaseSettings, Settings
    from samizdat.web.app import create_app
    from samizdat.web.server import running_site

    settings = Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=database_url))
    store = open_store(settings.database_url)
    start = datetime(2023, 7, 1, tzinfo=UTC)
    original = store.record_capture(capture("original", TEXTS[3], at=start, account="原号")).article_id
    _still_online, second = (
        store.record_capture(
            capture(key, REPOSTS[3].text, at=start + timedelta(hours=h), account=key)
        ).article_id
        for h, key in ((1, "转载甲"), (2, "转载乙"))
    )
    with store.engine.begin() as connection:
        connection.execute(
            update(articles)
            .where(articles.c.id.in_([original, second]))
            .values(state="removed", outcome="deleted_by_author", detected_at=start + timedelta(days=2))
        )
    store.record_captures([capture(f"other-{i}", TEXTS[i], at=start) for i in (4, 5, 6, 7)])
    while relate_pending(store.engine):
        pass
    with running_site(create_app(settings, store)) as base:
        page = httpx.get(f"{base}/articles/{original}", headers={"Accept-Language": "en"}).text
        alone = httpx.get(f"{base}/articles/{original}", headers={"Accept-Language": "zh"}).text
        api = httpx.get(f"{base}/api/articles/{original}").json()
    copies = page[page.index('id="copies"') : page.index("</section>", page.index('id="copies"'))]
    assert "Copies of this text (2)" in copies
    assert copies.index("转载甲") < copies.index("转载乙")  # still online first
    assert "still online (seen 1 July 2023)" in copies and "https://example.org/转载甲" in copies
    assert "also removed on 3 July 2023 (deleted by its publisher)" in copies
    assert "同文转载（2）" in alone
    related = page[page.index('id="related-heading"') :]
    assert related.count('<li class="article-item">') >= 3 and "转载" not in related
    assert api["cluster_id"] == original
    assert [(c["account"], c["status"]) for c in api["copies"]] == [
        ("转载甲", "live"),
        ("转载乙", "deleted_by_author"),
    ]
    assert len(api["related"]) >= 3 and not {c["id"] for c in api["copies"]} & set(api["related"])
