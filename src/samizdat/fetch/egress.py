"""Ways out: the addresses and proxies requests leave by (``fetch.egress``).

One address may send a platform only so much before it answers with verification pages; a
deployment that watches thousands of accounts spreads its requests over several. Each way out
is written as

- ``direct``: the machine's own address (the default, alone);
- an IP address of this machine (``192.0.2.7``, ``2001:db8::7``): connections leave from it;
- ``http://[user:password@]host:port`` or ``https://…``: an HTTP proxy (CONNECT for https);
- ``socks5://[user:password@]host:port``: a SOCKS5 proxy.

Each has its own budget per host (:class:`~samizdat.fetch.client.Fetcher` keys the host's
turns by host and egress); its name — shown in ``samizdat status`` and written into every WARC
request record (``Samizdat-Egress``) — never carries the credentials.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

DIRECT = "direct"
PROXY_SCHEMES = ("http", "https", "socks5")


class EgressError(ValueError):
    """A way out written so that it cannot be used."""


@dataclass(frozen=True)
class Egress:
    name: str  # as shown and recorded: no credentials
    local_address: str | None = None
    proxy: str | None = None  # the proxy's URL, credentials included

    @property
    def is_proxy(self) -> bool:
        return self.proxy is not None


def parse_egress(spec: str) -> Egress:
    """One way out from how ``fetch.egress`` writes it (see the module's text)."""
    spec = spec.strip()
    if spec == DIRECT:
        return Egress(DIRECT)
    try:
        address = ipaddress.ip_address(spec.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return Egress(str(address), local_address=str(address))
    parts = urlsplit(spec)
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname or parts.port is None:
        raise EgressError(
            "'direct', an address of this machine (192.0.2.7), or a proxy URL with its port "
            "(http://host:3128, socks5://user:password@host:1080)"
        )
    if parts.path not in ("", "/") or parts.query:
        raise EgressError("a proxy URL is scheme://[user:password@]host:port, with no path")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Egress(f"{parts.scheme}://{host}:{parts.port}", proxy=spec)


def parse_egresses(specs: Sequence[str]) -> list[Egress]:
    """The ways out ``fetch.egress`` names (``direct`` alone when it names none), each once."""
    egresses = [parse_egress(spec) for spec in specs] or [Egress(DIRECT)]
    names = [egress.name for egress in egresses]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise EgressError(f"each way out once: {', '.join(repeated)} is named twice")
    return egresses
