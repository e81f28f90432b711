"""Archived article HTML made safe to show on the site.

The archive keeps pages exactly as captured (the raw cache serves them sandboxed); the
article view shows only what nh3 lets through: text structure, links and images, no
scripts, handlers, styles, forms, frames or embedded SVG/MathML. Images are served from the
archive by content hash; an image the archive does not hold is left out rather than loaded
from the platform, so reading an article never tells the platform who reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from html import unescape
from typing import Any

import nh3

TAGS = {
    "a", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "section", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")
DROPPED_WITH_CONTENT = {"script", "style", "noscript", "template", "iframe", "object", "svg", "math", "title"}


def blob_path(sha256: str) -> str:
    return f"/blobs/{sha256}"


def safe_article_html(
    html: str, images: Mapping[str, str], image_path: Callable[[str], str] = blob_path
) -> str:
    """``html`` sanitized; ``images`` maps each archived image URL (as the page gives it) to its
    hash, ``image_path`` a hash to where the archive serves that image."""

    def attribute(tag: str, name: str, value: str) -> str | None:
        if tag == "img" and name == "src":
            sha256 = images.get(value)
            return image_path(sha256) if sha256 else None
        return value

    cleaned = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=attribute,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        # Long WeChat articles carry dozens of images: a phone loads them as the reader scrolls.
        set_tag_attribute_values={"img": {"loading": "lazy"}},
    )
    # An image without a description is announced by its address (a content hash) unless
    # marked decorative; the article's own descriptions are kept.
    return _IMG_WITHOUT_ALT.sub('<img alt=""', cleaned)


def listed_text(listed: dict[str, Any] | None) -> list[str]:
    """What a source's listing said of an article never captured (its summary), as plain lines:
    a feed's summary is markup from elsewhere, shown as text and never as HTML."""
    summary = (listed or {}).get("summary") or ""
    text = unescape(nh3.clean(summary, tags=set()))
    return [line.strip() for line in text.splitlines() if line.strip()]
