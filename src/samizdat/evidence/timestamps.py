"""Trusted time for tree heads: RFC 3161 time-stamping authorities named in the settings
(``timestamps.authorities``; none by default) stamp each signed head's bytes, and the tokens
are kept beside it, so that a third party need not take the archive's clock on trust.

Requests and checks are made with the ``openssl ts`` command (OpenSSL 1.1 or later, present
on any Debian machine): the tokens are plain RFC 3161 responses that anyone can check the same
way, ``openssl ts -verify -data HEAD -in TOKEN -CAfile ROOTS``.

Public authorities (free, no account): https://freetsa.org/tsr (its root:
https://freetsa.org/files/cacert.pem), http://timestamp.digicert.com,
http://timestamp.sectigo.com (their roots are in the usual CA bundle).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
_STAMP_TIME = re.compile(r"Time stamp: (.+)")


class TimestampError(RuntimeError):
    """An authority could not be asked, refused, or its token does not hold."""


def _openssl(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("openssl")
    if tool is None:
        raise TimestampError("the openssl command is needed for RFC 3161 timestamps: apt-get install openssl")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)


def query(message: bytes) -> bytes:
    """An RFC 3161 request for ``message``'s SHA-256, asking for the authority's certificate."""
    with tempfile.TemporaryDirectory() as directory:
        data, out = Path(directory) / "data", Path(directory) / "query.tsq"
        data.write_bytes(message)
        done = _openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(out))
        if done.returncode != 0:
            raise TimestampError(f"openssl could not make a timestamp request: {done.stderr.strip()}")
        return out.read_bytes()


def stamp(authority: str, message: bytes, *, timeout: float) -> bytes:
    """The token ``authority`` gives for ``message`` (its whole RFC 3161 response)."""
    try:
        response = httpx.post(
            authority,
            content=query(message),
            headers={"Content-Type": QUERY_TYPE},
            timeout=timeout,
            trust_env=False,
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise TimestampError(f"{authority}: {exc}") from None
    return response.content


def token_certificates(token: bytes) -> str:
    """The certificates a token carries (the authority's, and the chain when it sent one), as
    PEM, each followed by the one that issued it."""
    from cryptography import x509

    with tempfile.TemporaryDirectory() as directory:
        reply, inner = Path(directory) / "reply.tsr", Path(directory) / "token.der"
        reply.write_bytes(token)
        if _openssl("ts", "-reply", "-in", str(reply), "-token_out", "-out", str(inner)).returncode != 0:
            raise TimestampError("the authority's answer is not an RFC 3161 response")
        printed = _openssl("pkcs7", "-inform", "DER", "-in", str(inner), "-print_certs")
    certificates = (
        x509.load_pem_x509_certificates(printed.stdout.encode()) if "BEGIN" in printed.stdout else []
    )
    if not certificates:
        raise TimestampError("the token carries no certificate: ask the authority for it (-cert)")
    issuers = {c.issuer for c in certificates if c.issuer != c.subject}
    chain = [next((c for c in certificates if c.subject not in issuers), certificates[0])]
    while len(chain) < len(certificates):
        issuer = next((c for c in certificates if c.subject == chain[-1].issuer and c not in chain), None)
        if issuer is None:
            break
        chain.append(issuer)
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)


def check(message: bytes, token: bytes, ca_file: Path) -> datetime:
    """The time ``token`` gives ``message``, once it holds against the roots in ``ca_file``;
    :class:`TimestampError` saying why when it does not."""
    with tempfile.TemporaryDirectory() as directory:
        data, reply = Path(directory) / "data", Path(directory) / "reply.tsr"
        data.write_bytes(message)
        reply.write_bytes(token)
        verified = _openssl("ts", "-verify", "-data", str(data), "-in", str(reply), "-CAfile", str(ca_file))
        if verified.returncode != 0 or "Verification: OK" not in verified.stdout:
            reason = (verified.stderr.strip().splitlines() or ["verification failed"])[-1]
            raise TimestampError(f"the token does not hold for this head: {reason}")
        text = _openssl("ts", "-reply", "-in", str(reply), "-text")
    found = _STAMP_TIME.search(text.stdout)
    if found is None:
        raise TimestampError("the token names no time")
    return stamp_time(found.group(1))


def stamp_time(shown: str) -> datetime:
    """The time as ``openssl ts -text`` shows it: ``Nov 30 14:10:24 2026 GMT``, or with
    fractions of a second.

    >>> stamp_time("Nov  3 14:10:24.125 2026 GMT").isoformat()
    '2026-11-03T14:10:24.125000+00:00'
    """
    plain = " ".join(shown.replace("GMT", "").split())
    for pattern in ("%b %d %H:%M:%S.%f %Y", "%b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(plain, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise TimestampError(f"the token's time {shown!r} cannot be read")
