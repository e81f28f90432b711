"""Read a source document: a feed (RSS 0.9x/1.0/2.0, Atom, JSON Feed), a sitemap or sitemap
index, an OPML list of feeds, or a plain list of URLs. Recognised from the bytes themselves.

Source documents are untrusted: XML is parsed without entities, DTDs or network access.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from samizdat.fetch.decode import decode_html
from samizdat.platforms.base import join_url


class SourceKind(enum.StrEnum):
    FEED = "feed"
    SITEMAP = "sitemap"
    URL_LIST = "urls"
    OPML = "opml"
    LISTING = "listing"  # a platform's own list of articles (a WeChat album): sources/listings.py


class NotASource(ValueError):
    """The document is none of the kinds samizdat can follow."""


@dataclass(frozen=True)
class DiscoveredURL:
    url: str
    title: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    summary: str | None = None  # as the listing gives it, markup and all: kept, never rendered raw


@dataclass(frozen=True)
class SourceDocument:
    kind: SourceKind
    title: str | None = None
    entries: tuple[DiscoveredURL, ...] = ()
    children: tuple[str, ...] = field(default=())  # sitemaps of a sitemap index, feeds of an OPML list
    note: str | None = None  # what reading it left out (a list longer than a poll reads)
    partial: bool = False  # a page failed: the entries of the pages before it only


_SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
)
_URL_LINE = re.compile(r"^\s*(https?://\S+)\s*$", re.IGNORECASE)
_JSON_FEED = "https://jsonfeed.org/version/"


def recognise(body: bytes) -> SourceKind:
    """What kind of source ``body`` is, or :class:`NotASource` saying why not.

    >>> recognise(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>')
    <SourceKind.SITEMAP: 'sitemap'>
    >>> recognise(b"https://a.example/1\\nhttps://a.example/2\\n")
    <SourceKind.URL_LIST: 'urls'>
    """
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"{"):
        try:
            data = json.loads(body)
        except ValueError:
            raise NotASource("the document looks like JSON but is not valid JSON") from None
        if isinstance(data, dict) and str(data.get("version", "")).startswith(_JSON_FEED):
            return SourceKind.FEED
        raise NotASource("a JSON document that is not a JSON Feed (no jsonfeed.org version)")
    if head.startswith(b"<"):
        root = _xml_root(body)
        name = _local_name(root.tag).lower() if root is not None else ""
        if name in ("urlset", "sitemapindex"):
            return SourceKind.SITEMAP
        if name == "opml":
            return SourceKind.OPML
        if name in ("rss", "feed", "rdf", "channel"):
            return SourceKind.FEED
        raise NotASource(
            f"an XML or HTML document whose root is <{name or '?'}>, not a feed, sitemap or OPML"
        )
    lines = [
        line for line in decode_html(body).text.splitlines() if line.strip() and not line.startswith("#")
    ]
    if lines and all(_URL_LINE.match(line) for line in lines):
        return SourceKind.URL_LIST
    raise NotASource("not a feed, a sitemap, an OPML file, or a list of http(s) URLs one per line")


def read_source(body: bytes, base_url: str = "", kind: SourceKind | None = None) -> SourceDocument:
    """Read ``body`` as a source of ``kind`` (None: of the kind it shows). One that lists
    nothing must show itself that kind: a verification or error page served in place of a feed
    reads as an empty feed, and an empty listing would tell of every entry leaving it."""
    if kind is None:
        return _read_source(body, base_url, recognise(body))
    document = _read_source(body, base_url, kind)
    if not document.entries and not document.children and (shown := recognise(body)) is not kind:
        raise NotASource(f"a {shown} document where a {kind} was expected")
    return document


def _read_source(body: bytes, base_url: str, kind: SourceKind) -> SourceDocument:
    if kind is SourceKind.FEED:
        return (
            _read_json_feed(body, base_url) if body.lstrip()[:1] == b"{" else _read_xml_feed(body, base_url)
        )
    if kind is SourceKind.SITEMAP:
        return _read_sitemap(body, base_url)
    if kind is SourceKind.OPML:
        return _read_opml(body, base_url)
    lines = decode_html(body).text.splitlines()
    urls = [m.group(1) for line in lines if not line.startswith("#") and (m := _URL_LINE.match(line))]
    return SourceDocument(kind, entries=tuple(DiscoveredURL(u) for u in dict.fromkeys(urls)))


def _xml_root(body: bytes):
    try:
        return etree.fromstring(body, _SAFE_XML)
    except etree.XMLSyntaxError:
        return None


def _read_xml_feed(body: bytes, base_url: str) -> SourceDocument:
    import feedparser  # only needed for feeds

    try:
        parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser's loose parser has its own bugs on broken markup
        raise NotASource(f"the feed could not be read: {type(exc).__name__}: {exc}") from None
    entries = []
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (item.get("href") for item in entry.get("links", []) if item.get("href")), None
        )
        url = _absolute(base_url, link)
        if url is None:
            continue
        # dict.get: feedparser's own get maps a missing key to the other with a DeprecationWarning.
        stamp = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
        entries.append(
            DiscoveredURL(
                url,
                (entry.get("title") or "").strip() or None,
                datetime(*stamp[:6], tzinfo=UTC) if stamp else None,
                _text(entry.get("author")),
                _text(entry.get("summary")),
            )
        )
    title = (parsed.feed.get("title") or "").strip() or None
    return SourceDocument(SourceKind.FEED, title, tuple(entries))


def _read_json_feed(body: bytes, base_url: str) -> SourceDocument:
    data = json.loads(body)
    entries = []
    for item in data.get("items", []) if isinstance(data.get("items"), list) else []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        url = _absolute(base_url, link) if isinstance(link, str) else None
        if url is None:
            continue
        authors = item.get("authors") if isinstance(item.get("authors"), list) else [item.get("author")]
        author = next((a.get("name") for a in authors if isinstance(a, dict)), None)
        entries.append(
            DiscoveredURL(
                url,
                item.get("title") if isinstance(item.get("title"), str) else None,
                _iso(item.get("date_published")),
                _text(author),
                _text(item.get("summary") or item.get("content_text")),
            )
        )
    title = data.get("title") if isinstance(data.get("title"), str) else None
    return SourceDocument(SourceKind.FEED, title, tuple(entries))


def _local_name(tag: str) -> str:
    """A tag without its namespace. Not ``etree.QName``: the recovering parser keeps tags that
    are no valid XML names (``a:b:c``), and QName raises on them."""
    return tag.rsplit("}", 1)[-1]


def _read_sitemap(body: bytes, base_url: str) -> SourceDocument:
    root = _xml_root(body)
    if root is None:
        raise NotASource("the sitemap is not well-formed XML")
    urls, children = [], []
    for element in root:
        if not isinstance(element.tag, str):
            continue
        name = _local_name(element.tag)
        values = {
            _local_name(child.tag): (child.text or "").strip()
            for child in element
            if isinstance(child.tag, str)
        }
        location = _absolute(base_url, values.get("loc"))
        if location is None:
            continue
        if name == "sitemap":
            children.append(location)
        elif name == "url":
            urls.append(DiscoveredURL(location, None, _iso(values.get("lastmod"))))
    return SourceDocument(SourceKind.SITEMAP, None, tuple(urls), tuple(children))


def _read_opml(body: bytes, base_url: str) -> SourceDocument:
    root = _xml_root(body)
    if root is None:
        raise NotASource("the OPML file is not well-formed XML")
    feeds = [
        url
        for outline in root.iter("outline")
        if (url := _absolute(base_url, outline.get("xmlUrl"))) is not None
    ]
    title = root.findtext("head/title")
    return SourceDocument(SourceKind.OPML, title.strip() if title else None, (), tuple(dict.fromkeys(feeds)))


def _absolute(base_url: str, link: str | None) -> str | None:
    """``link`` resolved against ``base_url``; None when empty or not a URL at all (``http://[``).

    >>> _absolute("https://a.example/feed", " /p/1 "), _absolute("https://a.example/", "http://[x")
    ('https://a.example/p/1', None)
    """
    return join_url(base_url, link) if link and link.strip() else None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
