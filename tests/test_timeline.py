"""The simulator's timeline: removals drawn from the real dataset (src/samizdat/testing/pages/removals,
WeChatScope 2018–2020), articles published, removed and edited at their simulated times."""

import statistics
from collections import Counter
from urllib.parse import quote

import httpx
import pytest

from samizdat.testing import Simulator
from samizdat.testing.timeline import Fate, plan, real_removals
from tests.helpers import WECHAT


def test_real_removals_keep_the_dataset_s_reasons_and_ages():
    removals = real_removals()
    assert len(removals) == 17_411
    mix = Counter(r.notice for r in removals)
    assert mix["deleted-by-author"] == 9_290 + 3_160  # Chinese and English notice texts
    assert mix["violation"] == 3_659 + 575
    assert mix["account-blocked"] == 455 and mix["account-migrated"] == 41
    # wechat.md: median 1.9 days from the publication day's midnight; the hour is drawn uniformly.
    median_hours = statistics.median(r.age_seconds for r in removals) / 3600
    assert 30 < median_hours < 40


def test_a_plan_removes_the_share_asked_for():
    fates = plan(5_000, real_removals(), publish_over=86_400, removed_share=0.2, edited_share=0.05, seed=3)
    removed = [f for f in fates if f.removed_at is not None]
    assert 0.18 < len(removed) / len(fates) < 0.22
    assert all(f.removed_at > f.published_at for f in removed)
    assert 0.03 < sum(f.edited_at is not None for f in fates) / len(fates) < 0.07


@pytest.mark.parametrize("keep_removed", [False, True])
def test_the_simulator_publishes_and_removes_on_its_clock(keep_removed):
    with Simulator(WECHAT, copies=1, time_scale=1.0, listings_keep_removed=keep_removed) as sim:
        first, second, third = sim.articles[:3]
        fates = [
            Fate(published_at=0.0, removed_at=0.0, notice="violation"),
            Fate(published_at=3600.0),
            Fate(published_at=0.0),
        ]
        sim.set_fates(fates + [Fate(published_at=10**9)] * (len(sim.articles) - 3))
        listed = httpx.get(f"{sim.base}/feed.xml").text
        account = httpx.get(f"{sim.base}/account/{quote(third.biz, safe='')}.json").json()
        page = httpx.get(sim.base + first.path).text
    # The platform's own lists drop a removed article; a caching bridge keeps listing it.
    assert (sim.base + first.path.replace("&", "&amp;") in listed) is keep_removed
    assert sim.base + third.path.replace("&", "&amp;") in listed
    assert sim.base + third.path in [item["url"] for item in account["items"]]
    assert second.mid not in listed  # not published for another simulated hour
    assert "此内容因违规无法查看" in page
    assert [served for _, path, served, _ in sim.requests if path == "/s"] == ["notice:violation"]
