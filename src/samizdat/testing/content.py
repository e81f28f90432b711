"""What the simulator serves: articles made from the real saved pages (any number of distinct
copies of each), small images, and feeds of them."""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

from samizdat.platforms.wechat.page import script_vars

# The real saved pages the simulator serves, shipped with the package (PROVENANCE.md there).
WECHAT_PAGES = Path(__file__).resolve().parent / "pages" / "wechat"


@dataclass(frozen=True)
class SimulatedArticle:
    biz: str
    mid: str
    idx: str
    sn: str
    token: str  # short-URL token
    page: str  # the saved page this article is a copy of
    copy: int  # 0 for the saved page itself
    feed: str = ""  # the account feed that lists it (its biz unless the simulator regroups them)

    @property
    def html(self) -> str:
        """The page of this copy: its own ``mid`` everywhere, its number in the title."""
        if self.copy == 0:
            return self.page
        original_mid = str(int(self.mid) - self.copy)
        return self.page.replace(original_mid, self.mid).replace("</h2>", f" ({self.copy})</h2>", 1)

    @property
    def path(self) -> str:
        sn = f"&sn={self.sn}" if self.sn else ""
        return f"/s?__biz={quote(self.biz, safe='')}&mid={self.mid}&idx={self.idx}{sn}"


def load_pages(directory: Path) -> tuple[list[str], dict[str, str]]:
    """(article pages, notice pages by name) from a fixtures directory."""
    articles = [p.read_text("utf-8") for p in sorted((directory / "articles").glob("*.html"))]
    articles += [
        gzip.decompress(p.read_bytes()).decode("utf-8")
        for p in sorted((directory / "pre-deletion").glob("*.html.gz"))
    ]
    notices = {
        p.stem: p.read_text("utf-8") for p in sorted((directory / "notices" / "constructed").glob("*.html"))
    }
    return articles, notices


def make_articles(pages: list[str], copies: int) -> list[SimulatedArticle]:
    """``copies`` distinct articles per page: copy k gets its own ``mid`` and a marked title."""
    made = []
    for page in pages:
        variables = script_vars(page)
        biz, mid, idx = variables.get("biz", ""), variables.get("mid", ""), variables.get("idx", "1")
        if not biz or not mid:
            continue
        for k in range(copies):
            new_mid = str(int(mid) + k)
            sn = hashlib.md5(f"{biz}{new_mid}{idx}".encode()).hexdigest()
            token = hashlib.sha1(f"{biz}:{new_mid}:{idx}".encode()).hexdigest()[:22]
            made.append(SimulatedArticle(biz, new_mid, idx, sn, token, page, k))
    return made


def tiny_png(seed: str) -> bytes:
    """A valid 1×1 PNG whose colour depends on ``seed``: distinct bytes per image path."""
    colour = hashlib.sha256(seed.encode()).digest()[:3]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" + colour))
        + chunk(b"IEND", b"")
    )


def feed_document(title: str, urls: list[str], extension: str) -> tuple[bytes, list[tuple[str, str]]]:
    """Articles, newest first, as RSS 2.0 (``xml``) or a JSON Feed (``json``)."""
    if extension == "json":
        items = [{"id": url, "url": url} for url in urls]
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
        return json.dumps(feed).encode(), [("Content-Type", "application/feed+json")]
    items = "".join(
        f"<item><title>article {i}</title><link>{escape(url)}</link></item>" for i, url in enumerate(urls)
    )
    channel = f"<channel><title>{escape(title)}</title>{items}</channel>"
    body = f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'
    return body.encode(), [("Content-Type", "application/rss+xml")]


# Image bytes depend on the path only, so these two URLs give the same image.
DUPLICATE_IMAGES = (
    "<html><head><title>同一张图片的两个地址</title></head><body><article><h1>同一张图片的两个地址</h1>"
    "<p>这篇报道用两个不同的地址引用了同一张图片，存档只应保存一份图片内容。</p>"
    '<img src="/ext/mmbiz.qpic.cn/photo/1?wx_fmt=png">'
    "<p>第二段正文，再次出现同一张图片，只是地址的参数不同。</p>"
    '<img src="/ext/mmbiz.qpic.cn/photo/1?wx_fmt=jpeg"></article></body></html>'
)
