"""Shared fixtures. Fixture pages: see tests/fixtures/wechat/PROVENANCE.md."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import weakref
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text

from samizdat.config import DatabaseSettings, FetchSettings, PlatformSettings, Settings
from samizdat.testing import Simulator
from samizdat.testing.postgres import fresh_database

FIXTURES = Path(__file__).parent / "fixtures"
WECHAT = FIXTURES / "wechat"


LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})


@pytest.fixture(autouse=True, scope="session")
def no_lookups_off_this_machine():
    """Tests never touch the internet: any name lookup other than loopback fails at once."""
    real = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name in LOCAL_NAMES:
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {name!r}")

    socket.getaddrinfo = local_only
    yield
    socket.getaddrinfo = real


@pytest.fixture(autouse=True)
def closed_databases():
    """Every database engine a test used is disposed after it: stores handed back by a pipeline
    that has closed reconnect on use, and PostgreSQL warns about connections left open."""
    engines: weakref.WeakSet = weakref.WeakSet()

    def remember(connection) -> None:
        engines.add(connection.engine)

    event.listen(Engine, "engine_connect", remember)
    yield
    event.remove(Engine, "engine_connect", remember)
    for engine in list(engines):
        engine.dispose()


@pytest.fixture(scope="session")
def simulator():
    with Simulator(WECHAT, copies=1) as sim:
        yield sim


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path, simulator: Simulator) -> Settings:
    """Settings for an archive in a temporary directory that may fetch from the simulator; every
    test using them runs twice, on SQLite (in the directory) and on a fresh PostgreSQL database."""
    with contextlib.ExitStack() as stack:
        url = "" if request.param == "sqlite" else stack.enter_context(fresh_postgres_database())
        yield Settings(
            data_dir=tmp_path / "data",
            fetch=FetchSettings(allow_private_networks=True, timeout=10, max_body_bytes=5_000_000),
            platforms={"wechat": PlatformSettings(hosts=("mp.weixin.qq.com", simulator.host))},
            database=DatabaseSettings(url=url),
        )


def fast_archive_settings(data_dir: Path, simulator: Simulator, **changes) -> Settings:
    """An archive watching ``simulator`` in fast time (a simulated hour a second), for the site's tests."""
    return Settings(
        data_dir=data_dir,
        fetch=FetchSettings(allow_private_networks=True, timeout=10),
        watch=dataclasses.replace(Settings().watch, time_scale=3600.0),
        platforms={"wechat": PlatformSettings(hosts=("mp.weixin.qq.com", simulator.host))},
        **changes,
    )


def with_fetch(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, fetch=dataclasses.replace(settings.fetch, **changes))


POSTGRES_ADMIN = os.environ.get(
    "SAMIZDAT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def fresh_postgres_database():
    """A new PostgreSQL database, dropped afterwards; skips only when no server runs and CI is unset."""
    try:
        admin = create_engine(POSTGRES_ADMIN)
        with admin.connect() as connection:
            connection.execute(text("select 1"))
        admin.dispose()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"PostgreSQL must be reachable under CI ({POSTGRES_ADMIN}): {exc}") from exc
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN} (set SAMIZDAT_TEST_POSTGRES): {exc}")
    with fresh_database(POSTGRES_ADMIN) as url:
        yield url


@pytest.fixture
def postgres_url():
    with fresh_postgres_database() as url:
        yield url
