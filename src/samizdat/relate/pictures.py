"""Images as evidence: reading an archived image safely, telling content from decoration, and a
perceptual hash that finds the same image elsewhere — resized, recompressed, slightly cropped
or watermarked.

Archived images are untrusted bytes. Pillow is asked for the header first: more than
``MAX_PIXELS`` pixels (a decompression bomb, a 30,000 × 30,000 canvas) is refused before any
pixel is decoded; only the first frame of an animation is read; a truncated file is refused,
not padded. Each refusal says why (:class:`ImageRefused`), so the archive can record it.

An image is hashed as it is (``whole``) and through windows that leave out up to 5 % of its
width and height on either side (``windows``): a repost cropped by a few per cent is, nearly,
one of the original's windows. Each is a pair of 144-bit perceptual hashes: a DCT hash
(``imagehash.phash``) and a gradient hash (``imagehash.dhash``). Two images are the same when
one's whole image is within ``MAX_DISTANCE`` bits, by both hashes, of one of the other's windows.
Candidates are found through 16-bit bands of the DCT hashes (two hashes within 8 bits share at
least one of their nine bands), so a lookup reads a few index rows, not every image.

Two decisions are taken apart, because they answer different questions. A *decoration* (tiny,
a strip, a QR code) is left out of near-duplicate matching: an emoji or a divider is on every
article of an account and would tie them all together. Whether an image is *wordless* (a spacer
or a rule, an icon, a blank picture, a QR code) decides whether it is read for text: a banner
of one line or a caption of 14-px text set as an image is a decoration for matching, and exactly
the image whose words were kept out of the page's text, so it is read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib.util import find_spec

MAX_PIXELS = 40_000_000  # 8,000 × 5,000: far above any article image, far below a bomb
MIN_SIDE = 120  # icons, emoji, bullets, dividers
MAX_ASPECT = 6.0  # separators, banners of a line
# Left and right (top and bottom) shares a window leaves out: none, one side, or both halves.
CROPS = ((0.0, 0.0), (0.05, 0.0), (0.0, 0.05), (0.025, 0.025))
HASH_SIZE = 12  # 144-bit hashes: at 64 bits two chat screenshots in one app's chrome collide
BITS = HASH_SIZE * HASH_SIZE
MAX_DISTANCE = 22  # bits, of 144, for each of the two hashes (bench/image_duplicates.py)
BAND_BITS = 16
# Wordless images (not read for text). Text of 12 px has ink over at least ~8 rows and columns.
SPACER_SIDE = 10  # narrower than this across, no line of text fits
MIN_INK_SPAN = 6  # ink over fewer rows (or columns) than this: a rule, dots, a border
ICON_SIDE = 64  # smaller than this both ways and nearly square: an emoji, a bullet, a badge
ICON_ASPECT = 2.0  # a line of two characters is at least twice as wide as it is high
INK_CONTRAST = 48  # grey levels from the background that count as ink
BLANK_INK = 150  # pixels of ink (at the image's own size): less is not two characters of 12 px
DETAIL_PIXELS = 4_000_000  # the copy the decision is made on: a 640 × 6,250 strip at full size
SHORT_SIDE = 40  # an image this short holds a line of small text at most: read at twice its size
TEXT_MARGIN = 16  # pixels of its own ground put around such a line before reading it
# The engine shrinks what is longer than 2,000 pixels (RapidOCR's max_side_len): an image is read
# with its shorter side at most that, and a longer one in tiles that long, each overlapping the
# next by more than twice a line of text is high.
READ_SIDE = TILE = 2000
TILE_OVERLAP = 128


class ImageRefused(ValueError):
    """Not an image that can be read safely; ``reason`` is a short code, the message says more."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PictureHash:
    width: int
    height: int
    format: str
    frames: int
    windows: tuple[tuple[int, int], ...]  # (DCT, gradient) 144-bit hashes; the whole image's first
    decoration: str | None  # why it is left out of comparisons (tiny, strip, qr_code), or None
    wordless: str | None  # why it is not read for text (spacer, icon, blank, qr_code), or None

    @property
    def whole(self) -> tuple[int, int]:
        return self.windows[0]

    def same_as(self, other: PictureHash) -> bool:
        return same_picture(self.windows, other.windows)


def images_readable() -> bool:
    """Whether the images extra is installed (``pip install 'samizdat[images]'``)."""
    return find_spec("PIL") is not None and find_spec("imagehash") is not None


def same_picture(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> bool:
    """Whether two images, by their windows' hashes (whole image first), are the same picture."""
    return _within(a[0], b) or _within(b[0], a)


def _within(whole: tuple[int, int], windows: tuple[tuple[int, int], ...]) -> bool:
    return any(
        distance(whole[0], dct) <= MAX_DISTANCE and distance(whole[1], gradient) <= MAX_DISTANCE
        for dct, gradient in windows
    )


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def bands(value: int) -> list[int]:
    """The hash's 16-bit bands, each tagged with its place (0–8) in the bits above.

    >>> bands(0x0001_0002_0003_0004)[:5]
    [4, 65539, 131074, 196609, 262144]
    """
    mask = (1 << BAND_BITS) - 1
    return [
        (place << BAND_BITS) | (value >> (place * BAND_BITS) & mask) for place in range(BITS // BAND_BITS)
    ]


def hash_picture(data: bytes) -> PictureHash:
    """Read ``data`` safely (see the module) and hash it; :class:`ImageRefused` when it cannot be."""
    import imagehash

    picture, detail, width, height, image_format, frames = _open(data)
    small = picture.resize((min(picture.width, 256), min(picture.height, 256)))  # hashes see 32 × 32
    windows = []
    for left, right in CROPS:
        for top, bottom in CROPS:
            w, h = small.size
            box = (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
            window = small.crop(box)
            windows.append(
                (
                    int(str(imagehash.phash(window, hash_size=HASH_SIZE)), 16),
                    int(str(imagehash.dhash(window, hash_size=HASH_SIZE)), 16),
                )
            )
    qr_code = _is_qr_code(picture)
    return PictureHash(
        width,
        height,
        image_format,
        frames,
        tuple(windows),
        _decoration(width, height, qr_code),
        _wordless(detail, width, height, qr_code),
    )


def _open(data: bytes):
    """The first frame of ``data`` as RGB twice: at most 512 pixels across (for the hashes) and
    at most ``DETAIL_PIXELS`` in all (whether it holds text: a line of 12-px text in a long
    strip must survive), with the image's own size, format and number of frames; refused as the
    module says."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageRefused(
                    "too_many_pixels", f"{width} × {height} pixels: more than {MAX_PIXELS:,} are not decoded"
                )
            frames = getattr(image, "n_frames", 1)
            image.seek(0)
            scale = min(1.0, (DETAIL_PIXELS / (width * height)) ** 0.5)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            image.draft("RGB", size)  # a large JPEG decodes at a fraction of its size
            image.load()
            detail = image.convert("RGB")
            if detail.size != size and detail.width * detail.height > DETAIL_PIXELS:
                detail = detail.resize(size)
            picture = detail.copy()
            picture.thumbnail((512, 512))
            return picture, detail, width, height, image.format or "?", frames
    except ImageRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRefused("too_many_pixels", f"a decompression bomb: {exc}") from None
    except UnidentifiedImageError as exc:
        raise ImageRefused("not_an_image", f"not an image Pillow reads: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRefused("truncated", f"the image is cut short or broken: {exc}") from None


def _decoration(width: int, height: int, qr_code: bool) -> str | None:
    if min(width, height) < MIN_SIDE:
        return "tiny"
    if max(width, height) / min(width, height) > MAX_ASPECT:
        return "strip"
    if qr_code:
        return "qr_code"
    return None


def _wordless(picture, width: int, height: int, qr_code: bool) -> str | None:
    """See the module: whether an image may hold text is its own decision, not a decoration's."""
    import numpy

    if min(width, height) < SPACER_SIDE:
        return "spacer"
    if max(width, height) < ICON_SIDE and max(width, height) / min(width, height) < ICON_ASPECT:
        return "icon"
    if qr_code:
        return "qr_code"
    pixels = numpy.asarray(picture, dtype=numpy.int16)
    # The background is the commonest colour (at 5 bits a channel); ink differs from it in any
    # channel, so red text on a green ground of the same brightness is ink too.
    coarse = pixels >> 3
    keys = (coarse[..., 0] << 10) | (coarse[..., 1] << 5) | coarse[..., 2]
    commonest = int(numpy.bincount(keys.ravel(), minlength=1 << 15).argmax())
    background = numpy.array([commonest >> 10, (commonest >> 5) & 31, commonest & 31]) * 8 + 4
    ink = numpy.abs(pixels - background).max(axis=2) > INK_CONTRAST
    scale = picture.width / width  # the picture is at most DETAIL_PIXELS in all
    if numpy.count_nonzero(ink) / (scale * scale) < BLANK_INK:
        return "blank"
    rows = numpy.count_nonzero(ink.any(axis=1)) / scale
    columns = numpy.count_nonzero(ink.any(axis=0)) / scale
    if min(rows, columns) < MIN_INK_SPAN:
        return "spacer"
    return None


def _is_qr_code(picture) -> bool:
    """A QR code (an account's follow-me code, on every article of it): OpenCV finds one and
    reads what it says, when OpenCV is there (it comes with the OCR extra). Finding is not
    enough: the finder alone takes a screenshot's square avatar and text for one."""
    try:
        import cv2
        import numpy
    except ImportError:
        return False
    grey = numpy.asarray(picture.convert("L"))
    try:
        said, _, _ = cv2.QRCodeDetector().detectAndDecode(grey)
    except cv2.error:
        return False
    return bool(said)


@dataclass(frozen=True)
class TextLine:
    text: str
    box: tuple[tuple[float, float], ...]  # four corners, in the image's pixels
    confidence: float


class TextReader:
    """The OCR engine (RapidOCR's PP-OCR models for Chinese and English, inside its wheel:
    nothing is downloaded), loaded once. :class:`ImageRefused` when the extra is missing.
    ``threads``: the most the engine may run at once (default: one per core)."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise ImageRefused("no_ocr", "reading text in images needs pip install 'samizdat[ocr]'") from None
        limits = {"intra_op_num_threads": threads, "inter_op_num_threads": threads} if threads else {}
        self._engine = RapidOCR(**limits)

    def read(self, data: bytes) -> list[TextLine]:
        """The lines of text in an image ``hash_picture`` accepted and found not wordless, in
        reading order; their boxes in the image's own pixels. A long image (a post set as one
        picture, ten thousand pixels tall) is read in overlapping tiles at a size its text
        survives, not shrunk whole."""
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            image.seek(0)
            scale = min(1.0, READ_SIDE / min(width, height))
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            image.draft("RGB", size)
            picture = image.convert("RGB")
        if picture.size != size:
            picture = picture.resize(size, Image.LANCZOS)
        if min(size) < SHORT_SIDE and max(size) * 2 + 2 * TEXT_MARGIN <= READ_SIDE:
            # A caption or a banner of one line of small text: read better at twice the size, with
            # room around it (bench/ocr_quality.py: 12-px text, 3.7 % of characters wrong → 0.9 %).
            picture = picture.resize((picture.width * 2, picture.height * 2), Image.LANCZOS)
            size = (picture.width + 2 * TEXT_MARGIN, picture.height + 2 * TEXT_MARGIN)
            framed = Image.new("RGB", size, _edge(picture))
            framed.paste(picture, (TEXT_MARGIN, TEXT_MARGIN))
            return self._lines(framed, scale * 2, (TEXT_MARGIN, TEXT_MARGIN))
        tall = picture.height >= picture.width
        length = picture.height if tall else picture.width
        found: list[TextLine] = []
        for start in range(0, max(length - TILE_OVERLAP, 1), TILE - TILE_OVERLAP):
            end = min(start + TILE, length)
            box = (0, start, picture.width, end) if tall else (start, 0, end, picture.height)
            # Each line is the tile's whose own stretch holds its middle: half of each overlap goes
            # to either side, so a line is kept once, from a tile that holds it whole.
            own_from = start + TILE_OVERLAP / 2 if start else 0
            own_to = end - TILE_OVERLAP / 2 if end < length else length
            for line in self._lines(picture.crop(box), scale, (0, -start) if tall else (-start, 0)):
                middle = sum((y if tall else x) for x, y in line.box) / len(line.box) * scale
                if own_from <= middle < own_to:
                    found.append(line)
            if end == length:
                break
        return found

    def _lines(self, picture, scale: float, offset: tuple[int, int]) -> list[TextLine]:
        """The engine's lines in ``picture``, their boxes moved by ``offset`` and brought back
        to the image's own pixels (``picture`` is the image at ``scale``)."""
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
        found, _ = self._engine(buffer.getvalue())
        dx, dy = offset
        return [
            TextLine(
                str(text),
                tuple(((float(x) - dx) / scale, (float(y) - dy) / scale) for x, y in box),
                float(confidence),
            )
            for box, text, confidence in found or ()
        ]


def _edge(picture) -> tuple[int, int, int]:
    """The commonest colour of the picture's border: the ground its text stands on."""
    from collections import Counter

    width, height = picture.size
    border = [picture.getpixel((x, y)) for x in range(0, width, 4) for y in (0, height - 1)]
    border += [picture.getpixel((x, y)) for y in range(0, height, 4) for x in (0, width - 1)]
    return Counter(border).most_common(1)[0][0]
