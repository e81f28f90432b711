"""The real articles of the test fixtures as (key, title, text): the extraction ground truth
(``cwced``: its hand-cleaned text, the page's <title>) and the WeChat pages (parsed). Repost
sets, related-post evaluation and benchmarks are built on them; ``topics.json`` labels each
key with a topic.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

from samizdat.fetch.decode import decode_html
from samizdat.platforms.base import Article
from samizdat.platforms.wechat import PLATFORM as WECHAT
from samizdat.testing.simulator import WECHAT_PAGES

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)


@dataclass(frozen=True)
class Text:
    key: str
    title: str
    text: str


def fixture_texts(fixtures: Path) -> list[Text]:
    found = []
    for cleaned in sorted((fixtures / "cwced" / "cleaned").glob("*.txt")):
        original = next((fixtures / "cwced" / "original").glob(cleaned.stem + ".*"))
        page = decode_html(original.read_bytes(), None).text
        title = _TITLE.search(page)
        found.append(
            Text(
                cleaned.stem[:8],
                title.group(1).strip() if title else "",
                cleaned.read_text("utf-8", "replace"),
            )
        )
    wechat = WECHAT_PAGES
    pages = sorted((wechat / "pre-deletion").glob("*.html.gz")) + sorted((wechat / "articles").glob("*.html"))
    for path in pages:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        article = WECHAT.parse("https://mp.weixin.qq.com/s/fixture", raw.decode("utf-8"))
        if isinstance(article, Article):
            key = path.name[:15] if path.name.startswith("gh_") else path.name.removesuffix(".html")
            found.append(Text(key, article.title, article.text))
    return found


def topics(fixtures: Path) -> dict[str, str]:
    """Each labelled key's topic (``topics.json``, labelled by hand)."""
    labelled = json.loads((fixtures / "topics.json").read_text("utf-8"))["topics"]
    return {key: topic for topic, keys in labelled.items() for key in keys}
