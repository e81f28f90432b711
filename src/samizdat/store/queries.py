"""The store: every query other stages use, one class made of one part per concern.

The parts (``captures``, ``claims``, ``sources``, ``imports``, ``integrity``, ``articles``,
``requests`` for URLs the site queues, ``notifications`` for the outbox, ``log`` for the
tamper-evident log)
share nothing but the engine; other stages talk to the database only through a ``Store``.
"""

from __future__ import annotations

from sqlalchemy import Engine

from samizdat.store.accounts import AccountQueries
from samizdat.store.articles import ArticleReads
from samizdat.store.captures import CaptureQueries
from samizdat.store.claims import ClaimQueries
from samizdat.store.imports import ImportQueries
from samizdat.store.integrity import IntegrityQueries
from samizdat.store.links import LinkQueries
from samizdat.store.log import LogQueries
from samizdat.store.notifications import NotificationQueries
from samizdat.store.pictures import PictureQueries
from samizdat.store.requests import CaptureRequestQueries
from samizdat.store.sources import SourceQueries
from samizdat.store.witnessing import WitnessQueries


class Store(
    CaptureQueries,
    ClaimQueries,
    SourceQueries,
    ImportQueries,
    IntegrityQueries,
    ArticleReads,
    CaptureRequestQueries,
    NotificationQueries,
    LogQueries,
    LinkQueries,
    AccountQueries,
    PictureQueries,
    WitnessQueries,
):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
