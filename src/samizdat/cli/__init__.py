"""The ``samizdat`` command: one module per group of commands (``samizdat --help`` lists them).

``app``, the Typer app with every command, is built when first asked for: the installed command
starts in :mod:`samizdat.cli.entry`, which answers ``samizdat show N`` without it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    app: typer.Typer

COMMAND_MODULES = (
    "accounts",
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
)


def __getattr__(name: str) -> typer.Typer:
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{module}")
    from samizdat.cli.base import app

    globals()["app"] = app  # built once: later lookups find it without this hook
    return app


__all__ = ["app"]
