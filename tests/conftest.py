"""Shared fixtures. Fixture pages: see tests/fixtures/wechat/PROVENANCE.md."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from samizdat.config import FetchSettings, PlatformSettings, Settings
from samizdat.testing import Simulator

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


@pytest.fixture(scope="session")
def simulator():
    with Simulator(WECHAT, copies=1) as sim:
        yield sim


@pytest.fixture
def settings(tmp_path: Path, simulator: Simulator) -> Settings:
    """Settings for an archive in a temporary directory that may fetch from the simulator."""
    return Settings(
        data_dir=tmp_path / "data",
        fetch=FetchSettings(allow_private_networks=True, timeout=10, max_body_bytes=5_000_000),
        platforms={"wechat": PlatformSettings(hosts=("mp.weixin.qq.com", simulator.host))},
    )


def with_fetch(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, fetch=dataclasses.replace(settings.fetch, **changes))
