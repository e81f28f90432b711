"""Shared fixtures (plain helpers are in ``tests/helpers.py``). Fixture pages: see
src/samizdat/testing/pages/wechat/PROVENANCE.md."""

from __future__ import annotations

import socket
import weakref
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from samizdat.config import DatabaseSettings, FetchSettings, PlatformSettings, Settings
from samizdat.testing import Simulator
from tests.helpers import LISTED_ONLY, WECHAT, fresh_postgres_database

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
def database_url(request) -> str:
    """``database.url`` for a test that runs twice: "" (SQLite in the archive's directory), then
    a fresh PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield ""
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def migrated_database_url(database_url: str, tmp_path: Path) -> str:
    """A migrated database on each backend, by URL: SQLite in a file of its own, then PostgreSQL."""
    from samizdat.store import open_store

    url = database_url or f"sqlite:///{tmp_path / 'shared.db'}"
    open_store(url).engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path, simulator: Simulator) -> Settings:
    """Settings for an archive in a temporary directory that may fetch from the simulator, on
    both backends (see ``database_url``)."""
    return Settings(
        data_dir=tmp_path / "data",
        fetch=FetchSettings(allow_private_networks=True, timeout=10, max_body_bytes=5_000_000),
        platforms={"wechat": PlatformSettings(hosts=("mp.weixin.qq.com", simulator.host))},
        database=DatabaseSettings(url=database_url),
        links=LISTED_ONLY,
    )


@pytest.fixture
def postgres_url():
    with fresh_postgres_database() as url:
        yield url
