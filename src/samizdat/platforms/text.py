"""Text out of HTML trees: block-aware, whitespace-normalised, shared by every platform."""

from __future__ import annotations

import re

from lxml import etree, html

BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "center",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
SKIP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "meta",
        "link",
        "svg",
        "iframe",
        "object",
        "embed",
        "select",
        "option",
        "textarea",
        "button",
    }
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000\u200b\ufeff]+")


_RAW_TEXT_OPEN = re.compile(r"<(script|style)[\s>/]", re.IGNORECASE)
_RAW_TEXT_CLOSE = {tag: re.compile(f"</{tag}", re.IGNORECASE) for tag in ("script", "style")}
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_markup(text: str) -> str:
    """Remove the control characters that no HTML page may contain and lxml refuses."""
    return _CONTROL.sub("", text)


def parse_html(text: str) -> html.HtmlElement:
    """Parse any HTML text into a document tree; never raises for malformed markup."""
    # lxml refuses str input that carries an XML encoding declaration.
    text = _XML_DECLARATION.sub("", text, count=1)
    try:
        return html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        pass
    # Rare: control characters (which lxml refuses) or nothing parseable. Scrub, then retry.
    text = clean_markup(text)
    if not text.strip():
        return html.document_fromstring("<html><body></body></html>")
    try:
        return html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return html.document_fromstring(f"<html><body><pre>{html_escape(text)}</pre></body></html>")


def split_scripts(text: str) -> tuple[str, list[str]]:
    """The markup with every ``<script>`` and ``<style>`` emptied, and the scripts' texts.

    Pages can be two-thirds inline script; parsing only the markup is several times faster,
    and the scripts are read as the browser reads them: raw text up to the closing tag.

    >>> split_scripts('<p>a</p><script type="x">var a = "<b>";</script><style>p{}</style><p>b</p>')
    ('<p>a</p><script type="x"></script><style></style><p>b</p>', ['var a = "<b>";'])
    """
    kept: list[str] = []
    scripts: list[str] = []
    position = 0
    while True:
        opening = _RAW_TEXT_OPEN.search(text, position)
        if opening is None:
            break
        tag = opening.group(1).lower()
        content_start = text.find(">", opening.end() - 1) + 1
        closing = _RAW_TEXT_CLOSE[tag].search(text, content_start) if content_start else None
        if closing is None:
            break  # unclosed: leave the rest to the parser
        kept.append(text[position:content_start])
        if tag == "script":
            scripts.append(text[content_start : closing.start()])
        position = closing.start()
    kept.append(text[position:])
    return "".join(kept), scripts


def html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clean_line(text: str) -> str:
    """Collapse runs of spaces (including full-width and zero-width ones) and trim.

    >>> clean_line("  中文\\u3000 text\\u200b  ")
    '中文 text'
    """
    return _SPACES.sub(" ", text).strip()


def element_text(element: html.HtmlElement) -> str:
    """The text a reader sees in ``element``: one line per block, no blank-line runs."""
    parts: list[str] = []
    _walk(element, parts)
    lines = (line.strip() for line in _SPACES.sub(" ", "".join(parts)).split("\n"))
    return "\n".join(line for line in lines if line)


def _walk(element: html.HtmlElement, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else None
    if tag is None or tag in SKIP_TAGS:
        if element.tail:
            parts.append(element.tail)
        return
    block = tag in BLOCK_TAGS
    if block:
        parts.append("\n")
    if element.text:
        parts.append(element.text)
    for child in element:
        _walk(child, parts)
    if block:
        parts.append("\n")
    if element.tail:
        parts.append(element.tail)
