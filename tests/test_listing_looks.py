"""A listing that leaves removed articles out is a look at what it lists (watch/listing_looks.py):
what a listing teaches of its source, which sources' listings count, and how far a look puts
the next check off."""

from datetime import UTC, datetime, timedelta

from samizdat.config import WatchSettings
from samizdat.store import ListedArticle, ListingView
from samizdat.watch.listing_looks import LOOKS_PER_CHECK, learned, leaves_removed_out, put_off
from samizdat.watch.schedule import RemovalProfile, SchedulePolicy

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
POLICY = SchedulePolicy(RemovalProfile.load(), jitter=0.0)


def listed(article_id=1, state="live", age_hours=30.0, seen_hours_ago=0.5, due_in_hours=0.1):
    return ListedArticle(
        article_id,
        state,
        0,
        NOW - timedelta(hours=age_hours),
        NOW - timedelta(hours=seen_hours_ago),
        NOW + timedelta(hours=due_in_hours),
    )


def test_a_listing_teaches_that_it_keeps_removed_articles_or_leaves_them_out():
    leaves_out = ListingView([listed()], left_out_removed=True, others=[])
    assert learned(None, leaves_out) == 1
    assert learned(1, leaves_out) is None  # nothing new
    keeps = ListingView([listed(), listed(2, state="removed")], left_out_removed=False, others=[])
    assert learned(None, keeps) == 0
    assert learned(1, keeps) == 0  # one removed article listed outweighs the rest
    assert learned(0, leaves_out) is None  # and for good


def test_a_source_not_known_yet_goes_by_every_known_source_of_its_host_and_kind():
    feed = "http://feeds.example/account/a.xml"
    others = [
        ("http://feeds.example/account/b.xml", "feed", 1),
        ("http://elsewhere.example/c.xml", "feed", 0),
    ]
    assert leaves_removed_out(feed, "feed", None, others)
    assert not leaves_removed_out(feed, "sitemap", None, others)  # another kind says nothing
    assert not leaves_removed_out(feed, "feed", None, [*others, ("http://feeds.example/d.xml", "feed", 0)])
    assert not leaves_removed_out(feed, "feed", 0, others)  # its own record first
    assert leaves_removed_out(feed, "feed", 1, [])
    assert not leaves_removed_out(feed, "feed", None, [])


def test_a_look_puts_the_next_check_one_interval_off_and_never_beyond_a_few_checks():
    watch = WatchSettings()
    interval = POLICY.next_check(timedelta(hours=30))
    ((_, later),) = put_off([listed()], NOW, POLICY, watch)
    assert later == NOW + interval
    # last seen alive long ago: no further than LOOKS_PER_CHECK intervals after that
    hours = interval.total_seconds() / 3600
    seen = (LOOKS_PER_CHECK - 0.5) * hours
    ((_, capped),) = put_off([listed(seen_hours_ago=seen, due_in_hours=0)], NOW, POLICY, watch)
    assert capped == NOW - timedelta(hours=seen) + LOOKS_PER_CHECK * interval < NOW + interval
    assert put_off([listed(seen_hours_ago=LOOKS_PER_CHECK * hours, due_in_hours=0)], NOW, POLICY, watch) == []
    assert put_off([listed(due_in_hours=1000)], NOW, POLICY, watch) == []  # never brought forward
    assert put_off([listed(state="suspect"), listed(state="removed")], NOW, POLICY, watch) == []
    assert put_off([listed(age_hours=24 * 8)], NOW, POLICY, watch) == []  # past the schedule


def test_a_look_counts_in_schedule_time():
    fast = WatchSettings(time_scale=8640.0)
    interval = POLICY.next_check(timedelta(hours=30))
    article = ListedArticle(1, "live", 0, NOW - timedelta(hours=30) / 8640, NOW, NOW)
    ((_, later),) = put_off([article], NOW, POLICY, fast)
    assert later == NOW + interval / 8640
