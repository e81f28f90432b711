"""The fetcher against the simulator's misbehaving responses and an SSRF redirect."""

import ipaddress
import itertools

import httpx
import pytest

from samizdat.config import FetchSettings
from samizdat.fetch import Fetcher, FetchFailure


def local(**changes) -> FetchSettings:
    return FetchSettings(**{"allow_private_networks": True, "timeout": 5, **changes})


async def fetch(url: str, **changes):
    async with Fetcher(local(**changes)) as fetcher:
        return await fetcher.fetch(url)


async def test_article_page_is_fetched_and_gzip_undone(simulator):
    result = await fetch(simulator.article_urls()[0])
    assert result.ok and result.status == 200
    assert b"js_content" in result.content
    exchange = result.exchanges[-1]
    assert exchange.header("content-encoding") == "gzip"
    assert exchange.body[:2] == b"\x1f\x8b"  # the archive keeps the bytes as sent
    assert ("User-Agent", FetchSettings().user_agent) in exchange.request_headers


async def test_user_agent_is_the_operators(simulator):
    result = await fetch(simulator.article_urls()[0], user_agent="ResearchBot/2.0 (+mailto:ops@example.org)")
    assert ("User-Agent", "ResearchBot/2.0 (+mailto:ops@example.org)") in result.exchanges[0].request_headers


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "failure", "changes"),
    [
        ("/fault/slow?interval=0.2", FetchFailure.TIMEOUT, {"timeout": 1.0}),
        ("/fault/endless", FetchFailure.TOO_LARGE, {"max_body_bytes": 2_000_000}),
        ("/fault/huge", FetchFailure.TOO_LARGE, {}),
        ("/fault/huge?declare=0&size=8000000", FetchFailure.TOO_LARGE, {"max_body_bytes": 2_000_000}),
        ("/fault/reset", FetchFailure.TRUNCATED, {}),
        ("/fault/truncated-gzip", FetchFailure.TRUNCATED, {}),
        ("/fault/wrong-length", FetchFailure.TRUNCATED, {}),
        ("/fault/redirect-loop", FetchFailure.TOO_MANY_REDIRECTS, {"max_redirects": 5}),
    ],
)
async def test_misbehaving_responses_end_in_one_clear_failure(simulator, path, failure, changes):
    result = await fetch(simulator.base + path, **changes)
    assert result.failure is failure
    assert result.error
    assert result.content == b""


async def test_redirect_loop_records_every_hop(simulator):
    result = await fetch(simulator.base + "/fault/redirect-loop", max_redirects=3)
    assert len(result.exchanges) == 4
    assert all(e.status == 302 for e in result.exchanges)


async def test_private_address_is_refused_by_default(simulator):
    async with Fetcher(FetchSettings(timeout=5)) as fetcher:
        result = await fetcher.fetch(simulator.article_urls()[0])
    assert result.failure is FetchFailure.UNSAFE_URL
    assert "allow_private_networks" in result.error
    assert result.exchanges == ()


async def test_public_looking_url_redirecting_to_loopback_is_refused(simulator):
    """A public name that answers with a redirect to 127.0.0.1 must not reach the simulator."""
    public = ipaddress.ip_address("93.184.216.34")

    async def resolver(host, port):
        if host == "news.example":
            return [public]
        return [ipaddress.ip_address(host)]

    def public_site(request: httpx.Request) -> httpx.Response:
        assert request.url.host == str(public)  # connects to the address that was checked
        assert request.headers["host"] == "news.example"
        return httpx.Response(
            302, headers={"Location": simulator.article_urls()[0]}, stream=httpx.ByteStream(b"")
        )

    async with Fetcher(
        FetchSettings(timeout=5), transport=httpx.MockTransport(public_site), resolver=resolver
    ) as f:
        result = await f.fetch("http://news.example/story")
    assert result.failure is FetchFailure.UNSAFE_URL
    assert "127.0.0.1" in result.error
    assert [e.url for e in result.exchanges] == ["http://news.example/story"]


async def test_unresolvable_host_is_a_dns_failure():
    async with Fetcher(FetchSettings(timeout=5)) as fetcher:
        result = await fetcher.fetch("http://no-such-host.invalid/")
    assert result.failure is FetchFailure.DNS


async def test_per_host_concurrency_is_never_exceeded(simulator):
    import asyncio

    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return httpx.Response(200, stream=httpx.ByteStream(b"<html><body>ok</body></html>"))

    async def resolver(host, port):
        return [ipaddress.ip_address("93.184.216.34")]

    settings = FetchSettings(per_host_concurrency=3, total_concurrency=50)
    async with Fetcher(settings, transport=httpx.MockTransport(handler), resolver=resolver) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(f"http://one.example/{i}") for i in range(30)))
    assert all(r.ok for r in results)
    assert peak == 3


async def _public(host, port):
    return [ipaddress.ip_address("93.184.216.34")]


def _stamping(stamps):
    import time

    def handler(request: httpx.Request) -> httpx.Response:
        stamps.append((request.headers["host"], time.monotonic()))
        return httpx.Response(200, stream=httpx.ByteStream(b"<html><body>ok</body></html>"))

    return handler


async def test_per_host_rate_spaces_requests_to_one_host():
    import asyncio

    stamps: list = []
    settings = FetchSettings(per_host_concurrency=8, total_concurrency=16, per_host_rate=20)
    async with Fetcher(
        settings, transport=httpx.MockTransport(_stamping(stamps)), resolver=_public
    ) as fetcher:
        await asyncio.gather(
            *(fetcher.fetch(f"http://a.example/{i}") for i in range(10)),
            *(fetcher.fetch(f"http://b.example/{i}") for i in range(10)),
        )
    for host in ("a.example", "b.example"):
        times = sorted(t for h, t in stamps if h == host)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 1 / 20 - 0.005  # never faster than 20 requests/s to one host
        assert times[-1] - times[0] < 0.9  # and not needlessly slower
    a_first = min(t for h, t in stamps if h == "a.example")
    b_first = min(t for h, t in stamps if h == "b.example")
    assert abs(a_first - b_first) < 0.05  # one host's budget does not slow another


async def test_a_host_that_asks_for_rest_gets_it():
    """Read from the servers' own log of when each request came (not from the client's clock)."""
    stamps: list = []
    async with Fetcher(
        FetchSettings(), transport=httpx.MockTransport(_stamping(stamps)), resolver=_public
    ) as fetcher:
        await fetcher.fetch("http://a.example/1")
        fetcher.back_off("a.example", 0.3)
        await fetcher.fetch("http://b.example/1")
        await fetcher.fetch("http://a.example/2")
    (a1, _), (b1, other), (a2, _) = [(t, h) for h, t in stamps]
    assert other == "b.example" and b1 - a1 < 0.1  # another host does not wait
    assert a2 - a1 >= 0.29  # the resting host does


async def test_cookies_are_never_kept_between_fetches():
    """Every fetch is a first visit: a server's Set-Cookie is not sent back."""
    seen = []

    def answer(request):
        seen.append(request.headers.get("cookie"))
        return httpx.Response(
            200, headers={"Set-Cookie": "session=abc; Path=/"}, stream=httpx.ByteStream(b"<p>x</p>")
        )

    async with Fetcher(FetchSettings(), transport=httpx.MockTransport(answer), resolver=_public) as fetcher:
        await fetcher.fetch("http://example.test/a")
        await fetcher.fetch("http://example.test/b")
    assert seen == [None, None]


def _take_turns(slots, rate, seconds, out):
    import time as clock

    from samizdat.fetch.turns import HostTurns

    turns, taken, end = HostTurns(rate, slots), [], clock.monotonic() + seconds
    while clock.monotonic() < end:
        if turns.take("one.example") == 0:
            taken.append(clock.monotonic())
        else:
            clock.sleep(0.001)
    out.put(taken)


@pytest.mark.slow
def test_the_per_host_rate_holds_across_processes():
    """Three processes taking turns for one host at 20/s: 20 a second between them, not 60."""
    import itertools
    import multiprocessing

    from samizdat.fetch.turns import shared_slots

    context = multiprocessing.get_context("spawn")
    slots, out = shared_slots(context), context.Queue()
    workers = [context.Process(target=_take_turns, args=(slots, 20.0, 1.5, out)) for _ in range(3)]
    for worker in workers:
        worker.start()
    taken = sorted(t for _ in workers for t in out.get(timeout=30))
    for worker in workers:
        worker.join()
    span = taken[-1] - taken[0]
    assert span >= 1.4 and len(taken) <= 20 * span + 1  # the processes' runs overlap
    assert min(b - a for a, b in itertools.pairwise(taken)) >= 0.049  # whichever process took them


def _hold_the_turns_lock(slots, ready):
    import time as clock

    with slots.locked():
        ready.set()
        clock.sleep(60)


@pytest.mark.slow
def test_a_worker_killed_while_it_holds_the_turns_lock_holds_up_no_other():
    """A process killed inside ``take()`` (the out-of-memory killer, a SIGKILL) holds the
    shared turns' lock: with a semaphore every other process waited for ever, and with them
    every request; the lock is an flock now, which dies with its holder."""
    import multiprocessing
    import os
    import signal
    import threading
    import time as clock

    from samizdat.fetch.turns import HostTurns, shared_slots

    context = multiprocessing.get_context("spawn")
    slots, ready = shared_slots(context), context.Event()
    holder = context.Process(target=_hold_the_turns_lock, args=(slots, ready), daemon=True)
    holder.start()
    assert ready.wait(30)
    waited: list[float] = []
    taker = threading.Thread(
        target=lambda: waited.append(HostTurns(20.0, slots).take("one.example")), daemon=True
    )
    taker.start()
    taker.join(0.3)
    assert taker.is_alive()  # the lock is held: the turn waits for it
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    started = clock.monotonic()
    taker.join(5)
    assert waited == [0.0], "take() still waits for a lock whose holder is dead"
    assert clock.monotonic() - started < 1


def _take_database_turns(url, rate, seconds, out):
    import time as clock

    from samizdat.store import open_engine
    from samizdat.store.turns import DatabaseTurns

    engine = open_engine(url)
    turns, taken, end = DatabaseTurns(rate, engine), [], clock.monotonic() + seconds
    while clock.monotonic() < end:
        wait = turns.take("one.example")
        if wait == 0:
            taken.append(clock.time())
        else:
            clock.sleep(min(wait, 0.01))
    engine.dispose()
    out.put(taken)


@pytest.mark.slow
def test_the_per_host_rate_holds_across_processes_through_the_database(migrated_database_url):
    """Workers on several machines share the rate through the database: here three processes."""
    import multiprocessing

    url = migrated_database_url
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_take_database_turns, args=(url, 20.0, 1.5, out)) for _ in range(3)]
    for worker in workers:
        worker.start()
    taken = sorted(t for _ in workers for t in out.get(timeout=60))
    for worker in workers:
        worker.join()
    assert taken[-1] - taken[0] >= 1.3  # the processes' runs overlap
    # Spacing is kept on the database's clock; seen from the processes it blurs by their
    # scheduling, so the check is the budget's own: at most 20 turns (+1 of blur) in any second.
    assert max(sum(1 for u in taken if t <= u < t + 1) for t in taken) <= 21
