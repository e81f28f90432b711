"""The simulator's albums (合集) and the links between its articles.

Every account (``biz``) of the simulator has one album holding its articles, oldest first, as
WeChat shows them: an HTML page with the first items as ``album__item`` elements, and the same
address with ``&f=json`` answering pages of ``count`` items (at most 20) that go on from
``begin_msgid``/``begin_itemidx`` while ``continue_flag`` is "1". An album can be told to
answer badly (:data:`ALBUM_ANSWERS`). Each article page ends its body with "往期推荐": links to
the articles before it in its album and one of another account, and the album's tag.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence

from samizdat.testing.content import SimulatedArticle

HTML_ITEMS = 10
MAX_COUNT = 20
RECOMMENDED = 3
# normal; ret: every JSON page answers ret -6 (the HTML still lists); verification: both forms
# answer the verification page; malformed: JSON cut short; endless: continue_flag stays "1" and
# every page brings new items; huge: one page of 10,000 items.
ALBUM_ANSWERS = ("normal", "ret", "verification", "malformed", "endless", "huge")
HUGE_ITEMS = 10_000


def album_id(biz: str) -> str:
    return str(int(hashlib.sha1(biz.encode()).hexdigest()[:15], 16))


def album_path(biz: str) -> str:
    return f"/mp/appmsgalbum?__biz={biz}&action=getalbum&album_id={album_id(biz)}"


def create_time(article: SimulatedArticle) -> int:
    """A stable publication time per article (2020, a day apart per copy)."""
    return 1_600_000_000 + int(article.mid) % 10_000 * 60 + article.copy * 86_400


def album_html(base: str, title: str, items: Sequence[SimulatedArticle]) -> str:
    rows = "".join(
        f'<li class="album__item js_album_item" data-link="{html.escape(base + a.path)}" '
        f'data-title="{html.escape(_title(a))}" data-msgid="{a.mid}" data-itemidx="{a.idx}">'
        f'<div class="album__item-title">{html.escape(_title(a))}</div>'
        f'<span class="js_article_create_time album__item-info-item">{create_time(a)}</span></li>'
        for a in items[:HTML_ITEMS]
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body><div class="album__label-title">{html.escape(title)}</div>'
        f'<ul class="album__list">{rows}</ul></body></html>'
    )


def album_json(
    base: str, title: str, items: Sequence[SimulatedArticle], query: dict[str, str], answer: str
) -> bytes:
    if answer == "ret":
        return json.dumps({"base_resp": {"ret": -6, "err_msg": "invalid args"}}).encode()
    if answer == "malformed":
        return b'{"base_resp": {"ret": 0}, "getalbum_resp": {"article_list": [{"title": "'
    count = min(MAX_COUNT, max(1, int(query.get("count", "10") or 10)))
    begin = query.get("begin_msgid")
    if answer == "huge":
        listed = [_fabricated(base, i) for i in range(HUGE_ITEMS)]
        return _answer(title, listed, more=False)
    if answer == "endless":
        start = int(begin or 0) + 1
        listed = [_fabricated(base, i) for i in range(start, start + count)]
        return _answer(title, listed, more=True)
    start = 0
    if begin:
        positions = [
            i for i, a in enumerate(items) if a.mid == begin and a.idx == query.get("begin_itemidx", "1")
        ]
        start = positions[0] + 1 if positions else len(items)
    chunk = items[start : start + count]
    listed = [
        {
            "title": _title(a),
            "url": base + a.path,
            "create_time": str(create_time(a)),
            "msgid": a.mid,
            "itemidx": a.idx,
            "key": f"{a.biz}_{a.mid}_{a.idx}",
        }
        for a in chunk
    ]
    # WeChat gives a single item as an object, not as a list of one.
    return _answer(title, listed[0] if len(listed) == 1 else listed, more=start + count < len(items))


def _answer(title: str, listed: object, *, more: bool) -> bytes:
    document = {
        "base_resp": {"ret": 0},
        "getalbum_resp": {
            "base_info": {"title": title},
            "article_list": listed,
            "continue_flag": "1" if more else "0",
        },
    }
    return json.dumps(document, ensure_ascii=False).encode()


def _fabricated(base: str, number: int) -> dict[str, str]:
    return {
        "title": f"第 {number} 篇",
        "url": f"{base}/s?__biz=ZW5kbGVzcw==&mid={number + 1}&idx=1",
        "create_time": str(1_600_000_000 + number),
        "msgid": str(number + 1),
        "itemidx": "1",
    }


def _title(article: SimulatedArticle) -> str:
    return f"文章 {article.mid}"


def recommended(
    base: str, article: SimulatedArticle, album: Sequence[SimulatedArticle], other: SimulatedArticle | None
) -> str:
    """The "往期推荐" block an article's body ends with: earlier articles of its album, one of
    another account, and the album's tag."""
    position = next((i for i, a in enumerate(album) if a.token == article.token), 0)
    linked = list(album[max(0, position - RECOMMENDED) : position])
    if other is not None:
        linked.append(other)
    items = "".join(
        f'<p><a href="{html.escape(base + a.path)}">往期推荐：{html.escape(_title(a))}</a></p>'
        for a in linked
    )
    tag = f'<p><a class="album_tag" href="{html.escape(base + album_path(article.biz))}">#合集</a></p>'
    return f'<section class="samizdat-simulated-links">{items}{tag}</section>'
