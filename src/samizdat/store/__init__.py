"""Store stage: the database schema, its migrations, and every query the other stages need."""

from samizdat.config import Settings
from samizdat.store.engine import DatabaseURLError, open_engine
from samizdat.store.migrate import migrate
from samizdat.store.queries import Store
from samizdat.store.values import (
    Announcement,
    CaptureRecord,
    CaptureRequest,
    CaptureResult,
    CheckRow,
    DueArticle,
    ImageLinks,
    ImportedRemoval,
    ListedArticle,
    ListingView,
    PendingNotification,
    StoredImage,
    UnseenRemoval,
    WatchState,
    content_hash,
)


def open_archive(settings: Settings) -> Store:
    """The store of the archive ``settings`` describes (its directory made if need be)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return open_store(settings.database_url)


def open_store(url: str) -> Store:
    """Connect to ``url``, apply any pending migrations, and return the store."""
    engine = open_engine(url)
    migrate(engine)
    return Store(engine)


__all__ = [
    "Announcement",
    "CaptureRecord",
    "CaptureRequest",
    "CaptureResult",
    "CheckRow",
    "DatabaseURLError",
    "DueArticle",
    "ImageLinks",
    "ImportedRemoval",
    "ListedArticle",
    "ListingView",
    "PendingNotification",
    "Store",
    "StoredImage",
    "UnseenRemoval",
    "WatchState",
    "content_hash",
    "migrate",
    "open_archive",
    "open_engine",
    "open_store",
]
