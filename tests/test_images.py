"""Images read in the archive: `samizdat images read` works through the backlog (hashes and,
with the OCR extra, text), records refusals with their reason, finds the same picture under two
addresses, and the article page and API show the text and the copies. Pages and pictures: the
simulator's /news/pictures (samizdat/testing/pictures.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from samizdat.cli import app
from samizdat.config import FetchSettings, Settings
from samizdat.folding import fold
from samizdat.store import open_archive
from samizdat.testing.pictures import LINE_IMAGES, WORDLESS_IMAGES
from samizdat.web.app import create_app
from samizdat.web.mirror import mirror_file
from samizdat.web.mirror.pages import search_terms
from samizdat.web.server import running_site
from tests.helpers import missing

try:
    import imagehash  # noqa: F401
    import rapidocr_onnxruntime  # noqa: F401
except ImportError:
    missing("the OCR extra: pip install 'samizdat[ocr]'", module=True)

pytestmark = pytest.mark.slow


def test_images_are_read_once_with_their_text_and_their_copies(tmp_path, simulator):
    # A news page (the generic platform): the simulator's host is not named a WeChat host here.
    settings = Settings(data_dir=tmp_path / "data", fetch=FetchSettings(allow_private_networks=True))
    config = str(tmp_path / "samizdat.toml")
    Path(config).write_text(f'data_dir = "{settings.data_dir}"\n[fetch]\nallow_private_networks = true\n')
    runner = CliRunner()
    captured = runner.invoke(app, ["--config", config, "capture", simulator.base + "/news/pictures"])
    assert captured.exit_code == 0, captured.output
    mirror = tmp_path / "mirror"
    build = ["--config", config, "mirror", "build", str(mirror), "--no-search", "--no-raw", "--no-packages"]
    assert runner.invoke(app, build).exit_code == 0
    read = runner.invoke(app, ["--config", config, "images", "read"])
    assert read.exit_code == 0, read.output
    said = " ".join(read.output.split())
    assert "4 images read: 0 refused, 1 decorations" in said and "1 without text" in said, said
    assert "1 with text" in said
    again = runner.invoke(app, ["--config", config, "images", "read"])
    assert "0 images read" in again.output  # each image is read once

    settings = settings.__class__(
        **{
            **settings.__dict__,
            "data_dir": tmp_path / "data",
            "database": settings.database.__class__(url=""),
        }
    )
    store = open_archive(settings)
    article_id = store.article_id_for_url(simulator.base + "/news/pictures")
    pictures = store.images_elsewhere(article_id)
    store.engine.dispose()
    texts = [p.facts.ocr_text for p in pictures if p.facts and p.facts.ocr_text]
    assert len(texts) == 1 and "维尔纽斯" in texts[0] and "删除" in texts[0]
    with running_site(create_app(settings)) as base:
        page = httpx.get(f"{base}/articles/{article_id}", params={"lang": "en"}).text
        assert "Text in the image" in page and "北约峰会" in page
        api = httpx.get(f"{base}/api/articles/{article_id}").json()["images"]
        decorations = [p for p in api if p["decoration"]]
        assert [p["decoration"] for p in decorations] == ["tiny"]
        photo = [p for p in api if p["width"] == 900]
        assert photo and re.fullmatch(r"[0-9a-f]{64}", photo[0]["sha256"])
    shown = runner.invoke(app, ["--config", config, "images", "show", photo[0]["sha256"]])
    assert "900 × 600" in shown.output and "the same image:" in shown.output  # its resized JPEG

    # The screenshot's text is in no page's text: search finds it in the image, saying so. A
    # repost captured after the screenshot was read is searchable by it at once (its image is
    # linked to the text read before, by content hash).
    repost = runner.invoke(app, ["--config", config, "capture", simulator.base + "/news/pictures-repost"])
    assert repost.exit_code == 0, repost.output
    store = open_archive(settings)
    repost_id = store.article_id_for_url(simulator.base + "/news/pictures-repost")
    store.engine.dispose()
    with running_site(create_app(settings)) as base:
        found = httpx.get(f"{base}/api/search", params={"q": "维尔纽斯"}).json()["items"]
        assert sorted(item["id"] for item in found) == sorted([article_id, repost_id])
        assert all(item["in_image"] and "维尔纽斯" in item["snippet"] for item in found)
        page = httpx.get(f"{base}/", params={"q": "维尔纽斯", "lang": "en"}).text
        assert page.count("in an image") == 2
        in_text = httpx.get(f"{base}/api/search", params={"q": "转载者"}).json()["items"]
        assert [(item["id"], item["in_image"]) for item in in_text] == [(article_id, False)]

    exported = runner.invoke(app, ["--config", config, "export"])
    assert exported.exit_code == 0, exported.output
    rows = {row["id"]: row for row in map(json.loads, exported.output.splitlines())}
    for id_ in (article_id, repost_id):
        (screenshot,) = [image for image in rows[id_]["image_text"] if image["text"]]
        assert screenshot["url"].endswith("/screenshot.png") and "维尔纽斯" in screenshot["text"]
        assert all(len(line["box"]) == 4 and 0 < line["confidence"] <= 1 for line in screenshot["lines"])

    # The mirror renders again the article whose images were read since its last build (and the
    # new repost); both carry the screenshot's text, on the page and in the search documents.
    rebuilt = runner.invoke(app, build)
    assert "2 articles rendered" in " ".join(rebuilt.output.split()), rebuilt.output
    for id_ in (article_id, repost_id):
        page = (mirror / mirror_file(f"/articles/{id_}", "zh")).read_text()
        assert "北约峰会在维尔纽斯召开" in page
        assert search_terms("维尔纽斯") in (mirror / "search" / "0" / f"{id_}.html").read_text()
    statistics = (mirror / mirror_file("/stats/images", "en")).read_text()
    assert "Images in removed articles" in statistics and "images-pictures.csv" in statistics
    assert (mirror / mirror_file("/stats/images.csv?table=terms", "en")).read_text().startswith("word,")


def test_a_line_of_text_set_as_an_image_is_read_and_found(tmp_path, simulator):
    """Sentences kept out of the page's text by setting them as images (one-line banners,
    screenshots, 14-px captions in traditional characters: the simulator's /news/text-lines)
    are read and found by search, on the site and in the mirror's search documents. Whether an
    image is read for text is not whether it is a decoration: the banners and captions are left
    out of comparisons and read; the icon, the QR code, the spacer, the rule and the blank
    picture are not read, and `images read` counts them."""
    settings = Settings(data_dir=tmp_path / "data", fetch=FetchSettings(allow_private_networks=True))
    config = str(tmp_path / "samizdat.toml")
    Path(config).write_text(f'data_dir = "{settings.data_dir}"\n[fetch]\nallow_private_networks = true\n')
    runner = CliRunner()
    page = simulator.base + "/news/text-lines"
    assert runner.invoke(app, ["--config", config, "capture", page]).exit_code == 0
    read = runner.invoke(app, ["--config", config, "images", "read"])
    said = " ".join(read.output.split())
    total = len(LINE_IMAGES) + len(WORDLESS_IMAGES)
    assert f"{total} images read: 0 refused" in said, said
    assert f"{len(WORDLESS_IMAGES)} without text" in said and f"{len(LINE_IMAGES)} with text" in said, said

    store = open_archive(settings)
    article_id = store.article_id_for_url(page)
    store.engine.dispose()
    with running_site(create_app(settings)) as base:
        images = httpx.get(f"{base}/api/articles/{article_id}").json()["images"]
        assert sorted(p["wordless"] for p in images if p["wordless"]) == sorted(WORDLESS_IMAGES.values())
        assert sum(1 for p in images if p["decoration"] and p["text"]) == 4  # banners, captions
        for sentence, phrase in LINE_IMAGES.values():
            found = httpx.get(f"{base}/api/search", params={"q": phrase}).json()["items"]
            assert [(item["id"], item["in_image"]) for item in found] == [(article_id, True)], sentence
    (caption,) = [p["sha256"] for p in images if p["width"] == 364]
    shown = " ".join(runner.invoke(app, ["--config", config, "images", "show", caption]).output.split())
    assert "comparisons: left out, a decoration (tiny)" in shown, shown
    assert fold("穩穩當當") in fold(shown), shown  # the engine may read a character in its simplified form
    (qr_code,) = [p["sha256"] for p in images if p["wordless"] == "qr_code"]
    shown = runner.invoke(app, ["--config", config, "images", "show", qr_code]).output
    assert "text: not read, it holds none (qr_code)" in shown

    mirror = tmp_path / "mirror"
    build = ["--config", config, "mirror", "build", str(mirror), "--no-search", "--no-raw", "--no-packages"]
    assert runner.invoke(app, build).exit_code == 0
    document = (mirror / "search" / "0" / f"{article_id}.html").read_text()
    # folded to simplified: the pairs of 稳稳当当 where the image says 穩穩當當
    assert search_terms("交通事故") in document and search_terms("稳稳当当") in document


def test_a_long_image_is_read_in_tiles_every_line_once():
    """A post set as one picture, 640 × 12,000 with 16-px lines (shrunk whole to the engine's
    2,000 pixels its text would be under 3 px high): read in overlapping tiles, every line is
    found once, the one drawn across a tile's edge included, with boxes in the image's pixels.
    The lines are sentences of the saved pages (samizdat/testing/pictures.py LINES)."""
    import io
    from difflib import SequenceMatcher

    from PIL import Image, ImageDraw, ImageFont

    from samizdat.relate.pictures import TILE, TILE_OVERLAP, TextReader, hash_picture
    from samizdat.testing.pictures import FONT, LINES

    image = Image.new("RGB", (640, 12_000), (252, 250, 245))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 16)
    tops = [300 + k * 1400 for k in range(len(LINES))]
    tops[1] = TILE - 10  # across the first tile's end, inside the second tile's overlap
    for top, line in zip(tops, LINES, strict=True):
        draw.text((20, top), line, font=font, fill=(50, 50, 50))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    assert hash_picture(data).wordless is None and tops[1] > TILE - TILE_OVERLAP

    lines = TextReader().read(data)
    read = [line.text.replace(" ", "") for line in lines]
    assert len(read) == len(LINES), read
    for line, text in zip(LINES, read, strict=True):  # the engine misreads a character at times
        assert SequenceMatcher(None, fold(line.replace(" ", "")), fold(text)).ratio() >= 0.8, (line, text)
    assert all(abs(found.box[0][1] - top) < 20 for found, top in zip(lines, tops, strict=True))
