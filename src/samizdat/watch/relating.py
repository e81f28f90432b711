"""Related posts for new and edited articles, computed beside the watcher (watch/background.py):
relating is TF-IDF work over jieba's words, and it takes at most a quarter of a core."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from samizdat.config import Settings
from samizdat.watch.background import Background, Step

BATCH = 50
SHARE = 0.25


def relating_process(settings: Settings) -> Background:
    return Background("relate", relating, settings, share=SHARE)


@contextmanager
def relating(settings: Settings) -> Iterator[Step]:
    from samizdat.store import open_engine
    from samizdat.store.related import relate_pending

    engine = open_engine(settings.database_url)
    try:
        yield lambda: relate_pending(engine, limit=BATCH)
    finally:
        engine.dispose()
