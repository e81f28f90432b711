"""Check outcomes and the confirmation rule. Notice pages: src/samizdat/testing/pages/wechat (PROVENANCE.md)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samizdat.fetch import FetchFailure, FetchResult
from samizdat.platforms import Registry
from samizdat.status import Outcome, State
from samizdat.store import content_hash
from samizdat.watch.outcomes import ArticleState, Classification, advance, classify
from tests.helpers import WECHAT

NOTICES = json.loads((WECHAT / "notices" / "constructed" / "expected.json").read_text("utf-8"))
ARTICLE_PAGE = (WECHAT / "articles" / "gongchandangyuan-2018-video-iframe.html").read_text("utf-8")
REGISTRY = Registry()
URL = "https://mp.weixin.qq.com/s?__biz=MzA4ODUzNjAxOA==&mid=2671068104&idx=7"
CANONICAL = "MzA4ODUzNjAxOA==:2671068104:7"
T0 = datetime(2023, 7, 19, 8, 0, tzinfo=UTC)
CONFIRM = timedelta(minutes=30)


def fetched(status: int | None = 200, failure: FetchFailure | None = None) -> FetchResult:
    return FetchResult(URL, URL, status, b"", "text/html", (), T0, 0.1, failure, "boom" if failure else None)


def check_page(html: str, stored_hash: str | None = None) -> Classification:
    parsed = REGISTRY.parse(URL, html)
    parsed_hash = content_hash(parsed) if hasattr(parsed, "text") else None
    return classify(
        fetched(), parsed, canonical_id=CANONICAL, content_hash=stored_hash, parsed_hash=parsed_hash
    )


@pytest.mark.parametrize("name", sorted(NOTICES))
def test_every_notice_page_gives_its_outcome(name):
    found = check_page((WECHAT / "notices" / "constructed" / name).read_text("utf-8"))
    assert found.outcome == NOTICES[name]["outcome"]


def test_an_unchanged_article_is_alive_and_a_changed_one_edited():
    original = REGISTRY.parse(URL, ARTICLE_PAGE)
    assert check_page(ARTICLE_PAGE, content_hash(original)).outcome is Outcome.ALIVE
    edited = ARTICLE_PAGE.replace("像石榴籽那样", "像一家人那样")
    assert check_page(edited, content_hash(original)).outcome is Outcome.EDITED


def test_an_article_quoting_a_notice_stays_alive():
    quoting = ARTICLE_PAGE.replace("像石榴籽那样", "“此内容因违规无法查看”——像石榴籽那样")
    parsed = REGISTRY.parse(URL, quoting)
    assert check_page(quoting, content_hash(parsed)).outcome is Outcome.ALIVE


def test_both_markup_generations_of_the_notice():
    old = (
        '<html><body id="activity-detail"><div class="page_msg"><div class="text_area">'
        '<p class="global_error_msg warn">该内容已被发布者删除</p></div></div></body></html>'
    )
    assert check_page(old).outcome is Outcome.DELETED_BY_AUTHOR


def test_a_different_article_at_the_url_is_redirected_away():
    other = ARTICLE_PAGE.replace("2671068104", "2671068999")
    assert check_page(other).outcome is Outcome.REDIRECTED_AWAY


@pytest.mark.parametrize(
    ("status", "failure", "outcome"),
    [
        (None, FetchFailure.TIMEOUT, Outcome.TRANSIENT),
        (None, FetchFailure.TRUNCATED, Outcome.TRANSIENT),
        (None, FetchFailure.CONNECT, Outcome.TRANSIENT),
        (500, None, Outcome.TRANSIENT),
        (503, None, Outcome.TRANSIENT),
        (429, None, Outcome.TRANSIENT),
        (403, None, Outcome.TRANSIENT),
        (404, None, Outcome.NOT_FOUND),
        (410, None, Outcome.NOT_FOUND),
        (451, None, Outcome.LEGAL_BLOCK),
        (418, None, Outcome.UNKNOWN_UNAVAILABLE),
    ],
)
def test_http_and_network_results(status, failure, outcome):
    assert (
        classify(fetched(status, failure), None, canonical_id=CANONICAL, content_hash=None).outcome is outcome
    )


def step(state, outcome, minutes):
    return advance(
        state, Classification(outcome), T0 + timedelta(minutes=minutes), confirmation_delay=CONFIRM
    )


def test_a_removal_is_declared_only_after_a_spaced_second_check_agrees():
    live = step(ArticleState(), Outcome.ALIVE, 0).state
    first = step(live, Outcome.REMOVED_VIOLATION, 60)
    assert (first.state.state, first.declared, first.confirm_after) == (State.SUSPECT, False, CONFIRM)
    too_soon = step(first.state, Outcome.REMOVED_VIOLATION, 70)
    assert (too_soon.state.state, too_soon.declared, too_soon.confirm_after) == (
        State.SUSPECT,
        False,
        timedelta(minutes=20),
    )
    confirmed = step(too_soon.state, Outcome.REMOVED_VIOLATION, 95)
    assert confirmed.declared and confirmed.state.state is State.REMOVED
    # bracketed: last seen alive at 0, detected by the first look that saw it gone (60), declared at 95
    assert confirmed.state.last_seen_alive_at == T0
    assert confirmed.state.detected_at == T0 + timedelta(minutes=60)
    assert confirmed.state.outcome is Outcome.REMOVED_VIOLATION
    assert not step(confirmed.state, Outcome.REMOVED_VIOLATION, 200).declared  # declared once


def test_a_check_sees_alive_when_it_was_sent_and_a_removal_when_it_was_answered():
    """The platform answers between the two: a page alive then was alive at the sending, a
    notice proves the removal only by its arrival (declared at the sending, a removal made
    while the request was on its way would be dated before it happened)."""
    sent, answered = T0 + timedelta(minutes=60), T0 + timedelta(minutes=60, seconds=2)
    alive = advance(
        ArticleState(), Classification(Outcome.ALIVE), sent, confirmation_delay=CONFIRM, answered_at=answered
    )
    assert alive.state.last_seen_alive_at == sent
    gone = advance(
        alive.state, Classification(Outcome.NOT_FOUND), sent, confirmation_delay=CONFIRM, answered_at=answered
    )
    assert gone.state.suspected_at == answered
    confirmed = step(gone.state, Outcome.NOT_FOUND, 95)
    assert confirmed.declared and confirmed.state.detected_at == answered


def test_transient_results_change_nothing_even_between_two_agreeing_checks():
    suspect = step(step(ArticleState(), Outcome.ALIVE, 0).state, Outcome.DELETED_BY_AUTHOR, 10).state
    assert step(suspect, Outcome.TRANSIENT, 20).state == suspect
    assert step(suspect, Outcome.LINK_EXPIRED, 25).state == suspect
    assert step(suspect, Outcome.DELETED_BY_AUTHOR, 45).declared


def test_alive_again_clears_a_suspicion_and_restores_a_removal():
    suspect = step(ArticleState(), Outcome.NOT_FOUND, 0).state
    cleared = step(suspect, Outcome.ALIVE, 40)
    assert cleared.state.state is State.LIVE and not cleared.declared
    removed = step(step(cleared.state, Outcome.NOT_FOUND, 50).state, Outcome.NOT_FOUND, 90).state
    assert removed.state is State.REMOVED
    back = step(removed, Outcome.ALIVE, 300)
    assert back.restored and back.state.state is State.LIVE


def test_a_different_reason_restarts_the_confirmation():
    suspect = step(ArticleState(), Outcome.DELETED_BY_AUTHOR, 0).state
    changed = step(suspect, Outcome.ACCOUNT_GONE, 40)
    assert not changed.declared and changed.state.outcome is Outcome.ACCOUNT_GONE
    assert step(changed.state, Outcome.ACCOUNT_GONE, 80).declared


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([Outcome.ALIVE, Outcome.EDITED, Outcome.TRANSIENT, Outcome.LINK_EXPIRED]),
        max_size=200,
    )
)
def test_an_article_that_is_there_is_never_declared_removed(results):
    state = ArticleState()
    for minute, outcome in enumerate(results):
        transition = step(state, outcome, minute * 7)
        assert not transition.declared
        state = transition.state
    assert state.state is State.LIVE


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.booleans(), min_size=10, max_size=80),
    st.sampled_from([Outcome.DELETED_BY_AUTHOR, Outcome.REMOVED_VIOLATION, Outcome.NOT_FOUND]),
)
def test_a_removed_article_is_declared_exactly_once_whatever_the_transients(transient_mask, reason):
    """Checks every 10 minutes after a removal, some of them transient: declared once, with the reason."""
    state = step(ArticleState(), Outcome.ALIVE, 0).state
    declared = 0
    for i, transient in enumerate(transient_mask, start=1):
        transition = step(state, Outcome.TRANSIENT if transient else reason, i * 10)
        declared += transition.declared
        state = transition.state
    agreeing = [i for i, transient in enumerate(transient_mask, start=1) if not transient]
    spaced = len(agreeing) >= 2 and (agreeing[-1] - agreeing[0]) * 10 >= CONFIRM.total_seconds() / 60
    assert declared == (1 if spaced else 0)
    if declared:
        assert (state.state, state.outcome, state.last_seen_alive_at) == (State.REMOVED, reason, T0)
