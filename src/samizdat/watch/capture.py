"""First-sight capture: fetch a page, archive every exchange, parse it, keep its images, store it.

Order is what makes a capture trustworthy: all WARC records of a capture (page, redirects,
images, a metadata record) are appended and fsynced first; only then are the database rows
that point at them committed (both by :class:`~samizdat.watch.committer.Committer`). A
failure anywhere before the commit leaves, at worst, unreferenced records in a WARC file,
never a row pointing at nothing.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from warcio.recordloader import ArcWarcRecord

from samizdat import __version__
from samizdat.archive import ArchiveRef
from samizdat.archive.records import record_id, warc_date
from samizdat.config import Settings
from samizdat.fetch import Exchange, Fetcher, FetchResult, Priority
from samizdat.fetch.decode import looks_like_text
from samizdat.platforms import Article, Registry, Unavailable
from samizdat.store import CaptureRecord, Store, StoredImage, copies
from samizdat.watch.committer import Committer
from samizdat.watch.keywords import Watchlist
from samizdat.watch.refusals import note_answer
from samizdat.watch.schedule import SchedulePolicy

IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"


class CaptureStatus(enum.StrEnum):
    CAPTURED = "captured"  # a new article, or a new version of a known one
    UNCHANGED = "unchanged"  # known article, same content: a check was recorded
    UNAVAILABLE = "unavailable"  # the platform shows a notice instead of the article
    HTTP_ERROR = "http_error"  # 4xx/5xx: archived as evidence, nothing parsed
    FAILED = "failed"  # no usable response (network, size cap, unsafe URL)


@dataclass(frozen=True)
class CaptureOutcome:
    url: str
    status: CaptureStatus
    platform: str | None = None
    article_id: int | None = None
    version_id: int | None = None
    title: str | None = None
    canonical_id: str | None = None
    reason: str | None = None  # unavailable reason, failure kind or HTTP status
    message: str | None = None
    images: int = 0
    response: ArchiveRef | None = None
    http_status: int | None = None
    fetched_at: datetime | None = None


class Capturer:
    def __init__(
        self,
        settings: Settings,
        fetcher: Fetcher,
        committer: Committer,
        store: Store,
        registry: Registry,
        policy: SchedulePolicy,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.committer = committer
        self.store = store
        self.registry = registry
        self.policy = policy
        self.records = committer.writer.factory
        self.watchlist = Watchlist(settings.keywords.terms)
        # Image URLs do not change: captures running at the same time share one fetch of each.
        self._image_fetches: dict[str, asyncio.Future[FetchResult]] = {}

    async def capture(
        self, url: str, *, keywords: Sequence[str] = (), order: int | None = None
    ) -> CaptureOutcome:
        """Capture ``url`` now; ``keywords`` are watched in it besides the global watchlist.

        Its requests go first in their hosts' queues (``Priority.CAPTURE``); ``order`` keeps a
        retried capture's earlier place among them.
        """
        page = await self.fetcher.fetch(url, priority=Priority.CAPTURE, order=order)
        if not page.ok:
            return CaptureOutcome(url, CaptureStatus.FAILED, reason=str(page.failure), message=page.error)
        records = self._exchange_records(page.exchanges)
        response_id = record_id(records[-2])
        assert page.status is not None
        if page.status >= 400:
            note_answer(self.fetcher, self.settings.watch, page, None)
            refs = await self.committer.archive(records)
            return CaptureOutcome(
                url,
                CaptureStatus.HTTP_ERROR,
                reason=f"http_{page.status}",
                message=f"the server answered {page.status}",
                response=refs[-2],
                http_status=page.status,
                fetched_at=page.fetched_at,
            )
        if not page.content.strip() or not looks_like_text(page.content):
            refs = await self.committer.archive(records)
            kind = "empty" if not page.content.strip() else "not_text"
            message = "the page is empty" if kind == "empty" else "the body is binary data, not a page"
            return CaptureOutcome(
                url, CaptureStatus.FAILED, reason=kind, message=message, response=_response_ref(refs, page)
            )
        decoded = page.text()
        parsed = self.registry.parse(page.final_url, decoded.text)
        note_answer(self.fetcher, self.settings.watch, page, parsed)
        records.append(self._metadata(page, parsed, response_id, decoded.encoding))
        if isinstance(parsed, Unavailable):
            refs = await self.committer.archive(records)
            return CaptureOutcome(
                url,
                CaptureStatus.UNAVAILABLE,
                platform=parsed.platform,
                reason=str(parsed.reason),
                message=parsed.message,
                response=_response_ref(refs, page),
                http_status=page.status,
                fetched_at=page.fetched_at,
            )
        images, image_records, pending = await self._images(parsed)
        matched = self.watchlist.matches(parsed.title, parsed.text, extra=keywords)
        # Here, in the capture's own process, not in the one writer that stores every capture.
        text_fingerprint = copies.fingerprint(parsed.text)

        def row(refs: list[ArchiveRef]) -> CaptureRecord:
            ref_by_id = {ref.record_id: ref for ref in refs}
            return CaptureRecord(
                article=parsed,
                urls=[url, *page.redirect_chain],
                final_url=page.final_url,
                http_status=page.status,
                captured_at=page.fetched_at,
                response=_response_ref(refs, page),
                images=[
                    replace(image, ref=ref_by_id[pending[image.url]]) if image.url in pending else image
                    for image in images
                ],
                page_fingerprint=self.registry.fingerprint(parsed.platform, page.content),
                keywords=matched,
                text_fingerprint=text_fingerprint,
                next_check_at=self._first_check(page.fetched_at, priority=bool(matched)),
            )

        refs, result = await self.committer.commit(records + image_records, row)
        response_ref = _response_ref(refs, page)
        return CaptureOutcome(
            url,
            CaptureStatus.CAPTURED if result.new_version else CaptureStatus.UNCHANGED,
            platform=parsed.platform,
            article_id=result.article_id,
            version_id=result.version_id,
            title=parsed.title,
            canonical_id=parsed.canonical_id,
            images=len(images),
            response=response_ref,
        )

    def _exchange_records(self, exchanges: Sequence[Exchange]) -> list[ArcWarcRecord]:
        records: list[ArcWarcRecord] = []
        for exchange in exchanges:
            records.extend(self.records.exchange_records(exchange))
        return records

    def _metadata(
        self, page: FetchResult, parsed: Article | Unavailable, response_id: str, encoding: str
    ) -> ArcWarcRecord:
        fields = {
            "software": f"samizdat/{__version__}",
            "charset": encoding,
            "platform": parsed.platform,
            "fetch-elapsed-seconds": f"{page.elapsed:.3f}",
        }
        if page.redirect_chain:
            fields["redirected-from"] = " ".join(page.redirect_chain)
        if isinstance(parsed, Article):
            fields |= {"outcome": "article", "canonical-id": parsed.canonical_id, "title": parsed.title}
        else:
            fields |= {"outcome": str(parsed.reason), "message": parsed.message}
        return self.records.metadata_record(page.final_url, fields, concurrent_to=response_id)

    async def _images(
        self, article: Article
    ) -> tuple[list[StoredImage], list[ArcWarcRecord], dict[str, str]]:
        """Fetch the article's images not archived before.

        Returns the images, their WARC records, and for each newly archived image the id of
        its response record (its reference is known once the records are written).
        """
        if not self.settings.capture.images:
            return [], [], {}
        wanted = list(dict.fromkeys([*article.images, *([article.cover] if article.cover else [])]))
        wanted = wanted[: self.settings.capture.max_images_per_article]
        known = await asyncio.to_thread(self.store.known_images, wanted)
        missing = [u for u in wanted if u not in known]
        results = await asyncio.gather(*(self._fetch_image(u) for u in missing))
        images: list[StoredImage] = list(known.values())
        records: list[ArcWarcRecord] = []
        pending: dict[str, str] = {}
        first_in_batch: dict[str, tuple[str, str, str]] = {}  # sha256 -> (uri, date, record id)
        for image_url, result in zip(missing, results, strict=True):
            if not result.ok or result.status != 200 or not result.content:
                continue  # a missing image never blocks the article; its absence is visible
            sha256 = hashlib.sha256(result.content).hexdigest()
            media_type = (result.content_type or "").split(";")[0].strip() or None
            images.append(StoredImage(image_url, sha256, media_type, len(result.content), None))
            final = result.exchanges[-1]
            original = first_in_batch.get(sha256)
            if original is None:
                blob = await asyncio.to_thread(self.store.blob, sha256)
                if blob is not None:
                    original = (blob.url, warc_date(blob.first_seen_at), blob.ref.record_id)
            if original is not None:
                # The same bytes archived before: a revisit record points at them.
                uri, date, refers_to = original
                records.append(
                    self.records.revisit_record(
                        final, refers_to_uri=uri, refers_to_date=date, refers_to_id=refers_to
                    )
                )
                continue
            exchange_records = self._exchange_records(result.exchanges)
            response_id = record_id(exchange_records[-2])
            records.extend(exchange_records)
            pending[image_url] = response_id
            first_in_batch[sha256] = (final.url, warc_date(final.started_at), response_id)
        return images, records, pending

    def _first_check(self, captured_at: datetime, *, priority: bool) -> datetime:
        interval = self.policy.next_check(timedelta(0), priority=priority)
        assert interval is not None  # age 0 is always within the horizon
        return captured_at + interval / self.settings.watch.time_scale

    async def _fetch_image(self, url: str) -> FetchResult:
        pending = self._image_fetches.get(url)
        if pending is None:
            # The image host checks Referer: send none, as a browser opening the image directly would.
            pending = asyncio.ensure_future(
                self.fetcher.fetch(
                    url,
                    accept=IMAGE_ACCEPT,
                    max_bytes=self.settings.capture.max_image_bytes,
                    priority=Priority.CAPTURE,
                )
            )
            self._image_fetches[url] = pending
            pending.add_done_callback(lambda _: self._image_fetches.pop(url, None))
        return await asyncio.shield(pending)


def _response_ref(refs: list[ArchiveRef], page: FetchResult) -> ArchiveRef:
    """The final response's record: exchanges are written as (response, request) pairs."""
    return refs[2 * (len(page.exchanges) - 1)]
