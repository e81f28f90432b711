"""Crash injection at scale: SIGKILL during 1,000 captures and their re-checks, round after round.

Usage: python bench/crashes.py [--rounds 20] [--copies 72] [--seed 1] [--workers N] [--postgres]

The simulator serves 14 × COPIES articles (72: 1,008). Each round starts ``samizdat capture``
(even rounds: the articles not yet archived, and five archived before) or ``samizdat watch``
(odd rounds, in fast time, while the simulator removes three articles) as a separate process
and kills it with SIGKILL after 1–6 s; then the archive is checked as a restart finds it
(samizdat.testing.crashes). ``--workers``: capture processes per capture round; ``--postgres``:
the archive's database is a fresh PostgreSQL database (SAMIZDAT_TEST_POSTGRES or the local
server). Prints the figures of docs/reliability.md.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from samizdat.testing import WECHAT_PAGES, Simulator
from samizdat.testing.crashes import crash_rounds
from samizdat.testing.postgres import ADMIN_URL, fresh_database

FIXTURES = WECHAT_PAGES


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--copies", type=int, default=72)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="capture processes per capture round")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database")
    options = parser.parse_args()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        directory = stack.enter_context(tempfile.TemporaryDirectory())
        sim = stack.enter_context(Simulator(FIXTURES, copies=options.copies))
        url = stack.enter_context(fresh_database(ADMIN_URL)) if options.postgres else ""
        report = crash_rounds(
            Path(directory),
            sim,
            rounds=options.rounds,
            seed=options.seed,
            kill_after=(1.0, 6.0),
            database_url=url,
            workers=options.workers,
        )
    print(
        f"{report.rounds} rounds, {report.killed_running} killed while working,"
        f" {report.torn_tails_cut} torn WARC tails cut at restart; {report.versions:,} versions,"
        f" {report.checks:,} checks stored; articles archived {report.captured:,} of {report.expected:,};"
        f" problems found after the restarts: {len(report.problems)} ({time.monotonic() - started:.0f} s)"
    )
    for problem in report.problems:
        print("  ", problem)
    return 1 if report.problems or report.captured < report.expected else 0


if __name__ == "__main__":
    sys.exit(main())
