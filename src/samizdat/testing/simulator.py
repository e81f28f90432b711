"""A local WeChat-like platform on 127.0.0.1, for tests, benchmarks and the offline demo.

It serves the real saved pages (``src/samizdat/testing/pages/wechat``) under the URLs they declare, any
number of distinct copies of them (for load), every notice page, images for the image host,
and the ways a real network misbehaves: slow drip, endless body, reset mid-body, truncated
gzip, wrong Content-Length, redirect loops, huge, empty and binary bodies, undeclared GBK.

Routes::

    /s?__biz=…&mid=…&idx=…[&sn=…]   article (long URL); unknown ids → "deleted" notice
    /s/<token>                       the same article by its short URL (200, as WeChat does)
    /ext/<host>/<path>               an asset of the platform's image hosts (a small PNG per path;
                                     with ``pictures``, a screenshot with two lines of text)
    /notice/<name>                   a notice page (deleted-by-author, verification, …)
    /urls.txt                        every article URL, one per line (a URL-list source)
    /albums.txt                      every account's album, one per line
    /moved/<token>                   an article after its account migrated (the notice links here)
    /account/<biz>.xml, .json        one account's articles as RSS or a JSON Feed (removed ones leave it)
    /accounts.opml                   every account's feed
    /feed.xml, /feed.json            the same as an RSS 2.0 feed and a JSON Feed (with ETags)
    /sitemap.xml                     a sitemap index pointing at /sitemap-articles.xml
    /fault/<kind>                    misbehaving responses, see FAULTS
    /redirect?to=URL                 302 to any URL (for SSRF tests)
    /news/duplicate-images           a news page showing one image under two URLs
    /news/pictures                   real pictures: a photo twice, a screenshot with text, an icon
    /news/pictures-repost            the screenshot alone, in another article
    /news/text-lines                 sentences only in images: banners, screenshots, 14-px captions
    /mp/appmsgalbum?__biz=…&album_id=…[&f=json]   an account's album, HTML or JSON pages (albums.py)

The saved pages' links to other WeChat articles and albums lead to this server too: nothing a
page links leads off this machine (``links_elsewhere=True`` leaves them on mp.weixin.qq.com, as
real pages have them). With ``linked=True`` every article's body ends with links
to earlier articles of its album, one of another account, and its album (albums.py).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

from samizdat.testing import albums, pictures
from samizdat.testing.content import (
    DUPLICATE_IMAGES,
    WECHAT_PAGES,
    SimulatedArticle,
    feed_document,
    load_pages,
    make_articles,
    tiny_png,
)
from samizdat.testing.faults import FAULTS, not_found, send
from samizdat.testing.spliced import SplicedPage
from samizdat.testing.timeline import Fate

# Asset hosts of the platform (images, covers, video posters): served by the simulator under
# /ext/<host>/… so that nothing a page references leads off this machine.
ASSET_URL = re.compile(r"https?:(?:\\?/){2}((?:[\w-]+\.)*(?:qpic\.cn|qlogo\.cn|res\.wx\.qq\.com))/")
PLATFORM_LINK = re.compile(r"https?://mp\.weixin\.qq\.com/(?=s[?/]|mp/appmsgalbum\?)")
BODY_START = re.compile(r"""<div[^>]*\bid=["']js_content["'][^>]*>""")
LINKS_SLOT = "<!--samizdat:links-->"


# Feeds list the newest entries only, as real ones do; the sitemap and URL list have everything.
FEED_ENTRIES = 50


class Simulator:
    """Run with ``with Simulator(...) as sim:``; ``sim.base`` is ``http://127.0.0.1:PORT``."""

    def __init__(
        self,
        pages: Path | None = None,
        *,
        copies: int = 1,
        port: int = 0,
        gzip_pages: bool = True,
        time_scale: float = 1.0,
        rate_limit: float = 0.0,
        rate_limit_per_address: float = 0.0,
        log_path: Path | None = None,
        listings_keep_removed: bool = False,
        account_entries: int = FEED_ENTRIES,
        account_feeds: str = "xml",
        articles: int = 0,
        accounts: int = 0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        start_in: float = 0.0,
        asset_host: str = "",
        linked: bool = False,
        pictures: bool = False,
        links_elsewhere: bool = False,
    ):
        directory = pages or WECHAT_PAGES
        if not (directory / "articles").is_dir():
            raise FileNotFoundError(
                f"no simulator pages under {directory}: pass the fixtures directory "
                "(src/samizdat/testing/pages/wechat in a source checkout)"
            )
        article_pages, self.notices = load_pages(directory)
        made = make_articles(article_pages, copies)
        if articles:
            # Copy by copy across the pages, so that a short list still holds every saved page.
            made = sorted(made, key=lambda a: a.copy)[:articles]
        # ``accounts`` > 0: the articles are spread over that many account feeds, round robin.
        self.articles = [
            replace(a, feed=f"account{i % accounts:03d}" if accounts else a.biz) for i, a in enumerate(made)
        ]
        self._by_id = {(a.biz, a.mid, a.idx): a for a in self.articles}
        self._by_token = {a.token: a for a in self.articles}
        self.gzip_pages = gzip_pages
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._served: dict[tuple[str, ...], SplicedPage] = {}  # by saved page, or edited article
        self.removed: dict[str, str] = {}  # article token -> the notice page it now shows
        self.edits: dict[str, list[tuple[str, str]]] = {}  # article token -> (old, new) replacements
        self.flaky_every = 0  # when n > 0, every n-th article request fails: 503, reset or verification
        self._article_requests = 0
        # Each article or account-feed request fails with this probability (a third each: 503,
        # the verification page, a body cut off), as a real platform's transient trouble does.
        self.fault_rate = fault_rate
        self._faults = random.Random(fault_seed)
        # The timeline's clock starts this many real seconds after the server: time to set up.
        self.start_in = start_in
        # The name the pages give the image hosts' assets ("localhost": another host to a client,
        # with its own request budget, as the platform's image CDN is); empty: this server's own.
        self.asset_host = asset_host
        # A timeline (see set_fates): each article is published, removed or edited at its time.
        self.fates: dict[str, Fate] = {}
        self.time_scale = time_scale
        self.started = time.time()
        # Article requests per second above which the platform shows its verification page.
        self.rate_limit = rate_limit
        self._recent: deque[float] = deque()
        # The same, for each client address apart: what one address may send before the
        # platform shows it (and only it) the verification page. ``served_to`` counts the
        # article requests each address made, ``refused_to`` those it was refused.
        self.rate_limit_per_address = rate_limit_per_address
        self._recent_from: defaultdict[str, deque[float]] = defaultdict(deque)
        self.served_to: Counter[str] = Counter()
        self.refused_to: Counter[str] = Counter()
        self.requests: list[tuple[float, str, str, str]] = []  # (time, path, what was served, article token)
        self._log = log_path.open("a", encoding="utf-8", buffering=1 << 16) if log_path else None
        # The platform's own lists (an account's history, its feed) drop a removed article at
        # once; a third-party bridge that caches what it saw keeps listing it.
        self.listings_keep_removed = listings_keep_removed
        # How many of its newest articles an account's feed lists, and which kind of feed the
        # OPML file names ("json": a JSON Feed, like the platform's own history list).
        if account_feeds not in ("xml", "json"):
            raise ValueError(f"account feeds are xml or json, not {account_feeds!r}")
        self.account_entries = account_entries
        self.account_feeds = account_feeds
        self.linked = linked
        self.pictures = pictures
        # The saved pages' links to other articles stay on mp.weixin.qq.com, as on the real
        # platform: a host this server does not serve (on a censored network, one that may not
        # even resolve).
        self.links_elsewhere = links_elsewhere
        self.albums: dict[str, list[SimulatedArticle]] = {}
        for article in sorted(self.articles, key=lambda a: (int(a.mid), a.idx)):
            self.albums.setdefault(albums.album_id(article.biz), []).append(article)
        # How each album answers (albums.ALBUM_ANSWERS), by album id; "normal" when not named.
        self.album_answers: dict[str, str] = {}

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._port}"

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    @property
    def asset_base(self) -> str:
        return f"http://{self.asset_host}:{self._port}" if self.asset_host else self.base

    def article_urls(self) -> list[str]:
        """The articles published so far (all of them without a timeline), newest first."""
        return [self.base + a.path for a in self._published()]

    def _listed(self) -> list[SimulatedArticle]:
        """What the feeds and sitemaps list: the published articles, newest first, less the removed."""
        if self.listings_keep_removed:
            return self._published()
        now = self.now()
        return [a for a in self._published() if not self._is_removed(a, now)]

    def _is_removed(self, article: SimulatedArticle, now: float) -> bool:
        fate = self.fates.get(article.token)
        return article.token in self.removed or bool(
            fate and fate.removed_at is not None and now >= fate.removed_at
        )

    def _published(self) -> list[SimulatedArticle]:
        if not self.fates:
            return self.articles
        now = self.now()
        published = [a for a in self.articles if self.fates[a.token].published_at <= now]
        published.sort(key=lambda a: self.fates[a.token].published_at, reverse=True)
        return published

    def set_fates(self, fates: Sequence[Fate]) -> None:
        """Give the articles a timeline: one fate each, in the order of :attr:`articles`."""
        self.fates = {a.token: f for a, f in zip(self.articles, fates, strict=True)}

    def now(self) -> float:
        """Simulated seconds since the simulator started."""
        return (time.time() - self.started) * self.time_scale

    def short_url(self, article: SimulatedArticle) -> str:
        return f"{self.base}/s/{article.token}"

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.started = time.time() + self.start_in
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the simulator did not start within 10 s")

    def stop(self) -> None:
        if self._loop and self._server:
            self._loop.call_soon_threadsafe(self._server.close)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)
        if self._log:
            self._log.close()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self._port, backlog=1024)
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        # Close the connections still open (kept alive by clients), then let their handlers end.
        for writer in list(self._writers):
            writer.transport.abort()
        pending = asyncio.all_tasks(self._loop)
        if pending:
            self._loop.run_until_complete(asyncio.wait(pending, timeout=5))
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                _method, target, _version = request_line.split(" ", 2)
                headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
                keep_open = await self._respond(target, headers, writer)
                if not keep_open or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _logged(self, path: str, served: str, article: SimulatedArticle | None = None) -> None:
        entry = (time.time(), path, served, article.token if article else "")
        self.requests.append(entry)
        if self._log:
            self._log.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _too_fast(self, client: str) -> bool:
        """Whether this article request goes past the platform's rate, or its client address's."""
        self.served_to[client] += 1
        now = time.monotonic()
        too_fast = False
        for recent, limit in (
            (self._recent, self.rate_limit),
            (self._recent_from[client], self.rate_limit_per_address),
        ):
            if limit <= 0:
                continue
            recent.append(now)
            while recent and recent[0] < now - 1.0:
                recent.popleft()
            too_fast = too_fast or len(recent) > limit
        if too_fast:
            self.refused_to[client] += 1
        return too_fast

    async def _respond(self, target: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        parts = urlsplit(target)
        path, query = parts.path, dict(parse_qsl(parts.query))
        if not path.startswith(("/s", "/account/", "/mp/appmsgalbum")):
            self._logged(path, "other")
        if path.startswith("/fault/"):
            return await FAULTS.get(path[len("/fault/") :], not_found)(self, writer, query)
        if path == "/s" or path.startswith("/s/"):
            if path == "/s":
                identity = (query.get("__biz", ""), query.get("mid", ""), query.get("idx", "1"))
                article = self._by_id.get(identity)
            else:
                article = self._by_token.get(path[3:])
            fate = self.fates.get(article.token) if article else None
            now = self.now()
            if article is None or (fate and now < fate.published_at):
                self._logged(path, "notice:deleted-by-author")
                return self._page(writer, headers, self.notices["deleted-by-author"])
            self._article_requests += 1
            if self._too_fast(writer.get_extra_info("peername")[0]):
                self._logged(path, "verification", article)
                return self._page(writer, headers, self.notices["verification"])
            if self.flaky_every and self._article_requests % self.flaky_every == 0:
                self._logged(path, "fault", article)
                return await self._flaky(writer, headers, (self._article_requests // self.flaky_every) % 3)
            if self._random_fault():
                self._logged(path, "fault", article)
                return await self._flaky(writer, headers, self._faults.randrange(3))
            notice = self.removed.get(article.token)
            if notice is None and fate and fate.removed_at is not None and now >= fate.removed_at:
                notice = fate.notice
            if notice is not None:
                self._logged(path, f"notice:{notice}", article)
                page = self.notices[notice]
                if notice == "account-migrated":  # the real notice links the article at the new account
                    link = f"<script>var transfer_target_link = '{self.base}/moved/{article.token}';</script>"
                    page = page.replace("</head>", link + "</head>", 1)
                return self._page(writer, headers, page)
            edited = bool(fate and fate.edited_at is not None and now >= fate.edited_at)
            self._logged(path, "edited" if edited else "article", article)
            return self._article_page(writer, headers, article, edited=edited)
        if path.startswith("/moved/") and path[7:] in self._by_token:
            moved = self._by_token[path[7:]]
            self._logged(path, "article", moved)
            return self._article_page(writer, headers, moved, edited=False)
        if path.startswith("/ext/pictures/") and (drawn := pictures.picture(path.rsplit("/", 1)[1])):
            send(writer, 200, drawn[0], [("Content-Type", drawn[1])])
            return True
        if path.startswith("/ext/") and self.pictures and (screenshot := pictures.text_picture(path)):
            send(writer, 200, screenshot, [("Content-Type", "image/png")])
            return True
        if path.startswith("/ext/"):
            send(writer, 200, tiny_png(path), [("Content-Type", "image/png")])
            return True
        if path in ("/news/pictures", "/news/pictures-repost", "/news/text-lines"):
            page = {"/news/pictures": pictures.PAGE, "/news/text-lines": pictures.LINES_PAGE}.get(
                path, pictures.REPOST
            )
            send(writer, 200, page.encode(), [("Content-Type", "text/html; charset=utf-8")])
            return True
        if path.startswith("/notice/") and path[8:] in self.notices:
            return self._page(writer, headers, self.notices[path[8:]])
        if path == "/news/duplicate-images":
            send(writer, 200, DUPLICATE_IMAGES.encode(), [("Content-Type", "text/html; charset=utf-8")])
            return True
        if path in ("/feed.xml", "/feed.json", "/sitemap.xml", "/sitemap-articles.xml"):
            body, content_type = self._listing(path)
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if headers.get("if-none-match") == etag:
                send(writer, 304, b"", [("ETag", etag)])
            else:
                send(writer, 200, body, [("Content-Type", content_type), ("ETag", etag)])
            return True
        if path.startswith("/account/") and path.endswith((".xml", ".json")):
            if self._random_fault():
                self._logged(path, "fault")
                return await self._flaky(writer, headers, self._faults.randrange(3))
            feed, _, extension = unquote(path[len("/account/") :]).rpartition(".")
            listed = [self.base + a.path for a in self._listed() if a.feed == feed][: self.account_entries]
            self._logged(path, "feed")
            send(writer, 200, *feed_document(feed, listed, extension))
            return True
        if path == "/accounts.opml":
            feeds = [
                f"{self.base}/account/{quote(feed, safe='')}.{self.account_feeds}"
                for feed in {a.feed: 0 for a in self.articles}
            ]
            outlines = "".join(f'<outline type="rss" xmlUrl="{escape(feed)}"/>' for feed in feeds)
            body = f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'
            send(writer, 200, body.encode(), [("Content-Type", "text/x-opml")])
            return True
        if path == "/albums.txt":
            body = "".join(
                self.base + albums.album_path(a[0].biz) + "\n" for a in self.albums.values()
            ).encode()
            send(writer, 200, body, [("Content-Type", "text/plain; charset=utf-8")])
            return True
        if path == "/urls.txt":
            body = "".join(url + "\n" for url in self.article_urls()).encode()
            send(writer, 200, body, [("Content-Type", "text/plain; charset=utf-8")])
            return True
        if path == "/mp/appmsgalbum" and query.get("album_id") in self.albums:
            return await self._album(writer, headers, query)
        if path == "/redirect" and "to" in query:
            send(writer, 302, b"", [("Location", query["to"])])
            return True
        return await not_found(self, writer, query)

    def album_url(self, article: SimulatedArticle) -> str:
        """The album holding ``article`` (every account has one)."""
        return self.base + albums.album_path(article.biz)

    async def _album(
        self, writer: asyncio.StreamWriter, headers: dict[str, str], query: dict[str, str]
    ) -> bool:
        album = query["album_id"]
        answer = self.album_answers.get(album, "normal")
        if self._random_fault():
            self._logged("/mp/appmsgalbum", "fault")
            return await self._flaky(writer, headers, self._faults.randrange(3))
        if answer == "verification":
            self._logged("/mp/appmsgalbum", "verification")
            return self._page(writer, headers, self.notices["verification"])
        now = self.now()
        out = {a.token for a in self._listed()}
        listed = [a for a in self.albums[album] if a.token in out]
        if self.fates:  # published ones only, oldest first as the album shows them
            listed = sorted(
                (a for a in listed if self.fates[a.token].published_at <= now),
                key=lambda a: self.fates[a.token].published_at,
            )
        title = f"合集 {album[-4:]}"
        self._logged("/mp/appmsgalbum", "album")
        if query.get("f") == "json":
            body = albums.album_json(self.base, title, listed, query, answer)
            send(writer, 200, body, [("Content-Type", "application/json; charset=utf-8")])
            return True
        return self._page(writer, headers, albums.album_html(self.base, title, listed))

    def _links_block(self, article: SimulatedArticle) -> str:
        """With a timeline, a page links only articles out before it, as a real one can."""
        if not self.linked:
            return ""
        album = self.albums[albums.album_id(article.biz)]
        others = [a for a in self.articles if a.biz != article.biz]
        if self.fates:
            out_by = self.fates[article.token].published_at
            album = sorted(
                (a for a in album if self.fates[a.token].published_at <= out_by),
                key=lambda a: self.fates[a.token].published_at,
            )
            others = [a for a in others if self.fates[a.token].published_at < out_by]
        other = others[int(article.mid) % len(others)] if others else None
        return albums.recommended(self.base, article, album, other)

    def remove(self, article: SimulatedArticle, notice: str) -> None:
        """From now on ``article`` shows the notice page ``notice`` (a name in expected.json)."""
        self.removed[article.token] = notice

    def edit(self, article: SimulatedArticle, old: str, new: str) -> None:
        """From now on ``article``'s page has ``new`` where it had ``old`` (a silent edit)."""
        self.edits.setdefault(article.token, []).append((old, new))
        self._served.pop(("edited", article.token), None)

    def _random_fault(self) -> bool:
        return self.fault_rate > 0 and self._faults.random() < self.fault_rate

    async def _flaky(self, writer: asyncio.StreamWriter, headers: dict[str, str], kind: int) -> bool:
        """One transient failure: 503 (``kind`` 0), the verification page (1), a body cut off (2)."""
        if kind == 0:
            send(writer, 503, b"busy", [("Content-Type", "text/plain")])
            return True
        if kind == 1:
            return self._page(writer, headers, self.notices["verification"])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n<html>")
        await writer.drain()
        writer.transport.abort()
        return False

    def _listing(self, path: str) -> tuple[bytes, str]:
        """The article URLs as an RSS 2.0 feed, a JSON Feed, or a sitemap index and its sitemap."""
        listed = [self.base + a.path for a in self._listed()]
        if path in ("/feed.xml", "/feed.json"):
            body, headers = feed_document("simulated account", listed[:FEED_ENTRIES], path.rsplit(".", 1)[1])
            return body, headers[0][1]
        if path == "/sitemap.xml":
            return (
                f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{self.base}/sitemap-articles.xml</loc></sitemap></sitemapindex>"
            ).encode(), "application/xml"
        entries = "".join(f"<url><loc>{escape(url)}</loc></url>" for url in listed)
        return (
            f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</urlset>"
        ).encode(), "application/xml"

    def _article_html(self, article: SimulatedArticle) -> str:
        html = self._local(article.html, self._assets(article))
        for old, new in self.edits.get(article.token, ()):
            html = html.replace(old, new)
        return html

    def _assets(self, article: SimulatedArticle) -> str:
        """With pictures, each copy has pictures of its own (a new article brings new images)."""
        return f"copy{article.copy}/" if self.pictures else ""

    def _local(self, page: str, assets: str = "") -> str:
        """``page`` with its assets (under ``/ext/<host>/<assets>``) and its links to the platform
        served from here, and a slot for the links an article's body ends with."""
        page = ASSET_URL.sub(lambda m: f"{self.asset_base}/ext/{m.group(1)}/{assets}", page)
        if not self.links_elsewhere:
            page = PLATFORM_LINK.sub(self.base + "/", page)
        return BODY_START.sub(lambda m: m.group(0) + LINKS_SLOT, page, count=1)

    def _page(self, writer: asyncio.StreamWriter, headers: dict[str, str], html: str) -> bool:
        extra = [("Content-Type", "text/html; charset=utf-8")]
        body = html.encode("utf-8")
        if self.gzip_pages and "gzip" in headers.get("accept-encoding", ""):
            body = gzip.compress(body, compresslevel=1)
            extra.append(("Content-Encoding", "gzip"))
        send(writer, 200, body, extra)
        return True

    def _article_page(
        self,
        writer: asyncio.StreamWriter,
        headers: dict[str, str],
        article: SimulatedArticle,
        *,
        edited: bool,
    ) -> bool:
        zipped = self.gzip_pages and "gzip" in headers.get("accept-encoding", "")
        # Like the real platform, every response has its own nonce, request id and server time.
        # Each saved page is cut and compressed once, as a server with a cache would, and
        # serves all its copies: their mid and title are slots (see spliced.py).
        original_mid = str(int(article.mid) - article.copy)
        if article.token in self.edits:
            key: tuple[str, ...] = ("edited", article.token)
            html = self._article_html(article)
        else:
            assets = self._assets(article)
            key = (article.biz, original_mid, article.idx, assets)
            html = self._local(article.page, assets)
        page = self._served.get(key)
        if page is None:
            page = self._served[key] = SplicedPage(html, {original_mid: None, "</h2>": 1, LINKS_SLOT: 1})
        values: dict[str, str] = {LINKS_SLOT: self._links_block(article)}
        if article.token not in self.edits:  # an edited page has its copy's values already
            values |= {
                original_mid: article.mid,
                "</h2>": f" ({article.copy})</h2>" if article.copy else "</h2>",
            }
        if edited:  # a silent edit: the title gains a correction mark
            values["</h2>"] = " 【更正】" + values.get("</h2>", "</h2>")
        extra = [("Content-Type", "text/html; charset=utf-8")]
        if zipped:
            extra.append(("Content-Encoding", "gzip"))
        send(writer, 200, page.render(zipped, values), extra)
        return True
