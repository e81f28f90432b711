"""What the tests share besides fixtures: the fixture pages, settings for an archive that may
fetch from the simulator, and a fresh PostgreSQL database. Import from here, never from
``conftest`` (pytest's, not a module of ours). Pages: src/samizdat/testing/pages/wechat/PROVENANCE.md."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, text

from samizdat.config import FetchSettings, LinkSettings, PlatformSettings, Settings
from samizdat.testing import WECHAT_PAGES, Simulator
from samizdat.testing.postgres import ADMIN_URL, fresh_database
from samizdat.watch.loop import watch_pass

FIXTURES = Path(__file__).parent / "fixtures"
# Most tests count what a source lists and what becomes of it; the saved pages also link 17
# other articles, which the simulator does not have (they show the deleted notice). Following
# links has tests of its own (test_links.py), with settings that follow them.
LISTED_ONLY = LinkSettings(follow=())
WECHAT = WECHAT_PAGES
BENCH = Path(__file__).parent.parent / "bench"


def missing(what: str, *, module: bool = False) -> None:
    """A tool or service the test needs is absent: fail under CI (which installs everything),
    skip elsewhere saying what to install."""
    if os.environ.get("CI") == "true":
        raise AssertionError(what)
    pytest.skip(what, allow_module_level=module)


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
        **({"links": LISTED_ONLY} | changes),
    )


async def watch_until(pipe, until: Callable[[list], bool], *, limit: float = 20.0) -> list:
    """Run watch passes until ``until(reports so far)`` holds or ``limit`` seconds pass; the reports.

    In the tests' fast time (a simulated hour a second) a removal is confirmed about a second
    after it is made; the limit is for a loaded machine, where a pass may take a while, not a
    window the test counts on: the caller asserts what it needs."""
    reports: list = []
    deadline = time.monotonic() + limit
    while not until(reports) and time.monotonic() < deadline:
        reports += await watch_pass(pipe.store, pipe.checker, 8)
        await asyncio.sleep(0.05)
    return reports


def declared(count: int) -> Callable[[list], bool]:
    """For :func:`watch_until`: ``count`` removals declared."""
    return lambda reports: sum(1 for report in reports if report.declared) >= count


def config_for(tmp_path, simulator, database_url=""):
    """A settings file for an archive in ``tmp_path`` (on PostgreSQL when ``database_url`` is given)."""
    path = tmp_path / "samizdat.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[database]\nurl = "{database_url}"\n'
        "[fetch]\nallow_private_networks = true\n[links]\nfollow = []\n"
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
        missing(f"no PostgreSQL at {ADMIN_URL} (set SAMIZDAT_TEST_POSTGRES): {exc}")
    with fresh_database(ADMIN_URL) as url:
        yield url


TSA_CONFIG = """[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = .
serial = ./serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[ tsa_ext ]
extendedKeyUsage = critical,timeStamping
basicConstraints = CA:false
"""


@contextlib.contextmanager
def local_tsa(directory: Path):
    """An RFC 3161 time-stamping authority on 127.0.0.1, made with ``openssl ts``: a root
    certificate, a TSA certificate it signed, and a server answering each query with
    ``openssl ts -reply``. Yields (its URL, the root's PEM file)."""
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tsa.cnf").write_text(TSA_CONFIG)
    (directory / "serial").write_text("01\n")

    def openssl(*args: str, stdin: bytes | None = None) -> bytes:
        return subprocess.run(
            ["openssl", *args], cwd=directory, input=stdin, capture_output=True, check=True
        ).stdout

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=test TSA root",
    )
    openssl("req", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=test TSA")
    openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "tsa.pem", "-days", "30", "-extfile", "tsa.cnf", "-extensions", "tsa_ext",
    )  # fmt: skip
    lock = threading.Lock()

    class Authority(BaseHTTPRequestHandler):
        def do_POST(self):
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:  # one serial file
                (directory / "query.tsq").write_bytes(query)
                openssl(
                    "ts", "-reply", "-queryfile", "query.tsq", "-config", "tsa.cnf", "-section", "tsa_config",
                    "-inkey", "tsa.key", "-signer", "tsa.pem", "-chain", "ca.pem", "-out", "reply.tsr",
                )  # fmt: skip
                reply = (directory / "reply.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Authority)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsr", directory / "ca.pem"
    finally:
        server.shutdown()
        server.server_close()
