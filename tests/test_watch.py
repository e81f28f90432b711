"""Re-checks against the simulator: removals declared after confirmation, with their reason and
evidence; transient failures never declared. Pages: src/samizdat/testing/pages/wechat (PROVENANCE.md)."""

import asyncio
import contextlib
import dataclasses
import gzip
import itertools
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from samizdat.app import pipeline
from samizdat.archive import read_record
from samizdat.store.schema import articles
from samizdat.testing import Simulator
from samizdat.watch.loop import AlreadyWatching, WatchLock, watch, watch_pass
from samizdat.watch.polling import poll_sources
from tests.helpers import WECHAT, declared, watch_until

# One simulated hour passes in a second: a first re-check comes within a fraction of a second,
# and a removal is confirmed 30 simulated minutes (half a second) after it was first seen.
FAST = 3600.0


@pytest.fixture
def own_simulator():
    with Simulator(WECHAT, copies=1) as sim:
        yield sim


def fast(settings, simulator):
    wechat = dataclasses.replace(settings.platforms["wechat"], hosts=("mp.weixin.qq.com", simulator.host))
    return dataclasses.replace(
        settings,
        watch=dataclasses.replace(settings.watch, time_scale=FAST),
        capture=dataclasses.replace(settings.capture, images=False),
        platforms={"wechat": wechat},
    )


async def run_for(pipe, seconds: float) -> list:
    return await watch_until(pipe, lambda _: False, limit=seconds)


@pytest.mark.slow
async def test_a_removal_is_detected_confirmed_and_kept_as_evidence(settings, own_simulator):
    settings = fast(settings, own_simulator)
    articles = own_simulator.articles[:4]
    async with pipeline(settings) as pipe:
        captured = [await pipe.capturer.capture(own_simulator.base + a.path) for a in articles]
        ids = [c.article_id for c in captured]
        await run_for(pipe, 0.8)
        own_simulator.remove(articles[0], "violation")
        own_simulator.remove(articles[1], "deleted-by-author")
        reports = await watch_until(pipe, declared(2))
        reports += await run_for(pipe, 1.0)  # a second declaration would come in this hour
        states = [pipe.store.article(i) for i in ids]
    assert sorted(r.article_id for r in reports if r.declared) == sorted(
        ids[:2]
    )  # each declared exactly once
    assert (states[0].state, states[0].outcome) == ("removed", "removed_violation")
    assert (states[1].state, states[1].outcome) == ("removed", "deleted_by_author")
    for state in states[:2]:
        assert state.last_seen_alive_at < state.suspected_at == state.detected_at  # bracketed
        removal_checks = [c for c in state.checks if c.outcome == state.outcome]
        assert len(removal_checks) >= 2  # first sighting and the confirmation
        first, second = sorted(c.checked_at for c in removal_checks)[:2]
        assert first < state.detected_at < second  # the arrival of the first sighting's notice
        evidence = read_record(settings.warc_dir, removal_checks[-1].evidence)
        assert "weui-msg" in gzip.decompress(evidence.payload).decode("utf-8")
    for state in states[2:]:
        assert state.state == "live" and state.detected_at is None
        assert {c.outcome for c in state.checks} == {"alive"}


@pytest.mark.slow
async def test_transient_failures_are_never_declared(settings, own_simulator):
    settings = fast(settings, own_simulator)
    settings = dataclasses.replace(settings, fetch=dataclasses.replace(settings.fetch, timeout=3))
    async with pipeline(settings) as pipe:
        for article in own_simulator.articles:
            await pipe.capturer.capture(own_simulator.base + article.path)
        own_simulator.flaky_every = 3  # a third of all answers: 503, verification page or reset
        reports = await run_for(pipe, 6.0)
        counts = pipe.store.counts()
    assert len(reports) > 40  # each article checked about every 1.3 s
    transient = [r for r in reports if r.outcome == "transient"]
    assert len(transient) > 10
    assert not any(r.declared for r in reports)
    assert {str(r.outcome) for r in reports} <= {"alive", "transient"}
    assert counts["articles"] == len(own_simulator.articles)


@pytest.mark.slow
async def test_an_article_coming_back_is_restored(settings, own_simulator):
    settings = fast(settings, own_simulator)
    # removed articles are looked at again after 0.5 simulated hours here (default 24), then
    # after as long as they have been gone: 1, 2, 4 … half-hours after the removal
    settings = dataclasses.replace(
        settings, watch=dataclasses.replace(settings.watch, removed_recheck_hours=0.5)
    )
    article = own_simulator.articles[0]
    async with pipeline(settings) as pipe:
        article_id = (await pipe.capturer.capture(own_simulator.base + article.path)).article_id
        own_simulator.remove(article, "account-blocked")
        removal = [r for r in await watch_until(pipe, declared(1)) if r.declared]
        assert [r.article_id for r in removal] == [article_id]
        assert pipe.store.article(article_id).outcome == "account_gone"
        del own_simulator.removed[article.token]
        restored = []
        for _ in range(10):  # up to 5 simulated hours: a look comes within as long as it was gone
            restored += [r for r in await run_for(pipe, 0.5) if r.restored]
            if restored:
                break
        state = pipe.store.article(article_id)
    assert [r.article_id for r in restored] == [article_id]
    assert (state.state, state.outcome, state.detected_at) == ("live", None, None)


def test_one_watcher_per_data_directory(tmp_path):
    with (
        WatchLock(tmp_path),
        pytest.raises(AlreadyWatching, match="another samizdat watch"),
        WatchLock(tmp_path),
    ):
        pass
    with WatchLock(tmp_path):  # released: the next start works
        pass


@pytest.mark.slow
def test_watch_command_runs_due_checks_and_refuses_a_second_watcher(tmp_path, own_simulator, database_url):
    from typer.testing import CliRunner

    from samizdat.cli import app

    env = {
        "SAMIZDAT_DATA_DIR": str(tmp_path / "data"),
        "SAMIZDAT_FETCH__ALLOW_PRIVATE_NETWORKS": "true",
        "SAMIZDAT_PLATFORMS__WECHAT__HOSTS": f"mp.weixin.qq.com,{own_simulator.host}",
        "SAMIZDAT_WATCH__TIME_SCALE": "36000",
        "SAMIZDAT_CAPTURE__IMAGES": "false",
        "SAMIZDAT_DATABASE__URL": database_url,
    }
    runner = CliRunner()
    article = own_simulator.articles[0]
    assert runner.invoke(app, ["capture", own_simulator.base + article.path], env=env).exit_code == 0
    own_simulator.remove(article, "deleted-by-author")
    outputs = []
    for _ in range(20):
        time.sleep(0.1)
        outputs.append(runner.invoke(app, ["watch", "--once"], env=env).output)
    text = " ".join(" ".join(outputs).split())
    assert "removed article 1: deleted_by_author" in text
    exported = json.loads(runner.invoke(app, ["export"], env=env).output)
    assert (exported["status"], exported["state"]) == ("deleted_by_author", "removed")
    assert exported["detected_at"] > exported["last_seen_alive_at"] >= exported["first_captured_at"]
    with WatchLock(tmp_path / "data"):
        refused = runner.invoke(app, ["watch", "--once"], env=env)
    assert refused.exit_code == 2 and "another samizdat watch" in " ".join(refused.output.split())


def warc_bytes(settings) -> int:
    return sum(p.stat().st_size for p in settings.warc_dir.glob("*.warc.gz"))


async def check_now(pipe, times: int) -> list:
    """Make every article due and check it, ``times`` times over."""
    reports = []
    for _ in range(times):
        with pipe.store.engine.begin() as connection:
            connection.execute(update(articles).values(next_check_at=datetime.now(UTC)))
        reports += await watch_pass(pipe.store, pipe.checker, 8)
    return reports


async def test_a_check_that_met_a_refusal_looks_again_soon_and_a_lasting_one_backs_off(
    settings, own_simulator
):
    """A transient failure did not look at the article: it costs the schedule nothing (the look
    comes a quarter of the time since the last real look later, not a whole interval), and a
    failure that lasts backs off to the schedule's own pace."""
    settings = fast(settings, own_simulator)
    article = own_simulator.articles[0]
    async with pipeline(settings) as pipe:
        article_id = (await pipe.capturer.capture(own_simulator.base + article.path)).article_id
        own_simulator.flaky_every = 1  # every answer: 503, verification page or a body cut off
        waits = []  # schedule seconds from each check to the next one it set

        def wait_after(report) -> float:
            checked_at = max(check.checked_at for check in pipe.store.article(article_id).checks)
            return (report.next_check_at - checked_at).total_seconds() * settings.watch.time_scale

        for _ in range(8):
            (report,) = await check_now(pipe, 1)
            assert report.outcome == "transient"
            waits.append(wait_after(report))
        own_simulator.flaky_every = 0
        (alive,) = await check_now(pipe, 1)
        state = pipe.store.article(article_id)
        age = (alive.next_check_at - state.first_seen_at).total_seconds() * settings.watch.time_scale
        scheduled = pipe.checker.policy.interval_hours(age / 3600) * 3600  # the schedule at that age
    assert alive.outcome == "alive" and state.state == "live"
    assert waits[0] < scheduled / 2  # the first failure: looked at again soon
    assert waits == sorted(waits)  # then further and further apart
    assert waits[-1] <= scheduled * 1.25  # never past the schedule's own interval (jittered)


async def test_a_signalled_check_that_met_a_failure_stays_signalled_for_a_while(settings, own_simulator):
    """An article that left its listing is likely gone: a 503 on its signalled check must not
    send it back to the routine pace (hours behind routine checks in a busy host's queue); it
    is tried again at once as a signalled one, until SIGNAL_RETRY_SECONDS after the signal."""
    from samizdat.fetch import Priority
    from samizdat.store.claims import AHEAD_OF_ROUTINE
    from samizdat.watch.checker import SIGNAL_RETRY_SECONDS, request_class

    settings = fast(settings, own_simulator)
    article = own_simulator.articles[0]
    url = own_simulator.base + article.path
    async with pipeline(settings) as pipe:
        article_id = (await pipe.capturer.capture(url)).article_id
        own_simulator.flaky_every = 1
        assert pipe.store.check_urls_soon([url], datetime.now(UTC)) == [url]
        (signalled,) = pipe.store.claim_due(datetime.now(UTC), 1, worker="w", lease=timedelta(minutes=5))
        assert request_class(signalled) is Priority.SIGNAL
        first = await pipe.checker.check(signalled)
        (again,) = await watch_pass(pipe.store, pipe.checker, 1)
        with pipe.store.engine.begin() as connection:  # the signal, long enough ago
            long_ago = (
                datetime.now(UTC) - timedelta(seconds=2 * SIGNAL_RETRY_SECONDS) / settings.watch.time_scale
            )
            connection.execute(update(articles).values(next_check_at=long_ago - AHEAD_OF_ROUTINE))
        (late,) = await watch_pass(pipe.store, pipe.checker, 1)
    assert first.outcome == again.outcome == late.outcome == "transient" and again.article_id == article_id
    assert first.next_check_at == signalled.next_check_at  # still due at once, as a signalled check
    assert late.next_check_at > datetime.now(UTC) - timedelta(seconds=5)  # the failures' own pace now


async def test_a_routine_check_promoted_while_it_waited_stays_signalled_after_a_failure(
    settings, own_simulator
):
    """A routine check waits in its host's queue; its article leaves its listing meanwhile and
    the poll promotes the waiting check (Fetcher.promote). Should that check meet a 503, its
    article is next claimed as a signalled one, not sent back to the routine pace behind the
    polls of a publishing day (issue 26: 16 simulated hours once)."""
    from samizdat.fetch import Priority
    from samizdat.store.claims import AHEAD_OF_ROUTINE
    from samizdat.watch.checker import request_class

    settings = fast(settings, own_simulator)
    url = own_simulator.base + own_simulator.articles[0].path
    async with pipeline(settings) as pipe:
        await pipe.capturer.capture(url)
        with pipe.store.engine.begin() as connection:
            connection.execute(update(articles).values(next_check_at=datetime.now(UTC)))
        (routine,) = pipe.store.claim_due(datetime.now(UTC), 1, worker="w", lease=timedelta(minutes=5))
        assert request_class(routine) is Priority.ROUTINE
        own_simulator.flaky_every = 1
        scheduler, host = pipe.fetcher.scheduler, own_simulator.host.split(":")[0]
        async with contextlib.AsyncExitStack() as busy:  # every place of the host taken
            for _ in range(settings.fetch.per_host_concurrency):
                await busy.enter_async_context(scheduler.slot(host, Priority.CAPTURE))
            check = asyncio.create_task(pipe.checker.check(routine))
            await asyncio.sleep(0.05)
            assert pipe.fetcher.promote([url], Priority.SIGNAL) == 1
        report = await check
        (next_claim,) = pipe.store.claim_due(datetime.now(UTC), 1, worker="w", lease=timedelta(minutes=5))
    assert report.outcome == "transient"
    assert report.next_check_at <= datetime.now(UTC) - AHEAD_OF_ROUTINE / 2
    assert request_class(next_claim) is Priority.SIGNAL


async def test_an_unchanged_page_is_recognised_without_parsing_and_stores_nothing(settings, own_simulator):
    """The simulator gives every response a fresh nonce, request id and server time, as WeChat does."""
    settings = fast(settings, own_simulator)
    article = own_simulator.articles[0]
    async with pipeline(settings) as pipe:
        article_id = (await pipe.capturer.capture(own_simulator.base + article.path)).article_id
        archived = warc_bytes(settings)
        reports = await check_now(pipe, 3)
        state = pipe.store.article(article_id)
    assert len(reports) == 3
    assert all(r.outcome == "alive" and r.same_page for r in reports)
    assert warc_bytes(settings) == archived  # the content is archived once, not at every check
    assert len(state.versions) == 1
    assert state.last_seen_alive_at > state.first_seen_at


async def test_a_silent_edit_becomes_a_new_version(settings, own_simulator):
    settings = fast(settings, own_simulator)
    article = own_simulator.articles[0]
    async with pipeline(settings) as pipe:
        article_id = (await pipe.capturer.capture(own_simulator.base + article.path)).article_id
        first_text = pipe.store.article(article_id).versions[0].text
        word = next(w for w in first_text.split() if len(w) >= 4)
        own_simulator.edit(article, word, word + "（已修改）")
        reports = await check_now(pipe, 3)
        state = pipe.store.article(article_id)
    edited = [r for r in reports if r.outcome == "edited"]
    assert len(edited) == 1  # once: after it, the edited page is the one compared against
    assert all(r.outcome == "alive" for r in reports if r is not edited[0])
    assert len(state.versions) == 2
    assert "（已修改）" in state.versions[-1].text and "（已修改）" not in first_text
    assert state.state == "live"
    details = state.versions[-1].details
    assert details["previous_version_id"] == state.versions[0].id
    assert any(line.startswith("+") and "（已修改）" in line for line in details["diff"])
    assert any(line.startswith("-") and word in line for line in details["diff"])


@pytest.mark.slow
async def test_claims_hand_each_due_article_to_one_worker_until_checked_or_the_lease_ends(
    settings, own_simulator
):
    settings = fast(settings, own_simulator)
    async with pipeline(settings) as pipe:
        for article in own_simulator.articles:
            await pipe.capturer.capture(own_simulator.base + article.path)
        store, later, lease = pipe.store, datetime.now(UTC) + timedelta(days=30), timedelta(minutes=5)
        claims = [{a.id for a in store.claim_due(later, 5, worker=f"w{k}", lease=lease)} for k in range(4)]
        assert [len(c) for c in claims] == [5, 5, 4, 0]  # 14 articles: no article twice
        assert set().union(*claims) == {
            a.id for a in store.claim_due(later + lease * 2, 100, worker="x", lease=lease)
        }
    assert len(set().union(*claims)) == len(own_simulator.articles)


async def test_a_migrated_account_is_followed_to_the_article_s_new_address(settings, own_simulator):
    settings = fast(settings, own_simulator)
    article = own_simulator.articles[0]
    async with pipeline(settings) as pipe:
        article_id = (await pipe.capturer.capture(own_simulator.base + article.path)).article_id
        own_simulator.remove(article, "account-migrated")
        reports = await check_now(pipe, 3)
        state = pipe.store.article(article_id)
        due = pipe.store.claim_due(datetime.now(UTC) + timedelta(days=30), 10, worker="t", lease=timedelta(1))
    assert not any(r.declared for r in reports)
    assert reports[0].outcome == "alive" and "followed to" in reports[0].message
    assert all(r.outcome == "alive" for r in reports)
    assert state.state == "live"
    assert due[0].check_url == f"{own_simulator.base}/moved/{article.token}"
    moved = [c for c in state.checks if c.message and "followed to" in c.message]
    notice = read_record(settings.warc_dir, moved[0].evidence)  # the notice is kept as evidence
    assert "该公众号已迁移" in gzip.decompress(notice.payload).decode("utf-8")


@pytest.mark.slow
async def test_a_fifth_of_answers_failing_never_makes_a_removal_over_thousands_of_checks(settings):
    """503s, verification pages and connections reset mid-body, one answer in five."""
    with Simulator(WECHAT, copies=10) as sim:
        settings = fast(settings, sim)
        settings = dataclasses.replace(
            settings, watch=dataclasses.replace(settings.watch, time_scale=360_000.0)
        )
        async with pipeline(settings) as pipe:
            for article in sim.articles:
                await pipe.capturer.capture(sim.base + article.path)
            sim.flaky_every = 5
            reports = []
            while len(reports) < 2000:
                with pipe.store.engine.begin() as connection:
                    connection.execute(update(articles).values(next_check_at=datetime.now(UTC)))
                await watch(pipe.store, pipe.checker, 16, asyncio.Event(), reports.append, until_idle=True)
            states = {a.state for a in map(pipe.store.article, range(1, len(sim.articles) + 1))}
    outcomes = {str(r.outcome) for r in reports}
    assert outcomes == {"alive", "transient"}
    assert sum(r.outcome == "transient" for r in reports) > 300
    assert not any(r.declared for r in reports)
    assert states == {"live"}


@pytest.mark.slow
async def test_a_restart_in_the_middle_loses_no_schedule_and_no_capture(settings, own_simulator):
    settings = fast(settings, own_simulator)
    async with pipeline(settings) as pipe:
        for article in own_simulator.articles[:7]:
            await pipe.capturer.capture(own_simulator.base + article.path)
        await check_now(pipe, 1)
        before = {a.id: a.next_check_at for a in map(pipe.store.article, range(1, 8))}
    # A new process: same data directory, nothing carried over but the files.
    async with pipeline(settings) as pipe:
        after = {a.id: a.next_check_at for a in map(pipe.store.article, range(1, 8))}
        for article in own_simulator.articles[7:]:
            await pipe.capturer.capture(own_simulator.base + article.path)
        reports = await check_now(pipe, 1)
        counts = pipe.store.counts()
    assert after == before and all(before.values())  # every article keeps its next check
    assert {r.outcome for r in reports} == {"alive"} and len(reports) == len(own_simulator.articles)
    assert counts["articles"] == counts["versions"] == len(own_simulator.articles)  # nothing twice


async def test_a_blocked_account_makes_its_other_articles_due_at_once(settings):
    with Simulator(WECHAT, copies=3) as sim:
        settings = fast(settings, sim)
        # Slow time: without the alert the siblings would not be checked for minutes.
        settings = dataclasses.replace(settings, watch=dataclasses.replace(settings.watch, time_scale=60.0))
        page = sim.articles[0].page
        siblings = [a for a in sim.articles if a.page == page]
        assert len(siblings) == 3
        async with pipeline(settings) as pipe:
            ids = [(await pipe.capturer.capture(sim.base + a.path)).article_id for a in siblings]
            for article in siblings:
                sim.remove(article, "account-blocked")
            with pipe.store.engine.begin() as connection:
                connection.execute(
                    update(articles).where(articles.c.id == ids[0]).values(next_check_at=datetime.now(UTC))
                )
            first = await watch_pass(pipe.store, pipe.checker, 8)
            assert [r.article_id for r in first] == [ids[0]]
            second = await watch_pass(pipe.store, pipe.checker, 8)
            states = [pipe.store.article(i) for i in ids]
    assert sorted(r.article_id for r in second) == sorted(ids[1:])
    assert all(s.state == "suspect" and s.outcome == "account_gone" for s in states)


async def test_a_removed_text_makes_its_copies_due_at_once(settings):
    """Copies of one text (the simulator's copies of a page share it) are checked as soon as
    one of them is seen removed: reposts tend to go one by one."""
    with Simulator(WECHAT, copies=2) as sim:
        settings = fast(settings, sim)
        settings = dataclasses.replace(settings, watch=dataclasses.replace(settings.watch, time_scale=60.0))
        first_copy, second_copy = [a for a in sim.articles if a.page == sim.articles[0].page]
        async with pipeline(settings) as pipe:
            ids = [
                (await pipe.capturer.capture(sim.base + a.path)).article_id for a in (first_copy, second_copy)
            ]
            assert pipe.store.article(ids[0]).cluster_id == pipe.store.article(ids[1]).cluster_id == ids[0]
            sim.remove(first_copy, "deleted-by-author")
            with pipe.store.engine.begin() as connection:
                connection.execute(
                    update(articles).where(articles.c.id == ids[0]).values(next_check_at=datetime.now(UTC))
                )
            first = await watch_pass(pipe.store, pipe.checker, 8)
            second = await watch_pass(pipe.store, pipe.checker, 8)
    assert [r.article_id for r in first] == [ids[0]] and first[0].outcome == "deleted_by_author"
    assert [(r.article_id, r.outcome) for r in second] == [(ids[1], "alive")]


@pytest.mark.slow
async def test_a_burst_of_verification_pages_declares_nothing_and_the_host_rests(settings):
    """A platform that answers with verification pages while it is asked too often: nothing is
    declared removed, and after each verification page the host rests (the simulator's log
    shows the gap) before it is asked again."""
    with Simulator(WECHAT, copies=3) as sim:
        settings = fast(settings, sim)
        rest = 0.5  # seconds of real time
        settings = dataclasses.replace(
            settings,
            watch=dataclasses.replace(settings.watch, backoff_seconds=rest * settings.watch.time_scale),
            fetch=dataclasses.replace(settings.fetch, per_host_rate=0, timeout=3),
        )
        async with pipeline(settings) as pipe:
            for article in sim.articles:
                await pipe.capturer.capture(sim.base + article.path)
            sim.rate_limit = 4  # more than four article pages a second: verification pages
            sim.requests.clear()
            reports = await run_for(pipe, 4.0)
            states = {pipe.store.article(r.article_id).state for r in reports}
    verification = [entry for entry in sim.requests if entry[2] == "verification"]
    assert verification and any(r.outcome == "transient" for r in reports)
    assert not any(r.declared for r in reports) and states == {"live"}
    # After the first verification page no request comes before the first rest (a quarter of
    # watch.backoff_seconds) is over; a run of them rests the host the whole backoff and more.
    first = verification[0][0]
    later = [entry[0] for entry in sim.requests if entry[0] > first + 0.05]
    assert later and later[0] - first >= rest / 4 * 0.9
    times = sorted(entry[0] for entry in sim.requests)
    assert max(b - a for a, b in itertools.pairwise(times)) >= rest * 0.9


@pytest.mark.slow
@pytest.mark.parametrize("keep_removed", [False, True])
async def test_an_article_gone_from_its_listing_is_checked_at_once(settings, keep_removed):
    """The platform's own lists drop a removed article at once (a caching bridge keeps it): the
    next poll makes the dropped articles due, and only those; the check decides what happened."""
    with Simulator(WECHAT, copies=2, listings_keep_removed=keep_removed) as sim:
        settings = fast(settings, sim)
        settings = dataclasses.replace(settings, watch=dataclasses.replace(settings.watch, time_scale=60.0))
        async with pipeline(settings) as pipe:
            pipe.store.add_source("feed", sim.base + "/feed.xml", title=None, interval_seconds=60)
            first, _ = await poll_sources(pipe, pipe.store.list_sources())
            assert first[0].new == len(sim.articles) and first[0].dropped == 0
            newest, middle = sim.articles[0], sim.articles[len(sim.articles) // 2]
            for article in (newest, middle):
                sim.remove(article, "deleted-by-author")
            second, _ = await poll_sources(pipe, pipe.store.list_sources())
            checked = await watch_pass(pipe.store, pipe.checker, 8)
            # Now that a check saw what the listing left out removed, the listing is a look at
            # the articles it still lists: their next checks are put off (watch/listing_looks.py).
            due_before = next_checks(pipe.store)
            third, _ = await poll_sources(pipe, pipe.store.list_sources())
            due_after = next_checks(pipe.store)
    if keep_removed:
        assert second[0].dropped == 0 and checked == []
        assert "drops_removed" not in third[0].recorded and due_after == due_before
        return
    removed_ids = {pipe.store.article_id_for_url(sim.base + a.path) for a in (newest, middle)}
    assert second[0].dropped == 2
    assert {(r.article_id, r.outcome) for r in checked} == {(i, "deleted_by_author") for i in removed_ids}
    assert third[0].recorded["drops_removed"] == 1
    put_off = [i for i in due_after if due_after[i] > due_before[i]]
    assert put_off and not set(put_off) & removed_ids
    assert all(due_after[i] >= due_before[i] for i in due_after)  # none brought forward


def next_checks(store):
    from sqlalchemy import select

    from samizdat.store.schema import articles

    with store.engine.connect() as connection:
        return dict(connection.execute(select(articles.c.id, articles.c.next_check_at)).all())


@pytest.mark.slow
async def test_a_listed_url_whose_capture_failed_is_tried_again_at_the_next_poll(settings):
    """What a listing holds is remembered, but only what is archived counts as seen: a URL whose
    capture failed (after its retries) is captured again at the next poll."""
    import http.server
    import threading

    with Simulator(WECHAT, copies=1) as sim:
        failing = f"{sim.base}/fault/status?code=503"
        body = f"{sim.base + sim.articles[0].path}\n{failing}\n".encode()

        class Listing(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Listing)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            settings = fast(settings, sim)
            async with pipeline(settings) as pipe:
                pipe.store.add_source(
                    "urls", f"http://127.0.0.1:{server.server_port}/", title=None, interval_seconds=60
                )
                first, _ = await poll_sources(pipe, pipe.store.list_sources())
                second, _ = await poll_sources(pipe, pipe.store.list_sources())
                (source,) = pipe.store.list_sources()
                listing = pipe.store.source_listing(source["id"])
        finally:
            server.shutdown()
            server.server_close()
    assert (first[0].new, second[0].new) == (2, 1)  # the article once; the failing URL again
    assert listing == [sim.base + sim.articles[0].path, failing]
