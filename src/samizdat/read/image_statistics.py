"""What gets removed, told by its images: the pictures in the most removed articles, the share of
removals that carry a picture already seen in an earlier removal, and the words of image text
most over-represented in removed articles against live ones.

A *picture* is an image and its near-duplicates (relate/pictures.py: resized, recompressed,
slightly cropped or watermarked copies), grouped through the bands of their hashes. Only read
content images count: decorations (icons, strips, QR codes), refused and not yet read images
are left out, and the figures say how many images were read.

Over-represented words are ranked by the weighted log-odds ratio with an informative Dirichlet
prior (Monroe, Colaresi and Quinn, "Fightin' Words", 2008): for each word, the log-odds of
appearing in a removed article's image text against a live one's, each smoothed by the word's
frequency over both, divided by its standard error — a z-score, so that a word seen twice does
not outrank one seen two hundred times. Counts are of articles (a word counts once an article).
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from samizdat.status import State
from samizdat.store.schema import articles, checks, image_facts, version_blobs, versions

TOP_PICTURES = 20
TOP_TERMS = 30
MIN_REMOVED_FOR_TERM = 2
PRIOR_WEIGHT = 100.0  # the Dirichlet prior's total pseudo-count (α₀)


@dataclass(frozen=True)
class Picture:
    """One picture (an image and its near-duplicates) and the articles that show it."""

    sha256: str  # the copy shown in most articles
    copies: int  # distinct images (by bytes) of this picture
    removed: int  # removed articles showing it
    articles: int  # articles showing it
    text: str  # the text read in it, if any
    example: int  # an article showing it, removed if one is


@dataclass(frozen=True)
class Term:
    word: str
    removed: int  # removed articles with the word in their image text
    live: int  # articles not removed with it
    z: float  # the weighted log-odds z-score: over-represented in removed articles when positive


@dataclass(frozen=True)
class Month:
    month: str  # of the removal's detection
    removed: int
    with_pictures: int
    seen_before: int  # carrying a picture seen in an earlier removal


@dataclass
class ImageStatistics:
    images: int = 0  # archived images
    read: int = 0  # read (hashes)
    content: int = 0  # read, not decorations, not refused
    with_text: int = 0  # content images with text read in them
    pictures: list[Picture] = field(default_factory=list)  # most removed first
    removed: int = 0  # removed articles
    removed_with_pictures: int = 0
    seen_before: int = 0  # removed articles carrying a picture seen in an earlier removal
    months: list[Month] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)

    @property
    def seen_before_share(self) -> float:
        return self.seen_before / self.removed if self.removed else 0.0


def image_statistics(engine: Engine) -> ImageStatistics:
    from samizdat.relate.pictures import bands, same_picture
    from samizdat.store.pictures import every_image_facts

    stats = ImageStatistics()
    with engine.connect() as connection:
        states = {
            row.id: (row.state == State.REMOVED.value, row.detected_at)
            for row in connection.execute(select(articles.c.id, articles.c.state, articles.c.detected_at))
        }
        shown: dict[str, set[int]] = defaultdict(set)
        for row in connection.execute(
            select(versions.c.article_id, version_blobs.c.sha256)
            .join(version_blobs, version_blobs.c.version_id == versions.c.id)
            .distinct()
        ):
            shown[row.sha256].add(row.article_id)
        stats.images = len(shown)
        facts = {f.sha256: f for f in every_image_facts(connection) if f.sha256 in shown}
    stats.read = len(facts)
    content = {sha: f for sha, f in facts.items() if f.comparable}
    stats.content = len(content)
    stats.with_text = sum(1 for f in content.values() if f.ocr_text)

    # Pictures: union of the content images that are the same picture, found through bands.
    parent = {sha: sha for sha in content}

    def root(sha: str) -> str:
        while parent[sha] != sha:
            parent[sha] = parent[parent[sha]]
            sha = parent[sha]
        return sha

    banded: dict[int, list[str]] = defaultdict(list)
    for sha, f in content.items():
        for band in {band for dct, _ in f.windows for band in bands(dct)}:
            for other in banded[band]:
                if root(other) != root(sha) and same_picture(f.windows, content[other].windows):
                    parent[root(other)] = root(sha)
            banded[band].append(sha)
    members: dict[str, list[str]] = defaultdict(list)
    for sha in content:
        members[root(sha)].append(sha)

    pictures_of: dict[int, set[str]] = defaultdict(set)  # article → its pictures (by root)
    for picture, shas in members.items():
        for sha in shas:
            for article in shown[sha]:
                pictures_of[article].add(picture)

    found = []
    for shas in members.values():
        showing = set().union(*(shown[sha] for sha in shas))
        removed = sorted(a for a in showing if states.get(a, (False, None))[0])
        if not removed:
            continue
        main = max(shas, key=lambda sha: (len(shown[sha]), sha))
        text = next((content[sha].ocr_text for sha in shas if content[sha].ocr_text), "") or ""
        found.append(Picture(main, len(shas), len(removed), len(showing), text, removed[0]))
    found.sort(key=lambda p: (-p.removed, -p.articles, p.sha256))
    stats.pictures = found[:TOP_PICTURES]

    # Removals in the order they were detected: does each carry a picture an earlier one did?
    removals = sorted(
        ((detected, article) for article, (removed, detected) in states.items() if removed and detected),
        key=lambda pair: (pair[0], pair[1]),
    )
    stats.removed = sum(1 for removed, _ in states.values() if removed)
    seen: set[str] = set()
    by_month: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for detected, article in removals:
        month = by_month[detected.strftime("%Y-%m")]
        month[0] += 1
        carried = pictures_of.get(article, set())
        if carried:
            stats.removed_with_pictures += 1
            month[1] += 1
            if carried & seen:
                stats.seen_before += 1
                month[2] += 1
            seen |= carried
    stats.months = [Month(name, *counts) for name, counts in sorted(by_month.items())]

    stats.terms = over_represented(
        {article: _text_of(pictures, members, content) for article, pictures in pictures_of.items()},
        {article for article, (removed, _) in states.items() if removed},
    )
    return stats


def _text_of(pictures: set[str], members: dict[str, list[str]], content: dict) -> str:
    return "\n".join(
        content[sha].ocr_text for p in sorted(pictures) for sha in members[p] if content[sha].ocr_text
    )


def over_represented(texts: dict[int, str], removed: set[int], *, top: int = TOP_TERMS) -> list[Term]:
    """The words of ``texts`` (by article) most over-represented in the ``removed`` articles.

    >>> texts = {1: "删除 通知", 2: "删除 声明", 3: "天气 通知", 4: "天气 晴朗", 5: "删除"}
    >>> [(t.word, t.removed, t.live) for t in over_represented(texts, {1, 2, 5})][:1]
    [('删除', 3, 0)]
    """
    from samizdat.relate.related import words

    in_removed: Counter[str] = Counter()
    in_live: Counter[str] = Counter()
    for article, text in texts.items():
        (in_removed if article in removed else in_live).update(set(words(text)))
    n_removed, n_live = sum(in_removed.values()), sum(in_live.values())
    total = n_removed + n_live
    if not total:
        return []
    terms = []
    for word in in_removed.keys() | in_live.keys():
        y_r, y_l = in_removed[word], in_live[word]
        alpha = PRIOR_WEIGHT * (y_r + y_l) / total
        delta = math.log((y_r + alpha) / (n_removed + PRIOR_WEIGHT - y_r - alpha)) - math.log(
            (y_l + alpha) / (n_live + PRIOR_WEIGHT - y_l - alpha)
        )
        z = delta / math.sqrt(1 / (y_r + alpha) + 1 / (y_l + alpha))
        if y_r >= MIN_REMOVED_FOR_TERM and z > 0:
            terms.append(Term(word, y_r, y_l, round(z, 3)))
    terms.sort(key=lambda t: (-t.z, t.word))
    return terms[:top]


TABLES = ("pictures", "terms", "months")


def to_csv(stats: ImageStatistics, table: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if table == "pictures":
        writer.writerow(["sha256", "copies", "removed_articles", "articles", "example_article", "text"])
        for p in stats.pictures:
            writer.writerow([p.sha256, p.copies, p.removed, p.articles, p.example, p.text])
    elif table == "terms":
        writer.writerow(["word", "removed_articles", "live_articles", "z"])
        writer.writerows([t.word, t.removed, t.live, f"{t.z:.3f}"] for t in stats.terms)
    else:
        writer.writerow(["month", "removed", "with_pictures", "seen_in_earlier_removal"])
        writer.writerows([m.month, m.removed, m.with_pictures, m.seen_before] for m in stats.months)
    return out.getvalue()


class ImageStatisticsCache:
    """Computed again only when a check or an image reading was recorded since."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._value = ImageStatistics()

    def get(self) -> ImageStatistics:
        with self.engine.connect() as connection:
            key = (
                connection.scalar(select(func.max(checks.c.id))),
                connection.scalar(select(func.count()).select_from(image_facts)),
                connection.scalar(select(func.max(image_facts.c.ocr_at))),
                connection.scalar(select(func.max(image_facts.c.analysed_at))),
            )
        with self._lock:
            if key == self._key:
                return self._value
        value = image_statistics(self.engine)
        with self._lock:
            self._key, self._value = key, value
        return value
