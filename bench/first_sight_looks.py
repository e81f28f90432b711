"""Per removal, what looked at the article: a `first_sight.py --keep DIR` run read back.

Usage: python bench/first_sight_looks.py DIR/seedN [--articles 60] [--accounts 45]

For each removal the archive detected: when the article was published and removed, the last
look before the removal and the first after it (a check of the article, or a poll of its
account's feed, which leaves removed articles out), and the delay to detection, in simulated
hours; then, over simulated hours 24–80 (where most removals fall), how far apart the looks
at each article were, checks alone and with its feed's polls, and the requests of each kind;
and how long a removal waited after a first request for its article that met a fault.
The expected delay of a removal that falls at a random moment is E[gap²] / 2 E[gap].

``--articles`` and ``--accounts`` must be the run's own (`first_sight.py`'s defaults here):
they decide which feed each article is listed in (the simulator's round robin).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

from first_sight import path_key, sim_seconds
from samizdat.testing.simulator import Simulator

WINDOW_HOURS = (24.0, 80.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a seed directory that first_sight.py --keep wrote")
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--accounts", type=int, default=45)
    args = parser.parse_args()
    plan = json.loads((args.run / "plan.json").read_text())
    start, scale = plan["start"], plan["time_scale"]

    def hours(moment: float) -> float:
        return (moment - start) * scale / 3600

    simulated = Simulator(None, copies=5, articles=args.articles, accounts=args.accounts).articles
    by_id = {f"{a.biz}:{a.mid}:{a.idx}": a for a in simulated}
    checks: defaultdict[str, list[float]] = defaultdict(list)
    polls: defaultdict[str, list[float]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    faulted: set[tuple[str, float]] = set()  # (article token, hour) of requests answered with a fault
    for moment, path, served, token in map(json.loads, (args.run / "requests.jsonl").open()):
        at = hours(moment)
        if path.startswith("/account/"):
            polls[path.removeprefix("/account/").removesuffix(".xml")].append(at)
        elif token:
            checks[token].append(at)
            if served == "fault":
                faulted.add((token, at))
        if WINDOW_HOURS[0] <= at <= WINDOW_HOURS[1]:
            kinds["feed" if path.startswith("/account/") else "article" if token else "other"] += 1
    exported = {row["canonical_id"]: row for row in map(json.loads, (args.run / "export.jsonl").open())}

    print(
        f"{'published':>9} {'removed':>8} {'look before':>11} {'look after':>10} {'detected':>8}  delay (min)"
    )
    delays = []
    after_fault = []  # minutes from a faulted first request after the removal to the detection
    for path, fate in sorted(plan["articles"].items(), key=lambda item: item[1]["removed_at"] or 1e12):
        key = path_key(path)
        row = exported.get(key)
        if fate["removed_at"] is None or not row or not row.get("detected_at"):
            continue
        article = by_id[key]
        removed = fate["removed_at"] / 3600
        detected = sim_seconds(row["detected_at"], plan) / 3600
        looks = sorted(checks[article.token] + polls[article.feed])
        before = max((at for at in looks if at < removed), default=None)
        after = min((at for at in looks if at >= removed), default=None)
        delays.append((detected - removed) * 60)
        first_request = min((at for at in checks[article.token] if at >= removed), default=None)
        if (article.token, first_request) in faulted:
            after_fault.append((detected - first_request) * 60)
        print(
            f"{fate['published_at'] / 3600:9.1f} {removed:8.1f} {_hour(before):>11} {_hour(after):>10} "
            f"{detected:8.1f}  {delays[-1]:6.0f}"
        )
    if delays:
        print(f"detected {len(delays)}, delay median {statistics.median(delays):.1f} min")
    if after_fault:
        print(
            f"first request for the article after its removal answered with a fault: {len(after_fault)}, "
            f"from it to the detection median {statistics.median(after_fault):.0f}, "
            f"mean {statistics.fmean(after_fault):.0f} min"
        )
    for name, gaps in (
        ("checks", _gaps(checks, simulated, None)),
        ("checks and polls", _gaps(checks, simulated, polls)),
    ):
        if gaps:
            expected = sum(g * g for g in gaps) / 2 / sum(gaps)
            print(
                f"looks at an article, hours {WINDOW_HOURS[0]:g}-{WINDOW_HOURS[1]:g}, {name}: "
                f"{len(gaps)} gaps, mean {statistics.fmean(gaps):.2f} h, expected delay {expected:.2f} h"
            )
    print("requests in that window:", dict(kinds))
    return 0


def _hour(at: float | None) -> str:
    return "-" if at is None else f"{at:.1f}"


def _gaps(checks, simulated, polls) -> list[float]:
    low, high = WINDOW_HOURS
    gaps = []
    for article in simulated:
        looks = checks[article.token] + (polls[article.feed] if polls is not None else [])
        inside = sorted(at for at in looks if low <= at <= high)
        gaps += [later - earlier for earlier, later in itertools.pairwise(inside)]
    return gaps


if __name__ == "__main__":
    sys.exit(main())
