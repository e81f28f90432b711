"""The ways into more of WeChat that an article page carries: links to other articles (往期推荐,
相关阅读, a series, the original of a repost) and to albums (合集).

An article link is ``/s?__biz=…&mid=…`` (the long form), ``/s/<token>`` (the short form) or the
old ``/mp/appmsg/show?__biz=…&appmsgid=…``; an album link is
``/mp/appmsgalbum?__biz=…&album_id=…``. Either counts on a WeChat host or on the host of the
page itself (a copy of the platform served elsewhere, as the simulator is). Links to anything
else — profiles, rumour notices, mini-programs, images — are not ways to articles.
"""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qsl, quote, urlencode

from lxml import html

from samizdat.platforms.base import join_url, split_url

SHORT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
# Albums are named outside the body too (the album tag above the title, the series bar below
# it), in attributes and in script strings: the whole page is searched.
_ALBUM_IN_PAGE = re.compile(r"""(?:https?:)?//[\w.:-]+/mp/appmsgalbum\?[^"'\s<>\\]+""")
_SCRIPT_ESCAPES = (("\\x26", "&"), ("\\u0026", "&"), ("\\/", "/"))


def _wechat_host(host: str) -> bool:
    return host == "mp.weixin.qq.com" or host.endswith(".weixin.qq.com")


def _on_platform(url: str, page_url: str) -> tuple[str, str, dict[str, str]] | None:
    """(origin, path, query) of ``url`` when it is on WeChat (origin: https) or on the page's
    own host."""
    parts, page = split_url(htmllib.unescape(url)), split_url(page_url)
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    netloc = parts.netloc.lower()
    if _wechat_host((parts.hostname or "").lower()):
        origin = f"https://{netloc}"
    elif page is not None and netloc == page.netloc.lower():
        origin = f"{parts.scheme.lower()}://{netloc}"
    else:
        return None
    return origin, parts.path, dict(parse_qsl(parts.query))


def article_link(url: str, page_url: str) -> str | None:
    """``url`` in the form that names the same article, when it is a link to one (else None).

    >>> article_link("http://mp.weixin.qq.com/s?__biz=MzA=&amp;mid=22&idx=2&sn=ab&scene=21#top", "")
    'https://mp.weixin.qq.com/s?__biz=MzA=&mid=22&idx=2&sn=ab'
    >>> article_link("https://mp.weixin.qq.com/s/Xr9bmk7_lWqVqHXy6KzIkQ", "")
    'https://mp.weixin.qq.com/s/Xr9bmk7_lWqVqHXy6KzIkQ'
    >>> article_link("https://mp.weixin.qq.com/mp/profile_ext?action=home", "") is None
    True
    """
    found = _on_platform(url, page_url)
    if found is None:
        return None
    origin, path, query = found
    if path == "/s" or path == "/mp/appmsg/show":
        biz, mid = query.get("__biz"), query.get("mid") or query.get("appmsgid")
        if not biz or not mid or not mid.isdigit():
            return None
        idx = query.get("idx") or query.get("itemidx") or "1"
        identity = [("__biz", biz), ("mid", mid), ("idx", idx if idx.isdigit() else "1")]
        if query.get("sn"):
            identity.append(("sn", query["sn"]))
        return f"{origin}/s?" + urlencode(identity, quote_via=quote, safe="=")
    if path.startswith("/s/") and SHORT_TOKEN.match(path[3:]):
        return f"{origin}{path}"
    return None


def album_link(url: str, page_url: str) -> str | None:
    """The album ``url`` names, as its one address, or None when it names none.

    >>> album_link("https://mp.weixin.qq.com/mp/appmsgalbum?__biz=MzA=&album_id=17&scene=1#top", "")
    'https://mp.weixin.qq.com/mp/appmsgalbum?__biz=MzA=&action=getalbum&album_id=17'
    """
    found = _on_platform(url, page_url)
    if found is None:
        return None
    origin, path, query = found
    biz, album = query.get("__biz"), query.get("album_id")
    if path != "/mp/appmsgalbum" or not biz or not album or not album.isdigit():
        return None
    query_text = urlencode(
        [("__biz", biz), ("action", "getalbum"), ("album_id", album)], quote_via=quote, safe="="
    )
    return f"{origin}/mp/appmsgalbum?{query_text}"


def article_links(body: html.HtmlElement | None, page_url: str, *also: str | None) -> tuple[str, ...]:
    """The articles the body's links (and ``also``: a repost's original) lead to, each once, in
    page order."""
    hrefs = [a.get("href") or a.get("data-link") or "" for a in body.iter("a")] if body is not None else []
    found: dict[str, None] = {}
    for href in [*also, *hrefs]:
        if (
            href
            and href.strip()
            and (joined := join_url(page_url, href))
            and (link := article_link(joined, page_url))
        ):
            found[link] = None
    return tuple(found)


def album_links(page_text: str, page_url: str) -> tuple[str, ...]:
    """The albums the page names anywhere (attributes, scripts), each once, in page order."""
    if "appmsgalbum" not in page_text:
        return ()
    for escaped, plain in _SCRIPT_ESCAPES:
        page_text = page_text.replace(escaped, plain)
    found: dict[str, None] = {}
    for match in _ALBUM_IN_PAGE.finditer(page_text):
        text = match.group(0)
        if text.startswith("//"):
            text = "https:" + text
        if (album := album_link(text, page_url)) is not None:
            found[album] = None
    return tuple(found)
