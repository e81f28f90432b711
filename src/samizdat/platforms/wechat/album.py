"""WeChat albums (合集): an account's public, ordered lists of articles.

An album's page (``/mp/appmsgalbum?__biz=…&action=getalbum&album_id=…``) needs no key and no
cookie. Its HTML shows the first items as elements of class ``album__item`` (``data-link``,
``data-title``, ``data-msgid``, and the create time in ``js_article_create_time``); the same
address with ``&f=json&count=20`` answers JSON and pages on from the last item
(``begin_msgid``, ``begin_itemidx``) while ``continue_flag`` is "1"::

    {"base_resp": {"ret": 0}, "getalbum_resp": {"base_info": {"title": …},
     "article_list": [{"title", "url", "create_time", "msgid", "itemidx", …}], "continue_flag": "1"}}

WeChat gives a single item as an object, not a list of one. Anything else — a ``ret`` other than
0, a verification page, another document — is :class:`ListingRefused`, never a crash and never
an empty album.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from lxml import html

from samizdat.platforms.base import ListedArticle, ListingPage, ListingRefused
from samizdat.platforms.text import clean_line
from samizdat.platforms.wechat.links import album_link, article_link

PAGE_SIZE = 20
ITEMS = "//*[contains(concat(' ', normalize-space(@class), ' '), ' album__item ')]"
ALBUM_LIST = "//*[contains(concat(' ', normalize-space(@class), ' '), ' album__list ')]"  # empty or not
CREATE_TIME = ".//*[contains(concat(' ', normalize-space(@class), ' '), ' js_article_create_time ')]"
ALBUM_TITLE = (
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' album__label-title ')]",
    "//meta[@property='og:title']/@content",
    "//title",
)


def json_page(album: str, after: tuple[str, str] | None = None) -> str:
    """The JSON page of ``album`` (its one address) that starts after the item ``after``
    (msgid, itemidx); the first page without it."""
    query = [("f", "json"), ("count", str(PAGE_SIZE))]
    if after is not None:
        query += [("begin_msgid", after[0]), ("begin_itemidx", after[1])]
    return album + "&" + urlencode(query, quote_via=quote)


def _album_of(url: str) -> str:
    album = album_link(url, url)
    if album is None:
        raise ListingRefused(f"{url} is not a WeChat album's address")
    return album


def _moment(value: object) -> datetime | None:
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    if not text.isdigit() or not 0 < int(text) < 2**32:
        return None
    return datetime.fromtimestamp(int(text), UTC)


def read_json(url: str, data: object) -> ListingPage:
    """One JSON page of the album at ``url``."""
    if not isinstance(data, dict):
        raise ListingRefused("the album answered JSON that is not an object")
    base = data.get("base_resp")
    ret = base.get("ret") if isinstance(base, dict) else None
    if str(ret) != "0":
        message = base.get("err_msg") or base.get("errmsg") if isinstance(base, dict) else None
        raise ListingRefused(
            f"the album answered ret={ret}" + (f" ({message})" if message else "") + " instead of its items"
        )
    answer = data.get("getalbum_resp")
    if not isinstance(answer, dict):
        raise ListingRefused("the album's answer has no getalbum_resp")
    listed = answer.get("article_list") or []
    listed = [listed] if isinstance(listed, dict) else listed
    if not isinstance(listed, list):
        raise ListingRefused("the album's article_list is neither a list nor an item")
    items, last = [], None
    for entry in listed:
        if not isinstance(entry, dict):
            continue
        link = article_link(str(entry.get("url") or ""), url)
        if link is None:
            continue
        title = entry.get("title")
        items.append(
            ListedArticle(
                link,
                clean_line(title) or None if isinstance(title, str) else None,
                _moment(entry.get("create_time")),
            )
        )
        msgid, itemidx = str(entry.get("msgid") or ""), str(entry.get("itemidx") or "1")
        if msgid.isdigit() and itemidx.isdigit():
            last = (msgid, itemidx)
    info = answer.get("base_info")
    title = info.get("title") if isinstance(info, dict) and isinstance(info.get("title"), str) else None
    more = str(answer.get("continue_flag", "0")) == "1"
    next_url = json_page(_album_of(url), last) if more and last is not None else None
    return ListingPage(clean_line(title) or None if title else None, tuple(items), next_url)


def read_html(url: str, tree: html.HtmlElement) -> ListingPage:
    """The album's HTML page: the items it shows (the JSON pages on from there)."""
    elements = tree.xpath(ITEMS)
    if not elements and not tree.xpath(ALBUM_LIST):
        raise ListingRefused("not an album page: no album__list, no album__item")
    items = []
    for element in elements:
        link = article_link(element.get("data-link") or "", url)
        if link is None:
            continue
        created = element.xpath(CREATE_TIME)
        items.append(
            ListedArticle(
                link,
                clean_line(element.get("data-title") or "") or None,
                _moment(created[0].text_content()) if created else None,
            )
        )
    title = next(
        (
            clean_line(found[0] if isinstance(found[0], str) else found[0].text_content())
            for xpath in ALBUM_TITLE
            if (found := tree.xpath(xpath))
        ),
        None,
    )
    return ListingPage(title or None, tuple(items))


def decode_json(body: bytes) -> object | None:
    """The body as JSON when it is JSON (a BOM allowed), else None."""
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise ListingRefused("the album answered malformed JSON") from None
