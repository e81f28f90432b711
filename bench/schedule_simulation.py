"""The re-check schedule against a fixed interval, on real WeChat removal times.

Usage: python bench/schedule_simulation.py [--checks K] [--fit]

Removal ages come from 17,411 real removals (src/samizdat/testing/pages/removals, wechatscope 2018-2020).
The data gives the publication day, not the hour, so the hour is taken as unknown and
uniformly likely within that day, before the removal: the fit spreads each removal over the
ages it may have had; the evaluation draws one publication hour per removal (fixed seed).
The schedule counts age from first sight, which is what this age is. Rows are split in two by
position: the even rows fit the schedule (``--fit`` writes them to
src/samizdat/watch/removal_profile.json), the odd rows evaluate it, so the figures are not
measured on the data the schedule was fitted to.

Both policies spend the same number of checks per article over the 7-day horizon (the
monitor's own look-back). For each evaluated removal: detection delay = first check at or
after the removal − the removal. Removals after the horizon are counted, not detected by either.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import statistics
import sys
from bisect import bisect_left
from datetime import datetime, timedelta, timezone
from pathlib import Path

from samizdat.testing import REMOVALS
from samizdat.watch.schedule import PROFILE_FILE, RemovalProfile, SchedulePolicy

DATA = REMOVALS
CHINA = timezone(timedelta(hours=8))
HORIZON_HOURS = 7 * 24


def removal_ages(path: Path = DATA) -> list[float]:
    """Hours from the publication day's midnight (UTC+8) to the removal, in file order."""
    ages = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                published = datetime.strptime(row["created_at"], "%Y-%m-%d").replace(tzinfo=CHINA)
                removed = datetime.strptime(row["censored_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
            except (KeyError, ValueError):
                continue
            ages.append((removed - published).total_seconds() / 3600)
    return ages


def delays(check_ages: list[float], removals: list[float]) -> tuple[list[float], int]:
    """Detection delays (hours) of the removals a check sees, and how many no check sees."""
    found, missed = [], 0
    for age in removals:
        index = bisect_left(check_ages, age)
        if index == len(check_ages):
            missed += 1
        else:
            found.append(check_ages[index] - age)
    return found, missed


def summary(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))], statistics.fmean(ordered)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, nargs="*", default=[30, 60, 120], help="checks per article")
    parser.add_argument(
        "--concentration",
        type=float,
        nargs="*",
        default=[0.5, 0.75],
        help="exponents α of λ ∝ density^α (0.5 minimises the mean delay)",
    )
    parser.add_argument("--fit", action="store_true", help=f"write the fitted profile to {PROFILE_FILE}")
    args = parser.parse_args()
    ages = removal_ages()
    fit, held_out = ages[0::2], ages[1::2]
    profile = RemovalProfile.from_ages(fit, horizon_hours=HORIZON_HOURS, publication_window_hours=24)
    if args.fit:
        profile.dump(
            PROFILE_FILE,
            source=f"{DATA.name}: even rows ({len(fit)} removals); age from publication, the hour "
            "within the publication day (UTC+8) taken as uniform; 7-day horizon",
        )
        print(f"wrote {PROFILE_FILE}")
    shipped = RemovalProfile.load()
    rng = random.Random(20260101)
    within = [a - rng.uniform(0, min(a, 24)) for a in held_out if a >= 0]
    within = [a for a in within if a < HORIZON_HOURS]
    print(
        f"removals: {len(ages)} ({len(fit)} fit, {len(held_out)} evaluated; "
        f"{len(held_out) - len(within)} evaluated removals fall past the 7-day horizon or before publication)"
    )
    print(
        f"held-out removal age: median {statistics.median(within):.1f} h, "
        f"p90 {sorted(within)[int(0.9 * (len(within) - 1))]:.1f} h"
    )
    print(
        f"{'α':>4} {'checks':>6} | {'adaptive median':>15} {'p90':>8} {'mean':>8} | "
        f"{'fixed every':>11} {'median':>8} {'p90':>8} {'mean':>8} | ratio median p90 mean"
    )
    for alpha in args.concentration:
        for k in args.checks:
            adaptive_ages = SchedulePolicy(shipped, checks=k, concentration=alpha).check_ages()
            spent = len(adaptive_ages)
            interval = HORIZON_HOURS / (spent + 1)
            fixed_ages = [interval * i for i in range(1, spent + 1)]
            a_found, a_missed = delays(adaptive_ages, within)
            f_found, f_missed = delays(fixed_ages, within)
            am, ap, aa = summary(a_found)
            fm, fp, fa = summary(f_found)
            missed = f"  (missed: adaptive {a_missed}, fixed {f_missed})" if a_missed or f_missed else ""
            print(
                f"{alpha:>4} {spent:>6} | {am * 60:>11.0f} min {ap * 60:>4.0f} min {aa * 60:>4.0f} min | "
                f"{interval:>9.2f} h {fm * 60:>4.0f} min {fp * 60:>4.0f} min {fa * 60:>4.0f} min | "
                f"{am / fm:>10.2f} {ap / fp:.2f} {aa / fa:.2f}{missed}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
