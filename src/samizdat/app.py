"""Wiring: build every stage from the settings. The CLI, benchmarks and tests start here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from samizdat import logs
from samizdat.archive import WarcWriter
from samizdat.archive.storage import WarcFiles, warc_storage
from samizdat.config import Settings
from samizdat.fetch import Fetcher
from samizdat.fetch.resolver import Resolver
from samizdat.fetch.turns import Turns
from samizdat.platforms import Registry
from samizdat.pools import Pools
from samizdat.store import Store, open_archive
from samizdat.watch import Capturer
from samizdat.watch.checker import Checker
from samizdat.watch.committer import Committer
from samizdat.watch.images import Images
from samizdat.watch.schedule import RemovalProfile, SchedulePolicy
from samizdat.watch.sealing import seal_archive

log = logging.getLogger(__name__)


@dataclass
class Pipeline:
    settings: Settings
    store: Store
    writer: WarcWriter
    committer: Committer
    fetcher: Fetcher
    registry: Registry
    capturer: Capturer
    checker: Checker
    pools: Pools


@asynccontextmanager
async def pipeline(
    settings: Settings, *, turns: Turns | None = None, files: WarcFiles | None = None
) -> AsyncIterator[Pipeline]:
    """Every stage, built from ``settings``; ``turns`` shares the per-host rate with other
    processes; ``files`` keeps the WARC files elsewhere than the archive directory."""
    store = open_archive(settings)
    files = files or warc_storage(settings)
    for name, cut in files.recover():
        logs.event(
            log,
            "torn_tail_cut",
            f"{name}: cut a torn record of {cut} bytes off its end (its writer had stopped mid-record)",
            level=logging.WARNING,
            file=name,
            bytes=cut,
        )
    writer = WarcWriter(
        files,
        prefix=settings.archive.warc_prefix,
        max_bytes=settings.archive.warc_max_bytes,
        fsync=settings.archive.fsync,
    )
    registry = Registry(settings.platforms)
    committer = Committer(writer, store)
    pools = Pools.from_settings(settings.pools)
    watch = settings.watch
    # A name that does not resolve rests as a host that refuses us does, in schedule time.
    rest = watch.backoff_seconds / watch.time_scale
    resolver = Resolver(
        pools.lookups,
        timeout=settings.fetch.lookup_timeout,
        cache_seconds=settings.fetch.lookup_cache_seconds,
        rest_seconds=rest,
    )
    try:
        aging = watch.aging_seconds / watch.time_scale
        async with Fetcher(
            settings.fetch, turns=turns, aging_seconds=aging, resolver=resolver, rest_seconds=rest
        ) as fetcher:
            policy = SchedulePolicy(RemovalProfile.load(), checks=watch.checks_per_article)
            images = Images(settings.capture, fetcher, committer, store, pools)
            capturer = Capturer(settings, fetcher, committer, store, registry, policy, images, pools)
            checker = Checker(settings, fetcher, committer, store, registry, policy, images, pools)
            yield Pipeline(settings, store, writer, committer, fetcher, registry, capturer, checker, pools)
    finally:
        committer.close()
        try:
            # What this pipeline wrote into the log is signed before it ends (watch/sealing.py).
            seal_archive(store, settings)
        except Exception:  # the database may be what failed: the next start seals it
            log.exception("the log's last entries could not be sealed; the next run seals them")
        pools.close()
        writer.close()
        store.engine.dispose()
