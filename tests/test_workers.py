"""Several `samizdat worker` processes sharing one database (SQLite and PostgreSQL) against the
simulator (pages built from src/samizdat/testing/pages/wechat, PROVENANCE.md): each due check is done once,
a worker killed with SIGKILL mid-batch loses nothing, the per-host budget holds in the
simulator's own request log."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from samizdat.store import open_store
from samizdat.store.schema import articles
from samizdat.testing import Simulator
from tests.helpers import WECHAT

RATE = 25.0  # requests per second to the simulator, for all workers together
TIME_SCALE = 3600.0  # one simulated hour a second: with 20 checks per article, one every few seconds


def start_worker(env):
    return subprocess.Popen(
        [sys.executable, "-m", "samizdat.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_workers_share_the_checks_survive_a_kill_and_keep_the_budget(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'data' / 'samizdat.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    log = tmp_path / "requests.jsonl"
    with Simulator(WECHAT, copies=4, log_path=log) as sim:
        env = {
            **os.environ,
            "SAMIZDAT_DATA_DIR": str(tmp_path / "data"),
            "SAMIZDAT_DATABASE__URL": url,
            "SAMIZDAT_FETCH__ALLOW_PRIVATE_NETWORKS": "true",
            "SAMIZDAT_FETCH__PER_HOST_RATE": str(RATE),
            "SAMIZDAT_CAPTURE__IMAGES": "false",
            "SAMIZDAT_PLATFORMS__WECHAT__HOSTS": f"mp.weixin.qq.com,{sim.host}",
            "SAMIZDAT_TIME_SCALE": str(TIME_SCALE),
            "SAMIZDAT_WATCH__CHECKS_PER_ARTICLE": "20",
            "SAMIZDAT_WATCH__CLAIM_LEASE_SECONDS": "2",
        }
        captured = subprocess.run(
            # The saved pages' own links lead to articles this simulator has not got: not followed.
            [sys.executable, "-m", "samizdat.cli", "capture", "--no-links", *sim.article_urls()],
            env=env,
            capture_output=True,
        )
        assert captured.returncode == 0, captured.stderr.decode()
        started = time.time()
        workers = [start_worker(env) for _ in range(3)]
        time.sleep(4)
        store = open_store(url)
        victim = workers.pop(0)
        mine = articles.c.claimed_by.like(f"%:{victim.pid}:%") & (
            articles.c.claimed_until > datetime.now(UTC)
        )
        deadline = time.monotonic() + 10
        held: set[int] = set()
        while not held and time.monotonic() < deadline:  # kill it mid-batch: while it holds claims
            with store.engine.connect() as connection:
                held = set(connection.scalars(select(articles.c.id).where(mine)))
        victim.send_signal(signal.SIGKILL)
        killed_at = datetime.now(UTC)
        victim.wait()
        # Checks come in waves (every article was captured at once), so how many re-checks there
        # are depends on how long the workers ran: run them for the same time, however soon the
        # victim was found holding claims, and long enough after the kill for its leases to lapse.
        time.sleep(max(8.0, started + 16.0 - time.time()))
        status = subprocess.run(
            [sys.executable, "-m", "samizdat.cli", "status"], env=env, capture_output=True, text=True
        )
        assert status.returncode == 0, status.stderr
        assert "due now" in status.stdout and all(str(w.pid) in status.stdout for w in workers)
        assert sim.host.split(":")[0] in status.stdout  # the host's shared turns are listed
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(30) == 0, worker.stderr.read().decode()
            worker.stderr.close()
        victim.stderr.close()
    now = datetime.now(UTC)
    with store.engine.connect() as connection:
        states = connection.execute(select(articles)).all()
    store.engine.dispose()
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    article_requests = [(at, token) for at, _, _, token in requests if token and at > started]
    by_article = defaultdict(list)
    for at, token in article_requests:
        by_article[token].append(at)
    # Once per due time: the schedule never asks for checks of one article closer than its floor
    # (2 simulated minutes, jittered by 10 %); two workers checking it together would be closer.
    floor = 120 * 0.9 / TIME_SCALE
    gaps = [b - a for times in by_article.values() for a, b in itertools.pairwise(times)]
    assert len(gaps) > 2 * len(states)  # plenty of re-checks
    assert min(gaps) >= floor * 0.9
    # Nothing lost: every article is seen after the kill, those the dead worker held included.
    assert held  # the victim did hold claims when it died
    assert all(s.last_seen_alive_at > killed_at for s in states)
    assert all(s.next_check_at > now - timedelta(seconds=3) for s in states)  # no check left behind
    # The budget, as the platform saw it: article requests in any one second, all workers together.
    per_second = Counter(int(at) for at, _ in article_requests)
    assert max(per_second.values()) <= RATE + 1


def _spawned_children(parent: int) -> list[int]:
    """``parent``'s worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # an orphan that ended waits for init to reap it


@pytest.mark.slow
def test_the_workers_of_a_capture_killed_with_sigkill_end_with_it(tmp_path):
    """`samizdat capture --workers 2` killed with SIGKILL: its workers stop capturing and end
    within seconds. They went on capturing their share as orphans, beside whatever ran next
    on the archive, and then waited for ever at their exit for someone to read their reports."""
    from samizdat.testing.crashes import config_file

    with Simulator(WECHAT, copies=20) as sim:
        config = config_file(tmp_path, sim)
        listing = tmp_path / "urls.txt"
        listing.write_text("\n".join(sim.article_urls()) + "\n", encoding="utf-8")
        command = ["capture", "--workers", "2", "--from-file", str(listing)]
        process = subprocess.Popen(
            [sys.executable, "-m", "samizdat.cli", "--config", str(config), *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while len(workers := _spawned_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) == 2, "the capture never started its two workers"
        time.sleep(2)  # capturing
        assert process.poll() is None, "the capture ended before it could be killed: give it more URLs"
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed = time.monotonic()
        while any(_running(pid) for pid in workers) and time.monotonic() < killed + 10:
            time.sleep(0.1)
        left = [pid for pid in workers if _running(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"workers still running 10 s after their capture was killed: {left}"
