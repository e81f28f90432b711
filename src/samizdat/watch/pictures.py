"""Reading archived images once, by content: their perceptual hashes (the same image elsewhere)
and, with the OCR extra, the text in them (relate/pictures.py). ``samizdat images read`` works
through the backlog; a refusal (a bomb, a truncated file, not an image) is recorded with its
reason, so the image is not tried again and the archive can say why."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from samizdat.archive import CorruptRecord, read_record
from samizdat.archive.storage import WarcFiles
from samizdat.config import Settings
from samizdat.fetch.decode import ContentEncodingError
from samizdat.relate.pictures import ImageRefused, PictureHash, TextReader, hash_picture
from samizdat.store import Store
from samizdat.store.pictures import ImageFacts
from samizdat.watch.background import Background, Step

MAX_IMAGE_BYTES = 50_000_000
BATCH = 20
STEP = 4  # images a background step reads: a few seconds of OCR, then its rest

log = logging.getLogger(__name__)


@dataclass
class ReadingReport:
    read: int = 0
    refused: int = 0
    decorations: int = 0  # left out of comparisons (tiny, strips, QR codes)
    wordless: int = 0  # not read for text (spacers, icons, blank pictures, QR codes)
    with_text: int = 0
    text_read: int = 0  # images the OCR read (with text in them or not)
    seconds_reading_text: float = 0.0

    def add(self, other: ReadingReport) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def image_bytes(store: Store, warcs: WarcFiles, sha256: str) -> bytes:
    stored = store.blob(sha256)
    if stored is None:
        raise ImageRefused("missing", "no such image in the archive")
    try:
        return read_record(warcs, stored.ref).body(MAX_IMAGE_BYTES)
    except (CorruptRecord, ContentEncodingError) as exc:
        raise ImageRefused("unreadable_record", f"its WARC record cannot be read: {exc}") from None


def read_image(data: bytes, sha256: str, reader: TextReader | None, known: ImageFacts | None) -> ImageFacts:
    """What one image holds; the hashes of ``known`` facts are kept when only its text is new."""
    now = datetime.now(UTC)
    facts = known
    if facts is None:
        try:
            hashed = hash_picture(data)
        except ImageRefused as exc:
            return ImageFacts(sha256, now, refused=exc.reason, message=str(exc))
        facts = hashed_facts(sha256, now, hashed)
    if reader is None or facts.refused or facts.wordless:
        return facts
    try:
        lines = reader.read(data)
    except Exception as exc:  # the engine failing on one image is recorded; the others go on
        log.warning("the text of image %s could not be read: %r", sha256, exc)
        return replace(facts, ocr_text="", ocr_lines=(), ocr_at=datetime.now(UTC), message=f"text: {exc!r}")
    return replace(
        facts,
        ocr_text="\n".join(line.text for line in lines),
        ocr_lines=tuple(
            {
                "text": line.text,
                "box": [list(corner) for corner in line.box],
                "confidence": round(line.confidence, 4),
            }
            for line in lines
        ),
        ocr_at=datetime.now(UTC),
    )


def hashed_facts(sha256: str, at: datetime, hashed: PictureHash) -> ImageFacts:
    """What hashing an image found, as the archive records it."""
    return ImageFacts(
        sha256,
        at,
        hashed.width,
        hashed.height,
        hashed.format,
        hashed.frames,
        decoration=hashed.decoration,
        wordless=hashed.wordless,
        windows=hashed.windows,
    )


def read_images(store: Store, warcs: WarcFiles, reader: TextReader | None, limit: int) -> ReadingReport:
    """Read up to ``limit`` images of the backlog (with a ``reader``: for their text too)."""
    report = ReadingReport()
    found = []
    for sha256 in store.images_to_read(limit, text=reader is not None):
        known = store.image_facts(sha256)
        try:
            data = image_bytes(store, warcs, sha256)
        except ImageRefused as exc:
            found.append(ImageFacts(sha256, datetime.now(UTC), refused=exc.reason, message=str(exc)))
            continue
        started = time.perf_counter()
        facts = read_image(data, sha256, reader, known)
        if facts.ocr_at is not None and (known is None or known.ocr_at is None):
            report.seconds_reading_text += time.perf_counter() - started
            report.text_read += 1
        found.append(facts)
    store.record_image_facts(found)
    for facts in found:
        report.read += 1
        report.refused += facts.refused is not None
        report.decorations += facts.decoration is not None
        report.wordless += facts.wordless is not None
        report.with_text += bool(facts.ocr_text)
    return report


def read_backlog(
    store: Store,
    warcs: WarcFiles,
    *,
    text: bool,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReadingReport:
    """Read every image not read yet (with ``text``: for its text too), ``limit`` at most."""
    reader = TextReader() if text else None
    total = store.backlog(text=text)
    total = min(total, limit) if limit is not None else total
    report = ReadingReport()
    while report.read < total:
        batch = read_images(store, warcs, reader, min(BATCH, total - report.read))
        if not batch.read:
            break
        report.add(batch)
        if progress:
            progress(report.read, total)
    return report


def reading_process(settings: Settings) -> Background:
    """The watcher's image reader: niced, and at most ``images.cpu_share`` of one core."""
    return Background("read-images", reading_images, settings, share=settings.images.cpu_share, niceness=10)


@contextmanager
def reading_images(settings: Settings) -> Iterator[Step]:
    from samizdat.archive.storage import warc_storage
    from samizdat.store import open_store

    reader = None
    if settings.images.text:
        try:
            reader = TextReader(threads=1)  # one core: the share is of one core
        except ImageRefused as exc:
            log.info("images are read for their hashes only: %s", exc)
    store = open_store(settings.database_url)
    warcs = warc_storage(settings)
    try:
        yield lambda: read_images(store, warcs, reader, STEP).read
    finally:
        store.engine.dispose()
