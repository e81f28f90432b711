"""Apply Alembic migrations: on first use of a database and by ``samizdat migrate``."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic runs a migration through module-level proxies (alembic.op, alembic.context): two
# threads of one process migrating at once (the site and the watcher of `samizdat run`, a
# backup beside a capture) would trip over each other.
_ONE_AT_A_TIME = threading.Lock()


def alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    with _ONE_AT_A_TIME, engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
