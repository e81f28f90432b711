"""Page fingerprints: equal across requests of one page, different when the page differs.

Pages: the saved WeChat articles in src/samizdat/testing/pages/wechat (PROVENANCE.md), served by the
simulator, which gives each response a fresh nonce, request id and server time."""

import gzip

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from samizdat.platforms import Registry
from samizdat.platforms.fingerprint import page_fingerprint
from samizdat.testing.spliced import SplicedPage
from tests.helpers import WECHAT

REGISTRY = Registry()


def test_two_fetches_of_a_page_differ_in_bytes_but_not_in_fingerprint(simulator):
    url = simulator.base + simulator.articles[0].path
    with httpx.Client(headers={"Accept-Encoding": "gzip"}) as client:
        first, second = client.get(url), client.get(url)
    assert first.headers["content-encoding"] == "gzip"
    assert first.content != second.content
    assert REGISTRY.fingerprint("wechat", first.content) == REGISTRY.fingerprint("wechat", second.content)


def test_a_notice_and_an_edit_change_the_fingerprint():
    page = (WECHAT / "articles" / "gongchandangyuan-2018-video-iframe.html").read_bytes()
    notice = (WECHAT / "notices" / "constructed" / "deleted-by-author.html").read_bytes()
    edited = page.replace("的".encode(), "之".encode(), 1)
    prints = {REGISTRY.fingerprint("wechat", p) for p in (page, notice, edited)}
    assert len(prints) == 3


def test_spliced_pages_are_one_valid_gzip_member():
    html = gzip.decompress(next((WECHAT / "pre-deletion").glob("*.html.gz")).read_bytes()).decode()
    page = SplicedPage(html)
    body = page.render(gzipped=True)
    plain = gzip.decompress(body).decode()
    assert plain != html
    assert page.render(gzipped=False) != page.render(gzipped=False)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["nonce", "req_id", "svr_time"]))
def test_fingerprints_never_fail_on_any_bytes(junk, name):
    assert len(page_fingerprint(junk + name.encode() + b"=" + junk, ["req_id", "svr_time"])) == 64
