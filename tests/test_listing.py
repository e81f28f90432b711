"""Which entries left a listing's middle (sources/listing.py): removals, told apart from the
entries that fall off a listing's old end as new ones arrive, in both orders."""

from hypothesis import given
from hypothesis import strategies as st

from samizdat.sources.listing import LIKELY_CAPACITY, REMEMBERED_ENTRIES, dropped_entries, remembered

FEED = [f"u{n}" for n in range(20, 0, -1)]  # newest first, as feeds list


def test_a_removal_from_the_middle_or_the_head_of_a_feed_is_dropped():
    listed = ["u22", "u21", *[u for u in FEED if u not in ("u20", "u14")][:-2]]
    assert dropped_entries(FEED, listed) == ["u20", "u14"]


def test_entries_pushed_off_the_old_end_are_not_dropped():
    assert dropped_entries(FEED, ["u23", "u22", "u21", *FEED[:-3]]) == []


def test_a_listing_that_appends_is_read_oldest_first():
    oldest_first = list(reversed(FEED))
    listed = [u for u in oldest_first[3:] if u not in ("u10", "u20")] + ["u21", "u22", "u23"]
    assert dropped_entries(oldest_first, listed) == ["u10", "u20"]


def test_a_short_listing_holds_all_its_source_has_so_what_leaves_it_was_dropped():
    # an account's feed that lists all of its few articles (simulator feeds, 1-3 entries)
    assert dropped_entries(["u2", "u1"], ["u2"]) == ["u1"]
    assert dropped_entries(["u1"], []) == ["u1"]
    assert dropped_entries(["u1"], ["u2"]) == ["u1"]  # a new one came in: room for both
    assert dropped_entries(["u3", "u2", "u1"], ["u4", "u3"]) == ["u2", "u1"]
    # a full listing makes room for what came in: its oldest go
    ten = [f"u{n}" for n in range(LIKELY_CAPACITY, 0, -1)]
    assert dropped_entries(ten, ["new", *ten[:-1]]) == []
    assert dropped_entries(ten, ["new", *ten[:-2]]) == [ten[-2]]


def test_a_replaced_listing_an_error_page_or_a_reshuffle_drops_nothing():
    assert dropped_entries(FEED, ["other1", "other2"]) == []
    assert dropped_entries(FEED, []) == []
    assert dropped_entries(None, FEED) == []
    assert dropped_entries(FEED, FEED[::3]) == []  # two thirds gone at once


@given(
    st.integers(1, 60),
    st.integers(0, 30),
    st.sets(st.integers(0, 59), max_size=4),
)
def test_only_the_removed_entries_inside_the_window_are_dropped(size, newer, removed_positions):
    """A feed of the newest ``size`` entries, ``newer`` published since, some removed: exactly
    the removed ones still inside the new window's reach are reported."""
    articles = [f"a{n}" for n in range(200)]  # newest first
    previous = articles[newer : newer + size]
    removed = {previous[p] for p in removed_positions if p < len(previous)}
    survivors = [a for a in articles if a not in removed]
    listed = survivors[:size]
    dropped = dropped_entries(previous, listed)
    kept = [p for p, a in enumerate(previous) if a in set(listed)]
    # With nothing new, the entries that slide in are older ones at the end: the shape of a
    # listing that appends (oldest first), which is how it is read. Nothing in the two listings
    # tells them apart (a known gap: the source's order is not remembered); only the absence of
    # false drops holds then.
    looks_appended = newer == 0 and len(listed) > len(set(listed) & set(previous))
    if size < LIKELY_CAPACITY:
        # Taken to hold all its source has: an entry this short feed pushed off may be reported
        # instead of a removed one at its end (nothing tells them apart); those inside are not.
        assert not set(dropped) & set(listed)
        if kept and len(set(previous) - set(listed)) <= max(3, size // 2) and not looks_appended:
            assert {a for a in removed if previous.index(a) < kept[-1]} <= set(dropped)
        return
    assert set(dropped) <= removed
    if kept and len(removed) <= max(3, size // 2) and not looks_appended:
        # Inside the old window, or at its end beyond the entries that what came in pushed off.
        came_in = len(set(listed) - set(previous))
        reachable = {a for a in removed if previous.index(a) < max(kept[-1], len(previous) - came_in)}
        assert set(dropped) == reachable


def test_long_listings_remember_their_newest_entries():
    newest_first = [f"n{n}" for n in range(REMEMBERED_ENTRIES + 500)]
    assert remembered(None, newest_first) == newest_first[:REMEMBERED_ENTRIES]
    oldest_first = list(reversed(newest_first))
    assert remembered(oldest_first[:-1], oldest_first) == oldest_first[-REMEMBERED_ENTRIES:]
