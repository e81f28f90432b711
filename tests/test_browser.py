"""In real headless Chromium (Debian's, driven by Playwright): the banner, search, the language
switch, and hostile archived pages that must not run anything, neither in the article view nor
in the raw cache. The hostile page is a real article page (src/samizdat/testing/pages/wechat/articles/
huashangbao-2018-background-image.html) with attacks injected into its body. Screenshots of
the pages land in docs/screenshots/ (the README shows them)."""

import asyncio
import concurrent.futures
import contextlib
import html
import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright import sync_api as playwright  # a dev dependency: `make test` installs it

from samizdat.app import pipeline
from samizdat.config import DatabaseSettings
from samizdat.platforms.wechat.page import script_vars
from samizdat.testing import Simulator
from samizdat.web.app import create_app
from samizdat.web.server import running_site
from tests.helpers import (
    WECHAT,
    declared,
    fast_archive_settings,
    fresh_postgres_database,
    missing,
    watch_until,
)

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("SAMIZDAT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SEARCH_SHARD = 2  # articles per search index of the mirror here: the browser merges several

if not Path(CHROMIUM).exists():
    missing(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set SAMIZDAT_CHROMIUM)", module=True)

# Each attack, if it worked, would set window.__pwned, navigate away, or call the beacon server.
ATTACKS = """
<p id="attacks">hostile markup below</p>
<script>window.__pwned = "script";</script>
<img src="x" onerror="window.__pwned = 'onerror'">
<a id="jslink" href="javascript:window.__pwned='javascript-url'">click me</a>
<svg onload="window.__pwned = 'svg-onload'"><script>window.__pwned = 'svg-script'</script></svg>
<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned='mxss'"></style></mglyph></table></mtext></math>
<style>#attacks { background: url(BEACON/css-exfiltration); }</style>
<div style="background-image: url(BEACON/inline-style)">styled</div>
<meta http-equiv="refresh" content="0;url=BEACON/meta-refresh">
<iframe src="javascript:parent.__pwned='iframe'"></iframe>
<form action="BEACON/form"><input autofocus onfocus="window.__pwned='autofocus'"></form>
<object data="BEACON/object"></object>
<img src="BEACON/tracker.png" alt="a tracking image">
"""


# The corpus: one archived article per payload (tests/fixtures/xss/payloads.txt).
PAYLOADS = [
    line
    for line in (Path(__file__).parent / "fixtures" / "xss" / "payloads.txt").read_text("utf-8").splitlines()
    if line and not line.startswith("#")
]


def payload_page(source: str, number: int, payload: str, beacon: str) -> str:
    """The real page as another article (its own mid), the payload in its body as markup and in
    its title as text (the title read from the page is the payload itself: the site must
    escape it)."""
    markup = payload.replace("PWN", f"window.__pwned={number}").replace("BEACON", beacon)
    mid = script_vars(source)["mid"]
    page = source.replace(mid, str(int(mid) + 1000 + number))
    title = page.index('id="activity-name">') + len('id="activity-name">')
    page = page[:title] + f"payload {number} " + html.escape(markup) + page[title:]
    body = page.index(">", page.index('id="js_content"')) + 1
    return page[:body] + f"<p>payload {number}</p>" + markup + page[body:]


class Beacon:
    """A loopback server that records every request: any hit means the page reached out."""

    def __init__(self):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    """The hostile pages and the XSS corpus archived and removed, the site serving them: over
    SQLite, then over PostgreSQL."""
    directory = tmp_path_factory.mktemp("browser")
    pages = directory / "pages"
    shutil.copytree(WECHAT / "notices", pages / "notices")
    (pages / "articles").mkdir()
    beacon = Beacon()
    source = (WECHAT / "articles" / "huashangbao-2018-background-image.html").read_text("utf-8")
    marker = source.index('id="js_content"')
    at = source.index(">", marker) + 1
    (pages / "articles" / "hostile.html").write_text(
        source[:at] + ATTACKS.replace("BEACON", beacon.url) + source[at:], "utf-8"
    )
    shutil.copy(WECHAT / "articles" / "gongchandangyuan-2018-video-iframe.html", pages / "articles")
    for number, payload in enumerate(PAYLOADS, 1):
        (pages / "articles" / f"xss-{number:03d}.html").write_text(
            payload_page(source, number, payload, beacon.url), "utf-8"
        )
    with contextlib.ExitStack() as stack:
        url = "" if request.param == "sqlite" else stack.enter_context(fresh_postgres_database())
        sim = stack.enter_context(Simulator(pages, copies=1))
        settings = fast_archive_settings(directory / "data", sim, database=DatabaseSettings(url=url))

        async def build():
            async with pipeline(settings) as pipe:
                ids = [(await pipe.capturer.capture(sim.base + a.path)).article_id for a in sim.articles]
                for article in sim.articles:
                    sim.remove(article, "deleted-by-author")
                await watch_until(pipe, declared(len(sim.articles)))
                return ids

        # In a thread of its own: the browser of the other backend's run may hold this
        # thread's event loop (Playwright's sync API runs one).
        with concurrent.futures.ThreadPoolExecutor(1) as thread:
            ids = thread.submit(lambda: asyncio.run(build())).result()
        beacon.hits.clear()  # the capture fetched the page's images (the tracker too): that is archiving
        hostile = next(i for i, a in zip(ids, sim.articles, strict=True) if "hostile markup" in a.page)
        corpus = [i for i, a in zip(ids, sim.articles, strict=True) if "<p>payload " in a.page]
        with running_site(create_app(settings)) as base:
            yield base, hostile, ids, beacon, corpus, settings
    beacon.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield browser
        browser.close()


def new_page(browser, lang="zh-CN"):
    context = browser.new_context(locale=lang, viewport={"width": 412, "height": 915})
    return context.new_page()


def assert_nothing_ran(page, beacon):
    assert page.evaluate("() => window.__pwned === undefined")
    page.wait_for_timeout(300)
    assert beacon.hits == []


def test_the_article_view_runs_none_of_the_hostile_markup(site, browser):
    base, hostile, _, beacon, _, _ = site
    page = new_page(browser)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{base}/articles/{hostile}")
    assert page.get_by_text("hostile markup below").count() == 1  # the text is kept
    page.get_by_text("click me").click()
    assert page.url == f"{base}/articles/{hostile}"
    assert_nothing_ran(page, beacon)
    assert dialogs == []


def test_the_raw_cache_shows_the_page_as_captured_but_inert(site, browser):
    base, hostile, _, beacon, _, _ = site
    page = new_page(browser)
    page.goto(f"{base}/raw/{hostile}")
    assert "hostile markup below" in page.content()  # served as captured, attacks included
    assert page.url == f"{base}/raw/{hostile}"  # the meta refresh did not navigate
    assert_nothing_ran(page, beacon)
    # Scripts are off (sandbox without allow-scripts): the page's own scripts did not run either.
    assert page.evaluate("() => typeof window.__wxjs_environment") == "undefined"


def test_no_payload_of_the_corpus_runs_on_any_page(site, browser):
    """75 payloads, each its own archived article: its page, its raw cache, its versions, and
    the lists and search results that show its title."""
    base, _, _, beacon, corpus, _ = site
    assert len(corpus) == len(PAYLOADS) >= 50 and all(isinstance(i, int) for i in corpus)
    page = new_page(browser)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    paths = ["/?all=true", "/?q=payload", "/stats", "/feeds/removed.atom"]
    for article_id in corpus:
        paths += [f"/articles/{article_id}", f"/raw/{article_id}", f"/articles/{article_id}/versions"]
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        assert page.evaluate("() => window.__pwned === undefined"), path
    page.goto(f"{base}/articles/{corpus[0]}")
    assert (
        "payload 1 <script>window.__pwned=1</script>" in page.locator("h1").first.inner_text()
    )  # inert text
    page.wait_for_timeout(500)
    assert beacon.hits == [] and dialogs == []


def test_banner_language_switch_and_search(site, browser):
    base, _hostile, ids, _, _, _ = site
    page = new_page(browser, "zh-CN")
    page.goto(f"{base}/articles/{ids[0]}")
    banner = page.locator("#banner")
    assert "该内容已被删除" in banner.inner_text() and "被发布者删除" in banner.inner_text()
    assert banner.get_by_role("link", name="查看未经处理的缓存").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "article.png"), full_page=False)
    page.click("#lang-switch")
    assert "deleted by its publisher" in page.locator("#banner").inner_text()
    page.goto(f"{base}/")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=False)
    title = page.locator("ol.articles .title").first.inner_text()
    page.fill("#q", title[:2])
    page.press("#q", "Enter")
    assert page.locator("#result-count").count() == 1
    assert (
        page.locator("ol.articles mark").count() >= 1 or title[:2] in page.locator("ol.articles").inner_text()
    )
    page.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=False)
    page.goto(f"{base}/stats")
    assert page.locator("svg.chart").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "statistics.png"), full_page=False)


@pytest.fixture(scope="module")
def mirror(site, tmp_path_factory):
    """The same archive as a static mirror, served by a plain static file server under a path
    prefix (the mirror must work anywhere): its base URL and its directory."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    from samizdat.archive.storage import warc_storage
    from samizdat.evidence.keys import archive_key, key_document
    from samizdat.evidence.packages import package_signer
    from samizdat.store import open_archive
    from samizdat.web.mirror import build_mirror

    settings = site[5]
    served = tmp_path_factory.mktemp("static")
    store = open_archive(settings)
    key = archive_key(settings.data_dir)
    try:
        build_mirror(
            store,
            warc_storage(settings),
            served / "some" / "prefix",
            key=key,
            key_document=key_document(key, settings.data_dir),
            sign_package=package_signer(settings),
            search_shard=SEARCH_SHARD,  # several search indexes, merged in the browser
        )
    finally:
        store.engine.dispose()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/some/prefix/", served / "some" / "prefix"
    server.shutdown()
    server.server_close()


def watched_page(browser, base: str, lang="zh-CN"):
    """A page that records every request that left for outside ``base`` (none may leave the
    mirror) and every dialog."""
    page = new_page(browser, lang)
    page.outside, page.dialogs = [], []
    local = (base, "data:", "about:")

    def left(request, blocked=False):
        if not request.url.startswith(local) and not blocked:
            page.outside.append(request.url)

    page.on("response", lambda response: left(response.request))
    # A request sent that failed has left too; one the page's own policy stopped has not.
    page.on("requestfailed", lambda request: left(request, "csp" in (request.failure or "").lower()))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    return page


def test_the_mirror_navigates_by_relative_links_in_both_languages(mirror, browser):
    mirror, _ = mirror
    page = watched_page(browser, mirror)
    page.goto(mirror + "index.html")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.locator("ol.articles .title").first.click()
    banner = page.locator("#banner")
    assert "该内容已被删除" in banner.inner_text() and "被发布者删除" in banner.inner_text()
    assert page.locator("#article-body img").count() == 0 or all(
        src is None or src.startswith("../blobs/")  # an image the archive lacks has no address
        for src in page.locator("#article-body img").evaluate_all("e => e.map(i => i.getAttribute('src'))")
    )
    page.click("#lang-switch")
    assert "/some/prefix/en/articles/" in page.url
    assert "deleted by its publisher" in page.locator("#banner").inner_text()
    page.get_by_role("link", name="Statistics").click()
    assert page.locator("svg.chart").count() >= 1
    page.get_by_role("link", name="Accounts").click()
    page.locator("ol.accounts a").first.click()
    assert page.locator("ol.articles .title").count() >= 1
    page.click("#lang-switch")
    assert page.locator("html").get_attribute("lang") == "zh-Hans" and "/en/" not in page.url
    page.locator("ol.articles .title").first.click()
    page.locator("#raw-link").click()
    assert page.locator("iframe.raw-cache").count() == 1
    assert page.outside == [] and page.dialogs == []


def test_the_mirror_search_finds_an_article_by_a_two_character_word(site, mirror, browser):
    import jieba

    from samizdat.store import open_archive

    _, _, ids, _, _, settings = site
    store = open_archive(settings)
    try:
        titled = [store.article(i) for i in ids]
    finally:
        store.engine.dispose()
    mirror, root = mirror
    assert len(json.loads((root / "pagefind" / "shards.json").read_text())) > 1
    article, word = next(  # an article of a shard merged into the first one's index
        (a, w)
        for a in reversed(titled)
        if "payload" not in (a.title or "") and a.id >= SEARCH_SHARD
        for w in jieba.lcut(a.title or "")
        if len(w) == 2 and all("\u4e00" <= c <= "\u9fff" for c in w)
    )
    page = watched_page(browser, mirror, "en-US")
    page.goto(mirror + "en/search.html")
    page.fill("#q", word)
    page.press("#q", "Enter")
    page.wait_for_selector("#results li", timeout=20_000)
    found = page.locator("#results li").evaluate_all("items => items.map(i => i.dataset.id)")
    while str(article.id) not in found and page.locator("#more").is_visible():  # a page of 20 at a time
        shown = len(found)
        page.locator("#more").click()
        page.wait_for_function(f"() => document.querySelectorAll('#results li').length > {shown}")
        found = page.locator("#results li").evaluate_all("items => items.map(i => i.dataset.id)")
    assert str(article.id) in found, (word, found)
    assert page.locator("#results mark").count() >= 1
    page.locator(f"#results li[data-id='{article.id}'] a").click()
    assert page.url.endswith(f"/some/prefix/en/articles/{article.id}.html")
    assert page.outside == [] and page.dialogs == []


def test_the_mirror_search_shows_a_common_word_newest_first_from_the_newest_shards(site, mirror, browser):
    """More matches than the site ranks (its RANKED_MAX, given by the page; here lowered to
    one) are shown newest first, and the page stops reading shards once it has a page of them:
    the newest 20 of the archive's matches, under an estimated count."""
    from collections import Counter

    from samizdat.folding import fold
    from samizdat.read.reader import ArticleFilter, Reader
    from samizdat.store import open_archive

    settings = site[5]
    store = open_archive(settings)
    try:
        texts = [fold(store.article(i).latest.text) for i in site[2] if store.article(i).latest]
        pairs = Counter(
            pair
            for text in texts
            for pair in {text[i : i + 2] for i in range(len(text) - 1)}
            if all("\u4e00" <= c <= "\u9fff" for c in pair)
        )
        word = pairs.most_common(1)[0][0]
        matches = [a.id for a in Reader(store.engine).articles(ArticleFilter(query=word), limit=1000).items]
    finally:
        store.engine.dispose()
    assert len(matches) > 20, (word, len(matches))
    mirror, _ = mirror
    page = watched_page(browser, mirror, "en-US")
    page.goto(mirror + "en/search.html")
    page.evaluate("() => { document.getElementById('search').dataset.rankedMax = '1'; }")
    page.fill("#q", word)
    page.press("#q", "Enter")
    page.wait_for_selector("#results li", timeout=20_000)
    shown = [
        int(i) for i in page.locator("#results li").evaluate_all("items => items.map(i => i.dataset.id)")
    ]
    assert shown == sorted(matches, reverse=True)[:20]
    assert page.locator("#result-count").inner_text().startswith("About")
    assert page.locator("#more").is_visible()


def test_no_payload_of_the_corpus_runs_on_the_mirror(site, mirror, browser):
    """The XSS corpus again, on the mirror: no headers, only its pages' own policy."""
    _, hostile, _, beacon, corpus, _ = site
    mirror, root = mirror
    page = watched_page(browser, mirror)
    paths = ["index.html", "en/index.html", "stats.html", "search.html?q=payload", "accounts/index.html"]
    for article_id in [hostile, *corpus]:
        paths += [f"articles/{article_id}.html", f"en/articles/{article_id}/versions.html"]
    raw = sorted(p.relative_to(root).as_posix() for p in root.glob("raw/*/versions/*.html"))
    assert len(raw) >= len(corpus)
    for path in paths + raw:
        response = page.goto(mirror + path)
        assert response is not None and response.status == 200, path
        # The page and the raw cache's frame; frames the archived page opens inside that frame
        # inherit its sandbox (and one that never starts, `javascript:` in a sandbox, has no
        # window to ask).
        for frame in [page.main_frame, *page.main_frame.child_frames]:
            assert frame.evaluate("() => window.__pwned === undefined"), (path, frame.url)
    page.goto(mirror + f"articles/{corpus[0]}.html")
    assert "payload 1 <script>window.__pwned=1</script>" in page.locator("h1").first.inner_text()
    page.wait_for_timeout(500)
    assert beacon.hits == [] and page.dialogs == [] and page.outside == []


def test_an_article_removed_before_capture_shows_what_is_known_and_fits_the_screen(browser, tmp_path):
    """An article already removed when a link first reached it is listed by what the linking
    page called it, under the account its biz names (known from a sibling archived earlier),
    and says how it was reached; one whose link had no words (an image) is listed by its long
    URL, which wraps: no page scrolls sideways at 390 or 1280 px. Pages: the simulator's saved
    WeChat pages (src/samizdat/testing/pages/wechat/PROVENANCE.md), one given a links block."""
    from typer.testing import CliRunner

    from samizdat.cli import app
    from samizdat.platforms.wechat.links import article_link
    from samizdat.store import open_archive
    from samizdat.testing.simulator import LINKS_SLOT
    from tests.helpers import config_for

    with Simulator(WECHAT, copies=3) as sim:
        page = sim.articles[0]
        others = [a for a in sim.articles if a.biz != page.biz]
        gone = others[0]
        sibling = next(a for a in others if a.biz == gone.biz and a.token != gone.token)
        wordless = next(a for a in others if a.biz not in (gone.biz, page.biz))
        block = (
            f'<p><a href="{html.escape(sim.base + gone.path)}">往期推荐：北约峰会前夜的一次谈话</a></p>'
            f'<p><a href="{html.escape(sim.base + wordless.path)}"><img src="/ext/cover.png"></a></p>'
        )
        sim.edit(page, LINKS_SLOT, LINKS_SLOT + f"<section>{block}</section>")
        config = config_for(tmp_path, sim)
        # The default links settings; a simulated hour a second, so that the removals are confirmed
        # within a second.
        Path(config).write_text(
            Path(config).read_text().replace("[links]\nfollow = []\n", "[watch]\ntime_scale = 3600\n")
        )
        thread = concurrent.futures.ThreadPoolExecutor(1)  # the browser holds this thread's event loop

        def run(*args):
            return thread.submit(CliRunner().invoke, *args).result()

        assert run(app, ["--config", config, "capture", "--no-links", sim.base + sibling.path]).exit_code == 0
        sim.remove(gone, "violation")
        sim.remove(wordless, "violation")
        captured = run(app, ["--config", config, "capture", sim.base + page.path])
        assert captured.exit_code == 0, captured.output

        settings = fast_archive_settings(tmp_path / "data", sim)

        async def confirm():
            async with pipeline(settings) as pipe:
                await watch_until(pipe, declared(2))  # the two linked articles removed

        thread.submit(asyncio.run, confirm()).result()
        store = open_archive(settings)
        try:
            account = store.article(store.article_id_for_url(sim.base + sibling.path)).account
            gone_id = store.article_id_for_url(article_link(sim.base + gone.path, sim.base))
            wordless_id = store.article_id_for_url(article_link(sim.base + wordless.path, sim.base))
            recorded = store.article(gone_id)
        finally:
            store.engine.dispose()
        assert account and recorded.latest is None
        assert recorded.title == "往期推荐：北约峰会前夜的一次谈话" and recorded.account == account
        assert recorded.listed["reached_by"] == "link"

        with running_site(create_app(settings)) as base:
            for width in (390, 1280):
                context = browser.new_context(locale="en-US", viewport={"width": width, "height": 900})
                view = context.new_page()
                view.goto(f"{base}/?lang=en")
                home = view.content()
                assert "北约峰会前夜的一次谈话" in home and account in home
                assert "removed before it could be captured" in home
                overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
                assert view.evaluate(overflow) <= 0, f"the home page scrolls sideways at {width} px"
                for article_id in (gone_id, wordless_id):
                    view.goto(f"{base}/articles/{article_id}?lang=en")
                    banner = view.locator("#before-capture").inner_text()
                    assert "Removed before it could be captured" in banner and "reached by a link" in banner
                    assert view.evaluate(overflow) <= 0, (
                        f"article {article_id} scrolls sideways at {width} px"
                    )
                if width == 390:
                    view.goto(f"{base}/?lang=en")
                    view.screenshot(path=str(tmp_path / "home-390.png"), full_page=True)
                context.close()
