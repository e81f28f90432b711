"""What reading each archived image found (``image_facts``), and its near-duplicates through the
bands of its perceptual hashes (``image_bands``; relate/pictures.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from samizdat.store.schema import articles, blobs, image_bands, image_facts, version_blobs, versions


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
        tuple((int(dct, 16), int(gradient, 16)) for dct, gradient in row.windows or ()),
        row.ocr_text,
        tuple(row.ocr_lines) if row.ocr_lines is not None else None,
        row.ocr_at,
    )


class PictureQueries:
    engine: Engine

    def images_to_read(self, limit: int, *, text: bool) -> list[str]:
        """Archived images not read yet (and, with ``text``, read but not for their text)."""
        pending = select(blobs.c.sha256).where(
            blobs.c.media_type.like("image/%"),
            ~blobs.c.sha256.in_(select(image_facts.c.sha256)),
        )
        with self.engine.connect() as connection:
            found = list(connection.scalars(pending.order_by(blobs.c.first_seen_at).limit(limit)))
            if text and len(found) < limit:
                found += connection.scalars(
                    select(image_facts.c.sha256)
                    .where(
                        image_facts.c.ocr_at.is_(None),
                        image_facts.c.refused.is_(None),
                        image_facts.c.decoration.is_(None),
                    )
                    .limit(limit - len(found))
                )
        return found

    def backlog(self, *, text: bool) -> int:
        return len(self.images_to_read(10**9, text=text))

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

    def image_facts(self, sha256: str) -> ImageFacts | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(image_facts).where(image_facts.c.sha256 == sha256)).first()
        return _facts(row) if row else None

    def same_images(self, sha256: str) -> list[str]:
        """The other archived images that are the same picture (relate/pictures.py)."""
        from samizdat.relate.pictures import PictureHash, bands

        mine = self.image_facts(sha256)
        if mine is None or not mine.comparable:
            return []

        me = PictureHash(
            mine.width or 0, mine.height or 0, mine.format or "", mine.frames or 1, mine.windows, None
        )
        probe = {band for dct, _ in mine.windows for band in bands(dct)}
        with self.engine.connect() as connection:
            candidates = set(
                connection.scalars(
                    select(image_bands.c.sha256).where(
                        image_bands.c.band.in_(probe), image_bands.c.sha256 != sha256
                    )
                )
            )
            rows = connection.execute(select(image_facts).where(image_facts.c.sha256.in_(candidates))).all()
        same = []
        for row in rows:
            other = _facts(row)
            them = PictureHash(0, 0, "", 1, other.windows, None)
            if other.comparable and me.same_as(them):
                same.append(other.sha256)
        return sorted(same)

    def images_elsewhere(self, article_id: int) -> list[ImageElsewhere]:
        """Each image of the article's latest version, with the other articles showing it."""
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
        found = []
        for sha256 in shas:
            facts = self.image_facts(sha256)
            same = [sha256, *self.same_images(sha256)]
            with self.engine.connect() as connection:
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
