"""Which URLs the fetcher may reach.

A submitted URL is attacker-controlled: it must not become a way into the operator's own
network. Only http(s) is allowed, and the host's addresses are checked *after* DNS
resolution (a public-looking name can resolve to 127.0.0.1) and again on every redirect.
The fetcher then connects to the very address that was checked, so a second DNS answer
cannot swap it (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# A host's addresses, or LookupError: fetch/resolver.py's Resolver, or a test's stand-in.
Resolve = Callable[[str, int], Awaitable[list[IPAddress]]]


class UnsafeURL(ValueError):
    """The URL is not http(s), is malformed, or points at a non-public address."""


def check_scheme(url: str) -> tuple[str, str, int]:
    """Return (scheme, host, port) of an http(s) URL or raise :class:`UnsafeURL`.

    >>> check_scheme("https://mp.weixin.qq.com/s/abc")
    ('https', 'mp.weixin.qq.com', 443)
    >>> check_scheme("file:///etc/passwd")
    Traceback (most recent call last):
    ...
    samizdat.fetch.safety.UnsafeURL: only http and https URLs can be fetched, not 'file:'
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"malformed URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURL(f"only http and https URLs can be fetched, not {scheme + ':'!r}")
    if not parts.hostname:
        raise UnsafeURL(f"URL {url!r} has no host")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def is_public_address(address: IPAddress) -> bool:
    """False for private, loopback, link-local (cloud metadata), multicast and reserved ranges.

    >>> is_public_address(ipaddress.ip_address("169.254.169.254"))
    False
    >>> is_public_address(ipaddress.ip_address("::ffff:127.0.0.1"))
    False
    >>> is_public_address(ipaddress.ip_address("203.0.114.1"))
    True
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def safe_address(url: str, *, allow_private: bool, resolver: Resolve) -> tuple[str, IPAddress]:
    """Resolve ``url``'s host and return (host, address to connect to), or raise :class:`UnsafeURL`.

    Every address the name resolves to must be public: a name with one private answer
    among public ones is refused, since a later lookup could hand out the private one.
    """
    _scheme, host, port = check_scheme(url)
    addresses = await resolver(host, port)
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise UnsafeURL(
                    f"{host} resolves to {address}, a private or reserved address; "
                    "set fetch.allow_private_networks = true to allow it"
                )
    return host, addresses[0]
