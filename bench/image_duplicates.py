"""The same image elsewhere: precision and recall of samizdat's perceptual hashes
(relate/pictures.py) on generated images under the changes reposts make.

Usage: python bench/image_duplicates.py [--bases N] [--negatives P] [--seed S]

N base images are generated (no real image ships with the samples: their inline images were
shrunk to one pixel): half "photos" (gradients, shapes, texture), half screenshots of real
article paragraphs (src/samizdat/testing/pages/wechat, drawn with the CJK font) in one chat-like
UI chrome — the hard negatives: they differ only in their text. Each base is changed the ways
reposts change an image: resized 0.5×, 0.75×, 1.5×, 2×; recompressed as JPEG at quality 30 and
50; cropped 5 % (one side, and all sides); a text watermark; and a resize + crop + JPEG
together. Recall: the share of (base, changed) pairs judged the same; and the share a lookup
through the hash bands finds (the index, not a scan). Precision: false matches among P pairs of
different images (bases and their changed forms).
"""

from __future__ import annotations

import argparse
import io
import itertools
import random
import time

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from samizdat.relate.pictures import bands, distance, hash_picture

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def paragraphs() -> list[str]:
    from samizdat.platforms.base import Article
    from samizdat.platforms.wechat import PLATFORM
    from samizdat.testing.content import WECHAT_PAGES, load_pages

    pool = []
    for page in load_pages(WECHAT_PAGES)[0]:
        parsed = PLATFORM.parse("https://mp.weixin.qq.com/s/x", page)
        if isinstance(parsed, Article):
            pool += [line for line in parsed.text.split("\n") if len(line) >= 30]
    return pool


def photo(rng: random.Random) -> Image.Image:
    width, height = rng.choice([(800, 600), (1080, 720), (640, 960), (1000, 1000)])
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top, bottom = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(2)]
    for y in range(height):
        mix = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a * (1 - mix) + b * mix) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(rng.randrange(4, 12)):
        box = sorted(rng.randrange(width) for _ in range(2)), sorted(rng.randrange(height) for _ in range(2))
        shape = [box[0][0], box[1][0], box[0][1], box[1][1]]
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(shape, fill=colour)
    return image.filter(ImageFilter.GaussianBlur(rng.choice([0, 1, 2])))


def screenshot(rng: random.Random, pool: list[str], font: ImageFont.FreeTypeFont) -> Image.Image:
    width, height = 720, 1280
    image = Image.new("RGB", (width, height), (237, 237, 237))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, 120], fill=(247, 247, 247))  # the app's title bar
    draw.text((300, 45), "群聊(128)", font=font, fill=(0, 0, 0))
    y = 160
    while y < height - 200:
        text = rng.choice(pool)
        mine = rng.random() < 0.4
        lines = [text[i : i + 16] for i in range(0, min(len(text), 64), 16)]
        bubble_h = 44 * len(lines) + 24
        x0 = 380 - 16 * 0 if mine else 110
        draw.rectangle(
            [20 if not mine else 640, y, 80 if not mine else 700, y + 60], fill=(120, 160, 200)
        )  # avatar
        draw.rectangle(
            [x0 if not mine else 120, y, 600 if not mine else 620, y + bubble_h],
            fill=(149, 236, 105) if mine else (255, 255, 255),
        )
        for k, line in enumerate(lines):
            draw.text(((x0 if not mine else 120) + 16, y + 12 + 44 * k), line, font=font, fill=(20, 20, 20))
        y += bubble_h + 40
    return image


def changes(image: Image.Image, rng: random.Random, font: ImageFont.FreeTypeFont) -> dict[str, Image.Image]:
    width, height = image.size

    def jpeg(picture: Image.Image, quality: int) -> Image.Image:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")

    def crop(picture: Image.Image, share: float, all_sides: bool) -> Image.Image:
        w, h = picture.size
        dx, dy = int(w * share), int(h * share)
        return picture.crop(
            (dx // 2, dy // 2, w - dx // 2, h - dy // 2) if all_sides else (0, 0, w - dx, h - dy)
        )

    marked = image.copy()
    ImageDraw.Draw(marked).text(
        (width - 330, height - 70), "@某某公众号 转载", font=font, fill=(255, 255, 255)
    )
    return {
        "resize 0.5×": image.resize((width // 2, height // 2)),
        "resize 0.75×": image.resize((width * 3 // 4, height * 3 // 4)),
        "resize 1.5×": image.resize((width * 3 // 2, height * 3 // 2)),
        "resize 2×": image.resize((width * 2, height * 2)),
        "JPEG q30": jpeg(image, 30),
        "JPEG q50": jpeg(image, 50),
        "crop 5 % one side": crop(image, 0.05, False),
        "crop 5 % all sides": crop(image, 0.05, True),
        "watermark": marked,
        "resize + crop + JPEG": jpeg(crop(image.resize((width * 3 // 4, height * 3 // 4)), 0.05, True), 50),
    }


def encoded(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bases", type=int, default=150)
    parser.add_argument("--negatives", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    font = ImageFont.truetype(FONT, 28)
    pool = paragraphs()
    bases = [photo(rng) if i % 2 == 0 else screenshot(rng, pool, font) for i in range(args.bases)]
    started = time.perf_counter()
    base_hashes = [hash_picture(encoded(b)) for b in bases]
    per_image = (time.perf_counter() - started) / len(bases) * 1000
    by_change: dict[str, list[tuple[bool, bool]]] = {}
    changed_hashes = []
    for index, (base, hashed) in enumerate(zip(bases, base_hashes, strict=True)):
        for name, picture in changes(base, rng, font).items():
            other = hash_picture(encoded(picture))
            changed_hashes.append((index, other))
            stored = {band for dct, _ in hashed.windows for band in bands(dct)}
            indexed = bool(stored & set(bands(other.whole[0])))
            by_change.setdefault(name, []).append((hashed.same_as(other), indexed))
    pairs = list(itertools.combinations(range(len(bases)), 2))
    rng.shuffle(pairs)
    everything = [(i, h) for i, h in enumerate(base_hashes)] + changed_hashes
    negatives = [
        (a, b)
        for a, b in itertools.combinations(range(len(everything)), 2)
        if everything[a][0] != everything[b][0]
    ]
    chosen = rng.sample(negatives, min(args.negatives, len(negatives)))
    false = [(a, b) for a, b in chosen if everything[a][1].same_as(everything[b][1])]
    near = sorted(distance(everything[a][1].whole[0], everything[b][1].whole[0]) for a, b in chosen)[:5]
    total = [same for results in by_change.values() for same, _ in results]
    found = [indexed and same for results in by_change.values() for same, indexed in results]
    photos = (len(bases) + 1) // 2
    print(f"{len(bases)} base images ({photos} photos, {len(bases) - photos} screenshots)")
    print(f"hashing: {per_image:.1f} ms an image")
    for name, results in by_change.items():
        same = sum(s for s, _ in results) / len(results)
        indexed = sum(s and i for s, i in results) / len(results)
        print(f"  {name:22s} recall {same:.3f}, through the index {indexed:.3f}")
    print(f"recall {sum(total) / len(total):.3f} ({sum(total)} of {len(total)})")
    print(f"through the index {sum(found) / len(found):.3f}")
    print(f"false matches: {len(false)} in {len(chosen):,} pairs of different images")
    print(f"closest DCT distances between different images: {near}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
