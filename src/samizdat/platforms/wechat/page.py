"""Reading a WeChat article page: its inline script variables, its dates, author, images,
players and body (the selectors and texts are data in ``wechat/__init__.py``)."""

from __future__ import annotations

import copy
import functools
import html as htmllib
import re
from datetime import datetime, timedelta, timezone

from lxml import etree, html

from samizdat.platforms.base import Media, join_url
from samizdat.platforms.text import clean_line, clean_markup, element_text, split_scripts

CHINA_TIME = timezone(timedelta(hours=8), "CST")  # a page's times are Beijing time
AUTHOR = ("//*[@id='js_author_name']",)

# The script variables the parser reads (wechat.md, "Article page markers").
SCRIPT_VARIABLES = (
    "biz",
    "__biz",
    "mid",
    "appmsgid",
    "idx",
    "sn",
    "msg_title",
    "nickname",
    "nick_name",
    "user_name",
    "ct",
    "create_time",
    "publish_timestamp",
    "publish_time",
    "createTime",
    "msg_cdn_url",
    "cdn_url",
    "msg_desc",
    "transfer_target_link",
)
_EXPRESSION_END = re.compile(r"[;\n]")
_STRING_LITERAL = re.compile(r"""(["'])((?:\\.|(?!\1).)*)\1""")
_JS_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)")
_CSS_URL = re.compile(r"""url\(\s*(?:&quot;|["'])?([^"')&]+?)(?:&quot;|["'])?\s*\)""")
_DATE_TEXT = re.compile(r"(\d{4})[-年/.](\d{1,2})[-月/.](\d{1,2})日?(?:\s+(\d{1,2}):(\d{2}))?")


@functools.cache
def compiled(xpath: str) -> etree.XPath:
    return etree.XPath(xpath)


def first(tree: html.HtmlElement, xpath: str) -> html.HtmlElement | None:
    found = compiled(xpath)(tree)
    return found[0] if found else None


def first_text(tree: html.HtmlElement, xpaths: tuple[str, ...]) -> str:
    for xp in xpaths:
        for element in compiled(xp)(tree):
            text = clean_line(element_text(element))
            if text:
                return text
    return ""


def meta(tree: html.HtmlElement, name: str) -> str:
    for value in tree.xpath(f"//meta[@property='{name}' or @name='{name}']/@content"):
        if value.strip():
            return clean_line(value)
    return ""


def script_vars(html_text: str) -> dict[str, str]:
    """The first non-empty string value of each script variable the parser reads.

    Pages write ``var biz = "" || "Mz…";`` and may assign a name twice, the first time empty.
    Only script elements are read: an article's own text may show code such as ``var mid = 1``.

    >>> script_vars('<p>var mid = "9";</p><script>var biz = "" || "MzA=";\\n var ct = "1522968980";</script>')
    {'biz': 'MzA=', 'ct': '1522968980'}
    """
    return variables(split_scripts(html_text)[1])


def variables(scripts: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    joined = "\n".join(scripts)
    for name in SCRIPT_VARIABLES:
        value = first_assignment(joined, name)
        if value:
            found[name] = value
    return found


def first_assignment(scripts: str, name: str) -> str:
    """The first non-empty string assigned to ``name`` (``name = …`` or ``name: …``) in ``scripts``."""
    position = scripts.find(name)
    while position >= 0:
        before = scripts[position - 1] if position else " "
        after = position + len(name)
        # a declaration, an object key or a window property; not "&sn=" inside a string
        if before in " \t\r\n,;{(" or scripts.endswith("window.", 0, position):
            rest = scripts[after : after + 2000]
            stripped = rest.lstrip(" \t")
            if stripped[:1] in ("=", ":") and stripped[1:2] != "=":
                expression = _EXPRESSION_END.split(stripped[1:], maxsplit=1)[0]
                for literal in _STRING_LITERAL.finditer(expression):
                    value = unescape_js(literal.group(2)).strip()
                    if value:
                        return htmllib.unescape(value)
        position = scripts.find(name, after)
    return ""


def unescape_js(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xu" and len(code) > 1:
            return chr(int(code[1:], 16))
        return {"n": "\n", "t": "\t", "r": ""}.get(code, code)

    return _JS_ESCAPE.sub(replace, value)


def author(tree: html.HtmlElement, account: str | None) -> str | None:
    for candidate in (first_text(tree, AUTHOR), meta(tree, "author"), meta(tree, "og:article:author")):
        if candidate and candidate != account:
            return candidate
    # 2018 layout: the author is a bare meta_text between the date and the account name.
    for element in tree.xpath("//*[@id='meta_content']//em[contains(@class,'rich_media_meta_text')]"):
        text = clean_line(element_text(element))
        if (
            text
            and element.get("id") not in ("post-date", "publish_time")
            and not _DATE_TEXT.search(text)
            and text != account
            and text not in ("Today", "今天", "昨天", "Yesterday")
        ):
            return text
    return None


def published_at(tree: html.HtmlElement, var) -> datetime | None:
    for name in ("ct", "create_time", "publish_timestamp"):
        stamp = var(name)
        if stamp.isdigit() and len(stamp) >= 9:
            return datetime.fromtimestamp(int(stamp), CHINA_TIME)
    candidates = [var("publish_time"), var("createTime")]
    candidates += [
        clean_line(element_text(el)) for el in tree.xpath("//*[@id='publish_time' or @id='post-date']")
    ]
    for text in candidates:
        match = _DATE_TEXT.search(text or "")
        if match:
            year, month, day, hour, minute = match.groups()
            try:
                return datetime(
                    int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=CHINA_TIME
                )
            except ValueError:
                continue
    return None


def image_url(element: html.HtmlElement, base: str) -> str | None:
    for attribute in ("data-src", "data-original", "src"):
        value = (element.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return join_url(base, htmllib.unescape(value))
    return None


def images(body: html.HtmlElement, base: str) -> list[str]:
    found: dict[str, None] = {}
    for img in body.iter("img"):
        url = image_url(img, base)
        if url:
            found[url] = None
    for element in body.xpath(".//*[@style]"):
        for match in _CSS_URL.finditer(element.get("style", "")):
            url = match.group(1).strip()
            if url and not url.startswith("data:") and (joined := join_url(base, htmllib.unescape(url))):
                found[joined] = None
    return list(found)


PLAYERS = ".//iframe[contains(@class,'video_iframe')]|.//mpvoice|.//qqmusic"
MEDIA_LABELS = {"video": "视频 video", "audio": "音频 audio", "music": "音乐 music"}


def media_of(element: html.HtmlElement, base: str) -> Media | None:
    """The playable thing behind a video iframe, ``<mpvoice>`` or ``<qqmusic>`` placeholder."""
    if element.tag == "iframe":
        src = (element.get("data-src") or element.get("src") or "").strip()
        if src and (joined := join_url(base, htmllib.unescape(src))):
            return Media("video", joined)
        vid = element.get("data-mpvid")
        if vid:
            return Media(
                "video", f"https://mp.weixin.qq.com/mp/readtemplate?t=pages/video_player_tmpl&vid={vid}"
            )
    elif element.tag == "mpvoice":
        file_id = element.get("voice_encode_fileid")
        if file_id:
            return Media(
                "audio", f"https://res.wx.qq.com/voice/getvoice?mediaid={file_id}", element.get("name") or ""
            )
    else:
        url = element.get("audiourl") or element.get("src") or ""
        if url and (joined := join_url(base, htmllib.unescape(url))):
            return Media(
                "music",
                joined,
                element.get("music_name") or element.get("musicname") or "",
            )
    return None


def media(body: html.HtmlElement, base: str) -> list[Media]:
    return [m for m in (media_of(el, base) for el in body.xpath(PLAYERS)) if m is not None]


def body_html(body: html.HtmlElement, base: str) -> str:
    """The article body with lazy images resolved and players replaced by plain links."""
    body = copy.deepcopy(body)  # the tree stays as parsed; only the copy is rewritten
    body.attrib.pop("style", None)
    for img in body.iter("img"):
        url = image_url(img, base)
        if url:
            img.set("src", url)
    for element in body.xpath(PLAYERS):
        item = media_of(element, base)
        if item is None:
            element.drop_tree()
            continue
        # Character references in the page (&#1;) reach the parsed text as control characters,
        # which lxml refuses to set: cleaned like the page itself.
        link = html.Element(
            "a", href=clean_markup(item.url), **{"class": f"samizdat-media samizdat-{item.kind}"}
        )
        link.text = clean_markup(f"[{MEDIA_LABELS[item.kind]}] {item.title}".strip())
        link.tail = clean_markup(element.tail) if element.tail else None
        element.getparent().replace(element, link)
    return html.tostring(body, encoding="unicode", with_tail=False)


def picture_post_images(html_text: str) -> list[str]:
    start = html_text.find("picture_page_info_list")
    if start < 0:
        return []
    chunk = html_text[start : start + 200_000]
    urls = re.findall(r"""cdn_url\s*:\s*['"]([^'"]+)['"]""", chunk)
    return list(dict.fromkeys(htmllib.unescape(u) for u in urls if u.startswith("http")))


def detail(parts: list[str], matched: str | None = None) -> str | None:
    rest = [p for p in parts if p != matched]
    return " ".join(rest) or None
