"""Any article page: main text, title, author, date, site name, language, images.

The body text is a vote between three extractors — our block scorer
(:mod:`samizdat.platforms.blocks`), readability and trafilatura — taking the candidate that
agrees best with the other two. Each fails on different pages (table layouts, pages without
``<p>``, link-heavy article cells); the vote is right more often than any one of them
(measured in ``bench/extraction_eval.py``, figures in ``docs/benchmarks.md``). On a page
that lists several posts (a blog's archive, a forum thread) only the block scorer sees the
posts apart and keeps the first; the other two take them all and would outvote it, so there
its text stands alone.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from lxml import etree, html

from samizdat.platforms.base import Article, UnavailableReason, join_url, split_url
from samizdat.platforms.blocks import extract
from samizdat.platforms.dates import find_published
from samizdat.platforms.similarity import medoid
from samizdat.platforms.text import clean_line, clean_markup, element_text, parse_html

NAME = "generic"
CHINA_TIME = timezone(timedelta(hours=8), "CST")
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|spm|from|share_token|ref|ref_src|"
    r"igshid|_hsenc|_hsmi|yclid|wt\.\w+|s_cid)$",
    re.IGNORECASE,
)
TITLE_SEPARATORS = re.compile(r"\s*(?:[|_–—]|\s-\s|::)\s*")
BYLINE = re.compile(
    r"(?:作者|撰文|文|记者|编辑|责任编辑|来源作者|by)\s*[:：/|]\s*([^\s|,，。:：]{2,20})"
    r"|^by\s+([A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){0,3})",
    re.IGNORECASE,
)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_ENGLISH_STOPWORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "that",
        "for",
        "it",
        "with",
        "as",
        "was",
        "on",
        "are",
        "by",
        "this",
        "be",
    ]
)

# Both extractors log every odd page at WARNING; their failures are handled here.
logging.getLogger("readability.readability").setLevel(logging.ERROR)
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


class Generic:
    name = NAME
    default_hosts: tuple[str, ...] = ()
    volatile_tokens: tuple[str, ...] = ()

    def sniff(self, html_text: str) -> bool:
        return False  # the fallback: chosen when no other platform claims a page

    def canonical_url(self, url: str) -> str:
        """Lower-case host, no default port, no fragment, no tracking parameters.

        >>> Generic().canonical_url("HTTPS://Example.COM:443/a/b?utm_source=x&id=3#top")
        'https://example.com/a/b?id=3'
        """
        parts = split_url(url)
        scheme = parts.scheme.lower() if parts is not None else ""
        if parts is None or scheme not in ("http", "https") or not (parts.hostname or "").strip():
            return url.strip()  # not a web address: nothing to put in order
        host = parts.hostname.strip().lower()
        default_port = {"http": 80, "https": 443}.get(scheme)
        try:
            port = parts.port
        except ValueError:
            port = None
        netloc = host if port in (None, default_port) else f"{host}:{port}"
        params = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)
        ]
        query = urlencode(params, quote_via=quote, safe="/:,")
        return (f"{scheme}://{netloc}{parts.path or '/'}" + (f"?{query}" if query else "")).strip()

    def canonical_id(self, url: str) -> str | None:
        return self.canonical_url(url) if url else None

    def reason_for_notice(self, message: str) -> UnavailableReason | None:
        """Generic sites tell a removal by HTTP status, not by a message."""
        return None

    def parse(self, url: str, html_text: str) -> Article:
        html_text = clean_markup(html_text)
        tree = parse_html(html_text)
        extraction = extract(tree)
        if extraction.first_of_posts:
            text = extraction.text
        else:
            text = medoid([extraction.text, _readability_text(html_text), _trafilatura_text(html_text)])
        language = _language(tree, text)
        default_tz = CHINA_TIME if language in ("zh", "zh-cn", "zh-hans", "zh-hant") else UTC
        canonical = self._declared_canonical(tree, url)
        published = find_published(tree, extraction, url, default_tz=default_tz)
        images: list[str] = []
        container_html = ""
        if extraction.container is not None:
            images = _images(_picture_scope(extraction.container), url)
            container_html = html.tostring(extraction.container, encoding="unicode")
        return Article(
            platform=NAME,
            canonical_id=canonical or url,
            url=canonical or url,
            title=_title(tree),
            text=text,
            html=container_html,
            author=_author(tree, extraction.selected[:3]),
            published_at=published.moment if published else None,
            published_precision=published.precision if published else None,
            images=tuple(images),
            cover=_meta(tree, "og:image") or None,
            description=_meta(tree, "og:description") or _meta(tree, "description") or None,
            site_name=_meta(tree, "og:site_name")
            or _meta(tree, "application-name")
            or (urlsplit(url).hostname or None),
            language=language,
        )

    def _declared_canonical(self, tree: html.HtmlElement, url: str) -> str | None:
        """The page's own canonical URL when it is on the same host (never trust another host)."""
        declared = tree.xpath("//link[@rel='canonical']/@href") or tree.xpath(
            "//meta[@property='og:url']/@content"
        )
        if not url:
            return None
        page = split_url(url)
        for candidate in declared:
            absolute = join_url(url, candidate)
            place = split_url(absolute) if absolute else None
            if page and place and place.hostname == page.hostname and place.scheme in ("http", "https"):
                return self.canonical_url(absolute)
        return self.canonical_url(url)


def _readability_text(html_text: str) -> str:
    from readability import Document  # imported on first use: slow to import, unneeded for WeChat

    try:
        summary = Document(html_text).summary(html_partial=True)
    except Exception:  # readability raises bare Exceptions on odd markup
        return ""
    if not summary.strip():
        return ""
    try:
        fragment = html.fragment_fromstring(summary, create_parent="div")
    except (etree.ParserError, AssertionError):  # lxml asserts when a summary has a head but no body
        return ""
    return element_text(fragment)


def _trafilatura_text(html_text: str) -> str:
    import trafilatura  # imported on first use: slow to import, unneeded for WeChat

    try:
        return trafilatura.extract(html_text, favor_precision=True, include_comments=False) or ""
    except Exception:  # trafilatura surfaces lxml and its own parser errors unwrapped
        return ""


def _meta(tree: html.HtmlElement, name: str) -> str:
    for meta in tree.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").lower() == name.lower():
            value = clean_line(meta.get("content") or "")
            if value:
                return value
    return ""


def _title(tree: html.HtmlElement) -> str:
    page_title = clean_line(tree.findtext(".//title") or "")
    for heading in tree.xpath("//h1"):
        text = clean_line(element_text(heading))
        if text and (text in page_title or not page_title):
            return text
    og = _meta(tree, "og:title")
    if og:
        return og
    if page_title:
        parts = TITLE_SEPARATORS.split(page_title)
        return max(parts, key=len) if len(parts) > 1 else page_title
    for heading in tree.xpath("//h1|//h2"):
        text = clean_line(element_text(heading))
        if text:
            return text
    return ""


def _author(tree: html.HtmlElement, first_blocks) -> str | None:
    for name in ("author", "article:author", "byl", "dc.creator", "parsely-author"):
        value = _meta(tree, name)
        if value and not value.startswith("http"):
            return value
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        items = data if isinstance(data, list) else [data]
        for item in items:
            author = item.get("author") if isinstance(item, dict) else None
            if isinstance(author, list) and author:
                author = author[0]
            if isinstance(author, dict):
                author = author.get("name")
            if isinstance(author, str) and author.strip():
                return clean_line(author)
    for element in tree.xpath("//*[@rel='author' or contains(@class,'author') or contains(@class,'byline')]"):
        text = clean_line(element_text(element))
        if 1 < len(text) <= 40:
            return re.sub(r"^(?:作者|by)\s*[:：]?\s*", "", text, flags=re.IGNORECASE)
    for block in first_blocks:
        match = BYLINE.search(block.text)
        if match:
            return match.group(1) or match.group(2)
    return None


def _language(tree: html.HtmlElement, text: str) -> str | None:
    declared = (tree.get("lang") or tree.get("xml:lang") or _meta(tree, "content-language") or "").strip()
    sample = text[:3000]
    han = len(_HAN.findall(sample))
    if _KANA.search(sample):
        return "ja"
    if len(_HANGUL.findall(sample)) > han:
        return "ko"
    if han > 0.2 * max(len(sample.replace(" ", "")), 1):
        return "zh"  # many Chinese pages declare lang="en" from a template: trust the text
    if declared:
        return declared.lower().split("-")[0]
    words = [w.lower() for w in _LATIN_WORD.findall(sample)]
    if words and sum(w in _ENGLISH_STOPWORDS for w in words) > 0.15 * len(words):
        return "en"
    return None


# Elements that hold a paragraph of text, not an article.
_PARAGRAPHS = frozenset({"p", "span", "font", "b", "strong", "em", "i", "h1", "h2", "h3", "h4", "h5", "h6"})


def _picture_scope(container: html.HtmlElement) -> html.HtmlElement:
    """Where the article's pictures are: its text's container, or, when that is one paragraph
    (a page whose words are mostly in its images, between a line or two of text), the element
    that holds the paragraph and the pictures around it."""
    scope = container
    while scope.tag in _PARAGRAPHS and (parent := scope.getparent()) is not None and parent.tag != "body":
        scope = parent
    return scope


def _images(container: html.HtmlElement, base: str) -> list[str]:
    found: dict[str, None] = {}
    for img in container.iter("img"):
        for attribute in ("data-src", "data-original", "src"):
            value = (img.get(attribute) or "").strip()
            if value and not value.startswith("data:"):
                absolute = join_url(base, value) if base else value
                if absolute and absolute.startswith(("http://", "https://")):
                    found[absolute] = None
                break
    return list(found)


PLATFORM = Generic()
