"""The ``samizdat`` command: one module per group of commands (``samizdat --help`` lists them)."""

from samizdat.cli import (
    accounts,
    archive,
    articles,
    demo,
    images,
    log,
    mirror,
    settings,
    sources,
    watching,
    witness,
)
from samizdat.cli.base import app

__all__ = [
    "accounts",
    "app",
    "archive",
    "articles",
    "demo",
    "images",
    "log",
    "mirror",
    "settings",
    "sources",
    "watching",
    "witness",
]
