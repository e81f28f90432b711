"""Pages with real pictures, for the image tests and demos: a photo, the same photo resized and
recompressed under another address, a screenshot with a real article sentence in it, and an
icon; and a repost of the screenshot alone. Drawn with Pillow when requested
(``samizdat[images]``); the sentence is from the saved page ``pre-deletion/gh_4343d07caa0c…``
(PROVENANCE.md)."""

from __future__ import annotations

import functools
import hashlib
import io

SENTENCE = "此内容因违规无法查看"
SCREENSHOT_TEXT = ("该公众号发布的文章已被删除", "北约峰会在维尔纽斯召开")
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

PAGE = (
    "<html><head><title>图片里的证据</title></head><body><article><h1>图片里的证据</h1>"
    "<p>这篇报道的大部分内容都在图片里：一张照片、一张聊天截图和一个图标。</p>"
    '<img src="/ext/pictures/photo.png">'
    "<p>同一张照片的另一个版本，尺寸和压缩都不同，是转载者重新上传的。</p>"
    '<img src="/ext/pictures/photo-small.jpg">'
    "<p>下面是一张截图，文字在图片里，页面上没有。</p>"
    '<img src="/ext/pictures/screenshot.png">'
    '<p>文末的图标。</p><img src="/ext/pictures/icon.png"></article></body></html>'
)

# A repost of the screenshot alone, under the same address: its text is in no page's text.
REPOST = (
    "<html><head><title>转发：一张截图</title></head><body><article><h1>转发：一张截图</h1>"
    "<p>有读者转来了这张截图，原文已经看不到了，我们把它留在这里。</p>"
    '<img src="/ext/pictures/screenshot.png"></article></body></html>'
)


# Lines of the saved pre-deletion pages (PROVENANCE.md: gh_1ede6c42db01…, gh_2ac9b41ee17c…,
# gh_49a4d3be672d…, gh_62913c457c3a…), for the screenshots of ``text_picture``.
LINES = (
    "医院门口发生交通事故",
    "求助医生却被告知值班不能脱岗",
    "这是当年改革的残酷代价",
    "分税制：从增量改革到整体改革",
    "我问都是哪些人的婚礼啊",
    "一趟31个站点 稳稳当当最重要",
    *SCREENSHOT_TEXT,
)


@functools.lru_cache(maxsize=20_000)
def text_picture(seed: str) -> bytes | None:
    """A screenshot-like PNG with two of ``LINES`` in it, chosen and tinted by ``seed``: the
    simulator's image assets when it serves pictures (``Simulator(pictures=True)``), so that
    captures leave a backlog with text for OCR. None when Pillow is missing."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return None
    digest = hashlib.sha256(seed.encode()).digest()
    image = Image.new("RGB", (720, 400), (230 + digest[0] % 20, 230 + digest[1] % 20, 230 + digest[2] % 20))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 720, 64], fill=(40 + digest[3] % 60, 90, 160))
    font = ImageFont.truetype(FONT, 30) if _has_font() else ImageFont.load_default()
    for k in range(2):
        line = LINES[digest[4 + k] % len(LINES)]
        draw.rectangle([60, 110 + k * 130, 680, 200 + k * 130], fill=(255, 255, 255))
        draw.text((80, 130 + k * 130), line, font=font, fill=(20, 20, 20))
    return _saved(image, "PNG")


def picture(name: str) -> tuple[bytes, str] | None:
    """The picture ``name`` of the page, with its media type; None when unknown or Pillow missing."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return None
    if name in ("photo.png", "photo-small.jpg"):
        image = Image.new("RGB", (900, 600), (40, 90, 160))
        draw = ImageDraw.Draw(image)
        for k in range(8):
            draw.ellipse(
                [60 + k * 90, 80 + k * 40, 260 + k * 90, 240 + k * 40], fill=(200 - k * 20, 120 + k * 10, 60)
            )
        if name == "photo-small.jpg":
            image = image.resize((600, 400))
            return _saved(image, "JPEG", quality=50), "image/jpeg"
        return _saved(image, "PNG"), "image/png"
    if name == "screenshot.png":
        image = Image.new("RGB", (720, 400), (237, 237, 237))
        draw = ImageDraw.Draw(image)
        draw.rectangle([0, 0, 720, 70], fill=(247, 247, 247))
        font = ImageFont.truetype(FONT, 30) if _has_font() else ImageFont.load_default()
        for k, line in enumerate(SCREENSHOT_TEXT):
            draw.rectangle([100, 110 + k * 120, 660, 190 + k * 120], fill=(255, 255, 255))
            draw.text((120, 125 + k * 120), line, font=font, fill=(20, 20, 20))
        return _saved(image, "PNG"), "image/png"
    if name == "icon.png":
        return _saved(Image.new("RGB", (48, 48), (200, 30, 30)), "PNG"), "image/png"
    return None


def _has_font() -> bool:
    import os

    return os.path.exists(FONT)


def _saved(image, kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()
