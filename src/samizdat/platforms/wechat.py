"""WeChat official-account articles (mp.weixin.qq.com), both the 2016–2018 and 2020+ markup.

Facts and texts come from ``shared/docs/wechat.md`` and were checked against the saved pages
in ``shared/samples/wechat/``. Selectors and notice texts are data at the top of the module.
"""

from __future__ import annotations

import copy
import functools
import html as htmllib
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlencode

from lxml import etree, html

from samizdat.platforms.base import Article, Media, Unavailable, UnavailableReason, join_url, split_url
from samizdat.platforms.text import clean_line, clean_markup, element_text, parse_html, split_scripts

NAME = "wechat"
DEFAULT_HOSTS = ("mp.weixin.qq.com", "weixin.qq.com")
# WeChat shows every time in China Standard Time (UTC+8, no daylight saving).
CHINA_TIME = timezone(timedelta(hours=8), "CST")

TRACKING_PARAMS = frozenset(
    {
        "chksm",
        "scene",
        "srcid",
        "sharer_sharetime",
        "sharer_shareid",
        "sharer_shareinfo",
        "sharer_shareinfo_first",
        "clicktime",
        "enterid",
        "from",
        "isappinstalled",
        "ascene",
        "devicetype",
        "version",
        "nettype",
        "lang",
        "exportkey",
        "pass_ticket",
        "wx_header",
        "key",
        "uin",
        "abtest_cookie",
        "subscene",
        "sessionid",
        "mpshare",
        "session_us",
        "fasttmpl_type",
        "fasttmpl_fullversion",
        "realreporttime",
        "countrycode",
        "poc_token",
    }
)
IDENTITY_PARAMS = ("__biz", "mid", "idx", "sn")
# Set anew in every response to a client without a session (seen in the saved 2018 and 2020
# pages): the request id and the server's clock. The CSP nonce is a common token. Session
# tokens (appmsg_token, pass_ticket, key, uin) are empty for us: the fetcher never logs in.
VOLATILE_TOKENS = ("req_id", "svr_time")

BODY = "//*[@id='js_content']"
TITLE = ("//*[@id='activity-name']", "//*[contains(@class,'rich_media_title')]")
ACCOUNT = (
    "//*[@id='js_name']",
    "//*[contains(@class,'profile_nickname')]",
    "//*[contains(@class,'rich_media_meta_nickname')]",
)
AUTHOR = ("//*[@id='js_author_name']",)
SHARED_CONTENT = "//*[@id='js_share_content']"
NOTICE_TEXT = (
    "//*[contains(@class,'weui-msg__title')]",
    "//*[contains(@class,'weui-msg__desc')]",
    "//*[contains(@class,'global_error_msg')]",
    "//*[contains(@class,'page_msg')]",
    "//*[contains(@class,'weui-msg__text-area')]",
)
VERIFICATION_MARKS = (
    "//*[@id='js_verify']",
    "//*[@id='tcaptcha_iframe_dy']",
    "//iframe[contains(@src,'captcha')]",
)
VERIFICATION_PATHS = ("/mp/wappoc_appmsgcaptcha", "secitptpage/verify")

# (reason, texts as served). Checked in order; the first text found in the notice wins.
NOTICE_TEXTS: tuple[tuple[UnavailableReason, tuple[str, ...]], ...] = (
    (
        UnavailableReason.TRANSIENT,
        (
            "环境异常",
            "完成验证后即可继续访问",
            "去验证",
            "访问过于频繁",
            "操作过于频繁",
            "请稍后再试",
        ),
    ),
    (UnavailableReason.DELETED_BY_AUTHOR, ("该内容已被发布者删除", "deleted by the author")),
    (
        UnavailableReason.REMOVED_COMPLAINT,
        (
            "此内容被投诉且经审核涉嫌侵权",
            "此内容被多人投诉",
            "此内容被多人举报",
            "由用户投诉并经平台审核",
            "经用户举报，发现此内容涉嫌违反",
            "涉嫌侵权",
        ),
    ),
    (
        UnavailableReason.REMOVED_VIOLATION,
        (
            "此内容因违规无法查看",
            "此内容因违规已删除",
            "接相关投诉，此内容违反",
            "因违规无法查看",
            "violates regulations",
            "violation",
        ),
    ),
    (
        UnavailableReason.ACCOUNT_GONE,
        (
            "此帐号已被屏蔽",
            "此帐号已被封",
            "此帐号已自主注销",
            "此帐号已注销",
            "此账号已被屏蔽",
            "此账号已被封",
            "此账号已自主注销",
            "此账号已注销",
            "该公众号已迁移",
            "此帐号处于帐号迁移流程中",
            "原帐号迁移时未将文章素材同步至新帐号",
            "帐号迁移",
            "账号迁移",
        ),
    ),
    (UnavailableReason.RESTRICTED, ("根据作者隐私设置，无法查看该内容", "此内容发送失败无法查看")),
    (UnavailableReason.LINK_EXPIRED, ("链接已过期",)),
    (UnavailableReason.BAD_REQUEST, ("参数错误", "系统出错")),
)


def _notice_text(haystack: str) -> tuple[UnavailableReason, str] | None:
    """The first known notice text in ``haystack``, with its reason."""
    for reason, texts in NOTICE_TEXTS:
        for text in texts:
            if text in haystack:
                return reason, text
    return None


RUMOUR_TEXTS = ("此文章被第三方评估为不实信息",)

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


def is_wechat_host(host: str) -> bool:
    return host == "mp.weixin.qq.com" or host.endswith(".weixin.qq.com")


def canonical_id_from_params(biz: str | None, mid: str | None, idx: str | None) -> str | None:
    """``biz:mid:idx``, the stable identity of an article, or None when a part is missing.

    >>> canonical_id_from_params("MzI1MzM5OTczNw==", "2247490970", "1")
    'MzI1MzM5OTczNw==:2247490970:1'
    """
    if not biz or not mid or not mid.isdigit():
        return None
    idx = idx if idx and idx.isdigit() else "1"
    return f"{biz}:{mid}:{idx}"


class WeChat:
    name = NAME
    default_hosts = DEFAULT_HOSTS
    volatile_tokens = VOLATILE_TOKENS

    def sniff(self, html_text: str) -> bool:
        # Whole-page substring tests: pages carry up to 600 kB of inline script before the body.
        page = html_text
        return ("mp.weixin.qq.com" in page or "res.wx.qq.com" in page or "rich_media" in page) and (
            'id="js_content"' in page or "activity-detail" in page or "weui-msg" in page
        )

    def canonical_url(self, url: str) -> str:
        """Drop tracking parameters and the fragment; keep the identity parameters in order.

        >>> WeChat().canonical_url("http://mp.weixin.qq.com/s?__biz=MzA=&mid=1&idx=2&sn=ab&chksm=x&scene=21#wechat_redirect")
        'https://mp.weixin.qq.com/s?__biz=MzA=&mid=1&idx=2&sn=ab'
        """
        parts = split_url(url)
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            return url.strip()  # not a web address: nothing to put in order
        params = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in TRACKING_PARAMS and not k.startswith("sharer_")
        ]
        identity = [(k, v) for k in IDENTITY_PARAMS for key, v in params if key == k and v]
        rest = [(k, v) for k, v in params if k not in IDENTITY_PARAMS]
        query = urlencode(identity + rest, quote_via=quote, safe="=")
        # White space around the host (before a "?") is not part of it: the answer must not change
        # when it is canonicalised again.
        scheme = "https" if is_wechat_host((parts.hostname or "").strip()) else parts.scheme
        return (f"{scheme}://{parts.netloc.strip()}{parts.path}" + (f"?{query}" if query else "")).strip()

    def canonical_id(self, url: str) -> str | None:
        parts = split_url(url)
        params = dict(parse_qsl(parts.query)) if parts is not None else {}
        return canonical_id_from_params(
            params.get("__biz"), params.get("mid") or params.get("appmsgid"), params.get("idx")
        )

    def parse(self, url: str, html_text: str) -> Article | Unavailable:
        markup, scripts = split_scripts(html_text)
        tree = parse_html(markup)
        variables = _variables(scripts)
        body = _first(tree, BODY)
        body_text = element_text(body) if body is not None else ""
        if body is None or (not body_text and not body.xpath(".//img|.//iframe|.//mpvoice")):
            notice = self._notice(tree, url, variables)
            if notice is not None:
                return notice
            if body is None and not _picture_post_images(html_text) and not tree.xpath(SHARED_CONTENT):
                # Neither an article nor a known notice (a login wall, a changed layout): say so,
                # and never let it pass for an empty article or a deletion.
                return Unavailable(
                    NAME, UnavailableReason.TRANSIENT, "unrecognised page: no article body, no notice"
                )
        return self._article(tree, body, body_text, url, html_text, variables)

    def _notice(self, tree: html.HtmlElement, url: str, variables: dict[str, str]) -> Unavailable | None:
        found = [el for xp in NOTICE_TEXT for el in tree.xpath(xp)]
        # A text area holds the title and the description: read the innermost boxes only.
        innermost = [
            el for el in found if not any(o is not el and o in set(el.iterdescendants()) for o in found)
        ]
        message_parts = [m for m in dict.fromkeys(clean_line(element_text(el)) for el in innermost) if m]
        title = clean_line(tree.findtext(".//title") or "")
        haystack = " ".join([*message_parts, title])
        if any(tree.xpath(xp) for xp in VERIFICATION_MARKS) or any(p in url for p in VERIFICATION_PATHS):
            message = message_parts[0] if message_parts else "verification page"
            return Unavailable(NAME, UnavailableReason.TRANSIENT, message, _detail(message_parts, message))
        if (found_notice := _notice_text(haystack)) is not None:
            reason, text = found_notice
            matched = next((m for m in message_parts if text in m), text)
            follow = None
            if reason is UnavailableReason.ACCOUNT_GONE:
                follow = variables.get("transfer_target_link")
            return Unavailable(NAME, reason, matched, _detail(message_parts, matched), follow)
        if message_parts:
            # An unknown notice: report it as transient so nothing is declared on a guess.
            return Unavailable(
                NAME, UnavailableReason.TRANSIENT, message_parts[0], _detail(message_parts, message_parts[0])
            )
        return None

    def reason_for_notice(self, message: str) -> UnavailableReason | None:
        found = _notice_text(message)
        return found[0] if found is not None else None

    def _article(
        self,
        tree: html.HtmlElement,
        body: html.HtmlElement | None,
        body_text: str,
        url: str,
        html_text: str,
        variables: dict[str, str],
    ) -> Article:
        var = lambda name: variables.get(name, "")  # noqa: E731
        biz = var("biz") or var("__biz")
        mid = var("mid") or var("appmsgid")
        idx = var("idx")
        canonical = canonical_id_from_params(biz, mid, idx) or self.canonical_id(url)
        sn = var("sn")
        if canonical is not None:
            biz, mid, idx = canonical.split(":")
            query = urlencode(
                [("__biz", biz), ("mid", mid), ("idx", idx)] + ([("sn", sn)] if sn else []),
                quote_via=quote,
                safe="=",
            )
            article_url = f"https://mp.weixin.qq.com/s?{query}"
        else:
            canonical = self.canonical_url(url)
            article_url = canonical
        title = (
            _first_text(tree, TITLE)
            or _meta(tree, "og:title")
            or var("msg_title")
            or clean_line(tree.findtext(".//title") or "")
        )
        account = _first_text(tree, ACCOUNT) or var("nickname") or var("nick_name") or None
        images: list[str] = []
        media: list[Media] = []
        html_body = ""
        if body is not None:
            images = _images(body, url)
            media = _media(body, url)
            html_body = _body_html(body, url)
        cover = var("msg_cdn_url") or var("cdn_url") or _meta(tree, "og:image") or None
        description = var("msg_desc") or _meta(tree, "og:description") or _meta(tree, "description") or None
        if not images:
            images = _picture_post_images(html_text)
        repost_of = None
        share = tree.xpath("//*[@id='js_share_source']/@data-url")
        if share and share[0].strip():
            shared_url = join_url(url, share[0])
            repost_of = self.canonical_url(shared_url) if shared_url else None
        share_text = ""
        shared = _first(tree, SHARED_CONTENT)
        if shared is not None and not body_text:
            share_text = element_text(shared)
        published_at = _published_at(tree, var)
        labels = (
            ("rumour",)
            if any(t in html_text for t in RUMOUR_TEXTS) or tree.xpath("//*[contains(@class,'page_rumor')]")
            else ()
        )
        return Article(
            platform=NAME,
            canonical_id=canonical,
            url=article_url,
            title=htmllib.unescape(title),
            text=body_text or share_text,
            html=html_body,
            account=htmllib.unescape(account) if account else None,
            account_id=var("user_name") or None,
            author=_author(tree, account),
            published_at=published_at,
            published_precision="second"
            if published_at and var("ct").isdigit()
            else "day"
            if published_at
            else None,
            images=tuple(images),
            cover=htmllib.unescape(cover) if cover else None,
            description=htmllib.unescape(description) if description else None,
            repost_of=repost_of,
            media=tuple(media),
            site_name=account,
            language="zh",
            labels=labels,
        )


@functools.cache
def _compiled(xpath: str) -> etree.XPath:
    return etree.XPath(xpath)


def _first(tree: html.HtmlElement, xpath: str) -> html.HtmlElement | None:
    found = _compiled(xpath)(tree)
    return found[0] if found else None


def _first_text(tree: html.HtmlElement, xpaths: tuple[str, ...]) -> str:
    for xp in xpaths:
        for element in _compiled(xp)(tree):
            text = clean_line(element_text(element))
            if text:
                return text
    return ""


def _meta(tree: html.HtmlElement, name: str) -> str:
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
    return _variables(split_scripts(html_text)[1])


def _variables(scripts: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    joined = "\n".join(scripts)
    for name in SCRIPT_VARIABLES:
        value = _first_assignment(joined, name)
        if value:
            found[name] = value
    return found


def _first_assignment(scripts: str, name: str) -> str:
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
                    value = _unescape_js(literal.group(2)).strip()
                    if value:
                        return htmllib.unescape(value)
        position = scripts.find(name, after)
    return ""


def _unescape_js(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xu" and len(code) > 1:
            return chr(int(code[1:], 16))
        return {"n": "\n", "t": "\t", "r": ""}.get(code, code)

    return _JS_ESCAPE.sub(replace, value)


def _author(tree: html.HtmlElement, account: str | None) -> str | None:
    for candidate in (_first_text(tree, AUTHOR), _meta(tree, "author"), _meta(tree, "og:article:author")):
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


def _published_at(tree: html.HtmlElement, var) -> datetime | None:
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


def _image_url(element: html.HtmlElement, base: str) -> str | None:
    for attribute in ("data-src", "data-original", "src"):
        value = (element.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return join_url(base, htmllib.unescape(value))
    return None


def _images(body: html.HtmlElement, base: str) -> list[str]:
    found: dict[str, None] = {}
    for img in body.iter("img"):
        url = _image_url(img, base)
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


def _media_of(element: html.HtmlElement, base: str) -> Media | None:
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


def _media(body: html.HtmlElement, base: str) -> list[Media]:
    return [m for m in (_media_of(el, base) for el in body.xpath(PLAYERS)) if m is not None]


def _body_html(body: html.HtmlElement, base: str) -> str:
    """The article body with lazy images resolved and players replaced by plain links."""
    body = copy.deepcopy(body)  # the tree stays as parsed; only the copy is rewritten
    body.attrib.pop("style", None)
    for img in body.iter("img"):
        url = _image_url(img, base)
        if url:
            img.set("src", url)
    for element in body.xpath(PLAYERS):
        item = _media_of(element, base)
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


def _picture_post_images(html_text: str) -> list[str]:
    start = html_text.find("picture_page_info_list")
    if start < 0:
        return []
    chunk = html_text[start : start + 200_000]
    urls = re.findall(r"""cdn_url\s*:\s*['"]([^'"]+)['"]""", chunk)
    return list(dict.fromkeys(htmllib.unescape(u) for u in urls if u.startswith("http")))


def _detail(parts: list[str], matched: str | None = None) -> str | None:
    rest = [p for p in parts if p != matched]
    return " ".join(rest) or None


PLATFORM = WeChat()
