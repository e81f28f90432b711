"""What the tests share besides fixtures: the fixture pages, settings for an archive that may
fetch from the simulator, and a fresh PostgreSQL database. Import from here, never from
``conftest`` (pytest's, not a module of ours). Pages: src/samizdat/testing/pages/wechat/PROVENANCE.md."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, text

from samizdat.config import FetchSettings, PlatformSettings, Settings
from samizdat.testing import WECHAT_PAGES, Simulator
from samizdat.testing.postgres import ADMIN_URL, fresh_database

FIXTURES = Path(__file__).parent / "fixtures"
WECHAT = WECHAT_PAGES
BENCH = Path(__file__).parent.parent / "bench"


def bench_module(name: str) -> ModuleType:
    """A script of ``bench/`` as a module, for the tests that hold its figures to a floor (the
    scripts are run as programs, not installed, so they are loaded from their file)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def fast_archive_settings(data_dir: Path, simulator: Simulator, **changes) -> Settings:
    """An archive watching ``simulator`` in fast time (a simulated hour a second), for the site's tests."""
    return Settings(
        data_dir=data_dir,
        fetch=FetchSettings(allow_private_networks=True, timeout=10),
        watch=dataclasses.replace(Settings().watch, time_scale=3600.0),
        platforms={"wechat": PlatformSettings(hosts=("mp.weixin.qq.com", simulator.host))},
        **changes,
    )


def config_for(tmp_path, simulator, database_url=""):
    """A settings file for an archive in ``tmp_path`` (on PostgreSQL when ``database_url`` is given)."""
    path = tmp_path / "samizdat.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[database]\nurl = "{database_url}"\n'
        "[fetch]\nallow_private_networks = true\n"
        f'[platforms.wechat]\nhosts = ["mp.weixin.qq.com", "{simulator.host}"]\n',
        encoding="utf-8",
    )
    return str(path)


def with_fetch(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, fetch=dataclasses.replace(settings.fetch, **changes))


@contextlib.contextmanager
def fresh_postgres_database():
    """A new PostgreSQL database, dropped afterwards; skips only when no server runs and CI is unset."""
    try:
        admin = create_engine(ADMIN_URL)
        with admin.connect() as connection:
            connection.execute(text("select 1"))
        admin.dispose()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"PostgreSQL must be reachable under CI ({ADMIN_URL}): {exc}") from exc
        pytest.skip(f"no PostgreSQL at {ADMIN_URL} (set SAMIZDAT_TEST_POSTGRES): {exc}")
    with fresh_database(ADMIN_URL) as url:
        yield url
