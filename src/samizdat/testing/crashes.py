"""Crash injection: ``samizdat capture`` and ``samizdat watch`` killed with SIGKILL at random
moments, again and again, with the archive checked after each restart.

Each round starts the real CLI in its own process against the simulator, waits a random
time, and kills it (SIGKILL: no cleanup of any kind). Capture rounds work through the
simulator's articles (with some captured before, to catch duplicate versions); watch rounds
re-check everything in fast time while the simulator edits and removes articles. After each
kill the archive is opened as a restart would (torn tails cut) and checked: ``verify`` finds
no problem (every record whole, every reference readable with its digest, every image
matching its hash, no row pointing at nothing), no article has two versions of one text, every
article that was live before the round has a next check. At the end a last capture runs
to completion: every article of the simulator must be in the archive.

Used by ``tests/test_crashes.py`` (a few rounds) and ``bench/crashes.py`` (≥ 20 rounds,
1,000 captures), which report the figures of ``docs/reliability.md``.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from samizdat.store import open_store
from samizdat.store.schema import articles, checks, versions
from samizdat.testing.simulator import Simulator
from samizdat.verify import verify_archive

NOTICES = ("deleted-by-author", "violation", "infringement-complaint", "account-blocked")


@dataclass
class CrashReport:
    rounds: int = 0
    killed_running: int = 0  # rounds whose process was still working when killed
    torn_tails_cut: int = 0
    versions: int = 0
    checks: int = 0
    captured: int = 0
    expected: int = 0
    problems: list[str] = field(default_factory=list)


def config_file(
    directory: Path, simulator: Simulator, *, time_scale: float = 3600.0, database_url: str = ""
) -> Path:
    path = directory / "samizdat.toml"
    path.write_text(
        f'data_dir = "{directory / "data"}"\n'
        f'[database]\nurl = "{database_url}"\n'
        "[fetch]\nallow_private_networks = true\ntimeout = 10\n"
        f"[watch]\ntime_scale = {time_scale}\n"
        f'[platforms.wechat]\nhosts = ["mp.weixin.qq.com", "{simulator.host}"]\n',
        encoding="utf-8",
    )
    return path


def crash_rounds(
    directory: Path,
    simulator: Simulator,
    *,
    rounds: int,
    seed: int = 1,
    kill_after: tuple[float, float] = (1.0, 4.0),
    database_url: str = "",
    workers: int = 1,
) -> CrashReport:
    """``rounds`` kills; ``database_url``: PostgreSQL instead of SQLite in the directory;
    ``workers``: capture processes of each capture round."""
    rng = random.Random(seed)
    config = config_file(directory, simulator, database_url=database_url)
    data = Archive(directory / "data", database_url)
    urls = simulator.article_urls()
    report = CrashReport(expected=len(urls))
    for number in range(rounds):
        url_of = {a: simulator.base + a.path for a in simulator.articles}
        done = _captured(data, urls)
        if number % 2 == 0 or not done:
            todo = [u for u in urls if u not in done]
            todo += rng.sample(sorted(done), min(len(done), 5))  # captured before: never a second version
            listing = directory / "urls.txt"
            listing.write_text("\n".join(todo) + "\n", encoding="utf-8")
            command = ["capture", "--from-file", str(listing), "--workers", str(workers)]
        else:
            for article in rng.sample(simulator.articles, min(3, len(simulator.articles))):
                if url_of[article] in done:
                    simulator.remove(article, rng.choice(NOTICES))
            command = ["watch"]
        process = subprocess.Popen(
            [sys.executable, "-c", "from samizdat.cli import app; app()", "--config", str(config), *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(*kill_after))
        report.killed_running += process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait()
        report.rounds += 1
        report.problems += [f"round {number + 1} ({command[0]}): {p}" for p in _check(data, report)]
    final = subprocess.run(
        [
            sys.executable,
            "-c",
            "from samizdat.cli import app; app()",
            "--config",
            str(config),
            "capture",
            *urls,
        ],
        capture_output=True,
        text=True,
    )
    if final.returncode not in (0, 1):
        report.problems.append(f"the last capture failed: {final.stderr[-500:]}")
    report.captured = len(_captured(data, urls))
    report.problems += [f"after the last capture: {p}" for p in _check(data, report)]
    return report


@dataclass(frozen=True)
class Archive:
    directory: Path
    database_url: str

    def store(self):
        """The archive's store, or None before the first round created it."""
        if self.database_url:
            return open_store(self.database_url)
        database = self.directory / "samizdat.db"
        return open_store(f"sqlite:///{database}") if database.exists() else None


def _captured(data: Archive, urls: list[str]) -> set[str]:
    store = data.store()
    if store is None:
        return set()
    try:
        return {url for url in urls if store.article_id_for_url(url) is not None}
    finally:
        store.engine.dispose()


def _check(data: Archive, report: CrashReport) -> list[str]:
    """What a restart finds: torn tails cut, then everything verified."""
    store = data.store()
    if store is None:
        return []
    try:
        verified = verify_archive(data.directory / "warcs", store)
        report.torn_tails_cut += len(verified.repaired)
        problems = verified.problems
        with store.engine.connect() as connection:
            twice = connection.scalar(
                select(func.count()).select_from(
                    select(versions.c.article_id)
                    .group_by(versions.c.article_id, versions.c.content_hash)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            unscheduled = connection.scalar(
                select(func.count()).where(articles.c.state != "removed", articles.c.next_check_at.is_(None))
            )
            report.versions = connection.scalar(select(func.count()).select_from(versions))
            report.checks = connection.scalar(select(func.count()).select_from(checks))
    finally:
        store.engine.dispose()
    if twice:
        problems.append(f"{twice} articles hold the same text twice as versions")
    if unscheduled:
        problems.append(f"{unscheduled} watched articles have no next check")
    return problems
