"""Find an article's publication date.

Machine-readable metadata (``article:published_time``, JSON-LD ``datePublished``,
``<time datetime>``) wins when present. Otherwise the dates written in the page are
candidates, scored by where they stand relative to the article body found by
:mod:`samizdat.platforms.blocks` (a byline date sits just before the body or at its very
start; dates in link lists, comments and footers are someone else's), by a time of day,
and by a cue word such as 发布时间 or "Published". htmldate is the last resort.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from lxml import html

from samizdat.platforms.blocks import Extraction

CHINA_TIME = timezone(timedelta(hours=8), "CST")
_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:\s*(?:T|\s|&nbsp;)?\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/_]?(\d{2})[-/_]?(\d{2})(?!\d)")
_CUE = re.compile(
    r"(发布|发表|时间|日期|更新|来源|稿|刊|posted|published|updated|date|on)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_META_NAMES = (
    "article:published_time", "og:published_time", "published_time", "pubdate", "publishdate",
    "publish_date", "publication_date", "date", "dc.date", "dc.date.issued", "dcterms.created",
    "sailthru.date", "parsely-pub-date", "weibo:article:create_at",
)
_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"(?:\.\d+)?(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)


@dataclass(frozen=True)
class FoundDate:
    moment: datetime
    score: float
    evidence: str


def find_published(
    tree: html.HtmlElement, extraction: Extraction, url: str, *, default_tz: timezone = UTC
) -> datetime | None:
    candidates = [*_from_metadata(tree), *_from_blocks(extraction, default_tz), *_from_url(url, default_tz)]
    latest = datetime.now(UTC) + timedelta(days=2)
    aware = [c.moment if c.moment.tzinfo else c.moment.replace(tzinfo=default_tz) for c in candidates]
    plausible = [(c.score, m) for c, m in zip(candidates, aware, strict=True) if m <= latest]
    if not plausible:
        return None
    return max(plausible, key=lambda pair: pair[0])[1]


def _from_metadata(tree: html.HtmlElement) -> list[FoundDate]:
    found: list[FoundDate] = []
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if name in _META_NAMES or name == "datepublished":
            moment = _parse_iso(meta.get("content") or "")
            if moment:
                found.append(FoundDate(moment, 100, f"meta {name}"))
    for script in tree.xpath("//script[@type='application/ld+json']"):
        for value in _json_ld_dates(script.text or ""):
            moment = _parse_iso(value)
            if moment:
                found.append(FoundDate(moment, 100, "json-ld datePublished"))
    for time_element in tree.xpath("//time[@datetime]")[:3]:
        moment = _parse_iso(time_element.get("datetime") or "")
        if moment:
            found.append(FoundDate(moment, 60, "time element"))
    return found


def _json_ld_dates(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    stack, values = [data], []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            value = item.get("datePublished")
            if isinstance(value, str):
                values.append(value)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return values


def _parse_iso(value: str) -> datetime | None:
    match = _ISO.search(value.strip())
    if not match:
        return None
    moment = _build(match, None)
    if moment is None:
        return None
    zone = match.group("tz")
    if zone:
        if zone == "Z":
            return moment.replace(tzinfo=UTC)
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return moment.replace(tzinfo=timezone(sign * offset))
    return moment


def _build(match: re.Match[str], tz: timezone | None) -> datetime | None:
    try:
        moment = datetime(
            int(match.group("y")), int(match.group("m")), int(match.group("d")),
            int(match.group("H") or 0), int(match.group("M") or 0), int(match.group("S") or 0),
        )
    except (ValueError, TypeError):
        return None
    if moment.year < 1990:
        return None
    return moment.replace(tzinfo=tz) if tz else moment


def _from_blocks(extraction: Extraction, tz: timezone) -> list[FoundDate]:
    blocks = extraction.blocks
    if not blocks:
        return []
    if extraction.selected:
        start = blocks.index(extraction.selected[0])
        end = blocks.index(extraction.selected[-1])
    else:
        start, end = 0, len(blocks) - 1
    found: list[FoundDate] = []
    for index, block in enumerate(blocks):
        if block.link_density > 0.5:
            continue
        for match in _DATE.finditer(block.text):
            moment = _build(match, tz)
            if moment is None:
                continue
            score = 20.0
            if match.group("H"):
                score += 8
            if _CUE.search(block.text[max(0, match.start() - 12) : match.start()]):
                score += 10
            if index < start:
                score -= min(start - index, 40) * 0.6
            elif index <= min(start + 2, end):
                score += 4  # a dateline at the very top of the body
            elif index <= end:
                score -= 6 + (index - start) * 0.1
            else:
                score -= 12 + min(index - end, 40) * 0.3
            found.append(FoundDate(moment, score, f"text near block {index}"))
    return found


def _from_url(url: str, tz: timezone) -> list[FoundDate]:
    match = _URL_DATE.search(url or "")
    if not match:
        return []
    try:
        moment = datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=tz)
    except ValueError:
        return []
    return [FoundDate(moment, 15, "url")] if moment.year >= 1990 else []
