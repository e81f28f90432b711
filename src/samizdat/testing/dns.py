"""A name server that never answers, and a way to run a program behind it.

On a censored or broken network the resolver often does not refuse a name: it says nothing,
and every lookup waits out its timeout (poisoned or throttled DNS, a dead resolver, a blocked
CDN). :class:`SilentNameServer` reads queries on a loopback address and never replies;
:meth:`SilentNameServer.command` wraps a command so that it runs in a mount namespace of its
own whose ``/etc/resolv.conf`` names only that server (``unshare``, root only). Names in
``/etc/hosts`` (localhost) and literal addresses need no lookup and still work there.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path


def _loopback_address() -> str:
    """A loopback address of its own (all of 127/8 is loopback on Linux; port 53 on 127.0.0.53
    may be systemd-resolved's), so that servers of tests running at once never meet."""
    return f"127.53.{random.randrange(256)}.{random.randrange(1, 255)}"


class SilentNameServer:
    """``with SilentNameServer(timeout=5) as dns:`` — lookups behind it take ``timeout`` seconds and fail."""

    def __init__(self, address: str | None = None, *, timeout: int = 5) -> None:
        self.address = address or _loopback_address()
        self.timeout = timeout
        self.queries = 0
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._directory: tempfile.TemporaryDirectory | None = None
        self.resolv_conf: Path | None = None

    @staticmethod
    def unavailable() -> str | None:
        """Why a program cannot be run behind it on this machine (None: it can)."""
        if os.geteuid() != 0:
            return "a silent name server needs root (port 53, a mount namespace)"
        if shutil.which("unshare") is None or shutil.which("mount") is None:
            return "a silent name server needs unshare and mount (Debian: util-linux, mount)"
        return None

    def __enter__(self) -> SilentNameServer:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((self.address, 53))
        self._socket.settimeout(0.2)  # the reading thread looks up now and then to see if it should end
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._swallow, name="silent-dns", daemon=True)
        self._thread.start()
        self._directory = tempfile.TemporaryDirectory(prefix="samizdat-dns-")
        self.resolv_conf = Path(self._directory.name) / "resolv.conf"
        # attempts:1 — one timeout per lookup, as the measurement describes.
        self.resolv_conf.write_text(
            f"nameserver {self.address}\noptions timeout:{self.timeout} attempts:1\n", encoding="ascii"
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join()
        if self._socket is not None:
            self._socket.close()
        if self._directory is not None:
            self._directory.cleanup()

    def _swallow(self) -> None:
        assert self._socket is not None
        while not self._closing.is_set():
            try:
                self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            self.queries += 1

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run in a mount namespace whose resolver is this server (the program is
        exec'd: its process id is the one that starts, signals reach it directly)."""
        assert self.resolv_conf is not None, "use the server as a context manager"
        script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            str(self.resolv_conf),
            *argv,
        ]
