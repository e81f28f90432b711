"""The text in images: character error rate of samizdat's OCR (relate/pictures.py, RapidOCR)
on real article sentences drawn into images, by kind, and its time per image.

Usage: python bench/ocr_quality.py [--sentences N] [--seed S]

N sentences of 8 to 30 characters from the real saved pages (src/samizdat/testing/pages/wechat)
are drawn with the CJK font (Noto Sans CJK) as: plain (black on white, 28 px), screenshot-like
(in a chat app's chrome: title bar, bubbles, avatars, grey ground), the plain image as JPEG at
quality 50, small text (12 px), and traditional characters (the sentence through OpenCC s2t,
plain). The character error rate is the edit distance between the sentence and what the OCR
read (its lines joined, spaces left out), over the sentence's length.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time

import opencc
from PIL import Image, ImageDraw, ImageFont

from samizdat.relate.pictures import TextReader

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def sentences(count: int, rng: random.Random) -> list[str]:
    import re

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


def read(reader: TextReader, image: Image.Image, rows: tuple[int, int] | None) -> tuple[str, float]:
    """What the OCR read (of the lines whose middle lies within ``rows``: the bubble of a
    screenshot, not its chrome's own words), and how long it took."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    started = time.perf_counter()
    lines = reader.read(buffer.getvalue())
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
    traditional = opencc.OpenCC("s2t")
    kinds = {  # (the text, its image, the rows the text is in)
        "plain": lambda s: (s, plain(s), None),
        "screenshot-like": lambda s: (s, screenshot(s), (140, 230)),
        "JPEG quality 50": lambda s: (s, jpeg(plain(s), 50), None),
        "small text (12 px)": lambda s: (s, plain(s, 12), None),
        "traditional": lambda s: (traditional.convert(s), plain(traditional.convert(s)), None),
    }
    reader = TextReader()
    timings = []
    print(f"{len(chosen)} sentences of {min(map(len, chosen))}–{max(map(len, chosen))} characters")
    for kind, make in kinds.items():
        errors, characters = 0, 0
        for sentence in chosen:
            truth, image, rows = make(sentence)
            found, seconds = read(reader, image, rows)
            timings.append(seconds)
            expected = truth.replace(" ", "")
            errors += edit_distance(expected, found)
            characters += len(expected)
        print(f"  {kind:20s} character error rate {errors / characters:.2%} ({errors} of {characters})")
    median, longest = statistics.median(timings) * 1000, max(timings) * 1000
    print(f"OCR time per image: median {median:.0f} ms, max {longest:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
