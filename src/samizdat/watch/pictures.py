"""Reading archived images once, by content: their perceptual hashes (the same image elsewhere)
and, with the OCR extra, the text in them (relate/pictures.py). ``samizdat images read`` works
through the backlog; a refusal (a bomb, a truncated file, not an image) is recorded with its
reason, so the image is not tried again and the archive can say why."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from samizdat.archive import CorruptRecord, read_record
from samizdat.archive.storage import WarcFiles
from samizdat.fetch.decode import ContentEncodingError
from samizdat.relate.pictures import ImageRefused, TextReader, hash_picture
from samizdat.store import Store
from samizdat.store.pictures import ImageFacts

MAX_IMAGE_BYTES = 50_000_000
BATCH = 20


@dataclass
class ReadingReport:
    read: int = 0
    refused: int = 0
    decorations: int = 0
    with_text: int = 0
    text_read: int = 0  # images the OCR read (with text in them or not)
    seconds_reading_text: float = 0.0


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
        facts = ImageFacts(
            sha256,
            now,
            hashed.width,
            hashed.height,
            hashed.format,
            hashed.frames,
            decoration=hashed.decoration,
            windows=hashed.windows,
        )
    if reader is None or facts.decoration or facts.refused:
        return facts
    lines = reader.read(data)
    facts = replace(
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
    return facts


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
    done = 0
    while done < total:
        batch = store.images_to_read(min(BATCH, total - done), text=text)
        if not batch:
            break
        found = []
        for sha256 in batch:
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
            report.with_text += bool(facts.ocr_text)
        done += len(batch)
        if progress:
            progress(done, total)
    return report
