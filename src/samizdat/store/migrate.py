"""Apply Alembic migrations: on first use of a database and by ``samizdat migrate``."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic runs a migration through module-level proxies (alembic.op, alembic.context): two
# threads of one process migrating at once (the site and the watcher of `samizdat run`, a
# backup beside a capture) would trip over each other.
_ONE_AT_A_TIME = threading.Lock()


@functools.cache
def head_revision() -> str:
    """The newest revision: migrations are numbered in one line (``0013_drop_hosts.py``).
    Read without SQLAlchemy: ``samizdat show`` compares it by itself (store/plain.py)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def alembic_config(connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there).

    A database already at the head is seen with one query, without loading Alembic (a fifth
    of a second of every command's start)."""
    if _revision(engine) == head_revision():
        return
    from alembic import command

    with _ONE_AT_A_TIME, engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def _revision(engine: Engine) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:  # a new database: no version table yet
        return None
