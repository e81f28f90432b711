"""httpcore's network layer on plain asyncio streams.

httpcore's default backend goes through anyio, whose ``get_extra_info`` builds a dictionary
of attributes on every call; the connection pool asks each idle connection
``is_readable`` on every request, so with a pool of 16 connections that bookkeeping cost
more CPU than parsing the response (measured: plain GETs of the simulator's pages went
from 152 to 210 pages/s in one process). The fetcher runs on asyncio only, so it can talk
to the sockets directly. Timeouts and errors map to httpcore's exceptions, which httpx turns
into its own, so nothing above this module changes.

The fetcher connects to addresses it has resolved and checked itself; a client that gives
host names (the notifier's webhooks) passes a ``resolver``, so that its lookups run where
every other lookup runs (``fetch/resolver.py``), never in asyncio's shared executor.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

from samizdat.fetch.safety import Resolve

_READ_LIMIT = 1 << 20


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("no data within the read timeout") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("the peer stopped reading") from None
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> AsyncioStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle connection with something to read is one the server has closed.
            return self._reader.at_eof() or self._writer.transport.is_closing()
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, resolver: Resolve | None = None) -> None:
        self.resolver = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple[int, int, int | bytes]] | None = None,
    ) -> AsyncioStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = [host]
                if self.resolver is not None:
                    try:
                        addresses = [str(address) for address in await self.resolver(host, port)]
                    except LookupError as exc:
                        raise httpcore.ConnectError(str(exc)) from None
                reader, writer = await _open_first(addresses, port, local_address)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} within the timeout") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[tuple[int, int, int | bytes]] | None = None,
    ) -> AsyncioStream:
        raise httpcore.ConnectError("the fetcher does not use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _open_first(
    addresses: list[str], port: int, local_address: str | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the first of ``addresses`` that takes one (the last error otherwise)."""
    for address in addresses[:-1]:
        try:
            return await _open(address, port, local_address)
        except OSError:
            continue
    return await _open(addresses[-1], port, local_address)


async def _open(
    address: str, port: int, local_address: str | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(
        address, port, limit=_READ_LIMIT, local_addr=(local_address, 0) if local_address else None
    )
