"""The ``samizdat`` command: one module per group of commands (``samizdat --help`` lists them)."""

from samizdat.cli import archive, articles, demo, log, mirror, settings, sources, watching
from samizdat.cli.base import app

__all__ = ["app", "archive", "articles", "demo", "log", "mirror", "settings", "sources", "watching"]
