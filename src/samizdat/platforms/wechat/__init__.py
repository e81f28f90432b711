"""WeChat official-account articles (mp.weixin.qq.com), both the 2016–2018 and 2020+ markup.

Facts and texts come from ``shared/docs/wechat.md`` and were checked against the saved pages
in ``shared/samples/wechat/``. Selectors and notice texts are data at the top of the module;
reading the parts of an article page (its script variables, dates, images, players, body) is
``page.py``'s.
"""

from __future__ import annotations

import html as htmllib
from urllib.parse import parse_qsl, quote, urlencode

from lxml import html

from samizdat.platforms.base import (
    Article,
    ListingPage,
    ListingRefused,
    Media,
    Unavailable,
    UnavailableReason,
    join_url,
    split_url,
)
from samizdat.platforms.text import clean_line, element_text, parse_html, split_scripts
from samizdat.platforms.wechat import album, links, page

NAME = "wechat"
DEFAULT_HOSTS = ("mp.weixin.qq.com", "weixin.qq.com")
# WeChat shows every time in China Standard Time (UTC+8, no daylight saving).

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
        text = html_text
        return ("mp.weixin.qq.com" in text or "res.wx.qq.com" in text or "rich_media" in text) and (
            'id="js_content"' in text or "activity-detail" in text or "weui-msg" in text
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
        variables = page.variables(scripts)
        body = page.first(tree, BODY)
        body_text = element_text(body) if body is not None else ""
        if body is None or (not body_text and not body.xpath(".//img|.//iframe|.//mpvoice")):
            notice = self._notice(tree, url, variables)
            if notice is not None:
                return notice
            if body is None and not page.picture_post_images(html_text) and not tree.xpath(SHARED_CONTENT):
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
            return Unavailable(
                NAME, UnavailableReason.TRANSIENT, message, page.detail(message_parts, message)
            )
        if (found_notice := _notice_text(haystack)) is not None:
            reason, text = found_notice
            matched = next((m for m in message_parts if text in m), text)
            follow = None
            if reason is UnavailableReason.ACCOUNT_GONE:
                follow = variables.get("transfer_target_link")
            return Unavailable(NAME, reason, matched, page.detail(message_parts, matched), follow)
        if message_parts:
            # An unknown notice: report it as transient so nothing is declared on a guess.
            return Unavailable(
                NAME,
                UnavailableReason.TRANSIENT,
                message_parts[0],
                page.detail(message_parts, message_parts[0]),
            )
        return None

    def reason_for_notice(self, message: str) -> UnavailableReason | None:
        found = _notice_text(message)
        return found[0] if found is not None else None

    # Albums (platforms/wechat/album.py): a listing of the platform's own.

    def listing(self, url: str) -> str | None:
        return links.album_link(url, url)

    def listing_pages(self, listing: str) -> tuple[str, str | None]:
        return album.json_page(listing), listing

    def read_listing_page(self, url: str, body: bytes) -> ListingPage:
        data = album.decode_json(body)
        if data is not None:
            return album.read_json(url, data)
        markup, _ = split_scripts(body.decode("utf-8", errors="replace"))
        tree = parse_html(markup)
        if any(tree.xpath(xp) for xp in VERIFICATION_MARKS) or any(p in url for p in VERIFICATION_PATHS):
            raise ListingRefused(
                "WeChat answered with its verification page instead of the album", transient=True
            )
        notice = self._notice(tree, url, {})
        if notice is not None and not tree.xpath(album.ITEMS):
            raise ListingRefused(f"WeChat answered with a notice instead of the album: {notice.message}")
        return album.read_html(url, tree)

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
            page.first_text(tree, TITLE)
            or page.meta(tree, "og:title")
            or var("msg_title")
            or clean_line(tree.findtext(".//title") or "")
        )
        account = page.first_text(tree, ACCOUNT) or var("nickname") or var("nick_name") or None
        images: list[str] = []
        media: list[Media] = []
        html_body = ""
        if body is not None:
            images = page.images(body, url)
            media = page.media(body, url)
            html_body = page.body_html(body, url)
        cover = var("msg_cdn_url") or var("cdn_url") or page.meta(tree, "og:image") or None
        description = (
            var("msg_desc") or page.meta(tree, "og:description") or page.meta(tree, "description") or None
        )
        if not images:
            images = page.picture_post_images(html_text)
        repost_of = None
        share = tree.xpath("//*[@id='js_share_source']/@data-url")
        if share and share[0].strip():
            shared_url = join_url(url, share[0])
            repost_of = self.canonical_url(shared_url) if shared_url else None
        share_text = ""
        shared = page.first(tree, SHARED_CONTENT)
        if shared is not None and not body_text:
            share_text = element_text(shared)
        published_at = page.published_at(tree, var)
        linked = tuple(
            link
            for link in links.article_links(body, url, repost_of)
            if (self.canonical_id(link) or link) != canonical
        )
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
            author=page.author(tree, account),
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
            links=linked,
            listings=links.album_links(html_text, url),
        )


PLATFORM = WeChat()
