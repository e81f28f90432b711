"""One writer for the archive and the database, committing in groups.

Captures hand over their WARC records and, for an article, a function that builds its rows
from the records' references; checks hand over the article's new state, and an article's
images (fetched after its page) their links to its version, the same way. A
single thread takes whatever is waiting (up to a batch), appends all records, fsyncs once,
then commits all rows (captures, then checks), and only then answers each job. Under load
this turns one fsync and one commit per article into one per batch; alone, a job waits for
nobody. The durability order is the same as for a
single capture: records on disk before any row that points at them.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from warcio.recordloader import ArcWarcRecord

from samizdat.archive import ArchiveRef, WarcWriter
from samizdat.store import CaptureRecord, CaptureResult, CheckRow, ImageLinks, Store, WatchState

RowBuilder = Callable[[list[ArchiveRef]], CaptureRecord]
CheckDone = tuple[CheckRow | None, int, WatchState]
CheckBuilder = Callable[[list[ArchiveRef]], CheckDone]
LinksBuilder = Callable[[list[ArchiveRef]], ImageLinks]


@dataclass
class _Job:
    records: Sequence[ArcWarcRecord]
    build_row: RowBuilder | None
    build_check: CheckBuilder | None
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    build_links: LinksBuilder | None = None
    refs: list[ArchiveRef] = field(default_factory=list)


class CommitterFailed(RuntimeError):
    """The writer thread stopped on an unexpected error: nothing more can be stored."""


class Committer:
    def __init__(self, writer: WarcWriter, store: Store, *, max_batch: int = 64) -> None:
        self.writer = writer
        self.store = store
        self.max_batch = max_batch
        self.failure: BaseException | None = None  # what stopped the writer thread, if anything
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="samizdat-committer", daemon=True)
        self._thread.start()

    async def archive(self, records: Sequence[ArcWarcRecord]) -> list[ArchiveRef]:
        """Make ``records`` durable; returns their references."""
        refs, _ = await self._submit(records, None, None)
        return refs

    async def commit(
        self, records: Sequence[ArcWarcRecord], build_row: RowBuilder, build_check: CheckBuilder | None = None
    ) -> tuple[list[ArchiveRef], CaptureResult]:
        """Make ``records`` durable, then store the rows ``build_row`` (and ``build_check``) make
        from their references."""
        refs, result = await self._submit(records, build_row, build_check)
        assert result is not None
        return refs, result

    async def record_check(self, records: Sequence[ArcWarcRecord], build_check: CheckBuilder) -> None:
        """Make ``records`` (a check's evidence, if any) durable, then store the check."""
        await self._submit(records, None, build_check)

    async def link_images(self, records: Sequence[ArcWarcRecord], build_links: LinksBuilder) -> None:
        """Make ``records`` (images and revisits) durable, then link the images to their version."""
        await self._submit(records, None, None, build_links)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    async def _submit(
        self,
        records: Sequence[ArcWarcRecord],
        build_row: RowBuilder | None,
        build_check: CheckBuilder | None,
        build_links: LinksBuilder | None = None,
    ) -> tuple[list[ArchiveRef], CaptureResult | None]:
        if self.failure is not None:
            raise CommitterFailed(f"the archive writer stopped: {self.failure!r}") from self.failure
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._jobs.put(_Job(records, build_row, build_check, future, loop, build_links))
        if self.failure is not None and not future.done():  # it stopped as this job came: none will answer
            future.set_exception(CommitterFailed(f"the archive writer stopped: {self.failure!r}"))
        return await future

    def _run(self) -> None:
        batch: list[_Job] = []
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                batch = [job]
                while len(batch) < self.max_batch:
                    try:
                        more = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._process(batch)
                        return
                    batch.append(more)
                self._process(batch)
        except BaseException as exc:  # a bug here must not leave every later job waiting forever
            self.failure = exc
            failed = CommitterFailed(f"the archive writer stopped: {exc!r}")
            while True:  # the batch in hand, and whatever was queued behind it, fail with the error
                for job in batch:
                    _answer(job, exception=failed)
                try:
                    waiting = self._jobs.get_nowait()
                except queue.Empty:
                    break
                batch = [waiting] if waiting is not None else []

    def _process(self, batch: list[_Job]) -> None:
        try:
            all_refs = self.writer.append_batches([job.records for job in batch])
        except Exception as exc:  # disk full, permissions: every capture of the batch fails loudly
            for job in batch:
                _answer(job, exception=exc)
            return
        for job, refs in zip(batch, all_refs, strict=True):
            job.refs = refs
        failed: set[int] = set()
        with_rows = [job for job in batch if job.build_row is not None]
        results: dict[int, CaptureResult] = {}

        def record_captures(jobs: list[_Job]) -> None:
            rows = [job.build_row(job.refs) for job in jobs]  # type: ignore[misc]
            results.update(zip(map(id, jobs), self.store.record_captures(rows), strict=True))

        _each_bad_one_alone(with_rows, record_captures, failed)
        _each_bad_one_alone(
            [job for job in batch if job.build_check is not None and id(job) not in failed],
            lambda jobs: self.store.record_checks([job.build_check(job.refs) for job in jobs]),  # type: ignore[misc]
            failed,
        )
        _each_bad_one_alone(
            [job for job in batch if job.build_links is not None],
            lambda jobs: self.store.link_images([job.build_links(job.refs) for job in jobs]),  # type: ignore[misc]
            failed,
        )
        for job in batch:
            if id(job) in failed:
                continue
            if job.build_row is None:
                _answer(job, result=(job.refs, None))
            elif id(job) in results:
                _answer(job, result=(job.refs, results[id(job)]))


def _each_bad_one_alone(jobs: list[_Job], store: Callable[[list[_Job]], None], failed: set[int]) -> None:
    """Store the rows of ``jobs`` in one go; if that fails, each job alone, so that one bad row
    fails its own job (answered with its error, added to ``failed``) and sinks no other."""
    try:
        store(jobs)
    except Exception:
        for job in jobs:
            try:
                store([job])
            except Exception as exc:
                failed.add(id(job))
                _answer(job, exception=exc)


def _answer(job: _Job, *, result=None, exception: BaseException | None = None) -> None:
    def settle() -> None:
        if job.future.done():
            return
        if exception is not None:
            job.future.set_exception(exception)
        else:
            job.future.set_result(result)

    with contextlib.suppress(RuntimeError):  # its event loop is closed: nobody waits for it
        job.loop.call_soon_threadsafe(settle)
