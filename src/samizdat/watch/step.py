"""What a capture and a check both work with, handed over by the wiring (``app.pipeline``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samizdat.watch.keywords import Watchlist

if TYPE_CHECKING:
    from samizdat.config import Settings
    from samizdat.fetch import Fetcher
    from samizdat.platforms import Registry
    from samizdat.pools import Pools
    from samizdat.store import Store
    from samizdat.watch.committer import Committer
    from samizdat.watch.images import Images
    from samizdat.watch.schedule import SchedulePolicy


class WatchStep:
    """Fetch through ``fetcher``, read pages with ``registry``, archive through ``committer``
    (records first, then rows), schedule with ``policy``, fetch images with ``images``, and
    match the watchlist (``keywords.terms``); database calls and CPU work go to their own
    threads (``pools``)."""

    def __init__(
        self,
        settings: Settings,
        fetcher: Fetcher,
        committer: Committer,
        store: Store,
        registry: Registry,
        policy: SchedulePolicy,
        images: Images,
        pools: Pools,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.committer = committer
        self.store = store
        self.registry = registry
        self.policy = policy
        self.records = committer.writer.factory
        self.images = images
        self.pools = pools
        self.watchlist = Watchlist(settings.keywords.terms)
