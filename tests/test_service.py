"""The watcher as a whole against the simulator's timeline: sources polled on their interval,
new articles captured at first sight, removals declared with their reasons, notifications
delivered (with retries), the per-host budget kept in the simulator's request log.
Pages: src/samizdat/testing/pages/wechat (PROVENANCE.md)."""

import asyncio
import dataclasses
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from samizdat.config import KeywordSettings, NotifySettings, PoolSettings
from samizdat.platforms.wechat import PLATFORM
from samizdat.pools import Pools
from samizdat.service import Watcher
from samizdat.store import open_archive
from samizdat.testing import Simulator
from samizdat.testing.timeline import Fate
from samizdat.watch.keywords import Watchlist, fold
from tests.helpers import WECHAT

SCALE = 3600.0  # one simulated hour per second


async def _no_lookups(host: str, port: int):
    raise LookupError(f"this test resolves no names ({host})")


@pytest.fixture
def webhook():
    """A local webhook receiver that fails its first request (to show the retry)."""
    received: list[dict] = []
    calls = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            calls[0] += 1
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if calls[0] == 1:
                self.send_response(500)
            else:
                received.append(json.loads(body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received, calls
    server.shutdown()
    server.server_close()


@pytest.mark.slow
async def test_the_watcher_polls_captures_at_first_sight_and_reports_removals(settings, webhook, caplog):
    caplog.set_level(logging.INFO, logger="samizdat")
    url, received, calls = webhook
    with Simulator(WECHAT, copies=1, time_scale=SCALE) as sim:
        count = len(sim.articles)
        # Published over the first simulated 2 hours; three removed 1 to 2 hours after publication.
        removed = {0: "violation", 1: "deleted-by-author", 2: "infringement-complaint"}
        sim.set_fates(
            [
                Fate(
                    published_at=i * 7200 / count,
                    removed_at=i * 7200 / count + 3600 + 600 * i if i in removed else None,
                    notice=removed.get(i),
                )
                for i in range(count)
            ]
        )
        wechat = dataclasses.replace(settings.platforms["wechat"], hosts=(sim.host,))
        settings = dataclasses.replace(
            settings,
            platforms={"wechat": wechat},
            capture=dataclasses.replace(settings.capture, images=False),
            watch=dataclasses.replace(settings.watch, time_scale=SCALE),
            fetch=dataclasses.replace(settings.fetch, per_host_rate=25.0, per_host_concurrency=4),
            notify=NotifySettings(webhooks=(url,), attempts=4, backoff_seconds=0.05),
        )
        store = open_archive(settings)
        store.add_source("feed", f"{sim.base}/feed.xml", title=None, interval_seconds=600)
        watcher = Watcher(settings)
        stop = asyncio.Event()
        running = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(7.0)  # seven simulated hours
        stop.set()
        await running
        log = list(sim.requests)
    rows = {row.canonical_id: row for row in store.iter_export()}
    assert len(rows) == count  # every article captured once published
    expected = {
        PLATFORM.canonical_id(sim.base + sim.articles[i].path): outcome
        for i, outcome in {0: "removed_violation", 1: "deleted_by_author", 2: "removed_complaint"}.items()
    }
    for canonical_id, row in rows.items():
        status = row.outcome if row.state == "removed" else "alive"
        assert status == expected.get(canonical_id, "alive"), canonical_id
    assert watcher.status.declared == 3
    assert sorted(event["outcome"] for event in received) == sorted(expected.values())
    logged = [r for r in caplog.records if getattr(r, "event", None) == "article_removed"]
    assert sorted(r.outcome for r in logged) == sorted(expected.values())  # structured, fields apart
    assert calls[0] == len(received) + 1  # the failed first delivery was retried
    article_times = sorted(t for t, path, *_ in log if path.startswith("/s"))
    window = 0
    for i, t in enumerate(article_times):
        while article_times[window] < t - 1.0:
            window += 1
        assert i - window + 1 <= 25 + 1  # never more than the budget in any one second
    store.engine.dispose()


def test_keywords_match_across_scripts_widths_and_evasions():
    watchlist = Watchlist(["习近平", "六四", "Tank Man"])
    assert watchlist.matches("習 近 平 出席会议") == ("习近平",)
    assert watchlist.matches("纪念六·四") == ("六四",)
    assert watchlist.matches("ＴＡＮＫ－ＭＡＮ photo") == ("Tank Man",)
    assert watchlist.matches("无关的文章") == ()
    assert fold("六 ４") == "六4"


async def test_a_watchlisted_article_is_a_priority(settings, simulator):
    settings = dataclasses.replace(
        settings,
        capture=dataclasses.replace(settings.capture, images=False),
        keywords=KeywordSettings(terms=("中國共產黨",)),  # traditional; the page is simplified
    )
    from samizdat.app import pipeline

    async with pipeline(settings) as pipe:
        outcomes = [await pipe.capturer.capture(simulator.base + a.path) for a in simulator.articles]
        rows = [pipe.store.article(o.article_id) for o in outcomes if o.article_id]
    flagged = [r for r in rows if r.priority]
    assert flagged and all(r.keywords == ("中國共產黨",) for r in flagged)
    assert all("中国共产党" in (r.versions[-1].text + r.title) for r in flagged)
    assert all(not r.keywords for r in rows if not r.priority)


async def _one_article(settings, simulator):
    from samizdat.app import pipeline

    settings = dataclasses.replace(settings, capture=dataclasses.replace(settings.capture, images=False))
    async with pipeline(settings) as pipe:
        outcome = await pipe.capturer.capture(simulator.base + simulator.articles[0].path)
    return outcome.article_id


async def test_notifications_wait_in_the_outbox_and_are_delivered_at_least_once(settings, simulator):
    """A declared removal is written to the outbox with its check; a target that answers is
    not sent it again when another target fails; a failing target is tried ``attempts`` times;
    a notification claimed by a process that died is delivered by the next."""
    from datetime import UTC, datetime, timedelta

    import httpx

    from samizdat.store import Announcement, WatchState
    from samizdat.watch.notify import Notifier

    article_id = await _one_article(settings, simulator)
    store = open_archive(settings)
    now = datetime.now(UTC)
    removed = Announcement("removed", "removed_violation", "此内容因违规无法查看", now)
    state = WatchState("removed", "removed_violation", now, now, now, now + timedelta(days=1), None, removed)
    store.record_checks([(None, article_id, state)])
    # A process took it and died before delivering it: its claim is freed at once.
    (claimed,) = store.take_notifications(now, 10, worker="otherhost:1:watch", lease=timedelta(hours=1))
    store.heartbeat(
        "otherhost:1:watch",
        host="otherhost",
        pid=1,
        started_at=now,
        now=now - timedelta(minutes=5),
        checks=0,
        captures=0,
        queues={},
    )
    assert store.release_dead_claims(now, host="thishost", silent_after=timedelta(seconds=10)) == 1

    calls: dict[str, list] = {"good": [], "bad": []}

    def answer(request):
        target = request.url.host.split(".")[0]
        calls[target].append((json.loads(request.content), request.headers["idempotency-key"]))
        return httpx.Response(204 if target == "good" else 503)

    notifier = Notifier(
        NotifySettings(
            webhooks=("http://good.test/x", "http://bad.test/x"), attempts=3, backoff_seconds=0.01
        ),
        store,
        worker="thishost:2:watch",
        pools=Pools.from_settings(PoolSettings()),
        resolver=_no_lookups,
        transport=httpx.MockTransport(answer),
    )
    stop = asyncio.Event()
    delivery = asyncio.create_task(notifier.run(stop))
    for _ in range(100):
        if store.notification_counts()["given_up"]:
            break
        notifier.wake()
        await asyncio.sleep(0.05)
    stop.set()
    await delivery
    assert len(calls["good"]) == 1 and len(calls["bad"]) == 3  # the good target was not sent it again
    body, key = calls["good"][0]
    assert body["id"] == key == claimed.key and body["article_id"] == article_id
    assert (body["kind"], body["outcome"], body["message"]) == (
        "removed",
        "removed_violation",
        "此内容因违规无法查看",
    )
    assert body["url"] == store.article(article_id).url and body["title"]
    assert {key for _, key in calls["bad"]} == {claimed.key}  # the same key on every attempt
    assert store.notification_counts() == {"pending": 0, "delivered": 0, "given_up": 1}
    assert (notifier.delivered, notifier.failed) == (0, 1)
    store.engine.dispose()


async def test_without_a_target_pending_notifications_are_given_up_not_hoarded(settings, simulator):
    from datetime import UTC, datetime

    from samizdat.store import Announcement, WatchState
    from samizdat.watch.notify import Notifier

    article_id = await _one_article(settings, simulator)
    store = open_archive(settings)
    now = datetime.now(UTC)
    edited = Announcement("edited", "edited", None, now)
    store.record_checks([(None, article_id, WatchState("live", None, None, now, None, now, None, edited))])
    stop = asyncio.Event()
    notifier = Notifier(
        NotifySettings(), store, worker="w", pools=Pools.from_settings(PoolSettings()), resolver=_no_lookups
    )
    delivery = asyncio.create_task(notifier.run(stop))
    for _ in range(100):
        if store.notification_counts()["given_up"]:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await delivery
    assert store.notification_counts() == {"pending": 0, "delivered": 0, "given_up": 1}
    store.engine.dispose()


async def test_a_submitted_url_is_captured_by_the_watcher_not_the_site(settings, simulator):
    """The admin API only queues (``store.request_captures``); the watcher takes the request at
    first sight and writes back how it went, for ``/api/captures/<id>``."""
    from datetime import UTC, datetime

    settings = dataclasses.replace(settings, capture=dataclasses.replace(settings.capture, images=False))
    store = open_archive(settings)
    urls = [simulator.base + simulator.articles[i].path for i in (4, 5)]
    requests = store.request_captures([*urls, urls[0]], datetime.now(UTC))
    assert [store.capture_request(r.id).state for r in requests] == ["queued"] * 3
    watcher = Watcher(settings)
    stop = asyncio.Event()
    running = asyncio.create_task(watcher.run(stop))
    for _ in range(200):
        if all(store.capture_request(r.id).state == "done" for r in requests):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await running
    done = [store.capture_request(r.id) for r in requests]
    assert [d.state for d in done] == ["done"] * 3
    assert {d.status for d in done[:2]} == {"captured"} and done[2].status in {"captured", "unchanged"}
    assert done[0].article_id == done[2].article_id and done[0].article_id != done[1].article_id
    assert store.article(done[1].article_id).canonical_id == PLATFORM.canonical_id(urls[1])
    assert watcher.status.requested == 3
    # The watcher sealed what it stored: a signed head covers both captures' log entries.
    head = store.tree_head()
    assert head is not None and head.size == store.log_size() >= 2
    assert watcher.status.log_size == head.size
    store.engine.dispose()


@pytest.mark.slow
async def test_related_posts_are_computed_beside_the_watcher_in_a_process_of_its_own(settings, simulator):
    """The watcher's relating runs in a child process (jieba's second-long dictionary load and
    the TF-IDF work never hold the watcher's interpreter): every captured article is related."""
    from sqlalchemy import func, select

    from samizdat.app import pipeline
    from samizdat.store.schema import related_vectors
    from samizdat.watch.relating import relating_process

    async with pipeline(settings) as pipe:
        await asyncio.gather(*(pipe.capturer.capture(url) for url in simulator.article_urls()))
        store = pipe.store
        relating = relating_process(settings)
        relating.start()
        try:
            for _ in range(600):
                if relating.done >= len(simulator.articles):
                    break
                await asyncio.sleep(0.1)
        finally:
            await asyncio.to_thread(relating.stop)
        with store.engine.connect() as connection:
            vectors = connection.scalar(select(func.count()).select_from(related_vectors))
    assert relating.done == vectors == len(simulator.articles)


@pytest.mark.slow
def test_the_relating_process_ends_with_its_parent(tmp_path):
    """A watcher killed with SIGKILL leaves no relating process (nor any other child) behind."""
    import signal
    import subprocess
    import sys
    import time

    from samizdat.store import open_store

    url = f"sqlite:///{tmp_path / 'samizdat.db'}"
    open_store(url).engine.dispose()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "from samizdat.config import DatabaseSettings, Settings\n"
            "from samizdat.watch.relating import relating_process\n"
            f"settings = Settings(data_dir={str(tmp_path)!r}, database=DatabaseSettings({url!r}))\n"
            "relating = relating_process(settings)\n"
            "relating.start()\n"
            "print('started', flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout.readline().strip() == "started"
    children = [
        int(pid) for pid in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
    ]
    assert children
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in children):
        time.sleep(0.1)
    assert not [(pid, Path(f"/proc/{pid}/cmdline").read_bytes()) for pid in children if _running(pid)]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped (a container's first process may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
async def test_a_failing_loop_of_the_watcher_is_logged_and_started_again(
    settings, simulator, monkeypatch, caplog
):
    """An error in one of the watcher's loops (here the heartbeat's count of due checks) is
    logged and the loop starts again; the watcher goes on and stops when asked."""
    from samizdat.store import Store

    caplog.set_level(logging.ERROR, logger="samizdat")
    original = Store.due_by_class
    calls = [0]

    def fails_once(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("the database went away for a moment")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "due_by_class", fails_once)
    watcher = Watcher(settings)
    stop = asyncio.Event()
    running = asyncio.create_task(watcher.run(stop))
    for _ in range(100):
        await asyncio.sleep(0.1)
        if calls[0] >= 2:
            break
    stop.set()
    await asyncio.wait_for(running, 30)
    assert watcher.status.errors == 1 and calls[0] >= 2  # failed once, then counted again
    assert any(getattr(r, "event", None) == "loop_failed" and r.loop == "heartbeat" for r in caplog.records)


@pytest.mark.slow
async def test_a_writer_that_fails_fails_its_captures_and_stops_the_watcher(settings, simulator, monkeypatch):
    """An error escaping the archive writer's thread fails the captures waiting on it with that
    error (none waits forever), every later one at once, and the watcher stops and says why."""
    from samizdat.app import pipeline
    from samizdat.service import WatcherFailed
    from samizdat.watch.committer import Committer, CommitterFailed

    def broken(self, batch):
        raise RuntimeError("a bug in the writer")

    monkeypatch.setattr(Committer, "_process", broken)
    async with pipeline(settings) as pipe:
        url = simulator.article_urls()[0]
        with pytest.raises(CommitterFailed, match="a bug in the writer"):
            await asyncio.wait_for(pipe.capturer.capture(url), 20)
        with pytest.raises(CommitterFailed):
            await asyncio.wait_for(pipe.capturer.capture(simulator.article_urls()[1]), 20)
    store = open_archive(settings)
    store.add_source("feed", f"{simulator.base}/feed.xml", title=None, interval_seconds=60)
    store.engine.dispose()
    watcher = Watcher(settings)
    with pytest.raises(WatcherFailed, match="a bug in the writer"):
        await asyncio.wait_for(watcher.run(asyncio.Event()), 30)
