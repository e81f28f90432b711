"""An article's images: archived once by content, after its page, at a priority of their own.

The page is what cannot be had later: a capture stores it (with the images archived before,
by their URL) as soon as it is parsed, and only then are the missing images fetched, below
polls and first captures in the host's queue (``Priority.IMAGE``), so that a page with thirty
images never holds up the next feed poll. Each image's records are made durable, then linked
to the version, by the one writer (:class:`~samizdat.watch.committer.Committer`). An image
whose fetch failed is simply not linked: its absence is visible, nothing points at bytes the
archive does not hold.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from warcio.recordloader import ArcWarcRecord

from samizdat.archive import ArchiveRef
from samizdat.archive.records import record_id, warc_date
from samizdat.config import CaptureSettings
from samizdat.fetch import Fetcher, FetchResult, Priority
from samizdat.platforms import Article
from samizdat.pools import Pools
from samizdat.store import ImageLinks, Store, StoredImage
from samizdat.watch.committer import Committer

IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"


@dataclass(frozen=True)
class ImagePlan:
    known: list[StoredImage]  # archived before: linked when the version is stored
    missing: list[str]  # fetched after it, then linked (:meth:`Images.keep`)


class Images:
    def __init__(
        self, settings: CaptureSettings, fetcher: Fetcher, committer: Committer, store: Store, pools: Pools
    ) -> None:
        self.settings = settings
        self.pools = pools
        self.fetcher = fetcher
        self.committer = committer
        self.store = store
        self.records = committer.writer.factory
        # Image URLs do not change: captures running at the same time share one fetch of each.
        self._fetches: dict[str, asyncio.Future[FetchResult]] = {}

    async def plan(self, article: Article) -> ImagePlan:
        """``article``'s images to keep (page order, its cover last): those archived before, by
        any article, and the URLs still to fetch once its version is stored."""
        if not self.settings.images:
            return ImagePlan([], [])
        urls = dict.fromkeys([*article.images, *([article.cover] if article.cover else [])])
        wanted = list(urls)[: self.settings.max_images_per_article]
        known = await self.pools.store.run(self.store.known_images, wanted) if wanted else {}
        return ImagePlan(list(known.values()), [url for url in wanted if url not in known])

    async def keep(self, version_id: int, urls: Sequence[str], seen_at: datetime) -> int:
        """Fetch ``urls`` (images of a stored version not archived before), archive and link
        them to ``version_id``; how many were kept."""
        if not urls:
            return 0
        results = await asyncio.gather(*(self._fetch(url) for url in urls))
        images: list[StoredImage] = []
        records: list[ArcWarcRecord] = []
        pending: dict[str, str] = {}  # image URL -> its response record's id, until written
        first_in_batch: dict[str, tuple[str, str, str]] = {}  # sha256 -> (uri, date, record id)
        for url, result in zip(urls, results, strict=True):
            if not result.ok or result.status != 200 or not result.content:
                continue
            sha256 = hashlib.sha256(result.content).hexdigest()
            media_type = (result.content_type or "").split(";")[0].strip() or None
            images.append(StoredImage(url, sha256, media_type, len(result.content), None))
            final = result.exchanges[-1]
            original = first_in_batch.get(sha256)
            if original is None:
                blob = await self.pools.store.run(self.store.blob, sha256)
                if blob is not None:
                    original = (blob.url, warc_date(blob.first_seen_at), blob.ref.record_id)
            if original is not None:
                # The same bytes archived before (under another URL): a revisit record points at them.
                uri, date, refers_to = original
                records.append(
                    self.records.revisit_record(
                        final, refers_to_uri=uri, refers_to_date=date, refers_to_id=refers_to
                    )
                )
                continue
            exchange_records = self.records.records_of(result.exchanges)
            response_id = record_id(exchange_records[-2])
            records.extend(exchange_records)
            pending[url] = response_id
            first_in_batch[sha256] = (final.url, warc_date(final.started_at), response_id)
        if not images:
            return 0

        def links(refs: list[ArchiveRef]) -> ImageLinks:
            ref_by_id = {ref.record_id: ref for ref in refs}
            return ImageLinks(
                version_id,
                [
                    replace(image, ref=ref_by_id[pending[image.url]]) if image.url in pending else image
                    for image in images
                ],
                seen_at,
            )

        await self.committer.link_images(records, links)
        return len(images)

    async def _fetch(self, url: str) -> FetchResult:
        pending = self._fetches.get(url)
        if pending is None:
            # The image host checks Referer: send none, as a browser opening the image directly would.
            pending = asyncio.ensure_future(
                self.fetcher.fetch(
                    url, accept=IMAGE_ACCEPT, max_bytes=self.settings.max_image_bytes, priority=Priority.IMAGE
                )
            )
            self._fetches[url] = pending
            pending.add_done_callback(lambda _: self._fetches.pop(url, None))
        return await asyncio.shield(pending)
