"""First sight under a tight budget: a new user's run against a platform with faults, in compressed time.

Usage: python bench/first_sight.py [--rate 40] [--kills 8] [--workers 2] [--postgres]
                                   [--resolver silent|system] [--links-here] [--no-links]
                                   [--samizdat-src DIR] [--runs 3]

The scenario of issue 14, with the project's own simulator in its own process: 60 real
articles (the saved pages, copied) spread over 45 accounts, one RSS feed per account on the
same host as the articles, publication over the first simulated day, removals at ages and
for reasons drawn from the 17,411 real removals, and 10 % transient faults on article and
feed requests (a third each: HTTP 503, the verification page, a body cut off). Time runs
8,640× (a day in 10 s). samizdat is run as a user runs it, through its command line:
``samizdat source add <accounts.opml>`` then ``samizdat watch`` for 95 s, with
``fetch.per_host_rate`` = 40, ``per_host_concurrency`` = 4, ``watch.time_scale`` = 8640.
The pages link other articles on mp.weixin.qq.com, a host the simulator does not serve, as
real pages do; links are followed (the default settings), and by default the watcher runs
behind a name server that never answers (``samizdat.testing.dns``: every lookup of that host
waits 5 s and fails, as on a censored network; root only). ``--resolver system`` uses this
machine's own resolver, ``--links-here`` has the simulator serve the links itself, ``--no-links``
sets ``[links] follow = []``.
``--kills N`` SIGKILLs the watcher N times at random moments and starts it again at once;
``samizdat verify`` must pass at the end. ``--samizdat-src`` runs another checkout's
samizdat (e.g. a worktree of an older commit) against the same simulator, for comparison.

Figures, from the archive's JSON Lines export against the simulator's plan:
- captured before removal, of the articles not removed within one poll interval (900
  simulated seconds) of their publication;
- removals detected, of the captured articles removed at least 12 simulated hours before the
  end; reasons right; false removals (declared but not removed, or declared before it);
- delay from removal to detection, from publication to first capture (simulated minutes);
- the requests the platform saw, by kind;
- how long the watcher took to stop after SIGINT (Ctrl-C).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from samizdat.testing.dns import SilentNameServer
from samizdat.testing.process import simulator_process
from samizdat.testing.timeline import OUTCOME_OF_NOTICE

ROOT = Path(__file__).resolve().parents[1]
STATUS_EVERY = 5.0  # real seconds between two looks at `samizdat status --json`
POLL_INTERVAL = 900.0  # simulated seconds: `samizdat source add`'s default
DETECT_MARGIN = 12 * 3600.0


def samizdat(args: argparse.Namespace, config: Path, *command: str) -> list[str]:
    return [sys.executable, "-m", "samizdat.cli", "--config", str(config), *command]


def environment(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    if args.samizdat_src:
        env["PYTHONPATH"] = str(Path(args.samizdat_src).resolve() / "src")
    return env


def start_simulator(args: argparse.Namespace, directory: Path, seed: int) -> tuple[subprocess.Popen, str]:
    command = [
        "--timeline", "--copies", "5", "--articles", str(args.articles), "--accounts", str(args.accounts),
        "--time-scale", str(args.time_scale), "--publish-hours", "24",
        "--removed-share", str(args.removed_share), "--edited-share", "0.05", "--seed", str(seed),
        "--fault-rate", str(args.fault_rate), "--start-in", str(args.setup_seconds),
        "--log", str(directory / "requests.jsonl"), "--plan", str(directory / "plan.json"),
    ]  # fmt: skip
    if args.images_elsewhere:
        command += ["--asset-host", "localhost"]
    if not args.links_here:
        command += ["--links-elsewhere"]
    return simulator_process(command, cwd=ROOT)


def write_config(args: argparse.Namespace, directory: Path, base: str, database_url: str | None) -> Path:
    host = base.split("//", 1)[1]
    database = f'[database]\nurl = "{database_url}"\n' if database_url else ""
    links = "[links]\nfollow = []\n" if args.no_links else ""
    config = directory / "samizdat.toml"
    config.write_text(
        f'data_dir = "{directory / "data"}"\n{database}'
        f"[fetch]\nper_host_rate = {args.rate}\nper_host_concurrency = 4\nallow_private_networks = true\n"
        f"[watch]\ntime_scale = {args.time_scale}\n{links}"
        f'[platforms.wechat]\nhosts = ["{host}", "mp.weixin.qq.com"]\n'
    )
    return config


def run(args: argparse.Namespace, seed: int) -> dict:
    if not args.postgres:
        return run_with(args, seed, None)
    from samizdat.testing.postgres import ADMIN_URL, fresh_database

    with fresh_database(ADMIN_URL) as url:
        return run_with(args, seed, url)


def run_with(args: argparse.Namespace, seed: int, database_url: str | None) -> dict:
    with tempfile.TemporaryDirectory() as temporary, ExitStack() as stack:
        directory = Path(temporary)
        behind = list  # the watcher runs as it is, or behind a name server that never answers
        if args.resolver == "silent":
            behind = stack.enter_context(SilentNameServer(timeout=5)).command
        simulator, base = start_simulator(args, directory, seed)
        env = environment(args)
        config = write_config(args, directory, base, database_url)
        log = (directory / "watch.log").open("w")
        try:
            subprocess.run(
                samizdat(args, config, "source", "add", f"{base}/accounts.opml"),
                check=True, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=directory,
            )  # fmt: skip
            plan = json.loads((directory / "plan.json").read_text())
            time.sleep(max(0.0, plan["start"] - time.time()))
            watch_command = behind(samizdat(args, config, "watch", "--workers", str(args.workers)))
            started = time.monotonic()
            rng = random.Random(seed)
            kills = sorted(rng.uniform(5, args.seconds - 5) for _ in range(args.kills))

            def start_watcher() -> subprocess.Popen:
                return subprocess.Popen(
                    watch_command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=directory
                )

            watcher = start_watcher()
            samples: list[dict] = []
            sampler = threading.Thread(
                target=sample_status, args=(args, config, env, directory, started, samples), daemon=True
            )
            sampler.start()
            for moment in kills:
                time.sleep(max(0.0, moment - (time.monotonic() - started)))
                watcher.kill()  # SIGKILL; its check workers stop when they see their parent gone
                watcher.wait()
                watcher = start_watcher()
            time.sleep(max(0.0, args.seconds - (time.monotonic() - started)))
            ended = time.time()
            watcher.send_signal(signal.SIGINT)
            try:
                watcher.wait(30)
                stopped_in = round(time.time() - ended, 2)
            except subprocess.TimeoutExpired:
                watcher.kill()
                watcher.wait()
                stopped_in = None  # not within 30 s
            sampler.join()  # its last `samizdat status` must not be reading while the directory goes
        finally:
            simulator.terminate()
            simulator.wait()
            log.close()
        verify = subprocess.run(
            samizdat(args, config, "verify"), env=env, capture_output=True, text=True, cwd=directory
        )
        exported = subprocess.run(
            samizdat(args, config, "export", "--format", "jsonl"),
            env=env, capture_output=True, text=True, check=True, cwd=directory,
        )  # fmt: skip
        rows = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
        requests = [json.loads(line) for line in (directory / "requests.jsonl").read_text().splitlines()]
        if args.keep:
            keep = Path(args.keep) / f"seed{seed}"
            keep.mkdir(parents=True, exist_ok=True)
            (keep / "export.jsonl").write_text(exported.stdout)
            for name in ("plan.json", "requests.jsonl", "watch.log"):
                (keep / name).write_bytes((directory / name).read_bytes())
            for database in (directory / "data").glob("*.db*"):  # the archive's own state (SQLite)
                (keep / database.name).write_bytes(database.read_bytes())
            (keep / "status.jsonl").write_text("".join(json.dumps(sample) + "\n" for sample in samples))
        figures = evaluate(plan, rows, requests, (ended - plan["start"]) * plan["time_scale"])
        figures["by_class"] = by_class(samples, plan["time_scale"])
        # What each class of request took, as the watcher counted them (its last heartbeat seen).
        figures["sent_by_class"] = dict(
            sum((Counter(classes) for classes in samples[-1].get("requests_by_host", {}).values()), Counter())
            if samples
            else {}
        )
        figures["stopped_in_seconds"] = stopped_in
        figures["verify_ok"] = verify.returncode == 0
        if verify.returncode != 0:
            figures["verify_output"] = (verify.stdout + verify.stderr)[-2000:]
        return figures


def sample_status(args, config: Path, env: dict, directory: Path, started: float, samples: list) -> None:
    """``samizdat status --json`` every few seconds while the watcher runs (a checkout without it: none)."""
    while time.monotonic() - started + STATUS_EVERY < args.seconds - 2:
        time.sleep(STATUS_EVERY)
        answer = subprocess.run(
            samizdat(args, config, "status", "--json"), env=env, capture_output=True, text=True, cwd=directory
        )
        if answer.returncode != 0:
            return
        samples.append(json.loads(answer.stdout))


def by_class(samples: list[dict], time_scale: float) -> dict:
    """For each class: the most due (or waiting) at once, and the mean and worst lateness in
    simulated minutes (due: how overdue the most overdue check was; waiting: the oldest wait)."""
    figures = {}
    for kind, late_key in (("due_by_class", "late_seconds"), ("waiting_by_class", "oldest_seconds")):
        names = {name for sample in samples for name in sample.get(kind, {})}
        for name in sorted(names):
            seen = [sample[kind].get(name, {"count": 0, late_key: 0.0}) for sample in samples]
            lateness = [entry[late_key] * time_scale / 60 for entry in seen]
            figures[f"{kind.split('_')[0]}:{name}"] = {
                "most": max(entry["count"] for entry in seen),
                "late_mean_min": round(statistics.mean(lateness), 1),
                "late_max_min": round(max(lateness), 1),
            }
    return figures


def sim_seconds(moment: str | None, plan: dict) -> float | None:
    if moment is None:
        return None
    return (datetime.fromisoformat(moment).timestamp() - plan["start"]) * plan["time_scale"]


def path_key(url: str) -> str | None:
    """An article's identity: the platform's own (account, message, index)."""
    from samizdat.platforms.wechat import PLATFORM

    return PLATFORM.canonical_id(url if "://" in url else "https://mp.weixin.qq.com" + url)


def evaluate(plan: dict, rows: list[dict], requests: list, end: float) -> dict:
    fates = {path_key(path): fate for path, fate in plan["articles"].items()}
    by_path: dict[str, dict] = {}
    for row in rows:
        by_path.setdefault(row["canonical_id"], row)
    eligible = [
        p for p, f in fates.items()
        if f["published_at"] <= end
        and (f["removed_at"] is None or f["removed_at"] - f["published_at"] > POLL_INTERVAL)
    ]  # fmt: skip
    first_capture = {p: sim_seconds(by_path[p]["first_captured_at"], plan) for p in fates if p in by_path}
    captured_before = [
        p for p in eligible
        if first_capture.get(p) is not None
        and (fates[p]["removed_at"] is None or first_capture[p] < fates[p]["removed_at"])
    ]  # fmt: skip
    delays_first = [first_capture[p] - fates[p]["published_at"] for p in captured_before]
    should_detect = [
        p for p in captured_before
        if fates[p]["removed_at"] is not None and fates[p]["removed_at"] <= end - DETECT_MARGIN
    ]  # fmt: skip
    declared = {p: row for p, row in by_path.items() if row["state"] == "removed"}
    false = [
        p for p, row in declared.items()
        if fates[p]["removed_at"] is None or sim_seconds(row["detected_at"], plan) < fates[p]["removed_at"]
    ]  # fmt: skip
    detected = [p for p in should_detect if p in declared and p not in false]
    right = [
        p for p in declared
        if p not in false and declared[p]["outcome"] == OUTCOME_OF_NOTICE[fates[p]["notice"]]
    ]  # fmt: skip
    delays_detect = [sim_seconds(declared[p]["detected_at"], plan) - fates[p]["removed_at"] for p in detected]
    noticed = first_notices(fates, requests, plan)
    delays_noticed = [noticed[p] - fates[p]["removed_at"] for p in detected if p in noticed]
    kinds = Counter(
        "feed" if path.startswith("/account/") else "article" if path.startswith("/s") else "other"
        for _, path, *_ in requests
    )
    return {
        "articles": len(fates),
        "eligible": len(eligible),
        "captured_before_removal": len(captured_before),
        "should_detect": len(should_detect),
        "detected": len(detected),
        "declared": len(declared),
        "false_removals": len(false),
        "reasons_right": len(right),
        "first_capture_minutes": quantiles(delays_first),
        "detection_minutes": quantiles(delays_detect),
        # From the platform's request log, whatever the archive writes as detected_at.
        "first_notice_minutes": quantiles(delays_noticed),
        "requests": dict(kinds),
        "faults_served": sum(1 for _, _, served, *_ in requests if served == "fault"),
        "simulated_hours": round(end / 3600, 1),
    }


def first_notices(fates: dict, requests: list, plan: dict) -> dict[str, float]:
    """For each removed article, when (simulated seconds) the platform first answered a request
    for it with its notice after the removal. The simulator logs an article's requests by its
    token: the first 22 hex digits of the SHA-1 of its canonical id."""
    by_token = {hashlib.sha1(p.encode()).hexdigest()[:22]: p for p, f in fates.items() if f["removed_at"]}
    noticed: dict[str, float] = {}
    for moment, _, served, token in requests:
        path = by_token.get(token)
        at = (moment - plan["start"]) * plan["time_scale"]
        if path and path not in noticed and served.startswith("notice") and at >= fates[path]["removed_at"]:
            noticed[path] = at
    return noticed


def quantiles(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"p50": None, "p90": None, "max": None}
    ordered = sorted(seconds)
    return {
        "p50": round(statistics.median(ordered) / 60, 1),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] / 60, 1),
        "max": round(ordered[-1] / 60, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=40.0, help="fetch.per_host_rate, requests/s")
    parser.add_argument("--time-scale", type=float, default=8640.0)
    parser.add_argument("--seconds", type=float, default=95.0, help="how long samizdat watch runs")
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--accounts", type=int, default=45)
    parser.add_argument("--removed-share", type=float, default=0.6)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument(
        "--images-elsewhere",
        action="store_true",
        help="the pages' images on another host name (localhost), as WeChat's are on its image CDN",
    )
    parser.add_argument(
        "--resolver",
        choices=("silent", "system"),
        default="silent",
        help="silent: the watcher's lookups go to a name server that never answers (root); "
        "system: this machine's",
    )
    parser.add_argument(
        "--links-here", action="store_true", help="the simulator serves the pages' links itself"
    )
    parser.add_argument("--no-links", action="store_true", help="[links] follow = [] (links not followed)")
    parser.add_argument("--kills", type=int, default=0, help="SIGKILL the watcher this many times")
    parser.add_argument("--workers", type=int, default=1, help="samizdat watch --workers")
    parser.add_argument("--runs", type=int, default=1, help="runs with seeds seed, seed+1, …")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--setup-seconds", type=float, default=6.0, help="real seconds before time 0")
    parser.add_argument("--postgres", action="store_true", help="a fresh database on SAMIZDAT_TEST_POSTGRES")
    parser.add_argument(
        "--keep", help="keep each run's export, plan, request log, watch log and status samples here"
    )
    parser.add_argument("--samizdat-src", help="run the samizdat of this checkout (its src/)")
    args = parser.parse_args()
    totals: Counter = Counter()
    for seed in range(args.seed, args.seed + args.runs):
        figures = run(args, seed)
        print(json.dumps({"seed": seed, **figures}, ensure_ascii=False), flush=True)
        for key in ("eligible", "captured_before_removal", "should_detect", "detected", "false_removals",
                    "declared", "reasons_right"):  # fmt: skip
            totals[key] += figures[key]
    if args.runs > 1:
        print(json.dumps({"total": dict(totals)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
