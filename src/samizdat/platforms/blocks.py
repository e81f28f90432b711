"""Main-text extraction by scoring the page's text blocks and choosing the best subtree.

The page is cut into blocks (runs of text between block-level tags). A block that reads
like prose (sentence punctuation, CJK or Latin; little link text) weighs its length; a
link list, a short label or a block inside a comment/footer/sidebar container weighs
negative. The element whose blocks add up highest is the article's container (junk counts
at half weight there, since old table layouts keep link lists inside the article cell);
inside it, any child subtree whose blocks add up negative is pruned. This works the same
for Chinese and English pages: only the punctuation set is script-aware.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import html

from samizdat.platforms.text import BLOCK_TAGS, clean_line

# Dropped with their content; "form" is kept because ASP.NET pages wrap everything in one.
DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "select",
        "option",
        "textarea",
        "button",
        "input",
        "svg",
        "head",
        "title",
        "meta",
        "link",
        "object",
        "embed",
        "nav",
        "footer",
        "aside",
        "marquee",
        "map",
    }
)

# Punctuation between digits (times, decimals, dates) says nothing about prose.
SENTENCE_PUNCTUATION = re.compile(r"[。！？；，、：“”「」《》（）]|(?<!\d)[,.!?;:](?!\d)")
# Notices every page of a site repeats; phrases as served on Chinese and English sites.
BOILERPLATE = re.compile(
    r"版权所有|版权声明|免责声明|转载请注明|未经(?:书面)?(?:许可|授权)|不得转载|禁止转载|侵权行为|侵权线索"
    r"|all rights reserved|copyright\s*(?:©|\(c\)|\d{4})|terms of (?:use|service)|privacy policy"
    r"|cookie (?:policy|settings)|subscribe to our newsletter",
    re.IGNORECASE,
)
# "Some headline 2005-07-13 09:00:04": an item of a news list, not a sentence of the article.
LIST_ITEM_WITH_DATE = re.compile(
    r"^.{2,60}?\s*[(（\[]?\d{2,4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?[)）\]]?$"
)
# Marks that end or divide a Chinese sentence: a line without them is no prose.
SENTENCE_MARKS = "。！？；，"
# "08-11 16:06": a month, a day and a time without a year, as forums and blogs stamp posts.
MONTH_DAY_TIME = r"(?<!\d)\d{1,2}[-/]\d{1,2}\s+\d{1,2}:\d{2}"
# "Some reply【author】08-11 16:06 298字 [4321/87]": an entry of a thread's index, stamped
# without a year and followed by counters.
LIST_ITEM_WITH_STAMP = re.compile(rf"^.{{2,60}}?{MONTH_DAY_TIME}(?::\d{{2}})?[^{SENTENCE_MARKS}]{{0,20}}$")
JUNK_ATTRIBUTE = re.compile(
    r"comment|footer|foot\b|sidebar|side\b|\bnav|menu|share|related|recommend|advert|\bads?\b"
    r"|banner|copyright|breadcrumb|toolbar|login|header|topbar|\bhot|rank|\btags?\b|popup|modal",
    re.IGNORECASE,
)
CONTENT_ATTRIBUTE = re.compile(r"content|article|post|main|text|body|entry|story|detail", re.IGNORECASE)
JUNK_WEIGHT_IN_CHOICE = 0.5
# A post's date line: "由某某张贴 @ 2005-03-21 01:20:44", "发布时间 2005/05/17 22:11:42", "08-11 16:06".
DATE_STAMP = re.compile(rf"\d{{4}}[-/.年]\d{{1,2}}[-/.月]\d{{1,2}}|{MONTH_DAY_TIME}")
STAMP_LINE_CHARS = 100
SENTENCE_END = re.compile(rf"[{SENTENCE_MARKS}]|[.!?;,](?:\s|$)")
POST_BODY_CHARS = 30


@dataclass(eq=False)
class Block:
    text: str
    link_chars: int
    ancestors: tuple[html.HtmlElement, ...]
    in_junk_container: bool
    weight: float = 0.0

    @property
    def link_density(self) -> float:
        return self.link_chars / max(len(self.text), 1)


@dataclass
class Extraction:
    text: str
    container: html.HtmlElement | None
    blocks: list[Block] = field(default_factory=list)  # every block of the page, in order
    selected: list[Block] = field(default_factory=list)
    # True when the page lists several posts and the text holds only the first (or the
    # article above replies): a cut other extractors do not make, so the vote defers to it.
    first_of_posts: bool = False


def extract(tree: html.HtmlElement) -> Extraction:
    """The main text of a parsed page (``tree`` from :func:`samizdat.platforms.text.parse_html`)."""
    body = tree.find("body")
    blocks = page_blocks(body if body is not None else tree)
    if not blocks:
        return Extraction("", None)
    choice: dict[html.HtmlElement, float] = {}
    for block in blocks:
        block.weight = _weight(block)
        chosen_weight = block.weight if block.weight > 0 else block.weight * JUNK_WEIGHT_IN_CHOICE
        for element in block.ancestors:
            choice[element] = choice.get(element, 0.0) + chosen_weight
    if not choice:
        return Extraction("", None, blocks)
    container = max(choice, key=choice.__getitem__)
    pruned = _pruned_scores(blocks)

    def kept(block: Block) -> bool:
        if container not in block.ancestors:
            return False
        below = block.ancestors[block.ancestors.index(container) + 1 :]
        return all(pruned[element] > 0 for element in below) and block.link_density <= 0.5

    whole = _without_repeats([block for block in blocks if kept(block)])
    selected = _first_post(whole, blocks, container)
    first_of_posts = len(selected) < len(whole)
    while selected and selected[0].weight < 0:
        selected.pop(0)
    while selected and selected[-1].weight < 0:
        selected.pop()
    return Extraction("\n".join(b.text for b in selected), container, blocks, selected, first_of_posts)


def page_blocks(root: html.HtmlElement) -> list[Block]:
    """Cut ``root`` into text blocks, in document order."""
    raw: list[tuple[list[str], list[int], tuple[html.HtmlElement, ...]]] = []

    def start(ancestors: tuple[html.HtmlElement, ...]) -> None:
        raw.append(([], [0], ancestors))

    def add(text: str, ancestors: tuple[html.HtmlElement, ...], in_link: bool) -> None:
        if not raw or raw[-1][2] is not ancestors:
            start(ancestors)
        raw[-1][0].append(text)
        if in_link:
            raw[-1][1][0] += len(text.strip())

    def walk(element: html.HtmlElement, ancestors: tuple[html.HtmlElement, ...], in_link: bool) -> None:
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is None or tag in DROP_TAGS:
            if element.tail:
                add(element.tail, ancestors, in_link)
            return
        is_block = tag in BLOCK_TAGS
        inner = (*ancestors, element) if is_block else ancestors
        if is_block:
            start(inner)
        link = in_link or tag == "a"
        if element.text:
            add(element.text, inner, link)
        for child in element:
            walk(child, inner, link)
        if is_block:
            start(ancestors)
        if element.tail:
            add(element.tail, ancestors, in_link)

    walk(root, (), False)
    junk_cache: dict[html.HtmlElement, bool] = {}
    blocks = []
    for parts, link_chars, ancestors in raw:
        text = clean_line(" ".join("".join(parts).split()))
        if text:
            junk = any(_is_junk_container(e, junk_cache) for e in ancestors)
            blocks.append(Block(text, link_chars[0], ancestors, junk))
    return blocks


def _first_post(selected: list[Block], blocks: list[Block], container: html.HtmlElement) -> list[Block]:
    """Only the first post of a page that lists several (a blog's archive, a forum thread).

    Posts are sibling elements of one kind, each holding a date stamp line and a body of
    prose. What comes before the first post (the thread's title) stays; what comes after it
    (older posts, replies) goes. When more prose comes before the first post than in it, the
    posts are replies below an article laid out differently, and only the article stays.
    """
    children: dict[html.HtmlElement, list[html.HtmlElement]] = {}
    listed: set[html.HtmlElement] = set()
    stamped: set[html.HtmlElement] = set()
    body: dict[html.HtmlElement, float] = {}
    depth: dict[html.HtmlElement, int] = {}
    for block in blocks:
        if container not in block.ancestors:
            continue
        start = block.ancestors.index(container)
        below = block.ancestors[start:]
        is_stamp = (
            len(block.text) <= STAMP_LINE_CHARS
            and bool(DATE_STAMP.search(block.text))
            and not SENTENCE_END.search(block.text)
        )
        for level, element in enumerate(below):
            depth[element] = level
            if level and element not in listed:
                listed.add(element)
                children.setdefault(below[level - 1], []).append(element)
            if is_stamp:
                stamped.add(element)
            if block.weight > 0:
                body[element] = body.get(element, 0.0) + block.weight
    for parent in sorted(children, key=depth.__getitem__):
        kinds: dict[tuple[str, str], list[html.HtmlElement]] = {}
        for child in children[parent]:
            if child in stamped and body.get(child, 0.0) >= POST_BODY_CHARS:
                kinds.setdefault((child.tag, child.get("class") or ""), []).append(child)
        posts = next((run for run in kinds.values() if len(run) >= 2), None)
        if posts is None:
            continue
        first = posts[0]
        in_first = [block for block in selected if first in block.ancestors]
        if not in_first:
            continue
        first_index = selected.index(in_first[0])
        before = selected[:first_index]
        prose_before = sum(block.weight for block in before if block.weight > 0)
        if prose_before > body[first]:
            return before
        return before + in_first
    return selected


def _pruned_scores(blocks: list[Block]) -> dict[html.HtmlElement, float]:
    """Each element's best score when any child subtree that scores negative is cut off."""
    direct: dict[html.HtmlElement, float] = {}
    children: dict[html.HtmlElement, set[html.HtmlElement]] = {}
    depth: dict[html.HtmlElement, int] = {}
    for block in blocks:
        for level, element in enumerate(block.ancestors):
            depth[element] = level
            direct.setdefault(element, 0.0)
            if level:
                children.setdefault(block.ancestors[level - 1], set()).add(element)
        if block.ancestors:
            direct[block.ancestors[-1]] += block.weight
    pruned: dict[html.HtmlElement, float] = {}
    for element in sorted(depth, key=depth.__getitem__, reverse=True):
        pruned[element] = direct[element] + sum(
            max(0.0, pruned[child]) for child in children.get(element, ())
        )
    return pruned


def _without_repeats(blocks: list[Block]) -> list[Block]:
    """Drop a paragraph seen before: templates often print the article twice (screen, print)."""
    seen: set[str] = set()
    kept = []
    for block in blocks:
        if len(block.text) >= 20 and block.text in seen:
            continue
        seen.add(block.text)
        kept.append(block)
    return kept


def _is_junk_container(element: html.HtmlElement, cache: dict[html.HtmlElement, bool]) -> bool:
    if element not in cache:
        names = f"{element.get('class') or ''} {element.get('id') or ''}"
        cache[element] = bool(JUNK_ATTRIBUTE.search(names)) and not CONTENT_ATTRIBUTE.search(names)
    return cache[element]


def _weight(block: Block) -> float:
    size = len(block.text)
    if block.link_density > 0.5 or block.in_junk_container or BOILERPLATE.search(block.text):
        return -float(size)
    if LIST_ITEM_WITH_DATE.match(block.text) or LIST_ITEM_WITH_STAMP.match(block.text):
        return -0.5 * size
    punctuation = len(SENTENCE_PUNCTUATION.findall(block.text))
    if punctuation == 0 and size < 30:
        return -0.5 * size - 5
    return size * (1 - block.link_density) * (1.0 if punctuation else 0.5)
