"""What reading each archived image found (``image_facts``), and its near-duplicates through the
bands of its perceptual hashes (``image_bands``; relate/pictures.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.engine import Connection

from samizdat.store.schema import articles, blobs, image_bands, image_facts, version_blobs, versions
from samizdat.store.search import refresh_image_text


@dataclass(frozen=True)
class ImageFacts:
    sha256: str
    analysed_at: datetime
    width: int | None = None
    height: int | None = None
    format: str | None = None
    frames: int | None = None
    refused: str | None = None
    message: str | None = None
    decoration: str | None = None
    wordless: str | None = None
    windows: tuple[tuple[int, int], ...] = ()
    ocr_text: str | None = None
    ocr_lines: tuple[dict, ...] | None = None
    ocr_at: datetime | None = None

    @property
    def comparable(self) -> bool:
        return bool(self.windows) and self.refused is None and self.decoration is None


@dataclass(frozen=True)
class ImageElsewhere:
    """An image of an article, and the other archived articles that show the same image."""

    sha256: str
    facts: ImageFacts | None
    articles: tuple[tuple[int, str | None, str], ...]  # (id, title, state)

    @property
    def removed(self) -> int:
        return sum(1 for _, _, state in self.articles if state == "removed")


# Images never read, and images read for their hashes only (not wordless, not refused).
_UNREAD = select(blobs.c.sha256).where(
    blobs.c.media_type.like("image/%"), ~blobs.c.sha256.in_(select(image_facts.c.sha256))
)
_TEXT_UNREAD = select(image_facts.c.sha256).where(
    image_facts.c.ocr_at.is_(None), image_facts.c.refused.is_(None), image_facts.c.wordless.is_(None)
)


def _facts(row) -> ImageFacts:
    return ImageFacts(
        row.sha256,
        row.analysed_at,
        row.width,
        row.height,
        row.format,
        row.frames,
        row.refused,
        row.message,
        row.decoration,
        row.wordless,
        tuple((int(dct, 16), int(gradient, 16)) for dct, gradient in row.windows or ()),
        row.ocr_text,
        tuple(row.ocr_lines) if row.ocr_lines is not None else None,
        row.ocr_at,
    )


class PictureQueries:
    engine: Engine

    def images_to_read(self, limit: int, *, text: bool) -> list[str]:
        """Archived images not read yet (and, with ``text``, read but not for their text)."""
        with self.engine.connect() as connection:
            found = list(connection.scalars(_UNREAD.order_by(blobs.c.first_seen_at).limit(limit)))
            if text and len(found) < limit:
                found += connection.scalars(_TEXT_UNREAD.limit(limit - len(found)))
        return found

    def backlog(self, *, text: bool) -> int:
        with self.engine.connect() as connection:
            unread = connection.scalar(select(func.count()).select_from(_UNREAD.subquery()))
            if text:
                unread += connection.scalar(select(func.count()).select_from(_TEXT_UNREAD.subquery()))
        return unread

    def record_image_facts(self, found: Sequence[ImageFacts]) -> None:
        """Store what reading images found (again: a later reading replaces the earlier)."""
        from samizdat.relate.pictures import bands

        if not found:
            return
        shas = [facts.sha256 for facts in found]
        with self.engine.begin() as connection:
            connection.execute(delete(image_bands).where(image_bands.c.sha256.in_(shas)))
            connection.execute(delete(image_facts).where(image_facts.c.sha256.in_(shas)))
            connection.execute(
                insert(image_facts),
                [
                    {
                        "sha256": f.sha256,
                        "analysed_at": f.analysed_at,
                        "width": f.width,
                        "height": f.height,
                        "format": f.format,
                        "frames": f.frames,
                        "refused": f.refused,
                        "message": f.message,
                        "decoration": f.decoration,
                        "wordless": f.wordless,
                        "windows": [[f"{dct:016x}", f"{gradient:016x}"] for dct, gradient in f.windows]
                        or None,
                        "ocr_text": f.ocr_text,
                        "ocr_lines": list(f.ocr_lines) if f.ocr_lines is not None else None,
                        "ocr_at": f.ocr_at,
                    }
                    for f in found
                ],
            )
            rows = {
                (band, f.sha256) for f in found if f.comparable for dct, _ in f.windows for band in bands(dct)
            }
            if rows:
                connection.execute(insert(image_bands), [{"band": b, "sha256": s} for b, s in rows])
            if read := [f.sha256 for f in found if f.ocr_text]:
                showing = (
                    select(versions.c.article_id)
                    .join(version_blobs, version_blobs.c.version_id == versions.c.id)
                    .where(version_blobs.c.sha256.in_(read))
                )
                refresh_image_text(connection, connection.scalars(showing))

    def image_facts(self, sha256: str) -> ImageFacts | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(image_facts).where(image_facts.c.sha256 == sha256)).first()
        return _facts(row) if row else None

    def same_images(self, sha256: str) -> list[str]:
        """The other archived images that are the same picture (relate/pictures.py)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(image_facts).where(image_facts.c.sha256 == sha256)).first()
            return _same(connection, _facts(row)) if row else []

    def images_elsewhere(self, article_id: int) -> list[ImageElsewhere]:
        """Each image of the article's latest version, with the other articles showing it (the
        same bytes, or the same picture once read)."""
        with self.engine.connect() as connection:
            latest = connection.scalar(
                select(versions.c.id)
                .where(versions.c.article_id == article_id)
                .order_by(versions.c.id.desc())
                .limit(1)
            )
            if latest is None:
                return []
            shas = list(
                dict.fromkeys(
                    connection.scalars(
                        select(version_blobs.c.sha256)
                        .where(version_blobs.c.version_id == latest)
                        .order_by(version_blobs.c.url)
                    )
                )
            )
            read = {
                row.sha256: _facts(row)
                for row in connection.execute(select(image_facts).where(image_facts.c.sha256.in_(shas)))
            }
            found = []
            for sha256 in shas:
                facts = read.get(sha256)
                same = [sha256, *(_same(connection, facts) if facts else ())]
                others = connection.execute(
                    select(articles.c.id, articles.c.title, articles.c.state)
                    .where(
                        articles.c.id.in_(
                            select(versions.c.article_id)
                            .join(version_blobs, version_blobs.c.version_id == versions.c.id)
                            .where(version_blobs.c.sha256.in_(same))
                        ),
                        articles.c.id != article_id,
                    )
                    .order_by(articles.c.id)
                ).all()
                found.append(ImageElsewhere(sha256, facts, tuple((r.id, r.title, r.state) for r in others)))
        return found


def every_image_facts(connection: Connection) -> Iterator[ImageFacts]:
    for row in connection.execution_options(yield_per=5000).execute(select(image_facts)):
        yield _facts(row)


def images_read(connection: Connection, version_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The images of these versions whose text was read: url, sha256, text and its lines."""
    rows = connection.execute(
        select(version_blobs.c.version_id, version_blobs.c.url, image_facts)
        .join(image_facts, image_facts.c.sha256 == version_blobs.c.sha256)
        .where(version_blobs.c.version_id.in_(version_ids), image_facts.c.ocr_at.is_not(None))
        .order_by(version_blobs.c.version_id, version_blobs.c.url)
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        found[row.version_id].append(
            {"url": row.url, "sha256": row.sha256, "text": row.ocr_text, "lines": row.ocr_lines or []}
        )
    return found


def _same(connection, mine: ImageFacts) -> list[str]:
    """The other read images that are the same picture as ``mine``: candidates sharing a band
    of its hashes, then compared."""
    from samizdat.relate.pictures import bands, same_picture

    if not mine.comparable:
        return []
    probe = {band for dct, _ in mine.windows for band in bands(dct)}
    candidates = select(image_bands.c.sha256).where(
        image_bands.c.band.in_(probe), image_bands.c.sha256 != mine.sha256
    )
    rows = connection.execute(select(image_facts).where(image_facts.c.sha256.in_(candidates))).all()
    return sorted(
        other.sha256
        for other in map(_facts, rows)
        if other.comparable and same_picture(mine.windows, other.windows)
    )
