"""Parsers on truncated, garbled and random input: an answer every time, never an exception."""

import gzip

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samizdat.fetch.decode import decode_html
from samizdat.platforms import Article, Registry, Unavailable
from samizdat.platforms.text import split_scripts
from samizdat.platforms.wechat import PLATFORM as WECHAT
from tests.helpers import WECHAT as PAGES

# A real 2020 article page (wechatscope archive, see src/samizdat/testing/pages/wechat/PROVENANCE.md).
PAGE = gzip.decompress(
    (PAGES / "pre-deletion" / "gh_b8daf85c7cd9_2020-10-06_2247491127_M0o5mVn7Wy.html.gz").read_bytes()
).decode("utf-8")
NOTICE = (PAGES / "notices" / "link-expired-2018.html").read_text("utf-8")
REGISTRY = Registry()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=len(PAGE)))
def test_a_page_cut_anywhere_still_parses(cut):
    result = WECHAT.parse("https://mp.weixin.qq.com/s/x", PAGE[:cut])
    assert isinstance(result, Article | Unavailable)
    if isinstance(result, Article):
        assert isinstance(result.text, str) and isinstance(result.title, str)


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(NOTICE)))
def test_a_notice_cut_anywhere_never_becomes_a_deletion_by_accident(cut):
    result = WECHAT.parse("https://mp.weixin.qq.com/s/x", NOTICE[:cut])
    # only a cut that keeps the message may say "link expired"; otherwise nothing is declared
    if isinstance(result, Unavailable) and result.reason != "transient":
        assert "链接已过期" in NOTICE[:cut]


@settings(max_examples=60, deadline=None)
@given(
    junk=st.lists(
        st.sampled_from(
            [
                "<script>",
                "</script>",
                "<style>",
                '<div id="js_content">',
                "</div>",
                "var ct = '",
                '"',
                "'",
                "中文",
                "<!--",
                "-->",
                "<![CDATA[",
                "\x00",
                "&#0;",
                "&#x110000;",
                "\ufffd",
            ]
        ),
        max_size=60,
    )
)
def test_hostile_fragments_in_a_real_page(junk):
    middle = len(PAGE) // 2
    result = REGISTRY.parse("https://mp.weixin.qq.com/s/x", PAGE[:middle] + "".join(junk) + PAGE[middle:])
    assert isinstance(result, Article | Unavailable)


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=3000),
    st.sampled_from([None, "text/html", "text/html; charset=gbk", "text/html; charset=bogus"]),
)
def test_any_bytes_decode_to_text(body, content_type):
    decoded = decode_html(body, content_type)
    assert isinstance(decoded.text, str)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/abcdiv \"'\n中")), max_size=200))
def test_split_scripts_leaves_markup_without_scripts_alone(markup):
    assert split_scripts(markup) == (markup, [])


@settings(max_examples=100, deadline=None)
@given(
    before=st.text(alphabet=st.sampled_from(list("<>/abp \n中")), max_size=40),
    script=st.text(alphabet=st.sampled_from(list("<>/ab\"'= \n中")), max_size=40).filter(
        lambda t: "</" not in t
    ),
    after=st.text(alphabet=st.sampled_from(list("<>/abp \n中")), max_size=40),
)
def test_split_scripts_removes_exactly_the_script_body(before, script, after):
    kept, scripts = split_scripts(f"{before}<script>{script}</script>{after}")
    assert scripts == [script]
    assert kept == f"{before}<script></script>{after}"
