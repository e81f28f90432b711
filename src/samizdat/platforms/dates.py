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

from samizdat.platforms.blocks import LIST_ITEM_WITH_DATE, Extraction

CHINA_TIME = timezone(timedelta(hours=8), "CST")
# Below this, a date is a guess (a stray date far from the article): report none instead.
MIN_SCORE = 14.0
CORROBORATION = 8.0
_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:\s*(?:T|\s|&nbsp;)?\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
# 9/17/2004 5:54:13 AM (month first unless the first number cannot be a month)
_SLASHED_DATE = re.compile(
    r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>(?:19|20)\d{2})(?![\d/])"
    r"(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?"
)
# "1998年3月号", "2003年5月": a month with no day, as in issue numbers and signatures.
_MONTH = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月(?![\s\d]*[\d底初中末上下旬份])(?P<H>)(?P<S>)"
)
_RANGE_AFTER = re.compile(r"\s*[-－—~～至到]\s*\d")
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/_]?(\d{2})[-/_]?(\d{2})(?!\d)")
_CUE = re.compile(
    r"(发布|发表|时间|日期|更新|来源|稿|刊|posted|published|updated|date|on)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_META_NAMES = (
    "article:published_time",
    "og:published_time",
    "published_time",
    "pubdate",
    "publishdate",
    "publish_date",
    "publication_date",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
    "weibo:article:create_at",
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
    precision: str = "day"  # "second", "minute", "day" or "month"


@dataclass(frozen=True)
class PublishedDate:
    moment: datetime
    precision: str


def find_published(
    tree: html.HtmlElement, extraction: Extraction, url: str, *, default_tz: timezone = UTC
) -> PublishedDate | None:
    from_url = _from_url(url, default_tz)
    candidates = [*_from_metadata(tree), *_from_blocks(extraction, default_tz), *from_url]
    if from_url:
        # Independent sources agreeing on the day make both more credible.
        day = from_url[0].moment.date()
        candidates = [
            FoundDate(c.moment, c.score + CORROBORATION, c.evidence, c.precision)
            if c.moment.date() == day and c.evidence != "url"
            else c
            for c in candidates
        ]
    latest = datetime.now(UTC) + timedelta(days=2)
    aware = [c.moment if c.moment.tzinfo else c.moment.replace(tzinfo=default_tz) for c in candidates]
    plausible = [(c, m) for c, m in zip(candidates, aware, strict=True) if m <= latest]
    if not plausible:
        return None
    best, moment = max(plausible, key=lambda pair: pair[0].score)
    return PublishedDate(moment, best.precision) if best.score >= MIN_SCORE else None


def _from_metadata(tree: html.HtmlElement) -> list[FoundDate]:
    found: list[FoundDate] = []
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if name in _META_NAMES or name == "datepublished":
            moment = _parse_iso(meta.get("content") or "")
            if moment:
                found.append(
                    FoundDate(moment, 100, f"meta {name}", _iso_precision(meta.get("content") or ""))
                )
    for script in tree.xpath("//script[@type='application/ld+json']"):
        for value in _json_ld_dates(script.text or ""):
            moment = _parse_iso(value)
            if moment:
                found.append(FoundDate(moment, 100, "json-ld datePublished", _iso_precision(value)))
    for time_element in tree.xpath("//time[@datetime]")[:3]:
        value = time_element.get("datetime") or ""
        moment = _parse_iso(value)
        if moment:
            found.append(FoundDate(moment, 60, "time element", _iso_precision(value)))
    return found


def _iso_precision(value: str) -> str:
    match = _ISO.search(value)
    if match and match.group("S"):
        return "second"
    return "minute" if match and match.group("H") else "day"


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
            int(match.group("y")),
            int(match.group("m")),
            int(match.group("d")),
            int(match.group("H") or 0),
            int(match.group("M") or 0),
            int(match.group("S") or 0),
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
        for match, moment, precision in _dates_in(block.text, tz):
            score = 20.0 if precision != "month" else 16.0
            if block.link_density > 0.5:
                score -= 6
            if LIST_ITEM_WITH_DATE.match(block.text) and match.start() > 0:
                score -= 10  # "headline 2005-07-13 09:00": an entry of a list of other articles
            if match.group("H"):
                score += 8
            if precision != "month" and _CUE.search(block.text[max(0, match.start() - 12) : match.start()]):
                score += 10
            if len(block.text) - (match.end() - match.start()) <= 30:
                score += 4  # a dateline: the date and little else
            elif match.start() > 15:
                score -= 12  # a date mentioned inside a sentence is about something else
            if index < start:
                score -= min(start - index, 40) * 0.6
            elif end - 1 <= index <= end:
                pass  # a signature line closing the article: "——《北京之春》1998年3月号"
            elif index > min(start + 2, end):
                score -= (6 + (index - start) * 0.1) if index <= end else (12 + min(index - end, 40) * 0.3)
            found.append(FoundDate(moment, score, f"text near block {index}", precision))
    return found


def _dates_in(text: str, tz: timezone) -> list[tuple[re.Match[str], datetime, str]]:
    found = []
    for match in _DATE.finditer(text):
        if _RANGE_AFTER.match(text, match.end()):
            continue  # "2004年12月11－12日": the dates of an event, not of the page
        moment = _build(match, tz)
        if moment is not None:
            found.append((match, moment, _precision(match)))
    if not found and len(text) <= 40:  # a month alone is a date only on a line of its own
        for match in _MONTH.finditer(text):
            try:
                moment = datetime(int(match.group("y")), int(match.group("m")), 1, tzinfo=tz)
            except ValueError:
                continue
            found.append((match, moment, "month"))
    for match in _SLASHED_DATE.finditer(text):
        first, second = int(match.group("a")), int(match.group("b"))
        month, day = (second, first) if first > 12 else (first, second)
        hour = int(match.group("H") or 0)
        if (match.group("ampm") or "").lower() == "pm" and hour < 12:
            hour += 12
        try:
            moment = datetime(
                int(match.group("y")),
                month,
                day,
                hour,
                int(match.group("M") or 0),
                int(match.group("S") or 0),
                tzinfo=tz,
            )
        except ValueError:
            continue
        found.append((match, moment, _precision(match)))
    return found


def _precision(match: re.Match[str]) -> str:
    if match.group("S"):
        return "second"
    return "minute" if match.group("H") else "day"


def _from_url(url: str, tz: timezone) -> list[FoundDate]:
    match = _URL_DATE.search(url or "")
    if not match:
        return []
    try:
        moment = datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=tz)
    except ValueError:
        return []
    return [FoundDate(moment, 15, "url")] if moment.year >= 1990 else []
