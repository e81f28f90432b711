"""First-sight capture: fetch a page, archive every exchange, parse it, store it, then its images.

Order is what makes a capture trustworthy: all WARC records of a capture (page, redirects,
a metadata record) are appended and fsynced first; only then are the database rows that
point at them committed (both by :class:`~samizdat.watch.committer.Committer`). A failure
anywhere before the commit leaves, at worst, unreferenced records in a WARC file, never a
row pointing at nothing. The images not archived before follow the same order, after the
page (:mod:`samizdat.watch.images`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from warcio.recordloader import ArcWarcRecord

from samizdat import __version__
from samizdat.archive import ArchiveRef
from samizdat.archive.records import record_id
from samizdat.fetch import FetchResult, Priority
from samizdat.fetch.decode import DecodedText, looks_like_text
from samizdat.platforms import Article, Unavailable
from samizdat.relate import copies
from samizdat.store import CaptureRecord
from samizdat.watch.refusals import note_answer
from samizdat.watch.step import WatchStep


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
    links: tuple[tuple[str, str | None], ...] = ()  # (URL, canonical id) of each article it links to
    listings: tuple[str, ...] = ()  # the lists of articles it names (WeChat albums)
    account: str | None = None  # the account it names (user name, else nickname)


class Capturer(WatchStep):
    async def capture(
        self,
        url: str,
        *,
        keywords: Sequence[str] = (),
        order: int | None = None,
        priority: Priority = Priority.CAPTURE,
        on_stored: Callable[[CaptureOutcome], None] | None = None,
    ) -> CaptureOutcome:
        """Capture ``url`` now; ``keywords`` are watched in it besides the global watchlist.

        Its page goes first in its host's queue (``Priority.CAPTURE``; an article a link led to
        at ``Priority.LINK``); ``order`` keeps a retried capture's earlier place among them.
        Its images are fetched once the page is stored, at ``Priority.IMAGE``; ``on_stored``
        hears of the stored page before they are (what it links to need not wait for them).
        """
        page = await self.fetcher.fetch(url, priority=priority, order=order)
        if not page.ok:
            return CaptureOutcome(url, CaptureStatus.FAILED, reason=str(page.failure), message=page.error)
        records = self.records.records_of(page.exchanges)
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
        # Decoding and parsing are CPU work: in a thread, so the event loop keeps serving the
        # other captures' and checks' requests meanwhile.
        decoded, parsed = await self.pools.cpu.run(self._read, page)
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
        images = await self.images.plan(parsed)
        # In the capture's own process, not in the one writer that stores every capture; in a
        # thread, off the event loop.
        matched, text_fingerprint, page_fingerprint = await self.pools.cpu.run(
            self._digest, parsed, page, keywords
        )

        platform = self.registry.platform(parsed.platform)
        links = tuple((link, platform.canonical_id(link)) for link in parsed.links)

        def row(refs: list[ArchiveRef]) -> CaptureRecord:
            return CaptureRecord(
                article=parsed,
                urls=[url, *page.redirect_chain],
                final_url=page.final_url,
                http_status=page.status,
                captured_at=page.fetched_at,
                response=_response_ref(refs, page),
                images=images.known,
                page_fingerprint=page_fingerprint,
                keywords=matched,
                text_fingerprint=text_fingerprint,
                next_check_at=self._first_check(page.fetched_at, priority=bool(matched)),
                links=links,
            )

        refs, result = await self.committer.commit(records, row)
        stored = CaptureOutcome(
            url,
            CaptureStatus.CAPTURED if result.new_version else CaptureStatus.UNCHANGED,
            platform=parsed.platform,
            article_id=result.article_id,
            version_id=result.version_id,
            title=parsed.title,
            canonical_id=parsed.canonical_id,
            images=len(images.known),
            response=_response_ref(refs, page),
            links=links,
            listings=parsed.listings,
            account=parsed.account_id or parsed.account,
        )
        if on_stored is not None:
            on_stored(stored)
        kept = await self.images.keep(result.version_id, images.missing, page.fetched_at)
        return replace(stored, images=stored.images + kept)

    def _read(self, page: FetchResult) -> tuple[DecodedText, Article | Unavailable]:
        decoded = page.text()
        return decoded, self.registry.parse(page.final_url, decoded.text)

    def _digest(
        self, article: Article, page: FetchResult, keywords: Sequence[str]
    ) -> tuple[tuple[str, ...], copies.Fingerprint, str]:
        """The watchlist terms it matches, its text's MinHash, its page's fingerprint."""
        matched = self.watchlist.matches(article.title, article.text, extra=keywords)
        return (
            matched,
            copies.fingerprint(article.text),
            self.registry.fingerprint(article.platform, page.content),
        )

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

    def _first_check(self, captured_at: datetime, *, priority: bool) -> datetime:
        interval = self.policy.next_check(timedelta(0), priority=priority)
        assert interval is not None  # age 0 is always within the horizon
        return captured_at + interval / self.settings.watch.time_scale


def _response_ref(refs: list[ArchiveRef], page: FetchResult) -> ArchiveRef:
    """The final response's record: exchanges are written as (response, request) pairs."""
    return refs[2 * (len(page.exchanges) - 1)]
