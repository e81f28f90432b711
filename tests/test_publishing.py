"""Polls that follow the publishing (watch/publishing.py, watch/polling.py): a new source is
polled as one that publishes daily, one that just published at its floor, a silent one backs
off to the ceiling, and one that publishes at an hour of the day is polled near it; a poll goes
ahead of checks only once it is worth a check's turn, from the floor on with what they leave.

All times are constructed (the schedule's clock, in seconds); no page is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from samizdat.config import WatchSettings
from samizdat.fetch import Priority
from samizdat.watch.polling import SparePolls, next_look, poll_class
from samizdat.watch.publishing import DAY, HOUR, WORTH, Publishing, next_poll, schedule_clock

FLOOR, CEILING = 900.0, 12 * HOUR
MIDNIGHT = 1_000 * DAY  # a schedule-clock midnight


def _after(publishing: Publishing, at: float, new: int) -> tuple[Publishing, float]:
    """The record after a poll at ``at`` finding ``new`` entries, and hours to the next worth it."""
    moment = datetime.fromtimestamp(at, UTC)
    updated, worth = next_poll(
        publishing,
        polled_at=moment,
        new_entries=new,
        floor_seconds=FLOOR,
        ceiling_seconds=CEILING,
        time_scale=1,
    )
    return updated, (worth - moment).total_seconds() / HOUR


def test_a_new_source_is_polled_as_one_that_publishes_daily_and_its_first_listing_says_nothing():
    record, hours = _after(Publishing(), MIDNIGHT, new=50)  # 50 entries it had before we watched
    assert record.since == MIDNIGHT and record.finds == ()
    assert hours == pytest.approx(24 * WORTH)  # one a day: a fifth of one is expected by then


def test_a_source_that_just_published_is_polled_again_at_its_floor():
    record, _ = _after(Publishing(), MIDNIGHT, new=0)
    record, hours = _after(record, MIDNIGHT + 3 * HOUR, new=2)
    assert hours == pytest.approx(FLOOR / HOUR)
    assert record.finds == ((MIDNIGHT + 3 * HOUR, 2),)


def test_a_silent_source_backs_off_towards_the_ceiling_and_never_past_it():
    record, at, intervals = Publishing(), MIDNIGHT, []
    record, hours = _after(record, at, new=0)
    for _ in range(40):
        at += hours * HOUR
        record, hours = _after(record, at, new=0)
        intervals.append(hours)
    assert intervals == sorted(intervals)  # longer and longer
    assert intervals[0] < 6 and intervals[-1] == pytest.approx(CEILING / HOUR)
    assert record.expects_little  # due by the ceiling, not by what is expected


def test_a_source_that_publishes_at_nine_is_polled_near_nine_and_rarely_at_night():
    record, _ = _after(Publishing(), MIDNIGHT, new=0)
    for day in range(1, 15):  # a push at 9:00 every day for two weeks
        record, _ = _after(record, MIDNIGHT + day * DAY + 9 * HOUR + 300, new=3)
    hourly = record.hourly(MIDNIGHT + 15 * DAY)
    assert hourly.index(max(hourly)) == 9 and hourly[9] > 20 * hourly[21]
    # Polled at 02:00 (nothing): the next poll worth its turn comes near 9, not at 07:00.
    _, from_night = _after(record, MIDNIGHT + 15 * DAY + 2 * HOUR, new=0)
    assert 6 < from_night < 7.5
    # Within its hour it is polled at the floor (a push may come at 9:15); past it, rarely.
    _, in_its_hour = _after(record, MIDNIGHT + 15 * DAY + 9 * HOUR + 600, new=0)
    assert in_its_hour == pytest.approx(FLOOR / HOUR)
    _, after_it = _after(record, MIDNIGHT + 15 * DAY + 11 * HOUR, new=0)
    assert after_it == pytest.approx(CEILING / HOUR)


def test_finds_older_than_four_weeks_are_forgotten():
    record, _ = _after(Publishing(), MIDNIGHT, new=0)
    record, _ = _after(record, MIDNIGHT + HOUR, new=5)
    record, _ = _after(record, MIDNIGHT + 29 * DAY, new=0)
    assert record.finds == ()
    assert record.per_day(MIDNIGHT + 29 * DAY) == pytest.approx(1 / 29)  # the prior, over the days watched


def test_the_record_survives_its_json_form():
    record, _ = _after(Publishing(), MIDNIGHT, new=0)
    record, _ = _after(record, MIDNIGHT + HOUR, new=2)
    assert Publishing.from_json(record.to_json()) == record
    assert Publishing.from_json(None) == Publishing()


def test_a_poll_goes_ahead_of_checks_when_worth_it_with_what_they_leave_from_its_floor():
    watch = WatchSettings(time_scale=1)
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    row = {
        "url": "https://feeds.example/a.xml",
        "poll_interval_seconds": 900,
        "last_polled_at": None,
        "publishing": None,
    }
    assert poll_class(row | {"next_poll_at": None}, now, watch) is Priority.POLL  # never polled
    polled = row | {"last_polled_at": now - timedelta(minutes=5), "next_poll_at": now + timedelta(hours=4)}
    assert poll_class(polled, now, watch) is None  # within its floor
    assert next_look(polled, watch) == now + timedelta(minutes=10)
    later = polled | {"last_polled_at": now - timedelta(minutes=20)}
    assert poll_class(later, now, watch) is Priority.SPARE
    assert poll_class(later | {"next_poll_at": now}, now, watch) is Priority.POLL
    # Due by its ceiling, with little expected: in line with the routine checks.
    ceiling = Publishing(since=0.0, expects_little=True).to_json()
    assert poll_class(later | {"next_poll_at": now, "publishing": ceiling}, now, watch) is Priority.ROUTINE


def test_a_few_spare_polls_wait_per_host():
    spare = SparePolls()
    assert spare.take("https://a.example/1") and spare.take("https://a.example/2")
    assert not spare.take("https://a.example/3") and spare.take("https://b.example/1")
    spare.done("https://a.example/1")
    assert spare.take("https://a.example/3")


def test_the_schedule_clock_runs_hours_of_the_day_at_the_time_scale():
    moment = datetime(2026, 12, 6, 0, 0, 10, tzinfo=UTC)
    assert schedule_clock(moment, 1) % DAY == 10
    # At 8,640× ten real seconds are a schedule day: the hour of the day turns with them.
    assert (
        schedule_clock(moment + timedelta(seconds=10), 8640) - schedule_clock(moment, 8640)
    ) == pytest.approx(DAY)
