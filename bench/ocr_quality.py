"""The text in images: which images samizdat reads for text, how well and how fast
(relate/pictures.py, RapidOCR), on real article sentences drawn into images, by kind.

Usage: python bench/ocr_quality.py [--sentences N] [--seed S]

N sentences of 8 to 30 characters from the real saved pages (src/samizdat/testing/pages/wechat)
are drawn with the CJK font (Noto Sans CJK) as: plain (black on white, 28 px, wide margins),
screenshot-like (in a chat app's chrome: title bar, bubbles, avatars, grey ground), the plain
image as JPEG at quality 50, small text (12 px), traditional characters (OpenCC s2t); one-line
images cut tight around their text as banners and captions are (12, 14 and 16 px; white on a
coloured banner; traditional at 14 px); long strips holding five sentences; and long posts set
as one picture (640 px wide, ten sentences of 16-px text between pictures 1,000 px high: about
11,000 px tall).

For each kind: the share of images read for text (``wordless`` is None; before issue 27 an image
was read only when it was not a decoration, also shown), the character error rate (edit
distance between the text and what the OCR read, lines joined and spaces left out, over the
text's length), the share of texts whose first four characters search finds in what was read
(both folded as search folds them), and the OCR's median time per image.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import statistics
import time

import opencc
from PIL import Image, ImageDraw, ImageFont

from samizdat.folding import fold
from samizdat.relate.pictures import TextReader, hash_picture

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def sentences(count: int, rng: random.Random) -> list[str]:
    from samizdat.platforms.base import Article
    from samizdat.platforms.wechat import PLATFORM
    from samizdat.testing.content import WECHAT_PAGES, load_pages

    pool = []
    for page in load_pages(WECHAT_PAGES)[0]:
        parsed = PLATFORM.parse("https://mp.weixin.qq.com/s/x", page)
        if isinstance(parsed, Article):
            for line in parsed.text.split("\n"):
                pool += [s for s in re.split(r"(?<=[。！？；])", line) if 8 <= len(s.strip()) <= 30]
    return rng.sample(sorted(set(s.strip() for s in pool)), count)


def plain(text: str, size: int = 28) -> Image.Image:
    font = ImageFont.truetype(FONT, size)
    width = int(font.getlength(text)) + 2 * size
    image = Image.new("RGB", (max(width, 200), size * 3), "white")
    ImageDraw.Draw(image).text((size, size), text, font=font, fill="black")
    return image


def tight(text: str, size: int, ground=(255, 255, 255), ink=(60, 60, 60)) -> Image.Image:
    """A line cut close around its text, as a caption or a banner set as an image is."""
    font = ImageFont.truetype(FONT, size)
    margin = max(4, size // 2)
    image = Image.new("RGB", (int(font.getlength(text)) + 2 * margin, round(size * 1.4) + margin), ground)
    ImageDraw.Draw(image).text((margin, margin // 2), text, font=font, fill=ink)
    return image


def strip(lines: list[str], size: int = 22, width: int = 480, block: int = 0) -> Image.Image:
    """A long image (a post set as one picture): each sentence wrapped to ``width`` between
    pictures ``block`` pixels high (default: so tall that it is a strip, more than six times as
    high as wide)."""
    font = ImageFont.truetype(FONT, size)
    per_line = (width - 2 * size) // size
    wrapped = [[line[i : i + per_line] for i in range(0, len(line), per_line)] for line in lines]
    block = block or 6 * width // len(lines)
    height = sum(len(w) * size * 2 for w in wrapped) + block * len(lines) + size
    image = Image.new("RGB", (width, height), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    top = size
    for k, rows in enumerate(wrapped):
        for row in rows:
            draw.text((size, top), row, font=font, fill=(40, 40, 40))
            top += size * 2
        draw.rectangle([size, top, width - size, top + block - size], fill=(90 + 30 * k, 140, 170))
        top += block
    return image


def screenshot(text: str) -> Image.Image:
    font = ImageFont.truetype(FONT, 28)
    title = ImageFont.truetype(FONT, 30)
    width = max(720, int(font.getlength(text)) + 260)
    image = Image.new("RGB", (width, 420), (237, 237, 237))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, 90], fill=(247, 247, 247))
    draw.text((width // 2 - 60, 28), "群聊(58)", font=title, fill=(0, 0, 0))
    draw.text((24, 28), "<", font=title, fill=(0, 0, 0))
    draw.rectangle([30, 150, 100, 220], fill=(110, 150, 200))  # an avatar
    draw.rectangle([120, 150, 120 + int(font.getlength(text)) + 40, 220], fill=(255, 255, 255))
    draw.text((140, 166), text, font=font, fill=(25, 25, 25))
    draw.rectangle([0, 340, width, 420], fill=(247, 247, 247))  # the input bar
    return image


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def phrase(text: str) -> str:
    """The first four Chinese characters in a row: what a reader would search for."""
    found = re.search(r"[\u4e00-\u9fff]{4}", text)
    return found.group(0) if found else text[:4]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def read(reader: TextReader, data: bytes, rows: tuple[int, int] | None) -> tuple[str, float]:
    """What the OCR read (of the lines whose middle lies within ``rows``: the bubble of a
    screenshot, not its chrome's own words), and how long it took."""
    started = time.perf_counter()
    lines = reader.read(data)
    seconds = time.perf_counter() - started
    if rows is not None:
        lines = [line for line in lines if rows[0] <= sum(y for _, y in line.box) / 4 <= rows[1]]
    return "".join(line.text for line in lines).replace(" ", ""), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    chosen = sentences(args.sentences, rng)
    s2t = opencc.OpenCC("s2t").convert
    kinds = {  # (the text, its image, the rows the text is in)
        "plain, 28 px": lambda s, k: (s, plain(s), None),
        "screenshot-like": lambda s, k: (s, screenshot(s), (140, 230)),
        "JPEG quality 50": lambda s, k: (s, jpeg(plain(s), 50), None),
        "small text, 12 px": lambda s, k: (s, plain(s, 12), None),
        "traditional, 28 px": lambda s, k: (s2t(s), plain(s2t(s)), None),
        "one line, 12 px, tight": lambda s, k: (s, tight(s, 12), None),
        "one line, 14 px, tight": lambda s, k: (s, tight(s, 14), None),
        "one line, 16 px, tight": lambda s, k: (s, tight(s, 16), None),
        "banner, white on red": lambda s, k: (s, tight(s, 30, (190, 32, 38), (255, 255, 255)), None),
        "traditional, 14 px, tight": lambda s, k: (s2t(s), tight(s2t(s), 14), None),
        "long strip, 5 lines": lambda s, k: (
            "".join(chosen[(k + j) % len(chosen)] for j in range(5)),
            strip([chosen[(k + j) % len(chosen)] for j in range(5)]),
            None,
        ),
        "long post, 10 lines of 16 px": lambda s, k: (
            "".join(chosen[(k + j) % len(chosen)] for j in range(10)),
            strip([chosen[(k + j) % len(chosen)] for j in range(10)], size=16, width=640, block=1000),
            None,
        ),
    }
    reader = TextReader()
    print(f"{len(chosen)} sentences of {min(map(len, chosen))}–{max(map(len, chosen))} characters")
    print(f"  {'kind':28s} {'size':>10s}  read (before)   CER              phrase found   median")
    for kind, make in kinds.items():
        errors = characters = read_now = read_before = found_phrase = 0
        timings, sizes = [], []
        for k, sentence in enumerate(chosen):
            truth, image, rows = make(sentence, k)
            data = png(image)
            hashed = hash_picture(data)
            sizes.append(image.size)
            read_before += hashed.decoration is None
            expected = truth.replace(" ", "")
            characters += len(expected)
            if hashed.wordless is not None:
                errors += len(expected)
                continue
            read_now += 1
            found, seconds = read(reader, data, rows)
            timings.append(seconds)
            errors += edit_distance(expected, found)
            found_phrase += fold(phrase(expected)) in fold(found)
        width, height = (statistics.median(side) for side in zip(*sizes, strict=True))
        size = f"{width:.0f}×{height:.0f}"
        median = statistics.median(timings) * 1000 if timings else 0
        count = len(chosen)
        print(
            f"  {kind:28s} {size:>11s}  {read_now:2d}/{count} ({read_before:2d}/{count})  "
            f"{errors / characters:6.2%} ({errors:3d}/{characters:4d})  "
            f"{found_phrase:2d}/{count}        {median:5.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
