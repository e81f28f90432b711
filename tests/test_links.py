"""Ways into WeChat without a feed bridge: the article and album links in real pages, albums read
page by page (and their hostile answers), and links followed at first sight within their caps.

Pages: the real saved pages of ../shared/samples/wechat, shipped in
src/samizdat/testing/pages/wechat (PROVENANCE.md there). The album answers are the simulator's
(samizdat/testing/albums.py), in the shape public album pages and their JSON have."""

from __future__ import annotations

import asyncio
import gzip
import html
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from samizdat.app import pipeline
from samizdat.cli import app
from samizdat.config import LinkSettings
from samizdat.fetch import Fetcher
from samizdat.platforms.registry import Registry
from samizdat.platforms.wechat import PLATFORM as WECHAT_PLATFORM
from samizdat.platforms.wechat.links import album_links, article_link
from samizdat.sources import SourceKind, poll
from samizdat.sources.listings import MAX_ITEMS, MAX_PAGES
from samizdat.testing import Simulator
from samizdat.testing.albums import album_id
from samizdat.watch.links import LinkBudget
from samizdat.watch.polling import poll_sources
from tests.helpers import WECHAT, config_for, fast_archive_settings

PAGES = sorted((WECHAT / "pre-deletion").glob("*.html.gz")) + sorted((WECHAT / "articles").glob("*.html"))
# Independent of the parser: every href of the raw page that points at a WeChat article.
RAW_ARTICLE_HREF = re.compile(
    r"""href=["'](https?://mp\.weixin\.qq\.com/(?:s\?|s/|mp/appmsg/show\?)[^"']*)["']"""
)


def _page(path) -> str:
    return gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name[:24])
def test_every_article_link_of_a_real_page_is_found_and_nothing_else(path):
    text = _page(path)
    article = WECHAT_PLATFORM.parse("https://mp.weixin.qq.com/s/saved", text)
    expected = {WECHAT_PLATFORM.canonical_url(html.unescape(href)) for href in RAW_ARTICLE_HREF.findall(text)}
    expected.discard(article.url)
    found = set(article.links)
    assert {WECHAT_PLATFORM.canonical_url(link) for link in found} == expected
    assert all(WECHAT_PLATFORM.canonical_id(link) for link in found if "/s?" in link)
    assert article.listings == ()  # none of the saved pages names an album


def test_the_saved_pages_link_seventeen_articles_in_four_pages():
    linked = {
        path.name: WECHAT_PLATFORM.parse("https://mp.weixin.qq.com/s/saved", _page(path)).links
        for path in PAGES
    }
    # Counted by hand in the pages' 往期推荐 blocks (duplicates in a page count once).
    assert sorted(len(v) for v in linked.values() if v) == [1, 2, 7, 7]


def test_album_links_are_found_in_attributes_and_in_script_strings():
    # Constructed: a saved page with the album tag WeChat puts above a series' title (an
    # attribute with &amp;) and the album's address as a script string (\x26 and \/ escapes).
    text = _page(PAGES[0])
    tag = (
        '<a class="article-tag__item" data-url="https://mp.weixin.qq.com/mp/appmsgalbum?__biz=MzA4&amp;'
        'action=getalbum&amp;album_id=1234567890#wechat_redirect">#合集</a>'
    )
    script = "<script>var album_url = 'https:\\/\\/mp.weixin.qq.com\\/mp\\/appmsgalbum?__biz=MzB5\\x26album_id=42\\x26scene=126';</script>"
    text = text.replace("</head>", script + "</head>", 1).replace("<h2", tag + tag + "<h2", 1)
    article = WECHAT_PLATFORM.parse("https://mp.weixin.qq.com/s/saved", text)
    assert article.listings == (  # in page order, each once
        "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=MzB5&action=getalbum&album_id=42",
        "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=MzA4&action=getalbum&album_id=1234567890",
    )
    # Not albums: no album id, another host, a profile page.
    assert (
        album_links('<a href="https://mp.weixin.qq.com/mp/appmsgalbum?__biz=MzA4&action=getalbum">', "") == ()
    )
    assert (
        album_links(
            "https://evil.example/mp/appmsgalbum?__biz=MzA4&album_id=1", "https://mp.weixin.qq.com/s/x"
        )
        == ()
    )


@pytest.fixture(scope="module")
def albums_site():
    """45 articles of one account (the first saved page, copied), so its album has 45 items."""
    with Simulator(WECHAT, copies=45) as sim:
        yield sim


def _album_of(sim, article):
    return sim.base + f"/mp/appmsgalbum?__biz={article.biz}&action=getalbum&album_id={album_id(article.biz)}"


async def _poll(sim, url):
    settings = fast_archive_settings(Path("unused"), sim)  # no archive: only fetches
    async with Fetcher(settings.fetch) as fetcher:
        return await poll(fetcher, url, kind=SourceKind.LISTING, platforms=Registry(settings.platforms))


def test_an_album_of_45_is_read_whole_in_pages_of_20(albums_site):
    first = albums_site.articles[0]
    members = [a for a in albums_site.articles if a.biz == first.biz]
    assert len(members) == 45
    before = len(albums_site.requests)
    polled = asyncio.run(_poll(albums_site, _album_of(albums_site, first)))
    assert polled.error is None, polled.error
    assert [e.url.rsplit("mid=", 1)[1].split("&")[0] for e in polled.entries] == [a.mid for a in members]
    assert all(e.title and e.published_at for e in polled.entries)
    assert polled.document.note is None and polled.document.title
    album_requests = [r for r in albums_site.requests[before:] if r[1] == "/mp/appmsgalbum"]
    assert len(album_requests) == 3  # 20 + 20 + 5


@pytest.mark.parametrize(
    ("answer", "check"),
    [
        # ret ≠ 0 and malformed JSON: the album's HTML is read instead (its first 10 items).
        ("ret", lambda p: p.error is None and len(p.entries) == 10),
        ("malformed", lambda p: p.error is None and len(p.entries) == 10),
        ("verification", lambda p: p.error is not None and "verification page" in p.error),
        ("endless", lambda p: len(p.entries) == min(MAX_PAGES * 20, MAX_ITEMS) and "only" in p.document.note),
        (
            "huge",
            lambda p: (
                p.error is None and len(p.entries) == MAX_ITEMS and f"first {MAX_ITEMS}" in p.document.note
            ),
        ),
    ],
)
def test_hostile_album_answers_end_in_a_clear_error_or_a_bounded_result(albums_site, answer, check):
    first = albums_site.articles[0]
    albums_site.album_answers[album_id(first.biz)] = answer
    try:
        polled = asyncio.run(_poll(albums_site, _album_of(albums_site, first)))
    finally:
        albums_site.album_answers.clear()
    assert check(polled), (polled.error, len(polled.entries), polled.document and polled.document.note)


def test_link_budget_caps_each_account_and_the_day_in_schedule_time():
    now = [0.0]
    budget = LinkBudget(LinkSettings(per_account_per_day=2, per_day=3), time_scale=8640, clock=lambda: now[0])
    assert [budget.take("a") for _ in range(3)] == [True, True, False]
    assert budget.take("b") and not budget.take("c")  # the day's 3 are spent
    now[0] = 10.0  # a schedule day (86,400 s / 8,640) later
    assert budget.take("a") and budget.take("c") and budget.refused == 2


@pytest.mark.slow
def test_an_album_source_captures_its_articles_and_what_they_link(tmp_path):
    with Simulator(WECHAT, copies=4, linked=True) as sim:
        settings = fast_archive_settings(tmp_path / "data", sim, links=LinkSettings())  # the defaults
        first = sim.articles[0]
        members = [a for a in sim.articles if a.biz == first.biz]
        config = config_for(tmp_path, sim)
        Path(config).write_text(
            Path(config).read_text().replace("[links]\nfollow = []\n", "")
        )  # the defaults
        added = CliRunner().invoke(
            app, ["--config", config, "source", "add", sim.album_url(first) + "&scene=126"]
        )
        assert added.exit_code == 0, added.output
        assert "(listing)" in added.output and f"{len(members)} entries" in added.output

        async def run():
            async with pipeline(settings) as pipe:
                return await poll_sources(pipe, pipe.store.list_sources()), pipe.store

        (reports, _), store = asyncio.run(run())
        assert reports[0].error is None and reports[0].listed == len(members)
        member_ids = [store.article_id_for_url(article_link(sim.base + a.path, sim.base)) for a in members]
        assert all(member_ids)
        # Each member links earlier members (archived already) and one article of another
        # account: that one is captured at depth 1, and its own links are not followed.
        for article_id in member_ids:
            linked = store.outgoing_links(article_id)
            assert linked and all(link.article_id is not None or link.url for link in linked)
        others = (
            {link.article_id for i in member_ids for link in store.outgoing_links(i)}
            - set(member_ids)
            - {None}
        )
        assert others, "no article of another account was reached by a link"
        for other in others:
            assert set(member_ids) & {a.article_id for a in store.incoming_links(other)}
            for onward in store.outgoing_links(other):
                reached_otherwise = any(
                    onward.url == link.url for i in member_ids for link in store.outgoing_links(i)
                )
                assert onward.article_id is None or reached_otherwise, "a link of depth 2 was followed"
        store.engine.dispose()


@pytest.mark.slow
def test_the_link_caps_bound_what_one_account_starts(tmp_path):
    with Simulator(WECHAT, copies=4, linked=True) as sim:
        caps = LinkSettings(per_account_per_day=1, per_day=1000)
        settings = fast_archive_settings(tmp_path / "data", sim, links=caps)
        first = sim.articles[0]

        async def run():
            async with pipeline(settings) as pipe:
                pipe.store.add_source(
                    str(SourceKind.LISTING), sim.album_url(first), title=None, interval_seconds=60
                )
                return await poll_sources(pipe, pipe.store.list_sources())

        reports, captures = asyncio.run(run())
        members = [a for a in sim.articles if a.biz == first.biz]
        assert reports[0].new == len(members)
        assert len(captures) == len(members) + 1  # the album's articles, and one linked capture


@pytest.mark.slow
def test_an_article_that_leaves_the_middle_of_its_album_is_checked_at_once(tmp_path):
    with Simulator(WECHAT, copies=5) as sim:
        settings = fast_archive_settings(tmp_path / "data", sim)
        first = sim.articles[0]
        members = [a for a in sim.articles if a.biz == first.biz]

        async def poll_twice():
            async with pipeline(settings) as pipe:
                pipe.store.add_source(
                    str(SourceKind.LISTING), sim.album_url(first), title=None, interval_seconds=60
                )
                await poll_sources(pipe, pipe.store.list_sources())
                sim.remove(members[2], "violation")  # the album stops listing it, as WeChat's do
                reports, _ = await poll_sources(pipe, pipe.store.list_sources())
                return reports

        reports = asyncio.run(poll_twice())
        assert reports[0].listed == len(members) - 1 and reports[0].dropped == 1


@pytest.mark.slow
def test_article_pages_show_what_they_link_and_what_links_them(tmp_path):
    from samizdat.web.app import create_app
    from samizdat.web.server import running_site

    with Simulator(WECHAT, copies=3, linked=True) as sim:
        settings = fast_archive_settings(tmp_path / "data", sim, links=LinkSettings())
        first = sim.articles[0]

        async def capture_album():
            async with pipeline(settings) as pipe:
                pipe.store.add_source(
                    str(SourceKind.LISTING), sim.album_url(first), title=None, interval_seconds=60
                )
                await poll_sources(pipe, pipe.store.list_sources())
                last = [a for a in sim.articles if a.biz == first.biz][-1]
                return pipe.store.article_id_for_url(article_link(sim.base + last.path, sim.base))

        linking = asyncio.run(capture_album())
        with running_site(create_app(settings)) as base:
            page = httpx.get(f"{base}/articles/{linking}", params={"lang": "en"}).text
            assert "Links to (" in page
            target = int(re.search(r'class="linked linked-live">\s*<a href="/articles/(\d+)"', page).group(1))
            back = httpx.get(f"{base}/articles/{target}", params={"lang": "en"}).text
            assert "Linked from (" in back and f'href="/articles/{linking}"' in back
            api = httpx.get(f"{base}/api/articles/{target}").json()
            assert linking in [item["id"] for item in api["linked_from"]]


def test_a_linked_article_out_of_reach_is_set_aside_tried_later_and_given_up_with_its_note(tmp_path):
    from datetime import UTC, datetime, timedelta

    from samizdat.config import Settings
    from samizdat.store import open_archive
    from samizdat.watch.links import next_try

    store = open_archive(Settings(data_dir=tmp_path / "data"))
    now = datetime.now(UTC)
    url = "https://mp.weixin.qq.com/s?__biz=MzA=&mid=22&idx=1&sn=ab"
    links = LinkSettings(retry_seconds=3600, retries=2)
    assert next_try(links, 1.0, 1, now) == now + timedelta(hours=1)
    assert next_try(links, 3600.0, 2, now) == now + timedelta(seconds=2)  # schedule time, doubling
    assert next_try(links, 1.0, 3, now) is None  # out of tries
    store.set_aside(
        url, depth=1, account="gh_1", attempts=1, now=now, retry_at=now + timedelta(hours=1), note="dns: x"
    )
    # Another page linking it does not bring it back at once: its next try is at its time.
    assert store.unknown_links([(url, "MzA=:22:1"), ("https://mp.weixin.qq.com/s/other", None)]) == [
        "https://mp.weixin.qq.com/s/other"
    ]
    assert store.take_set_aside(now, 10, worker="w", lease=timedelta(minutes=5)) == []
    (due,) = store.take_set_aside(now + timedelta(hours=2), 10, worker="w", lease=timedelta(minutes=5))
    assert (due.url, due.depth, due.account, due.attempts, due.note) == (url, 1, "gh_1", 1, "dns: x")
    assert store.take_set_aside(now + timedelta(hours=2), 10, worker="x", lease=timedelta(minutes=5)) == []
    store.set_aside(url, depth=1, account="gh_1", attempts=3, now=now, retry_at=None, note="connect: refused")
    assert store.set_aside_counts() == {"waiting": 0, "given_up": 1}
    (kept,) = store.set_aside_links()
    assert kept.gave_up_at is not None and kept.note == "connect: refused" and kept.attempts == 3
    store.set_aside_done(url)
    assert store.set_aside_counts() == {"waiting": 0, "given_up": 0}
    store.engine.dispose()


@pytest.mark.slow
def test_capture_follows_the_ten_links_of_a_page_and_watch_archives_those_set_aside(tmp_path):
    """``samizdat capture`` of a page that links ten other articles captures them as a first
    sight from a source would; the ones the platform refused meanwhile are set aside, and
    ``watch`` archives them at their next try."""
    from samizdat.service import Watcher
    from samizdat.store import open_archive
    from samizdat.testing.simulator import LINKS_SLOT

    with Simulator(WECHAT, copies=1) as sim:
        page, *others = sim.articles[:11]
        assert len(others) == 10
        block = "".join(f'<p><a href="{sim.base}{a.path}">往期推荐 {i}</a></p>' for i, a in enumerate(others))
        sim.edit(page, LINKS_SLOT, LINKS_SLOT + f"<section>{block}</section>")
        config = config_for(tmp_path, sim)
        # The default links settings; a simulated hour a second, so that a refused request's rest
        # (a quarter of watch.backoff_seconds) is short.
        Path(config).write_text(
            Path(config).read_text().replace("[links]\nfollow = []\n", "[watch]\ntime_scale = 3600\n")
        )
        sim.flaky_every = 2  # every other article request fails while `capture` runs
        captured = CliRunner().invoke(app, ["--config", config, "capture", sim.base + page.path])
        assert captured.exit_code == 0, captured.output
        assert "articles these pages link to: 10" in captured.output
        assert "set aside" in captured.output
        sim.flaky_every = 0
        settings = fast_archive_settings(tmp_path / "data", sim, links=LinkSettings())
        store = open_archive(settings)
        linked = [article_link(sim.base + a.path, sim.base) for a in others]  # as the page gives them
        missing = [url for url in linked if store.article_id_for_url(url) is None]
        assert missing and len(store.set_aside_links()) == len(missing)

        async def watch_until_all_archived() -> None:
            stop = asyncio.Event()
            running = asyncio.create_task(Watcher(settings).run(stop))
            for _ in range(120):
                if all(store.article_id_for_url(url) for url in linked):
                    break
                await asyncio.sleep(0.25)
            stop.set()
            await running

        asyncio.run(watch_until_all_archived())
        assert all(store.article_id_for_url(url) for url in linked)
        assert store.set_aside_counts() == {"waiting": 0, "given_up": 0}
        store.engine.dispose()


def test_a_linked_article_is_named_by_the_first_link_to_it_that_has_words():
    """The title of an article removed before its capture, from the pages that linked it: an
    image-only link says nothing, a relative or data-link href is resolved, broken markup is
    skipped, and other articles' links are not taken."""
    from samizdat.watch.links import link_title

    target = "https://mp.weixin.qq.com/s?__biz=MzA=&mid=1&idx=1&sn=ab"
    same = lambda url: article_link(url, "") == target  # noqa: E731
    pages = [
        ("https://mp.weixin.qq.com/s?__biz=MzB=&mid=9&idx=1&sn=cd", "\x00<<<"),
        (
            "https://mp.weixin.qq.com/s?__biz=MzB=&mid=9&idx=1&sn=cd",
            '<div><a href="/s?__biz=MzC=&amp;mid=2&amp;idx=1&amp;sn=ef">另一篇</a>'
            '<a href="/s?__biz=MzA=&amp;mid=1&amp;idx=1&amp;sn=ab&amp;scene=21"><img src="x.png"></a>'
            '<a data-link="https://mp.weixin.qq.com/s?__biz=MzA=&amp;mid=1&amp;idx=1&amp;sn=ab#wechat_redirect">'
            "  往期推荐：\n  北约峰会前夜  </a></div>",
        ),
    ]
    assert link_title(pages, target, same) == "往期推荐： 北约峰会前夜"
    assert link_title(pages[:1], target, same) is None
