"""SIGKILL during captures and checks, then a restart: nothing acknowledged lost, nothing torn,
nothing twice, the schedule intact, on both backends with two capture processes. A few rounds here; ``bench/crashes.py`` runs twenty over
1,000 captures (docs/reliability.md). Pages: the simulator's (src/samizdat/testing/pages/wechat)."""

import pytest

from samizdat.testing import Simulator
from samizdat.testing.crashes import crash_rounds
from tests.helpers import WECHAT


@pytest.mark.slow
def test_killed_captures_and_watches_leave_a_whole_archive(tmp_path, database_url):
    with Simulator(WECHAT, copies=3) as sim:
        report = crash_rounds(
            tmp_path, sim, rounds=4, seed=3, kill_after=(1.5, 3.5), database_url=database_url, workers=2
        )
    assert report.problems == []
    assert report.rounds == 4 and report.killed_running >= 2
    assert report.captured == report.expected == 42
    assert report.versions >= 42 and report.checks > report.versions
