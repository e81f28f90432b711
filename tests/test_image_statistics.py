"""Statistics of images in removed articles (read/image_statistics.py) on a constructed archive
whose answer is known: three pictures drawn here (one also as a resized, recompressed copy), an
icon on every page, removals on known days. The image facts are the real hashes of the drawn
bytes (relate/pictures.py); the text "read" in each picture is given, as OCR would store it."""

from __future__ import annotations

import csv
import hashlib
import io
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert

from samizdat.config import Settings
from samizdat.store import open_archive
from samizdat.store.schema import articles, blobs, version_blobs, versions
from samizdat.watch.pictures import hashed_facts
from samizdat.web.app import create_app
from samizdat.web.server import running_site
from tests.helpers import missing

try:
    from PIL import Image, ImageDraw

    from samizdat.relate.pictures import hash_picture
except ImportError:
    missing("the images extra: pip install 'samizdat[images]'", module=True)

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
TEXTS = {"A": "集会 通知 广场", "B": "天气 晴朗", "C": "集会 广场 删除"}
# article: (removed on day n, or None: live; its pictures). A2 is A resized and recompressed.
ARTICLES = {
    1: (1, ["A"]),
    2: (3, ["A2"]),
    3: (None, ["A"]),
    4: (None, ["B"]),
    5: (None, ["B"]),
    6: (2, ["B"]),
    7: (4, ["C"]),
    8: (5, ["C"]),
    9: (0, []),
}


def drawn(seed: int) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(600), rng.randrange(440)
        draw.rectangle([x, y, x + rng.randrange(40, 200), y + rng.randrange(40, 200)], fill=_colour(rng))
    return image


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def encoded(image: Image.Image, kind: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def pictures() -> dict[str, bytes]:
    a = drawn(1)
    return {
        "A": encoded(a),
        "A2": encoded(a.resize((384, 288)), "JPEG", quality=60),
        "B": encoded(drawn(2)),
        "C": encoded(drawn(3)),
        "icon": encoded(Image.new("RGB", (40, 40), (200, 0, 0))),
    }


@pytest.fixture
def archive(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    store = open_archive(settings)
    data = pictures()
    shas = {}
    facts = []
    for name, raw in data.items():
        hashed = hash_picture(raw)
        sha = hashlib.sha256(raw).hexdigest()
        shas[name] = sha
        text = TEXTS.get(name.rstrip("2"))
        facts.append(
            replace(hashed_facts(sha, DAY0, hashed), ocr_text=text, ocr_lines=(), ocr_at=DAY0)
            if not hashed.decoration
            else hashed_facts(sha, DAY0, hashed)
        )
    with store.engine.begin() as connection:
        connection.execute(
            insert(blobs),
            [
                {
                    "sha256": sha,
                    "size": len(data[name]),
                    "url": f"https://img.example/{name}",
                    "first_seen_at": DAY0,
                }
                for name, sha in shas.items()
            ],
        )
        for article_id, (removed_on, shown) in ARTICLES.items():
            connection.execute(
                insert(articles),
                {
                    "id": article_id,
                    "platform": "generic",
                    "canonical_id": f"a{article_id}",
                    "url": f"https://news.example/{article_id}",
                    "title": f"article {article_id}",
                    "first_captured_at": DAY0,
                    "state": "live" if removed_on is None else "removed",
                    "outcome": None if removed_on is None else "deleted_by_author",
                    "detected_at": None if removed_on is None else DAY0 + timedelta(days=removed_on),
                },
            )
            version = connection.execute(
                insert(versions).returning(versions.c.id),
                {
                    "article_id": article_id,
                    "content_hash": f"h{article_id}",
                    "captured_at": DAY0,
                    "final_url": f"https://news.example/{article_id}",
                    "text": "text",
                    "html": "<p>text</p>",
                    "details": {},
                },
            ).scalar_one()
            connection.execute(
                insert(version_blobs),
                [
                    {"version_id": version, "url": f"https://img.example/{name}", "sha256": shas[name]}
                    for name in [*shown, "icon"]
                ],
            )
    store.record_image_facts(facts)
    yield settings, store, shas
    store.engine.dispose()


def test_pictures_removals_seen_before_and_over_represented_words(archive):
    from samizdat.read.image_statistics import image_statistics

    _, store, shas = archive
    stats = image_statistics(store.engine)
    assert (stats.images, stats.read, stats.content, stats.with_text) == (5, 5, 4, 4)  # the icon left out
    top = [(p.sha256, p.copies, p.removed, p.articles) for p in stats.pictures]
    # A and its copy are one picture in 3 articles, 2 removed; C in 2, both removed; B in 3, 1 removed.
    assert top == [(shas["A"], 2, 2, 3), (shas["C"], 1, 2, 2), (shas["B"], 1, 1, 3)]
    # Removals by day: 9 (no picture), 1 (A), 6 (B), 2 (A's copy: seen), 7 (C), 8 (C: seen).
    assert (stats.removed, stats.removed_with_pictures, stats.seen_before) == (6, 5, 2)
    assert [(m.month, m.removed, m.with_pictures, m.seen_before) for m in stats.months] == [
        ("2026-03", 6, 5, 2)
    ]
    words = [t.word for t in stats.terms]
    # Only in removed articles (2 of them), or in 4 removed and 1 live. 通知 is in 2 of the 14
    # words of removed articles and 1 of the 7 of live ones: not over-represented; 天气, 晴朗 are
    # more often live than removed.
    assert set(words) == {"删除", "广场", "集会"}
    assert all(t.z > 0 and t.removed >= 2 for t in stats.terms)


def test_the_site_shows_image_statistics_as_charts_csv_and_json(archive):
    settings, _, shas = archive
    with running_site(create_app(settings)) as base:
        page = httpx.get(f"{base}/stats/images", params={"lang": "en"}).text
        assert "Pictures in the most removed articles" in page and page.count("<svg") == 3
        assert f"/blobs/{shas['A']}" in page and "2 (33.3% of all removals)" in page
        assert 'href="/stats/images"' in httpx.get(f"{base}/stats", params={"lang": "en"}).text
        table = list(csv.DictReader(io.StringIO(httpx.get(f"{base}/stats/images.csv").text)))
        assert [(r["sha256"], r["removed_articles"]) for r in table][:2] == [
            (shas["A"], "2"),
            (shas["C"], "2"),
        ]
        terms = list(csv.DictReader(io.StringIO(httpx.get(f"{base}/stats/images.csv?table=terms").text)))
        assert {"集会", "广场", "删除"} <= {r["word"] for r in terms}
        assert httpx.get(f"{base}/stats/images.csv?table=nope").status_code == 400
        api = httpx.get(f"{base}/api/stats/images").json()
        assert api["seen_in_earlier_removal"] == 2 and api["pictures"][0]["copies"] == 2
