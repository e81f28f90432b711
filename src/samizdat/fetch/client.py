"""The one way samizdat talks HTTP: bounded, polite, and safe to point at hostile URLs.

Redirects are followed by hand so that every hop is checked (scheme, resolved address)
and recorded: each hop is an :class:`Exchange` that the archive stage writes to WARC as it
went over the wire (compressed bodies stay compressed). The body is streamed under a size
cap and a total deadline, so an endless or drip-fed response ends as a clear failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from samizdat.config import FetchSettings
from samizdat.fetch.decode import ContentEncodingError, DecodedText, decode_html, decompress
from samizdat.fetch.egress import DIRECT, Egress, parse_egresses
from samizdat.fetch.resolver import Resolver
from samizdat.fetch.safety import Resolve, UnsafeURL, check_scheme, safe_address
from samizdat.fetch.scheduler import HostScheduler, Rerouted
from samizdat.fetch.streams import AsyncioBackend
from samizdat.fetch.turns import HostTurns, Priority, Turns
from samizdat.pools import Pool

Headers = tuple[tuple[str, str], ...]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


class FetchFailure(enum.StrEnum):
    """Why a fetch produced no usable response. Every kind is transient for the watcher."""

    TIMEOUT = "timeout"
    CONNECT = "connect"
    DNS = "dns"
    TOO_LARGE = "too_large"
    TRUNCATED = "truncated"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    UNSAFE_URL = "unsafe_url"
    PROTOCOL = "protocol"


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response, as sent and received."""

    url: str
    ip: str | None
    method: str
    request_headers: Headers
    http_version: str
    status: int
    reason: str
    response_headers: Headers
    body: bytes  # as on the wire: still gzip-compressed if the server compressed it
    started_at: datetime
    egress: str = DIRECT  # the way out it went by (fetch/egress.py)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == name), None)


@dataclass(frozen=True)
class FetchResult:
    requested_url: str
    final_url: str
    status: int | None
    content: bytes  # the final body with Content-Encoding undone
    content_type: str | None
    exchanges: tuple[Exchange, ...]
    fetched_at: datetime  # when its request was sent (WARC-Date)
    elapsed: float
    failure: FetchFailure | None = None
    error: str | None = None
    redirect_chain: tuple[str, ...] = field(default=())
    # When its answer was in hand: what it shows held by then (a removal notice proves the
    # removal at this instant, not at the sending, which may precede it by the round trip).
    received_at: datetime | None = None
    # The class its last request went as: higher than asked when it was promoted while it
    # waited (a routine check whose article left its listing meanwhile goes as a signalled one).
    sent_as: Priority | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def egress(self) -> str | None:
        """The way out its final answer came by (None: it never got one)."""
        return self.exchanges[-1].egress if self.exchanges else None

    def text(self) -> DecodedText:
        return decode_html(self.content, self.content_type)


class _Failed(Exception):
    def __init__(self, kind: FetchFailure, message: str, *, way_down: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.way_down = way_down  # the way out failed, not the host: another may get through


# A way out that cannot connect (a proxy down, an address gone) rests as a whole this long
# (real seconds: its trouble is the network's, not a host's answer in schedule time).
WAY_DOWN_SECONDS = 30.0
REMEMBERED_URLS = 50_000  # the way out each recent URL was fetched by: a confirmation takes another


@dataclass
class _Way:
    """A way out and what this process knows of it."""

    egress: Egress
    transports: dict[str, httpx.AsyncBaseTransport]
    refusals: int = 0
    down_until: float = 0.0  # time.monotonic()
    resting: dict[str, float] = field(default_factory=dict)  # host -> end of its rest (monotonic)
    refused_in_a_row: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    sent: Counter[str] = field(default_factory=Counter)  # requests by host


@dataclass(frozen=True)
class EgressFigures:
    """One way out, as ``samizdat status`` and the watch display show it."""

    name: str
    requests: int
    refusals: int
    resting_hosts: int
    down_seconds: float


class Fetcher:
    """Async HTTP fetcher. Use as ``async with Fetcher(settings) as fetcher``.

    Every request waits in its host's queue (:class:`~samizdat.fetch.scheduler.HostScheduler`)
    by its :class:`~samizdat.fetch.turns.Priority`; ``fetch.timeout`` counts from the moment
    it is sent, not while it waits its turn. Names are looked up by ``resolver`` (by default
    a :class:`~samizdat.fetch.resolver.Resolver` with threads of its own), whose failures
    rest for ``rest_seconds`` (a quarter of it for the first, as a host that refuses us).
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolve | None = None,
        turns: Turns | None = None,
        aging_seconds: float = 60.0,
        rest_seconds: float = 600.0,
    ) -> None:
        self.settings = settings
        self._own_lookups = Pool("lookups", 4) if resolver is None else None
        self.resolver = resolver or Resolver(
            self._own_lookups,
            timeout=settings.lookup_timeout,
            cache_seconds=settings.lookup_cache_seconds,
            rest_seconds=rest_seconds,
        )
        # Requests go straight to httpx's transports: redirects are followed here, and there is
        # no client-level cookie jar (every fetch is a first visit: no session to track us).
        # HTTP/2 is only ever negotiated over TLS; for http:// it would add overhead and nothing else.
        # Each way out (fetch.egress) has transports of its own.
        self._ways = [
            _Way(
                egress,
                {
                    scheme: transport
                    or _asyncio_transport(
                        settings, egress, self.resolver, http2=settings.http2 and scheme == "https"
                    )
                    for scheme in ("http", "https")
                },
            )
            for egress in parse_egresses(settings.egress)
        ]
        self._last_way: OrderedDict[str, str] = OrderedDict()
        self._timeouts = httpx.Timeout(settings.timeout, connect=settings.connect_timeout).as_dict()
        self._total = asyncio.Semaphore(settings.total_concurrency)
        # The per-host rate and back-off; shared with other processes when ``turns`` is given.
        self._turns = turns or HostTurns(settings.per_host_rate)
        self.scheduler = HostScheduler(
            self._turns, settings.per_host_concurrency, aging_seconds=aging_seconds
        )

    def _key(self, host: str, way: _Way) -> str:
        """The name ``host``'s queue and turns go by for ``way``: the host alone for the first
        way out (as with one), the host and the way for the others."""
        return host if way is self._ways[0] else f"{host} via {way.egress.name}"

    def _way(self, name: str | None) -> _Way:
        return next((way for way in self._ways if way.egress.name == name), self._ways[0])

    def promote(self, urls: Collection[str], priority: Priority) -> int:
        """Move the fetches of ``urls`` still waiting for their turn up to ``priority``: a check
        queued as routine whose article has since left its listing goes as a signalled one."""
        return self.scheduler.promote(urls, priority)

    def back_off(self, host: str, seconds: float, egress: str | None = None) -> None:
        """Send nothing to ``host`` for ``seconds`` (through ``egress`` only, if given)."""
        for way in self._ways if egress is None else [self._way(egress)]:
            self.scheduler.back_off(self._key(host, way), seconds)
            way.resting[host] = max(way.resting.get(host, 0.0), time.monotonic() + seconds)
            if egress is not None and len(self._ways) > 1:
                self.scheduler.reroute(self._key(host, way))  # its waiters take another way

    def refused(self, host: str, rest_seconds: float, egress: str | None = None) -> float:
        """``host`` showed a verification or rate-limit page, 429 or 503 to ``egress`` (the
        first way out if None): rest that way for that host, the longer the more such answers
        came in a row (a quarter of ``rest_seconds`` for the first, doubling up to four times
        it), since one such answer among many good ones is a glitch and a run of them is the
        host telling us to slow down; the other ways carry on. Returns the rest in seconds."""
        way = self._way(egress)
        way.refusals += 1
        way.refused_in_a_row[host] += 1
        rest = rest_seconds * min(4.0, 2.0 ** (way.refused_in_a_row[host] - 3))
        self.back_off(host, rest, way.egress.name)
        return rest

    def answered(self, host: str, egress: str | None = None) -> None:
        """``host`` answered a request through ``egress`` as it should: that run of refusals is over."""
        self._way(egress).refused_in_a_row.pop(host, None)

    def egresses(self) -> list[EgressFigures]:
        now = time.monotonic()
        return [
            EgressFigures(
                way.egress.name,
                way.sent.total(),
                way.refusals,
                sum(1 for end in way.resting.values() if end > now),
                round(max(way.down_until - now, 0.0), 1),
            )
            for way in self._ways
        ]

    def _choose(self, host: str, avoid: str | None) -> _Way:
        """The way out for the next request to ``host``: of those up, one not resting for the
        host, with the fewest of its requests queued or in flight, then the fewest sent to it
        (so that the ways share the load); not ``avoid`` while another is up."""
        now = time.monotonic()
        up = [way for way in self._ways if way.down_until <= now] or [
            min(self._ways, key=lambda w: w.down_until)
        ]
        if avoid is not None and len(up) > 1:
            up = [way for way in up if way.egress.name != avoid] or up
        return min(
            up,
            key=lambda way: (
                max(way.resting.get(host, 0.0) - now, 0.0),
                self.scheduler.load(self._key(host, way)),
                way.sent[host],
            ),
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        transports = [t for way in self._ways for t in way.transports.values()]
        for transport in {id(t): t for t in transports}.values():
            await transport.aclose()
        if self._own_lookups is not None:
            self._own_lookups.close()

    async def fetch(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        accept: str = _ACCEPT_HTML,
        priority: Priority = Priority.CAPTURE,
        order: int | None = None,
        avoid_egress: str | None = None,
    ) -> FetchResult:
        """GET ``url``, following redirects; never raises for network or server trouble.

        ``priority`` places each of its requests in the host's queue; ``order`` (from
        ``fetcher.scheduler.ticket()``) keeps a retried request's earlier place in its class.
        It goes out by another way than ``avoid_egress`` while there is one; a confirmation
        (``Priority.CONFIRM``) by another way than the one that last fetched ``url``: a notice
        seen from one address only may be that address being blocked.
        """
        if avoid_egress is None and priority is Priority.CONFIRM:
            avoid_egress = self._last_way.get(url)
        started = time.monotonic()
        fetched_at = datetime.now(UTC)
        exchanges: list[Exchange] = []
        cap = max_bytes or self.settings.max_body_bytes
        deadline = _Deadline(self.settings.timeout)
        place = _Place(priority, order, avoid_egress, url)
        try:
            final, content = await self._follow(
                url,
                headers or {},
                accept,
                cap,
                exchanges,
                place,
                deadline,
            )
        except _Failed as failed:
            return self._failed(url, exchanges, fetched_at, started, failed.kind, str(failed), place)
        except TimeoutError:
            message = f"no complete response within {self.settings.timeout:g} s (fetch.timeout)"
            return self._failed(url, exchanges, fetched_at, started, FetchFailure.TIMEOUT, message, place)
        if exchanges:
            fetched_at = exchanges[0].started_at  # when it was sent, not when it joined the queue
        self._remember(url, final.egress)
        return FetchResult(
            requested_url=url,
            final_url=final.url,
            status=final.status,
            content=content,
            content_type=final.header("content-type"),
            exchanges=tuple(exchanges),
            fetched_at=fetched_at,
            elapsed=time.monotonic() - started,
            redirect_chain=tuple(e.url for e in exchanges[:-1]),
            received_at=datetime.now(UTC),
            sent_as=place.sent_as,
        )

    def _remember(self, url: str, egress: str) -> None:
        self._last_way[url] = egress
        self._last_way.move_to_end(url)
        if len(self._last_way) > REMEMBERED_URLS:
            self._last_way.popitem(last=False)

    def _failed(
        self,
        url: str,
        exchanges: list[Exchange],
        fetched_at: datetime,
        started: float,
        kind: FetchFailure,
        message: str,
        place: _Place,
    ) -> FetchResult:
        return FetchResult(
            requested_url=url,
            final_url=exchanges[-1].url if exchanges else url,
            status=None,
            content=b"",
            content_type=None,
            exchanges=tuple(exchanges),
            fetched_at=fetched_at,
            elapsed=time.monotonic() - started,
            failure=kind,
            error=message,
            sent_as=place.sent_as,
        )

    async def _follow(
        self,
        url: str,
        extra_headers: Mapping[str, str],
        accept: str,
        cap: int,
        exchanges: list[Exchange],
        place: _Place,
        deadline: _Deadline,
    ) -> tuple[Exchange, bytes]:
        for _hop in range(self.settings.max_redirects + 1):
            exchange = await self._one(url, extra_headers, accept, cap, place, deadline)
            exchanges.append(exchange)
            location = exchange.header("location")
            if exchange.status in _REDIRECTS and location:
                url = _absolute(exchange.url, location)
                continue
            content = _decompress(exchange.body, exchange.header("content-encoding"), cap)
            return exchange, content
        raise _Failed(
            FetchFailure.TOO_MANY_REDIRECTS,
            f"more than {self.settings.max_redirects} redirects (fetch.max_redirects)",
        )

    async def _one(
        self,
        url: str,
        extra_headers: Mapping[str, str],
        accept: str,
        cap: int,
        place: _Place,
        deadline: _Deadline,
    ) -> Exchange:
        try:
            url = str(httpx.URL(_strip_fragment(url)))  # percent-encoded, as sent and as WARC wants it
        except httpx.InvalidURL as exc:
            raise _Failed(FetchFailure.UNSAFE_URL, f"malformed URL {url!r}: {exc}") from None
        try:
            async with deadline.running():
                host, address = await safe_address(
                    url, allow_private=self.settings.allow_private_networks, resolver=self.resolver
                )
        except UnsafeURL as exc:
            raise _Failed(FetchFailure.UNSAFE_URL, str(exc)) from None
        except LookupError as exc:
            raise _Failed(FetchFailure.DNS, str(exc)) from None
        scheme, _, port = check_scheme(url)
        parts = urlsplit(url)
        netloc = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit((scheme, f"{netloc}:{port}", parts.path or "/", parts.query, ""))
        headers = {
            "Host": parts.netloc.rsplit("@", 1)[-1],
            "User-Agent": self.settings.user_agent,
            "Accept": accept,
            "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
            "Accept-Encoding": "gzip, deflate",
            **extra_headers,
        }
        request = httpx.Request(
            "GET", pinned, headers=headers, extensions={"sni_hostname": host, "timeout": self._timeouts}
        )
        tried: set[str] = set()
        while True:
            way = self._choose(host, place.avoid_egress if not tried else None)
            if way.egress.name in tried:
                way = next((w for w in self._ways if w.egress.name not in tried), way)
            tried.add(way.egress.name)
            try:
                started_at, response, body = await self._send(
                    request, scheme, host, way, place, cap, deadline
                )
                break
            except Rerouted:
                tried.discard(way.egress.name)  # it never went: choose again, that way now resting
            except _Failed as failed:
                if not failed.way_down:
                    raise
                way.down_until = time.monotonic() + WAY_DOWN_SECONDS
                if len(tried) == len(self._ways):
                    raise
        request_headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw)
        return Exchange(
            url=url,
            ip=str(address),
            method="GET",
            request_headers=request_headers,
            http_version=response.http_version,
            status=response.status_code,
            reason=response.reason_phrase,
            response_headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw
            ),
            body=body,
            started_at=started_at,
            egress=way.egress.name,
        )

    async def _send(
        self,
        request: httpx.Request,
        scheme: str,
        host: str,
        way: _Way,
        place: _Place,
        cap: int,
        deadline: _Deadline,
    ) -> tuple[datetime, httpx.Response, bytes]:
        """Send ``request`` by ``way`` once it has a place and a turn of ``host``'s budget
        there; a failure of the way itself (a proxy that does not answer, a local address
        gone) says so, that the request may go by another."""
        slot = self.scheduler.slot(self._key(host, way), place.priority, order=place.order, key=place.key)
        async with slot as granted, self._total:
            place.sent_as = granted
            way.sent[host] += 1
            started_at = datetime.now(UTC)
            async with deadline.running():
                try:
                    response = await way.transports[scheme].handle_async_request(request)
                except httpx.TimeoutException as exc:
                    raise _Failed(FetchFailure.TIMEOUT, f"{host}: {type(exc).__name__}") from None
                except httpx.ProxyError as exc:
                    raise _Failed(
                        FetchFailure.CONNECT, f"the proxy {way.egress.name} refused {host}: {exc}"
                    ) from None
                except httpx.ConnectError as exc:
                    down = way.egress.is_proxy or "assign requested address" in str(exc)
                    where = f" by {way.egress.name}" if down else ""
                    raise _Failed(
                        FetchFailure.CONNECT, f"cannot connect to {host}{where}: {exc}", way_down=down
                    ) from None
                except httpx.HTTPError as exc:
                    raise _Failed(FetchFailure.PROTOCOL, f"{host}: {exc}") from None
                try:
                    body = await _read_capped(response, cap)
                finally:
                    await response.aclose()
        return started_at, response, body


@dataclass
class _Place:
    """Where a fetch's requests stand in their host's queue, and the way out they avoid."""

    priority: Priority
    order: int | None
    avoid_egress: str | None = None
    key: str | None = None  # the URL fetched, by which a waiting request is promoted
    sent_as: Priority | None = None  # the class its last request was granted as


class _Deadline:
    """``fetch.timeout`` for the time a fetch spends on the network, its hops added up; the
    time its requests wait in their host's queue does not count."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        started = time.monotonic()
        try:
            async with asyncio.timeout(max(self.left, 0.0)):
                yield
        finally:
            self.left -= time.monotonic() - started


def _asyncio_transport(
    settings: FetchSettings, egress: Egress, resolver: Resolve, *, http2: bool
) -> httpx.AsyncHTTPTransport:
    """httpx's transport for ``egress`` with its connection pool on asyncio streams (see
    :mod:`.streams`): requests go to addresses already looked up, a proxy's name is looked up
    by ``resolver``."""
    return asyncio_transport(
        http2=http2,
        limits=httpx.Limits(max_connections=settings.total_concurrency),
        resolver=resolver if egress.is_proxy else None,
        local_address=egress.local_address,
        proxy=egress.proxy,
    )


def asyncio_transport(
    *,
    http2: bool = False,
    limits: httpx.Limits | None = None,
    resolver: Resolve | None = None,
    local_address: str | None = None,
    proxy: str | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport on plain asyncio streams; host names (if any) looked up by ``resolver``;
    connections from ``local_address`` or through ``proxy``."""
    transport = httpx.AsyncHTTPTransport(
        http2=http2,
        trust_env=False,
        limits=limits or httpx.Limits(),
        local_address=local_address,
        proxy=proxy,
    )
    transport._pool._network_backend = AsyncioBackend(resolver)  # httpx takes no backend argument
    return transport


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise _Failed(
            FetchFailure.TOO_LARGE,
            f"response declares {int(declared):,} bytes, over the {cap:,}-byte cap (fetch.max_body_bytes)",
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > cap:
                raise _Failed(
                    FetchFailure.TOO_LARGE,
                    f"response body passed the {cap:,}-byte cap (fetch.max_body_bytes)",
                )
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise _Failed(FetchFailure.TIMEOUT, "the body stopped arriving (read timeout)") from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise _Failed(FetchFailure.TRUNCATED, f"the body was cut off: {exc}") from None
    body = b"".join(chunks)
    if declared and declared.isdigit() and len(body) < int(declared):
        raise _Failed(FetchFailure.TRUNCATED, f"got {len(body):,} of {int(declared):,} declared bytes")
    return body


def _decompress(body: bytes, encoding: str | None, cap: int) -> bytes:
    try:
        return decompress(body, encoding, cap)
    except ContentEncodingError as exc:
        raise _Failed(FetchFailure(exc.failure), str(exc)) from None


def _absolute(base: str, location: str) -> str:
    return urljoin(base, location.strip())


def _strip_fragment(url: str) -> str:
    return url.split("#", 1)[0]
