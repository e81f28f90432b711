"""Pages with real pictures, for the image tests and demos: a photo, the same photo resized and
recompressed under another address, a screenshot with a real article sentence in it, and an
icon; and a repost of the screenshot alone. Drawn with Pillow when requested
(``samizdat[images]``); the sentence is from the saved page ``pre-deletion/gh_4343d07caa0c…``
(PROVENANCE.md).

``LINES_PAGE``: a news page whose sentences exist only in its images, set as text is set to
keep it from keyword filters: two one-line banners (660 × 72 on white, 630 × 72 white on red),
two screenshot-like JPEGs (640 × 162 at quality 50), two captions of 14-px text in traditional
characters (about 270 × 33 and 360 × 33); and what holds no text: an icon, a QR code, a
spacer, a rule and a blank picture."""

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


# The sentences of LINES_PAGE's images (from LINES, the two captions in traditional characters),
# each with a four-character phrase a reader would search for.
LINE_IMAGES = {
    "banner-plain.png": ("医院门口发生交通事故", "交通事故"),
    "banner-red.png": ("求助医生却被告知值班不能脱岗", "值班不能"),
    "shot-1.jpg": ("这是当年改革的残酷代价", "残酷代价"),
    "shot-2.jpg": ("分税制：从增量改革到整体改革", "增量改革"),
    "caption-1.png": ("我問都是哪些人的婚禮啊", "哪些人的"),
    "caption-2.png": ("一趟31個站點 穩穩當當最重要", "稳稳当当"),
}
WORDLESS_IMAGES = {  # name: why it holds no text (relate/pictures.py)
    "badge.png": "icon",
    "follow-qr.png": "qr_code",
    "spacer.png": "spacer",
    "rule.png": "spacer",
    "blank.png": "blank",
}
_BETWEEN = (
    "这篇报道的关键句子都做成了图片，页面的文字里没有它们。",
    "记者在现场看到，事发路口的车辆排起了长队，附近的商户也出来帮忙。",
    "几位受访者都提到了同一件事，但他们不愿意在文字里写出来。",
    "下面这张截图来自一个已经解散的群聊，发图的人后来删掉了自己的账号。",
    "图片下方的小字是原文的说明，转载时常常被裁掉。",
    "文末照例附上公众号的二维码和分隔线。",
)
LINES_PAGE = (
    "<html><head><title>图片里的一句话</title></head><body><article><h1>图片里的一句话</h1>"
    + "".join(
        f'<p>{_BETWEEN[k % len(_BETWEEN)]}</p><p><img src="/ext/pictures/{name}"></p>'
        for k, name in enumerate([*LINE_IMAGES, *WORDLESS_IMAGES])
    )
    + "</article></body></html>"
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
    if name in LINE_IMAGES or name in WORDLESS_IMAGES:
        return _line_picture(name)
    return None


def _line_picture(name: str) -> tuple[bytes, str] | None:
    from PIL import Image, ImageDraw, ImageFont

    def written(size, ground, ink, text, px, left, top):
        image = Image.new("RGB", size, ground)
        font = ImageFont.truetype(FONT, px) if _has_font() else ImageFont.load_default()
        ImageDraw.Draw(image).text((left, top), text, font=font, fill=ink)
        return image

    text = LINE_IMAGES.get(name, ("", ""))[0]
    if name.startswith("banner-"):
        plain = name == "banner-plain.png"
        image = (
            written((660, 72), (255, 255, 255), (30, 30, 30), text, 34, 24, 12)
            if plain
            else written((630, 72), (190, 32, 38), (255, 255, 255), text, 32, 20, 14)
        )
        return _saved(image, "PNG"), "image/png"
    if name.startswith("shot-"):
        image = written((640, 162), (237, 237, 237), (20, 20, 20), text, 26, 90, 64)
        draw = ImageDraw.Draw(image)
        draw.rectangle([0, 0, 640, 40], fill=(247, 247, 247))  # an app's bar
        draw.ellipse([20, 56, 70, 106], fill=(120, 160, 200))  # the sender's avatar
        return _saved(image, "JPEG", quality=50), "image/jpeg"
    if name.startswith("caption-"):
        width = 266 if name == "caption-1.png" else 364
        ground = (255, 255, 255) if name == "caption-1.png" else (250, 240, 205)
        return _saved(written((width, 33), ground, (90, 90, 90), text, 14, 8, 7), "PNG"), "image/png"
    if name == "badge.png":
        image = Image.new("RGB", (40, 40), (255, 255, 255))
        ImageDraw.Draw(image).ellipse([4, 4, 36, 36], fill=(7, 193, 96))
        return _saved(image, "PNG"), "image/png"
    if name == "follow-qr.png":
        try:
            import cv2
        except ImportError:
            return None
        code = cv2.QRCodeEncoder.create().encode("https://mp.weixin.qq.com/mp/profile_ext?__biz=MzA5")
        image = Image.fromarray(code).resize((code.shape[1] * 8, code.shape[0] * 8), Image.NEAREST)
        framed = Image.new("RGB", (image.width + 40, image.height + 40), (255, 255, 255))
        framed.paste(image.convert("RGB"), (20, 20))
        return _saved(framed, "PNG"), "image/png"
    if name == "spacer.png":
        return _saved(Image.new("RGB", (640, 6), (255, 255, 255)), "PNG"), "image/png"
    if name == "rule.png":
        image = Image.new("RGB", (640, 24), (255, 255, 255))
        ImageDraw.Draw(image).rectangle([40, 11, 600, 12], fill=(180, 180, 180))
        return _saved(image, "PNG"), "image/png"
    return _saved(Image.new("RGB", (640, 120), (252, 252, 252)), "PNG"), "image/png"  # blank.png


def _has_font() -> bool:
    import os

    return os.path.exists(FONT)


def _saved(image, kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()
