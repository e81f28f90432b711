"""End to end: the watcher against the simulator's timeline, in compressed time, with a fixed budget.

Usage: python bench/watch_end_to_end.py [--copies N] [--time-scale S] [--sim-hours H] [--workers W]

``samizdat simulate --timeline`` (its own process) publishes N×14 articles over the first 72
simulated hours (at 560× this 2-core machine cannot capture 10,000 articles in 24 simulated
hours and re-check the others too); 20 % of them are removed at ages and for reasons drawn
from the 17,411 real removals (WeChatScope 2018–2020), 2 % are edited. The watcher
(``samizdat.service``, as ``samizdat watch`` runs it) polls every account's feed,
captures new articles at first sight and re-checks them on the adaptive schedule, within a
per-host request budget; an article that leaves its account's feed (as a removed one leaves
the platform's own lists; ``--listings-keep-removed`` turns this off) is checked at once. After H
simulated hours (default: until every article has been watched over its whole 7-day
horizon) the run stops and the archive is compared with the simulator's plan:

- captured before removal: articles removed at least 10 simulated minutes after publication
  that were captured before their removal;
- removals detected (declared) among those removed within the horizon and at least 12
  simulated hours before the end, false deletions (declared, but not removed), reasons right
  among the declared;
- detection delay (declaration − removal, confirmation included) beside a fixed-interval
  policy spending the same number of requests on the same removals (random phase, same
  confirmation delay);
- the budget: the most article requests the simulator saw in any one second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from samizdat.config import FetchSettings, PlatformSettings, Settings, WatchSettings
from samizdat.platforms.wechat import PLATFORM as WECHAT
from samizdat.service import Watcher
from samizdat.sources import SourceKind, read_source
from samizdat.store import open_archive
from samizdat.testing.process import simulator_process
from samizdat.testing.timeline import OUTCOME_OF_NOTICE

HORIZON_HOURS = 168.0  # watch.horizon_days


def start_simulator(args: argparse.Namespace, directory: Path) -> tuple[subprocess.Popen, str]:
    command = [
        "--timeline",
        "--copies",
        str(args.copies),
        "--time-scale",
        str(args.time_scale),
        "--seed",
        str(args.seed),
        "--publish-hours",
        str(args.publish_hours),
        "--rate-limit",
        str(0 if args.rate_limit_per_address else args.rate * 1.2),
        "--rate-limit-per-address",
        str(args.rate_limit_per_address),
        "--log",
        str(directory / "requests.jsonl"),
        "--plan",
        str(directory / "plan.json"),
    ]
    if args.listings_keep_removed:
        command.append("--listings-keep-removed")
    command += ["--account-entries", str(args.account_entries), "--account-feeds", "json"]
    return simulator_process(command)


async def run_watcher(settings: Settings, workers: int, wall_seconds: float, base: str) -> Watcher:
    store = open_archive(settings)
    opml = read_source(httpx.get(f"{base}/accounts.opml").content, kind=SourceKind.OPML)
    for feed in opml.children:
        store.add_source("feed", feed, title=None, interval_seconds=300)
    store.engine.dispose()
    watcher = Watcher(settings, workers=workers)
    stop = asyncio.Event()
    running = asyncio.create_task(watcher.run(stop))
    started = time.monotonic()
    while time.monotonic() - started < wall_seconds:
        await asyncio.sleep(10)
        status = watcher.status
        print(
            f"  {time.monotonic() - started:5.0f} s: {sum(status.outcomes.values()):,} checks, "
            f"{status.captured:,} captured, {status.declared:,} removals declared, due {status.due:,}",
            flush=True,
        )
    stop.set()
    await running
    return watcher


def sim_seconds(moment, plan: dict) -> float:
    return (moment.timestamp() - plan["start"]) * plan["time_scale"]


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=715, help="14 × copies articles (715: 10,010)")
    parser.add_argument("--time-scale", type=float, default=560.0, help="simulated seconds per second")
    parser.add_argument(
        "--sim-hours",
        type=float,
        default=None,
        help="simulated hours to run (default: the publication window + the 7-day horizon + 6 h, "
        "so every article is watched over its whole horizon)",
    )
    parser.add_argument("--publish-hours", type=float, default=72.0, help="publications spread over")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--checks", type=int, default=20, help="watch.checks_per_article")
    parser.add_argument("--rate", type=float, default=250.0, help="fetch.per_host_rate, requests/s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--egresses",
        type=int,
        default=1,
        help="ways out (fetch.egress): 127.0.0.1, 127.0.0.2, … each with --rate of its own",
    )
    parser.add_argument(
        "--rate-limit-per-address",
        type=float,
        default=0.0,
        help="the simulator refuses each client address past this many article requests/s "
        "(0: the platform-wide limit, 1.2 × --rate)",
    )
    parser.add_argument(
        "--account-entries",
        type=int,
        default=1000,
        help="newest articles in each account's feed (1,000: about 4 days of a simulated account's "
        "output; a real account's list covers weeks)",
    )
    parser.add_argument(
        "--listings-keep-removed",
        action="store_true",
        help="the accounts' feeds keep listing removed articles (a caching bridge): age-only schedule",
    )
    args = parser.parse_args()
    if args.sim_hours is None:
        args.sim_hours = args.publish_hours + HORIZON_HOURS + 6
    wall = args.sim_hours * 3600 / args.time_scale
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        process, base = start_simulator(args, directory)
        try:
            settings = Settings(
                data_dir=directory / "data",
                fetch=FetchSettings(
                    allow_private_networks=True,
                    per_host_concurrency=24,
                    total_concurrency=24,
                    per_host_rate=args.rate,
                    timeout=30,
                    egress=tuple(f"127.0.0.{i}" for i in range(1, args.egresses + 1)),
                ),
                watch=WatchSettings(time_scale=args.time_scale, checks_per_article=args.checks),
                platforms={"wechat": PlatformSettings(hosts=(urlsplit(base).netloc,))},
            )
            settings = replace(settings, capture=replace(settings.capture, images=False))
            print(
                f"{args.copies * 14:,} articles, {args.sim_hours:g} simulated hours in {wall:.0f} s",
                flush=True,
            )
            watcher = asyncio.run(run_watcher(settings, args.workers, wall, base))
        finally:
            process.terminate()
            process.wait()
        plan = json.loads((directory / "plan.json").read_text())
        report(args, settings, plan, watcher, directory / "requests.jsonl")
    return 0


def report(args, settings: Settings, plan: dict, watcher: Watcher, log_path: Path) -> None:
    end = args.sim_hours * 3600
    store = open_archive(settings)
    rows = {row.canonical_id: row for row in store.iter_export()}
    fates = {WECHAT.canonical_id("https://x" + path): fate for path, fate in plan["articles"].items()}
    by_query = {key: rows.get(key) for key in fates}
    eligible_capture = [q for q, f in fates.items() if f["removed_at"] is not None and f["removed_at"] <= end]
    long_lived = [q for q in eligible_capture if fates[q]["removed_at"] - fates[q]["published_at"] >= 600]
    captured_before = [
        q
        for q in long_lived
        if by_query[q] is not None and sim_seconds(by_query[q].first_seen_at, plan) < fates[q]["removed_at"]
    ]
    horizon = HORIZON_HOURS * 3600
    # Removals within the schedule's horizon (the monitor's look-back); later ones are counted apart.
    should_detect = [
        q
        for q in captured_before
        if fates[q]["removed_at"] <= end - 12 * 3600
        and fates[q]["removed_at"] - fates[q]["published_at"] < horizon
    ]
    past_horizon = [
        q for q in captured_before if fates[q]["removed_at"] - fates[q]["published_at"] >= horizon
    ]
    declared = {q: row for q, row in by_query.items() if row is not None and row.state == "removed"}
    false = [
        q
        for q in declared
        if fates[q]["removed_at"] is None
        or sim_seconds(declared[q].detected_at, plan) < fates[q]["removed_at"]
    ]
    detected = [q for q in should_detect if q in declared]
    right = [
        q for q in declared if q not in false and declared[q].outcome == OUTCOME_OF_NOTICE[fates[q]["notice"]]
    ]
    delays = [sim_seconds(declared[q].detected_at, plan) - fates[q]["removed_at"] for q in detected]
    seen = [sim_seconds(declared[q].suspected_at, plan) - fates[q]["removed_at"] for q in detected]
    # The fixed-interval policy with the same number of article requests over the same lives.
    requests = [json.loads(line) for line in log_path.read_text().splitlines()]
    article_requests = [t for t, path, *_ in requests if path.startswith("/s")]
    feed_requests = sum(1 for _, path, *_ in requests if path.startswith("/account/"))
    watched = sum(
        max(0.0, min(end, f["removed_at"] or end, f["published_at"] + horizon) - f["published_at"])
        for q, f in fates.items()
        if by_query[q] is not None
    )
    interval = watched / max(1, len(article_requests))
    confirmation = settings.watch.confirmation_seconds
    rng = random.Random(0)
    fixed_seen = [rng.uniform(0, interval) for _ in detected]
    # Both policies also capture, confirm and look at removed articles again: counting only
    # the routine checks (alive, edited, first sightings) as the fixed policy's budget.
    outcomes = watcher.status.outcomes
    routine = outcomes["alive"] + outcomes["edited"] + len(declared)
    routine_interval = watched / max(1, routine)
    routine_seen = [rng.uniform(0, routine_interval) for _ in detected]
    fixed = [delay + confirmation for delay in fixed_seen]
    per_second = Counter(int(t) for t in article_requests)
    published = sum(1 for f in fates.values() if f["published_at"] <= end)
    median, p90 = median_of(delays), percentile(delays, 0.9)
    fixed_median, fixed_p90 = median_of(fixed), percentile(fixed, 0.9)
    seen_median, seen_p90 = median_of(seen), percentile(seen, 0.9)
    fixed_seen_median, fixed_seen_p90 = median_of(fixed_seen), percentile(fixed_seen, 0.9)
    lines = [
        f"articles published: {published:,}, captured: {len(rows):,}",
        f"captured before removal (lived >= 10 min): {len(captured_before):,} / {len(long_lived):,}"
        f" = {len(captured_before) / max(1, len(long_lived)):.2%}",
        f"removals detected (within the 7-day horizon, >= 12 h before the end): {len(detected):,} /"
        f" {len(should_detect):,} = {len(detected) / max(1, len(should_detect)):.2%}",
        f"removed after the horizon (checked weekly from then on): {len(past_horizon):,},"
        f" declared by the end: {sum(1 for q in past_horizon if q in declared):,}",
        f"false deletions: {len(false)}; reasons right: {len(right):,} / {len(declared) - len(false):,}",
        f"checks: {sum(watcher.status.outcomes.values()):,} {dict(watcher.status.outcomes)}",
        f"articles made due by leaving their account's feed: {watcher.status.left_listings:,}"
        f" (feeds {'keep' if args.listings_keep_removed else 'drop'} removed articles,"
        f" {args.account_entries:,} entries each)",
        f"article requests: {len(article_requests):,}; a fixed interval spending as many checks every"
        f" {interval / 60:.0f} simulated minutes",
        f"feed requests (both policies poll the feeds to capture at first sight): {feed_requests:,}",
        "delay from removal to the first check that saw it, simulated minutes:",
        f"  adaptive median {seen_median / 60:.0f}, p90 {seen_p90 / 60:.0f};"
        f" fixed interval median {fixed_seen_median / 60:.0f}, p90 {fixed_seen_p90 / 60:.0f};"
        f" ratio median {seen_median / fixed_seen_median:.2f}, p90 {seen_p90 / fixed_seen_p90:.2f}",
        f"  fixed interval with the routine checks only ({routine:,}, every {routine_interval / 60:.0f} min):"
        f" median {median_of(routine_seen) / 60:.0f}, p90 {percentile(routine_seen, 0.9) / 60:.0f};"
        f" ratio median {seen_median / median_of(routine_seen):.2f},"
        f" p90 {seen_p90 / percentile(routine_seen, 0.9):.2f}",
        f"delay to the declaration (the {confirmation / 60:.0f}-minute confirmation included):",
        f"  adaptive median {median / 60:.0f}, p90 {p90 / 60:.0f};"
        f" fixed interval median {fixed_median / 60:.0f}, p90 {fixed_p90 / 60:.0f};"
        f" ratio median {median / fixed_median:.2f}, p90 {p90 / fixed_p90:.2f}",
        f"budget {args.rate:g} requests/s for each of {args.egresses} ways out; most article requests in one"
        f" second: {max(per_second.values())}; article requests/s over the run:"
        f" {len(article_requests) / (args.sim_hours * 3600 / args.time_scale):.1f}",
        f"verification pages served: {sum(1 for _, _, served, *_ in requests if served == 'verification')}",
    ]
    for name, figures in sorted(watcher.status.egresses.items()):  # its last heartbeat's
        lines.append(f"  by {name}: {figures}")
    print("\n" + "\n".join(lines))
    store.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
