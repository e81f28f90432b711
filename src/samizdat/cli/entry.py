"""The installed ``samizdat`` command. ``samizdat show N`` of an embedded (SQLite) archive is
answered here with the standard library and rich alone, so that it starts as fast as a look at
one article should (issue 27: ≤ 12× a bare interpreter; Typer, pydantic and SQLAlchemy together
take five times that); every other command, and ``show`` wherever this path cannot be sure of
the same answer, goes to the Typer app.

The quick path reads the two settings ``show`` needs from the same places, in the same order,
as :func:`samizdat.config.load_layers`: ``--config FILE`` or ``./samizdat.toml``, then
``SAMIZDAT_DATA_DIR``, then ``--data-dir``. It steps aside when anything else could change the
answer or its errors: another ``SAMIZDAT_*`` variable, a database URL, a file that is not valid
TOML or a ``data_dir`` that is not a path, an archive not yet created or not at the newest schema
(the full path creates or migrates it), any other option."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from samizdat.names import CONFIG_FILE_NAME, DATABASE_FILE_NAME, DEFAULT_DATA_DIR, ENV_PREFIX

_DATA_DIR_VARIABLE = f"{ENV_PREFIX}DATA_DIR".lower()
_GLOBAL_OPTIONS = ("--config", "--data-dir")


def main() -> None:
    if not _show_quickly(sys.argv[1:], os.environ, Path.cwd()):
        from samizdat.cli import app

        app()


def _show_quickly(args: Sequence[str], environ: Mapping[str, str], cwd: Path) -> bool:
    """Print the article ``show N`` asks for and return True, or return False to take the full path."""
    parsed = _parse(args)
    if parsed is None:
        return False
    options, article_id = parsed
    database = _database(options, environ, cwd)
    if database is None:
        return False
    from samizdat.store.plain import PlainReader

    reader = PlainReader.open(database)
    if reader is None:
        return False
    try:
        article = reader.article(article_id)
    finally:
        reader.close()
    from rich.console import Console

    if article is None:
        Console(stderr=True, markup=False, highlight=False).print(f"no article with id {article_id}")
        raise SystemExit(1)
    from samizdat.cli.show import print_article

    print_article(Console(markup=False, highlight=False), article)
    return True


def _parse(args: Sequence[str]) -> tuple[dict[str, str], int] | None:
    """``[--config FILE] [--data-dir DIR] show N`` (either option as ``--option=value`` too)."""
    options: dict[str, str] = {}
    rest = list(args)
    while rest and rest[0].startswith("--"):
        name, equals, value = rest.pop(0).partition("=")
        if name not in _GLOBAL_OPTIONS or name in options:
            return None
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        options[name] = value
    if len(rest) != 2 or rest[0] != "show" or not rest[1].isascii() or not rest[1].isdigit():
        return None
    return options, int(rest[1])


def _database(options: Mapping[str, str], environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The SQLite file the settings name, or None when only the full settings can tell."""
    variables = {
        name.lower(): value for name, value in environ.items() if name.lower().startswith(ENV_PREFIX.lower())
    }
    if set(variables) - {_DATA_DIR_VARIABLE}:
        return None
    if "--config" in options:
        config: Path | None = cwd / options["--config"]
        if not config.is_file():
            return None
    else:
        config = cwd / CONFIG_FILE_NAME
        config = config if config.is_file() else None
    data_dir: Any = DEFAULT_DATA_DIR
    if config is not None:
        import tomllib

        try:
            values = tomllib.loads(config.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        database = values.get("database", {})
        if not isinstance(database, dict) or set(database) - {"url"} or database.get("url", "") != "":
            return None
        data_dir = values.get("data_dir", data_dir)
    data_dir = options.get("--data-dir", variables.get(_DATA_DIR_VARIABLE, data_dir))
    if not isinstance(data_dir, str) or not data_dir.strip():
        return None
    return (cwd / Path(data_dir).expanduser() / DATABASE_FILE_NAME).resolve()
