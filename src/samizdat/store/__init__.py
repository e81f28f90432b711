"""Store stage: the database schema, its migrations, and every query the other stages need.

Its names are imported when first used (:mod:`samizdat.lazy`): the value types and views load
without SQLAlchemy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samizdat.lazy import exports

if TYPE_CHECKING:
    from samizdat.config import Settings
    from samizdat.store.queries import Store

_MODULES = {
    "engine": ("DatabaseURLError", "open_engine"),
    "queries": ("Store",),
    "values": (
        "Announcement",
        "CaptureRecord",
        "CaptureRequest",
        "CaptureResult",
        "CheckRow",
        "DueArticle",
        "ImageLinks",
        "ImportedRemoval",
        "ListedArticle",
        "ListingView",
        "PendingNotification",
        "StoredImage",
        "UnseenRemoval",
        "WatchState",
        "content_hash",
    ),
}
__getattr__ = exports(__name__, _MODULES)


def open_archive(settings: Settings) -> Store:
    """The store of the archive ``settings`` describes (its directory made if need be)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return open_store(settings.database_url)


def open_store(url: str) -> Store:
    """Connect to ``url``, apply any pending migrations, and return the store."""
    from samizdat.store.engine import open_engine
    from samizdat.store.migrate import migrate
    from samizdat.store.queries import Store

    engine = open_engine(url)
    migrate(engine)
    return Store(engine)


__all__ = sorted([*(name for names in _MODULES.values() for name in names), "open_archive", "open_store"])
