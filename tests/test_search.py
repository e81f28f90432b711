"""Search is exact: for any query, the articles found are exactly those a brute-force scan finds.

Texts: the article bodies of the sample pages (src/samizdat/testing/pages/wechat/{pre-deletion,articles}, PROVENANCE.md), cut
into pieces and given titles from the real removal list (src/samizdat/testing/pages/removals), a third
converted to traditional characters; queries are random substrings of 1-6 characters of the
stored texts, in either script, plus strings with spaces and punctuation."""

import contextlib
import csv
import gzip
import random
from datetime import UTC, datetime

import opencc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from samizdat.archive import ArchiveRef
from samizdat.folding import fold
from samizdat.platforms.base import Article
from samizdat.platforms.wechat import PLATFORM as WECHAT
from samizdat.read.reader import ArticleFilter, Reader
from samizdat.store import CaptureRecord, open_store
from samizdat.store.schema import search_docs
from samizdat.store.search import COLUMNS, document_tokens, partition_count
from samizdat.testing import REMOVALS
from samizdat.testing.content import load_pages
from tests.helpers import WECHAT as PAGES
from tests.helpers import fresh_postgres_database

TO_TRADITIONAL = opencc.OpenCC("s2t")


def corpus(count=160, seed=7):
    bodies = []
    pages, _ = load_pages(PAGES)
    for page in pages:
        parsed = WECHAT.parse("https://mp.weixin.qq.com/s/x", page)
        if isinstance(parsed, Article) and parsed.text:
            bodies.append(parsed.text)
    with gzip.open(REMOVALS, "rt", encoding="utf-8") as handle:
        rows = [row for _, row in zip(range(count), csv.DictReader(handle), strict=False)]
    rng = random.Random(seed)
    articles = []
    for i, row in enumerate(rows):
        body = rng.choice(bodies)
        start = rng.randrange(0, max(1, len(body) - 400))
        text = body[start : start + rng.randrange(50, 400)] + " NATO Summit 2023, Vilnius."
        title = row["title"] or f"untitled {i}"
        if i % 3 == 0:
            text, title = TO_TRADITIONAL.convert(text), TO_TRADITIONAL.convert(title)
        articles.append((title, row["nickname"] or None, text))
    return articles


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def indexed(request, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'search.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database())
        yield from _indexed(url)


def _indexed(url):
    store = open_store(url)
    documents = corpus()
    ref = ArchiveRef("x.warc.gz", 0, 1, "sha256:x", "<urn:uuid:x>")
    now = datetime(2024, 1, 1, tzinfo=UTC)
    records = [
        CaptureRecord(
            Article(
                "wechat", f"biz:{i}:1", f"https://mp.weixin.qq.com/s/{i}", title, text, "", account=account
            ),
            [f"https://mp.weixin.qq.com/s/{i}"],
            f"https://mp.weixin.qq.com/s/{i}",
            200,
            now,
            ref,
        )
        for i, (title, account, text) in enumerate(documents)
    ]
    results = store.record_captures(records)
    by_id = {r.article_id: documents[i] for i, r in enumerate(results)}
    yield Reader(store.engine), by_id
    store.engine.dispose()


def brute_force(by_id, query):
    needle = fold(query.strip())
    return {i for i, fields in by_id.items() if any(needle in fold(f or "") for f in fields)}


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_substrings_of_stored_texts_find_exactly_the_texts_that_contain_them(indexed, data):
    reader, by_id = indexed
    article_id = data.draw(st.sampled_from(sorted(by_id)))
    field = data.draw(st.sampled_from([f for f in by_id[article_id] if f]))
    length = data.draw(st.integers(1, 6))
    start = data.draw(st.integers(0, max(0, len(field) - length)))
    query = field[start : start + length]
    if data.draw(st.booleans()):
        query = TO_TRADITIONAL.convert(query)
    if not query.strip():
        return
    expected = brute_force(by_id, query)
    assert article_id in expected or fold(query.strip()) not in fold(field)
    assert reader.matching_ids(query) == expected, query


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(alphabet="北约峰会的中国人 ,.，。、NATOSummit2023-", min_size=1, max_size=6))
def test_arbitrary_queries_match_the_brute_force_scan(indexed, query):
    reader, by_id = indexed
    if not query.strip():
        return
    assert reader.matching_ids(query) == brute_force(by_id, query), query


def test_search_ranks_title_hits_first_and_counts_all(indexed):
    reader, by_id = indexed
    title = next(t for t, _, _ in by_id.values() if len(fold(t)) >= 4 and "北约" not in t)
    word = title[:2]
    page = reader.articles(ArticleFilter(query=word), limit=5)
    assert page.total == len(brute_force(by_id, word))
    top = by_id[page.items[0].id]
    assert fold(word) in fold(top[0])  # a title hit ranks above body-only hits
    assert any(hit for item in page.items for _, hit in item.snippet)


def test_paging_through_search_results_returns_each_once(indexed):
    reader, by_id = indexed
    expected = brute_force(by_id, "的")
    seen, cursor = [], None
    while True:
        page = reader.articles(ArticleFilter(query="的"), limit=7, cursor=cursor)
        seen += [item.id for item in page.items]
        if not (cursor := page.next_cursor):
            break
    assert len(seen) == len(set(seen)) and set(seen) == expected


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same archive on SQLite and on PostgreSQL (the same articles under the same ids);
    PostgreSQL's search table split into partitions of 16 articles, so that counts and pages
    run across partitions as they do in a large archive."""
    with contextlib.ExitStack() as stack:
        sqlite = _indexed(f"sqlite:///{tmp_path_factory.mktemp('both') / 'search.db'}")
        postgres = _indexed(stack.enter_context(fresh_postgres_database()))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("samizdat.store.search.PARTITION_ARTICLES", 16)
            built = next(sqlite)[0], next(postgres)[0]
        yield built
        for built in (sqlite, postgres):
            next(built, None)


def shared_queries():
    """Common and rare words of the corpus, 1 to 5 characters, in both scripts, with
    punctuation and spaces, and words no article holds."""
    queries = [
        "的",
        "中",
        "北约",
        "中国",
        "发展",
        "，",
        "。我",
        "2023",
        "NATO Summit",
        "峰 NATO",
        "不存在的词语",
    ]
    rng = random.Random(11)
    texts = [text for _, _, text in corpus()]
    while len(queries) < 60:
        text = rng.choice(texts)
        length = rng.randrange(1, 6)
        start = rng.randrange(0, len(text) - length)
        query = text[start : start + length]
        if query.strip():
            queries.append(TO_TRADITIONAL.convert(query) if len(queries) % 4 == 0 else query)
    return queries


def pages(reader, query, limit=7):
    found, cursor, totals = [], None, set()
    while True:
        page = reader.articles(ArticleFilter(query=query), limit=limit, cursor=cursor)
        found += [item.id for item in page.items]
        totals.add((page.total, page.more_than_total))
        if not (cursor := page.next_cursor):
            return found, totals


def test_both_backends_answer_every_query_alike(both):
    sqlite, postgres = both
    with postgres.engine.connect() as connection:
        partitions = partition_count(connection)
    assert partitions == (160 + 8) // 16 + 1  # up to the last id, and the next once half of it is used
    for query in shared_queries():
        assert sqlite.matching_ids(query) == postgres.matching_ids(query), query
        on_sqlite, on_postgres = pages(sqlite, query), pages(postgres, query)
        assert on_sqlite[1] == on_postgres[1], query  # the same count on every page
        assert sorted(on_sqlite[0]) == sorted(on_postgres[0]), query  # ranked alike or not, the same articles


def listed_pages(reader, wanted):
    """Every page of a search, seven at a time: (ids, count, more than the count) of each."""
    found, cursor = [], None
    while True:
        page = reader.articles(wanted, limit=7, cursor=cursor)
        found.append(([item.id for item in page.items], page.total, page.more_than_total))
        if not (cursor := page.next_cursor):
            return found


def test_both_backends_answer_filtered_searches_alike(both):
    """A search within one account, or among removed articles only: the same pages, counts and
    articles on both backends, the filter applied to the count as to the page."""
    sqlite, postgres = both
    with sqlite.engine.connect() as connection:
        account = connection.scalar(
            text(
                "SELECT account FROM articles WHERE account IS NOT NULL GROUP BY account ORDER BY count(*) DESC"
            )
        )
    compared = 0
    for query in shared_queries():
        for narrowed in ({"account": account}, {"removed_only": True}):
            wanted = ArticleFilter(query=query, **narrowed)
            on_sqlite, on_postgres = listed_pages(sqlite, wanted), listed_pages(postgres, wanted)
            assert [t for _, *t in on_sqlite] == [t for _, *t in on_postgres], (query, narrowed)
            assert sorted(i for ids, *_ in on_sqlite for i in ids) == sorted(
                i for ids, *_ in on_postgres for i in ids
            ), (query, narrowed)
            compared += bool(on_sqlite[0][1])
    assert compared >= 10  # queries that found something within the filter


def test_postgresql_keeps_each_documents_tokens_whole_and_compressed_with_lz4(both):
    """Tokens travel as one string split by the server (migration 0029's companion): the array
    stored is every token of the document, punctuation and both scripts included; every
    partition, those made before the migration too, compresses them with LZ4."""
    _, postgres = both
    with postgres.engine.connect() as connection:
        rows = connection.execute(select(search_docs)).all()
        methods = (
            connection.execute(
                text(
                    "SELECT DISTINCT attcompression FROM pg_attribute WHERE attname = 'tokens' AND attrelid IN "
                    "(SELECT inhrelid FROM pg_inherits WHERE inhparent = 'search_docs'::regclass)"
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == 160
    for row in rows:
        assert row.tokens == document_tokens({c: getattr(row, c) for c in COLUMNS}), row.article_id
    assert any("。" in token for row in rows for token in row.tokens)
    assert methods == ["l"]


def test_both_backends_list_newest_first_alike_above_the_ranking_threshold(both, monkeypatch):
    """Above RANKED_MAX matches a page is newest first, read on PostgreSQL from windows of ids
    (read/search.py: newest); with the threshold and the count's cap lowered, every query of
    the set goes that way, pages cross windows, and counts are capped."""
    monkeypatch.setattr("samizdat.read.reader.RANKED_MAX", 0)
    monkeypatch.setattr("samizdat.read.reader.COUNT_CAP", 40)
    sqlite, postgres = both
    capped = 0
    for query in shared_queries():
        on_sqlite, on_postgres = pages(sqlite, query, limit=5), pages(postgres, query, limit=5)
        assert on_sqlite == on_postgres, query
        assert on_sqlite[0] == sorted(on_sqlite[0], reverse=True), query
        assert set(on_sqlite[0]) == sqlite.matching_ids(query), query
        capped += (40, True) in on_sqlite[1]
    assert capped >= 5  # the set holds words more than 40 articles contain


def test_an_archive_indexed_before_trigrams_is_indexed_again_by_its_migration():
    """Migration 0026 remakes PostgreSQL's tokens from the folded columns: an archive indexed
    with characters and bigrams only finds its three-character words from the tokens alone,
    and its folded text is kept in the row."""
    from alembic import command

    from samizdat.store.migrate import alembic_config, migrate

    with fresh_postgres_database() as url:
        reader, by_id = next(_indexed(url))
        engine = reader.engine
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0025")
            connection.execute(
                text(
                    "UPDATE search_docs SET tokens = ARRAY(SELECT t FROM unnest(tokens) t WHERE char_length(t) < 3)"
                )
            )
        word = fold(next(t for t, _, _ in by_id.values() if len(fold(t)) >= 3 and " " not in fold(t)[:3])[:3])
        assert reader.matching_ids(word) == set()  # held as a token, and no document has it yet
        migrate(engine)
        assert reader.matching_ids(word) == brute_force(by_id, word) != set()
        with engine.connect() as connection:
            options = connection.scalars(
                text(
                    "SELECT reloptions FROM pg_class JOIN pg_inherits ON inhrelid = oid "
                    "WHERE inhparent = 'search_docs'::regclass"
                )
            ).all()
        assert options and all("toast_tuple_target=8160" in o for o in options)
        engine.dispose()


def test_partitions_are_made_ahead_of_the_ids_without_holding_up_other_writers():
    """PostgreSQL's search table is split by article id (migration 0028): a write past half of
    the last partition makes the next one, and while one writer makes it (the table locked
    until it commits) another whose ids fit goes on; one whose ids need it waits for it."""
    from samizdat.store.search import PARTITION_ARTICLES, make_partitions

    with fresh_postgres_database() as url:
        engine = open_store(url).engine
        with engine.connect() as maker, engine.connect() as other:
            assert partition_count(maker) == 1
            make_partitions(maker, PARTITION_ARTICLES // 2 - 1)
            assert partition_count(maker) == 1
            make_partitions(maker, PARTITION_ARTICLES // 2)
            assert partition_count(maker) == 2
            other.exec_driver_sql("SET statement_timeout = '2s'")  # an error if it waited
            make_partitions(other, PARTITION_ARTICLES // 2 + 1)
            assert partition_count(other) == 1  # the maker's partition is not committed yet
            other.rollback()
            maker.commit()
            assert partition_count(other) == 2
            make_partitions(other, 3 * PARTITION_ARTICLES + 10)
            assert partition_count(other) == 4
        engine.dispose()
