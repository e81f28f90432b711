"""Discovery without a feed bridge: from one album and two article links, the articles reached
and captured over simulated time, and the requests spent per article found.

Usage: python bench/discovery.py [--copies N] [--time-scale S] [--sim-hours H] [--fault-rate F]
                                 [--depth D] [--publish-hours P]

``samizdat simulate --timeline --linked`` (its own process) publishes 14 × N articles, one album
per account (14 accounts), over P simulated hours; 20 % of them are removed at ages and for
reasons drawn from the 17,411 real removals; a share F of article, album and feed requests
fail (503, the verification page, a body cut off). Every article's body links the three
articles before it in its album, one article of another account, and its album; the saved
pages' own links lead to articles the simulator does not have (it shows the deleted notice).

The watcher (``samizdat.service``, as ``samizdat watch`` runs it) starts from what a researcher
has: the album of one account (``samizdat source add``) and two article links of two other
accounts (``samizdat account add <URL>``: each article is captured and its album becomes a
source), with ``links.depth`` = D. Every few simulated hours the archive is counted against the
simulator's ground truth (its plan): the simulator's articles published so far, those in the
albums the watcher knows, and those archived; and the requests the simulator answered, by kind.
At the end: requests per article found (album pages, and all requests the watcher made).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
from sqlalchemy import func, select

from samizdat.config import FetchSettings, LinkSettings, PlatformSettings, Settings, WatchSettings
from samizdat.service import Watcher
from samizdat.store import open_archive
from samizdat.store.schema import articles, sources
from samizdat.testing.process import simulator_process
from samizdat.watch.accounts import add_account
from samizdat.watch.polling import SourceRefused, add_source


def start_simulator(args: argparse.Namespace, directory: Path) -> tuple[subprocess.Popen, str]:
    command = [
        *("--timeline", "--linked"),
        *("--copies", str(args.copies), "--time-scale", str(args.time_scale), "--seed", "1"),
        *("--publish-hours", str(args.publish_hours), "--fault-rate", str(args.fault_rate)),
        *("--log", str(directory / "requests.jsonl"), "--plan", str(directory / "plan.json")),
        *("--start-in", "5"),  # the clock starts once the watcher's sources are set up
    ]
    return simulator_process(command)


def identity(url: str) -> tuple[str, str, str]:
    query = dict(parse_qsl(urlsplit(url).query))
    return query.get("__biz", ""), query.get("mid", ""), query.get("idx", "1")


async def setup(settings: Settings, base: str, plan: dict) -> list[str]:
    """The starting points: the first account's album, an article of the second and the third."""
    by_account: dict[str, list[str]] = {}
    for path in plan["articles"]:
        by_account.setdefault(identity("http://x" + path)[0], []).append(path)
    accounts = list(by_account)
    album = next(
        line for line in httpx.get(f"{base}/albums.txt").text.split() if f"__biz={accounts[0]}&" in line
    )
    store = open_archive(settings)
    try:
        for attempt in range(5):  # the simulator fails a share of requests, as the platform does
            try:
                await add_source(settings, store, album, interval_seconds=3600)
                break
            except SourceRefused:
                if attempt == 4:
                    raise
        # The first article each of the other two accounts publishes: the link a researcher has.
        links = []
        for account in accounts[1:3]:
            first = min(by_account[account], key=lambda p: plan["articles"][p]["published_at"])
            links.append(base + first)
        return [album, *links]
    finally:
        store.engine.dispose()


async def add_account_of(settings: Settings, link: str) -> None:
    store = open_archive(settings)
    try:
        await add_account(settings, store, link)
    finally:
        store.engine.dispose()


def count(settings: Settings, plan: dict, sim_now: float) -> dict[str, float]:
    store = open_archive(settings)
    try:
        with store.engine.connect() as connection:
            archived = {
                tuple(row.canonical_id.split(":"))
                for row in connection.execute(
                    select(articles.c.canonical_id).where(articles.c.first_captured_at.is_not(None))
                )
            }
            albums = [
                row.url
                for row in connection.execute(select(sources.c.url).where(sources.c.kind == "listing"))
            ]
            removed_first = connection.scalar(
                select(func.count()).where(articles.c.first_captured_at.is_(None))
            )
    finally:
        store.engine.dispose()
    known_accounts = {identity(url)[0] for url in albums}
    published = {
        identity("http://x" + p) for p, f in plan["articles"].items() if f["published_at"] <= sim_now
    }
    in_albums = {key for key in published if key[0] in known_accounts}
    return {
        "published": len(published),
        "albums": len(albums),
        "in_albums": len(in_albums),
        "archived": len(archived & published),
        "archived_in_albums": len(archived & in_albums),
        "archived_by_links_only": len((archived & published) - in_albums),
        "removed_before_capture": removed_first or 0,
    }


def requests_served(log: Path) -> Counter:
    """The simulator's requests by kind (its log is complete once it has stopped)."""
    served: Counter = Counter()
    for line in log.read_text().splitlines():
        _, path, _, _ = json.loads(line)
        served["album" if path == "/mp/appmsgalbum" else "image" if path.startswith("/ext/") else "page"] += 1
    return served


async def run(
    args: argparse.Namespace, settings: Settings, base: str, directory: Path
) -> list[tuple[float, dict]]:
    plan = json.loads((directory / "plan.json").read_text())
    album, *links = await setup(settings, base, plan)
    print(f"start: album {album}", *(f"       article link {link}" for link in links), sep="\n", flush=True)
    # Each link is given once its article is out (before, the platform shows a deleted notice).
    waiting = {link: plan["articles"][link[len(base) :]]["published_at"] for link in links}
    watcher = Watcher(settings, workers=1)
    stop = asyncio.Event()
    running = asyncio.create_task(watcher.run(stop))
    samples = []
    next_sample = 0.0
    while True:
        sim_now = (time.time() - plan["start"]) * plan["time_scale"]
        for link, published_at in list(waiting.items()):
            if sim_now >= published_at:
                await add_account_of(settings, link)
                del waiting[link]
        if sim_now >= next_sample:
            figures = await asyncio.to_thread(count, settings, plan, sim_now)
            samples.append((sim_now / 3600, figures))
            print(
                f"  {sim_now / 3600:5.1f} h: {figures['archived']:4d} of {figures['published']:4d} published "
                f"archived ({figures['archived_in_albums']} of {figures['in_albums']} in the "
                f"{figures['albums']} known albums, {figures['archived_by_links_only']} reached by links "
                f"only); {figures['removed_before_capture']} found removed",
                flush=True,
            )
            next_sample += args.sample_hours * 3600
        if sim_now >= args.sim_hours * 3600:
            break
        await asyncio.sleep(0.2)
    stop.set()
    await running
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=30, help="articles per account (14 accounts)")
    parser.add_argument("--time-scale", type=float, default=8640.0, help="simulated seconds per second")
    parser.add_argument("--publish-hours", type=float, default=48.0)
    parser.add_argument("--sim-hours", type=float, default=72.0)
    parser.add_argument("--sample-hours", type=float, default=6.0)
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--depth", type=int, default=1, help="links.depth")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        process, base = start_simulator(args, directory)
        try:
            settings = Settings(
                data_dir=directory / "data",
                fetch=FetchSettings(allow_private_networks=True, per_host_concurrency=8, timeout=10),
                watch=WatchSettings(time_scale=args.time_scale),
                links=LinkSettings(depth=args.depth),
                platforms={"wechat": PlatformSettings(hosts=(urlsplit(base).netloc,))},
            )
            settings = replace(settings, capture=replace(settings.capture, images=False))
            samples = asyncio.run(run(args, settings, base, directory))
        finally:
            process.terminate()
            process.wait()
        served = requests_served(directory / "requests.jsonl")
    hours, last = samples[-1]
    found = last["archived"] + last["removed_before_capture"]
    requests = sum(served.values())
    share = last["archived"] / max(1, last["published"])
    print(
        f"after {hours:.0f} simulated hours: {last['archived']} of the {last['published']} articles "
        f"published archived ({share:.0%}); {last['archived_in_albums']} of {last['in_albums']} in the "
        f"{last['albums']} albums found; {last['archived_by_links_only']} more reached by links only, "
        f"{last['removed_before_capture']} found already removed",
        flush=True,
    )

    print(
        f"requests per article found: {served['album'] / max(1, found):.2f} album pages, "
        f"{served['page'] / max(1, found):.1f} article pages (first sight, retries, confirmations and "
        f"re-checks), {requests / max(1, found):.1f} in all; {requests:,} requests "
        f"({served['album']:,} album, {served['page']:,} page, {served['image']:,} image) "
        f"for {found} articles found",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
