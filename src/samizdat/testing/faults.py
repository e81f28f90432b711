"""The simulator's misbehaving responses, served under ``/fault/<name>``: drips, endless and
huge bodies, resets, truncated gzip, wrong lengths, redirect loops, empty and binary bodies,
undeclared or misdeclared GBK, any status — what the fetch stage must survive."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samizdat.testing.simulator import Simulator


def send(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]],
    *,
    length: int | None = None,
) -> None:
    reason = {
        200: "OK",
        302: "Found",
        404: "Not Found",
        410: "Gone",
        451: "Unavailable For Legal Reasons",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }.get(status, "Status")
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Content-Length: {len(body) if length is None else length}",
        *(f"{k}: {v}" for k, v in headers),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


async def not_found(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    send(writer, 404, b"<html><body>not found</body></html>", [("Content-Type", "text/html")])
    return True


async def _slow(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    """A body that drips one byte every ``interval`` seconds."""
    interval = float(query.get("interval", "0.5"))
    body = b"<html><body>" + b"x" * 200 + b"</body></html>"
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    for byte in body:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(interval)
    return False


async def _endless(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    """A chunked body that never ends (until the client hangs up)."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"<p>" + b"endless " * 8000 + b"</p>"
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while True:
        writer.write(frame)
        await writer.drain()


async def _huge(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    """A ``size``-byte page (default 50 MB) with an honest Content-Length."""
    size = int(query.get("size", str(50 * 1024 * 1024)))
    declare = query.get("declare", "1") == "1"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    head += f"Content-Length: {size}\r\n\r\n".encode() if declare else b"Connection: close\r\n\r\n"
    writer.write(head)
    block = b"<p>" + b"a" * 65530 + b"</p>"
    sent = 0
    while sent < size:
        piece = block[: size - sent]
        writer.write(piece)
        sent += len(piece)
        await writer.drain()
    return False


async def _reset(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    """Promise 100 kB, send 1 kB, then drop the connection."""
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html>" + b"x" * 1000
    )
    await writer.drain()
    writer.transport.abort()
    return False


async def _truncated_gzip(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    body = gzip.compress(b"<html><body>" + "中文内容".encode() * 5000 + b"</body></html>")[:-200]
    send(writer, 200, body, [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")])
    return True


async def _wrong_length(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    body = b"<html><body>short</body></html>"
    send(writer, 200, body, [("Content-Type", "text/html"), ("Connection", "close")], length=len(body) + 500)
    await writer.drain()
    return False


async def _redirect_loop(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    hop = int(query.get("hop", "0")) + 1
    send(writer, 302, b"", [("Location", f"/fault/redirect-loop?hop={hop}")])
    return True


async def _empty(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    send(writer, 200, b"", [("Content-Type", "text/html")])
    return True


async def _binary(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    body = bytes(hashlib.sha256(str(i).encode()).digest()[0] for i in range(20000))
    send(writer, 200, body, [("Content-Type", "text/html")])
    return True


ARTICLE_IN_GBK = (
    "<html><head><title>中文标题：本地测试文章</title></head><body><div id='main'>"
    "<h1>中文标题：本地测试文章</h1><p>发布时间：2021-03-04 10:20</p>"
    + "".join(f"<p>这是第{i}段正文，用来检验没有声明编码的国标页面能否被正确解码。</p>" for i in range(12))
    + "</div></body></html>"
)


async def _gbk_undeclared(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    send(writer, 200, ARTICLE_IN_GBK.encode("gbk"), [("Content-Type", "text/html")])
    return True


async def _misdeclared(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    """Declared UTF-8 in the header, actually GBK."""
    send(writer, 200, ARTICLE_IN_GBK.encode("gbk"), [("Content-Type", "text/html; charset=utf-8")])
    return True


async def _status(sim: Simulator, writer: asyncio.StreamWriter, query: dict[str, str]) -> bool:
    code = int(query.get("code", "500"))
    send(writer, code, f"<html><body>status {code}</body></html>".encode(), [("Content-Type", "text/html")])
    return True


FAULTS = {
    "slow": _slow,
    "endless": _endless,
    "huge": _huge,
    "reset": _reset,
    "truncated-gzip": _truncated_gzip,
    "wrong-length": _wrong_length,
    "redirect-loop": _redirect_loop,
    "empty": _empty,
    "binary": _binary,
    "gbk-undeclared": _gbk_undeclared,
    "misdeclared": _misdeclared,
    "status": _status,
}
