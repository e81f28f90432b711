"""What a platform module returns for a page: an :class:`Article` or an :class:`Unavailable`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import SplitResult, urljoin, urlsplit

from samizdat.platforms.text import clean_markup


class UnavailableReason(enum.StrEnum):
    """Why a platform shows a notice instead of the article (names shared with the watch stage)."""

    DELETED_BY_AUTHOR = "deleted_by_author"
    REMOVED_VIOLATION = "removed_violation"
    REMOVED_COMPLAINT = "removed_complaint"
    ACCOUNT_GONE = "account_gone"
    RESTRICTED = "restricted"  # privacy settings, sending failed
    LINK_EXPIRED = "link_expired"  # a temporary link ran out: not a deletion
    BAD_REQUEST = "bad_request"
    TRANSIENT = "transient"  # verification or rate-limit page: never a deletion


@dataclass(frozen=True)
class Media:
    kind: str  # "video", "audio", "music"
    url: str
    title: str = ""


@dataclass(frozen=True)
class Article:
    platform: str
    canonical_id: str
    url: str
    title: str
    text: str
    html: str
    account: str | None = None
    account_id: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    published_precision: str | None = None  # "second", "minute", "day" or "month"
    images: tuple[str, ...] = ()
    cover: str | None = None
    description: str | None = None
    repost_of: str | None = None
    media: tuple[Media, ...] = ()
    site_name: str | None = None
    language: str | None = None
    labels: tuple[str, ...] = field(default=())
    links: tuple[str, ...] = ()  # other articles of its platform it links to, as their URLs
    listings: tuple[str, ...] = ()  # lists of articles it names (a WeChat album), to read as sources


@dataclass(frozen=True)
class Unavailable:
    platform: str
    reason: UnavailableReason
    message: str
    detail: str | None = None
    follow_url: str | None = None  # e.g. where a migrated account's article now lives


@dataclass(frozen=True)
class ListedArticle:
    """One entry of a platform's own list of articles (a WeChat album)."""

    url: str
    title: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class ListingPage:
    """One page of such a list, and where the next one is (None: this was the last)."""

    title: str | None
    items: tuple[ListedArticle, ...]
    next_url: str | None = None


class ListingRefused(ValueError):
    """A listing page answered something other than its items: an error code, a verification
    page, a document of another kind. The message says which; ``transient``: asking again
    later may well succeed (a verification page, a 503)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Lister(Protocol):
    """A platform that has lists of articles of its own (WeChat's albums) offers these."""

    def listing(self, url: str) -> str | None:
        """``url`` as the one address of the listing it names, or None when it names none."""

    def listing_pages(self, listing: str) -> tuple[str, str | None]:
        """The first page to ask for, and another form to fall back to when that one fails."""

    def read_listing_page(self, url: str, body: bytes) -> ListingPage:
        """Read one page (:class:`ListingRefused` when it holds no items to read)."""


class Platform(Protocol):
    """A platform plug-in. ``platforms/<name>.py`` exposes one as ``PLATFORM``."""

    name: str
    default_hosts: tuple[str, ...]
    volatile_tokens: tuple[str, ...]  # names whose values change on every request (see fingerprint)

    def sniff(self, html: str) -> bool:
        """True when the page's own markup says it belongs to this platform."""

    def canonical_id(self, url: str) -> str | None:
        """The article's stable identity from its URL alone, when the URL carries it."""

    def canonical_url(self, url: str) -> str:
        """``url`` without tracking parameters, for comparing and storing."""

    def parse(self, url: str, html: str) -> Article | Unavailable:
        """Read a fetched page."""

    def reason_for_notice(self, message: str) -> UnavailableReason | None:
        """The reason a removal notice's message gives, None when it is not one this platform
        shows (a removal dataset's messages are read with it)."""


def join_url(base: str, link: str) -> str | None:
    """``link`` resolved against ``base``, without control characters; None when either is not
    a URL at all (``http://[0]/`` makes ``urljoin`` raise).

    >>> join_url("https://a.example/p/", "../i.png"), join_url("https://a.example/", "http://[0]/x")
    ('https://a.example/i.png', None)
    """
    try:
        return clean_markup(urljoin(base, link.strip()))
    except ValueError:
        return None


def split_url(url: str) -> SplitResult | None:
    """``urlsplit`` of ``url``, or None when it is not a URL at all (``http://[``).

    >>> split_url("https://a.example/p?q=1").netloc, split_url("//[")
    ('a.example', None)
    """
    try:
        return urlsplit(url.strip())
    except ValueError:
        return None
