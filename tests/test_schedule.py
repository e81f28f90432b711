"""The re-check schedule fitted to real removals (src/samizdat/testing/pages/removals, wechatscope 2018-2020)."""

import itertools
import random
from datetime import timedelta

import pytest

from samizdat.watch.schedule import RemovalProfile, SchedulePolicy
from tests.helpers import bench_module

schedule_simulation = bench_module("schedule_simulation")

PROFILE = RemovalProfile.load()


def test_shipped_profile_is_a_distribution_over_seven_days():
    assert PROFILE.edges[0] == 0 and PROFILE.horizon_hours == pytest.approx(168, rel=1e-3)
    assert sum(PROFILE.shares) == pytest.approx(1.0)
    assert all(share > 0 for share in PROFILE.shares)


def test_shipped_profile_is_what_the_fit_produces():
    ages = schedule_simulation.removal_ages()[0::2]
    refit = RemovalProfile.from_ages(ages, horizon_hours=168, publication_window_hours=24)
    assert refit.shares == pytest.approx(PROFILE.shares, abs=1e-6)


@pytest.mark.parametrize("checks", [30, 60, 120])
def test_rates_spend_exactly_the_budget(checks):
    policy = SchedulePolicy(PROFILE, checks=checks)
    widths = [b - a for a, b in zip(PROFILE.edges, PROFILE.edges[1:], strict=False)]
    assert sum(r * w for r, w in zip(policy.rates, widths, strict=True)) == pytest.approx(checks)
    assert abs(len(policy.check_ages()) - checks) <= 2


def test_checks_are_densest_where_removals_are_and_sparse_after_days():
    policy = SchedulePolicy(PROFILE, checks=60)
    peak = max(
        range(len(PROFILE.shares)),
        key=lambda i: PROFILE.shares[i] / (PROFILE.edges[i + 1] - PROFILE.edges[i]),
    )
    peak_age = (PROFILE.edges[peak] + PROFILE.edges[peak + 1]) / 2
    assert policy.interval_hours(peak_age) < policy.interval_hours(6 * 24)
    assert policy.interval_hours(6 * 24) > 6  # checked rarely after most removals have happened
    assert policy.interval_hours(168) is None  # past the horizon


def test_priority_articles_are_checked_more_often():
    policy = SchedulePolicy(PROFILE, checks=60)
    assert policy.interval_hours(10, priority=True) == pytest.approx(policy.interval_hours(10) / 3)
    assert len(policy.check_ages(priority=True)) > 2 * len(policy.check_ages())


def test_jitter_spreads_checks_within_bounds():
    policy = SchedulePolicy(PROFILE, checks=60)
    rng = random.Random(1)
    base = policy.interval_hours(30)
    draws = [policy.next_check(timedelta(hours=30), rng=rng).total_seconds() / 3600 for _ in range(200)]
    assert min(draws) >= base * 0.9 - 1e-9 and max(draws) <= base * 1.1 + 1e-9
    assert len({round(d, 6) for d in draws}) > 150
    assert policy.next_check(timedelta(days=8)) is None


def test_never_more_often_than_the_floor():
    policy = SchedulePolicy(PROFILE, checks=100_000)
    assert policy.interval_hours(30) == pytest.approx(policy.min_interval_hours)


def test_adaptive_schedule_beats_a_fixed_interval_on_held_out_removals():
    """Same checks per article; removals not used for fitting (odd rows)."""
    rng = random.Random(20260101)
    held_out = [a - rng.uniform(0, min(a, 24)) for a in schedule_simulation.removal_ages()[1::2] if a >= 0]
    held_out = [a for a in held_out if a < 168]
    adaptive_ages = SchedulePolicy(PROFILE, checks=60).check_ages()
    interval = 168 / (len(adaptive_ages) + 1)
    fixed_ages = [interval * i for i in range(1, len(adaptive_ages) + 1)]
    (a_found, a_missed), (f_found, _) = (
        schedule_simulation.delays(x, held_out) for x in (adaptive_ages, fixed_ages)
    )
    (am, ap, aa), (fm, fp, fa) = schedule_simulation.summary(a_found), schedule_simulation.summary(f_found)
    assert am <= 0.55 * fm and ap <= 0.6 * fp and aa <= 0.7 * fa
    assert a_missed / len(held_out) < 0.005


def test_a_removed_article_is_looked_at_after_waits_that_double_up_to_an_old_articles_pace():
    from datetime import UTC, datetime

    from samizdat.config import WatchSettings
    from samizdat.watch.checker import removed_recheck_interval

    watch = WatchSettings(time_scale=10.0)  # schedule time runs 10× the clock here
    detected = datetime(2026, 1, 1, tzinfo=UTC)
    looks, now = [], detected
    while now - detected < timedelta(days=60) / watch.time_scale:
        now += removed_recheck_interval(watch, detected, now) / watch.time_scale
        looks.append(round((now - detected) * watch.time_scale / timedelta(hours=1)))
    assert looks[:4] == [24, 48, 96, 192]  # each wait as long as the article has been gone …
    assert {b - a for a, b in itertools.pairwise(looks[3:])} == {168}  # … up to a week's pace
    assert removed_recheck_interval(watch, None, now) == timedelta(hours=24)
