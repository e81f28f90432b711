"""Name lookups that hold up nothing else: their own threads, a time limit, answers remembered.

``getaddrinfo`` blocks its thread until the resolver answers, and on a censored or broken
network (poisoned or throttled DNS, a dead resolver, a blocked CDN) it may wait out its whole
timeout for every name. So lookups run in a pool of their own (``pools.lookup_threads``), one
lookup per name at a time however many requests want it, and a caller waits at most
``fetch.lookup_timeout``. Answers are kept for ``fetch.lookup_cache_seconds``; a name whose
lookup failed or timed out rests like a host that refuses us: it is not asked again for a
quarter of the rest for the first failure, doubling with each one in a row up to four times
it (the rest is given in schedule time by the caller), and requests for it fail at once
meanwhile, so that what waits on it (a capture's retries, a linked article) moves on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from samizdat.fetch.safety import IPAddress
from samizdat.pools import Pool

Lookup = Callable[[str, int], list[IPAddress]]
MAX_NAMES = 4096  # names remembered, answered or failed; the oldest are forgotten first


def system_lookup(host: str, port: int) -> list[IPAddress]:
    """The machine's own resolver (``/etc/hosts``, ``/etc/resolv.conf``, NSS): blocks its thread."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise LookupError(exc.strerror or str(exc)) from None
    seen: dict[str, IPAddress] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        seen.setdefault(str(address), address)
    if not seen:
        raise LookupError("no address")
    return list(seen.values())


def _seen(answer: asyncio.Future) -> None:
    if not answer.cancelled():
        answer.exception()


@dataclass
class _Name:
    addresses: list[IPAddress] | None  # None: the last lookup failed
    until: float  # monotonic: the answer is fresh, or the failure rests, until then
    failures: int = 0  # failed lookups in a row
    error: str = ""


class Resolver:
    """``await resolver(host, port)``: the host's addresses, or :class:`LookupError`."""

    def __init__(
        self,
        pool: Pool,
        *,
        timeout: float = 5.0,
        cache_seconds: float = 300.0,
        rest_seconds: float = 600.0,
        lookup: Lookup = system_lookup,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.rest_seconds = rest_seconds
        self._lookup = lookup
        self._clock = clock
        self._names: OrderedDict[str, _Name] = OrderedDict()
        self._pending: dict[str, concurrent.futures.Future[list[IPAddress]]] = {}
        self._lock = threading.Lock()  # the names are written by the pool's threads too

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        name = host.lower().rstrip(".")
        with self._lock:
            known = self._names.get(name)
            if known is not None and self._clock() < known.until:
                if known.addresses is not None:
                    return known.addresses
                left = known.until - self._clock()
                raise LookupError(f"cannot resolve {host}: {known.error} (not asked again for {left:.3g} s)")
            job = self._pending.get(name)
            started = job is None
            if job is None:
                job = self._pending[name] = self.pool.submit(self._lookup, name, port)
        if started:
            # Outside the lock: a lookup that has already ended runs the callback here and now,
            # and _settled takes the lock (held, it would wait for ever, and the loop with it).
            job.add_done_callback(lambda done, name=name: self._settled(name, done))
        answer = asyncio.wrap_future(job)
        answer.add_done_callback(_seen)  # a failure after every caller gave up is noted in _settled
        try:
            async with asyncio.timeout(self.timeout):
                # Shielded: a caller that gives up leaves the lookup to end for the others.
                return await asyncio.shield(answer)
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s (fetch.lookup_timeout)"
            self._failed(name, error)
            raise LookupError(f"cannot resolve {host}: {error}") from None
        except LookupError as exc:
            raise LookupError(f"cannot resolve {host}: {exc}") from None

    def resting(self) -> dict[str, float]:
        """Names whose lookups failed and still rest, with the seconds left."""
        now = self._clock()
        with self._lock:
            return {
                name: known.until - now
                for name, known in self._names.items()
                if known.addresses is None and known.until > now
            }

    def _settled(self, name: str, done: concurrent.futures.Future[list[IPAddress]]) -> None:
        with self._lock:
            if self._pending.get(name) is done:
                del self._pending[name]
        if done.cancelled():
            return
        error = done.exception()
        if error is None:
            self._remember(name, _Name(done.result(), self._clock() + self.cache_seconds))
        else:
            self._failed(name, str(error) if isinstance(error, LookupError) else repr(error))

    def _failed(self, name: str, error: str) -> None:
        with self._lock:
            known = self._names.get(name)
            if known is not None and known.addresses is None and known.until > self._clock():
                return  # already resting: a caller's timeout came first, then the lookup's own end
            failures = (known.failures if known is not None and known.addresses is None else 0) + 1
        rest = self.rest_seconds * min(4.0, 2.0 ** (failures - 3))
        self._remember(name, _Name(None, self._clock() + rest, failures, error))

    def _remember(self, name: str, entry: _Name) -> None:
        with self._lock:
            self._names[name] = entry
            self._names.move_to_end(name)
            while len(self._names) > MAX_NAMES:
                self._names.popitem(last=False)
