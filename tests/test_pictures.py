"""Images as evidence (relate/pictures.py): hostile images end in a clear reason, bounded in time
and memory; decorations are told apart; reposted copies (resized, recompressed, cropped,
watermarked) are the same image and different images are not. The images are generated here
and in bench/image_duplicates.py (the sample pages' own images were shrunk to one pixel)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest

from tests.helpers import bench_module, missing

try:
    import imagehash  # noqa: F401
    from PIL import Image, ImageDraw
except ImportError:
    missing("Pillow and imagehash: pip install 'samizdat[images]'", module=True)

from samizdat.relate.pictures import ImageRefused, bands, hash_picture


def _png(width: int, height: int, rows: int) -> bytes:
    """A PNG whose header says ``width`` × ``height`` and whose data holds ``rows`` rows."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    data = zlib.compress((b"\0" + b"\0" * width) * rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, kind: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def _photo(seed: int, size=(800, 600)) -> Image.Image:
    image = Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256))
    draw = ImageDraw.Draw(image)
    for k in range(6):
        x, y = (seed * 131 + k * 97) % size[0], (seed * 71 + k * 53) % size[1]
        draw.ellipse([x, y, x + 150 + k * 20, y + 120], fill=((k * 40) % 256, 200 - k * 30, (seed * k) % 256))
    return image


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_png(30_000, 30_000, 1), "too_many_pixels"),  # a 900-megapixel canvas: header only
        (_png(20_000, 20_000, 2), "too_many_pixels"),  # a decompression bomb's shape
        (_encoded(_photo(1), "JPEG")[:3000], "truncated"),
        (_encoded(_photo(2))[:-200], "truncated"),
        (b"<html><body>not an image</body></html>", "not_an_image"),
        (b"", "not_an_image"),
    ],
    ids=["30000x30000", "bomb", "jpeg-cut", "png-cut", "html", "empty"],
)
def test_hostile_images_are_refused_with_their_reason_at_once(data, reason):
    started = time.perf_counter()
    with pytest.raises(ImageRefused) as refused:
        hash_picture(data)
    assert refused.value.reason == reason, str(refused.value)
    assert time.perf_counter() - started < 2


def test_an_animation_of_a_thousand_frames_is_read_by_its_first_frame():
    frames = []
    for k in range(1000):  # each frame differs (identical ones would be merged when saved)
        frame = Image.new("L", (200, 200), 255)
        ImageDraw.Draw(frame).rectangle([k % 180, k // 6 % 180, k % 180 + 20, k // 6 % 180 + 20], fill=0)
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=20)
    started = time.perf_counter()
    hashed = hash_picture(buffer.getvalue())
    assert hashed.frames == 1000 and hashed.format == "GIF"
    assert time.perf_counter() - started < 5


def test_icons_strips_and_qr_codes_are_decorations():
    assert hash_picture(_encoded(_photo(3, (64, 64)))).decoration == "tiny"
    assert hash_picture(_encoded(_photo(4, (1400, 200)))).decoration == "strip"
    assert hash_picture(_encoded(_photo(5))).decoration is None
    try:
        import cv2
    except ImportError:
        missing("OpenCV: pip install 'samizdat[ocr]'")
    code = cv2.QRCodeEncoder.create().encode("https://mp.weixin.qq.com/mp/qrcode?scene=10000004")
    qr = Image.fromarray(code).resize((code.shape[1] * 10, code.shape[0] * 10), Image.NEAREST)
    framed = Image.new("L", (qr.width + 80, qr.height + 80), 255)
    framed.paste(qr, (40, 40))
    assert hash_picture(_encoded(framed)).decoration == "qr_code"


def test_reposted_copies_are_the_same_image_and_different_images_are_not():
    duplicates = bench_module("image_duplicates")
    import random

    from PIL import ImageFont

    rng = random.Random(5)
    font = ImageFont.truetype(duplicates.FONT, 28)
    pool = duplicates.paragraphs()
    bases = [
        duplicates.photo(rng) if i % 2 == 0 else duplicates.screenshot(rng, pool, font) for i in range(8)
    ]
    hashes = [hash_picture(duplicates.encoded(b)) for b in bases]
    for base, hashed in zip(bases, hashes, strict=True):
        for name, changed in duplicates.changes(base, rng, font).items():
            other = hash_picture(duplicates.encoded(changed))
            assert hashed.same_as(other), name
            stored = {band for dct, _ in hashed.windows for band in bands(dct)}
            assert stored & set(bands(other.whole[0])), f"{name}: not found through the index"
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert not a.same_as(b)  # screenshots in one chrome differ only by their text
