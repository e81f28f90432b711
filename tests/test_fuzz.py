"""Hostile input for the readers of untrusted text: source documents (feeds, sitemaps, OPML, URL
lists, JSON Feed), the configuration loader, removal datasets, and the URL canonicalisers.
Each either reads its input or refuses it with its own clear error; none crashes otherwise,
hangs, or (for URLs) gives a different answer when asked again about its own answer."""

import json
import os
import string
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from samizdat.config import ConfigError, load_settings
from samizdat.platforms.generic import PLATFORM as GENERIC
from samizdat.platforms.wechat import PLATFORM as WECHAT
from samizdat.sources.documents import NotASource, read_source
from samizdat.sources.removals import RemovalDatasetError, read_removals
from samizdat.testing import WECHAT_PAGES

# 300 inputs each in the normal run; SAMIZDAT_FUZZ_EXAMPLES=20000 for a long one (docs/reliability.md).
FAST = settings(
    max_examples=int(os.environ.get("SAMIZDAT_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate></item></channel></rss>"""
SITEMAP = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{link}</loc></url></urlset>'
XML_BOMBS = [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    b"<rss><channel><item><title>&d;&d;&d;&d;&d;&d;</title></item></channel></rss>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b"<rss><channel><item><title>&e;</title><link>https://a.example/1</link></item></channel></rss>",
    b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/dtd"><urlset><url><loc>x</loc></url></urlset>',
]
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


def read_or_refuse(body: bytes):
    started = time.monotonic()
    try:
        document = read_source(body, "https://feeds.example/")
    except NotASource:
        document = None
    assert time.monotonic() - started < 2
    return document


@FAST
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_source_or_refused(body):
    read_or_refuse(body)


@FAST
@given(texts, texts, texts, st.sampled_from([FEED, SITEMAP]))
def test_feeds_and_sitemaps_with_hostile_values(title, link, date, template):
    escaped = {k: v.replace("&", "&amp;").replace("<", "&lt;") for k, v in (("title", title), ("link", link))}
    read_or_refuse(template.format(date=date.replace("<", ""), **escaped).encode("utf-8", "surrogatepass"))


def test_entities_dtds_and_external_references_are_never_expanded():
    for bomb in XML_BOMBS:
        document = read_or_refuse(bomb)
        if document is not None:
            assert all("root:" not in (entry.title or "") for entry in document.entries)
            assert all(len(entry.title or "") < 10_000 for entry in document.entries)


@pytest.mark.slow
@FAST
@given(text=st.text(max_size=300))
def test_any_configuration_is_read_or_refused_clearly(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "samizdat.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_settings(path, environ={})
    except ConfigError as exc:
        assert str(exc)


@FAST
@given(
    values=st.dictionaries(
        st.sampled_from(["fetch", "watch", "web", "database", "keywords", "platforms", "data_dir", "notify"]),
        st.one_of(
            st.integers(),
            st.text(max_size=20),
            st.booleans(),
            st.lists(st.integers(), max_size=3),
            st.dictionaries(
                st.text(string.ascii_lowercase + "_", max_size=20), st.integers() | st.text(max_size=5)
            ),
        ),
        max_size=4,
    )
)
def test_configuration_values_of_the_wrong_kind_are_refused_with_their_key(values, tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "samizdat.toml"
    path.write_text("\n".join(f"{key} = {toml(value)}" for key, value in values.items()), encoding="utf-8")
    try:
        load_settings(path, environ={})
    except ConfigError as exc:
        assert str(exc)


def toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + "}"


@FAST
@given(text=st.text(max_size=400))
def test_any_removal_dataset_is_read_or_refused_clearly(text, tmp_path_factory):
    from datetime import UTC

    path = tmp_path_factory.mktemp("removals") / "data.csv"
    path.write_text("title,nickname,created_at,censored_date,censored_msg\n" + text, encoding="utf-8")
    try:
        list(read_removals(path, tz=UTC))
    except RemovalDatasetError as exc:
        assert str(exc)


urls = st.one_of(
    texts,
    st.builds(
        lambda scheme, host, path, query: f"{scheme}://{host}/{path}?{query}",
        st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
        st.sampled_from(["mp.weixin.qq.com", "MP.WEIXIN.QQ.COM:443", "a.example", "[::1]", "例子.中国", ""]),
        texts,
        st.lists(
            st.tuples(
                st.sampled_from(["__biz", "mid", "idx", "sn", "chksm", "utm_source", "x", ""]),
                st.text(max_size=12),
            ),
            max_size=6,
        ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
    ),
)


@FAST
@given(urls)
@example("HTTP://\x0c?")  # found by long runs: a host of white space alone, and no URL at all
@example("//[")
def test_canonical_urls_are_stable_and_never_crash(url):
    for platform in (WECHAT, GENERIC):
        canonical = platform.canonical_url(url)
        assert platform.canonical_url(canonical) == canonical
        identity = platform.canonical_id(url)
        assert identity is None or isinstance(identity, str)


@FAST
@given(body=st.binary(max_size=400))
@example(body=b"\xff\xfe\x81")  # found by bench/fuzz.py: neither UTF-8 nor GB18030
def test_any_removal_dataset_bytes_are_read_or_refused_clearly(body, tmp_path_factory):
    from datetime import UTC

    path = tmp_path_factory.mktemp("removals") / "data.csv"
    path.write_bytes(b"title,nickname,created_at,censored_date,censored_msg\n" + body)
    try:
        list(read_removals(path, tz=UTC))
    except RemovalDatasetError as exc:
        assert str(path) in str(exc)


def test_inputs_found_by_coverage_guided_fuzzing():
    """bench/fuzz.py (atheris) found these in its first minute; each crashed a reader."""
    # Tags that are no XML names survive the recovering parser; lxml's QName refused them.
    for body in (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><ur7.0.0.1:1><loc>http://a/</loc>'
        b"</ur7.0.0.1:1></urlset>",
        b"<urlset><url><a:b:c>x</a:b:c><loc>http://a.example/</loc></url></urlset>",
        b"<a:b:c><url><loc>http://a.example/</loc></url></a:b:c>",
    ):
        read_or_refuse(body)
    # A page with a head and no body: readability's summary has no body, lxml asserted.
    for page in (
        "<html><head><title>x</title></head></html>",
        "<html><head><title>4月6日</title></head></html>",
    ):
        assert GENERIC.parse("https://news.example.cn/a", page) is not None
    found = Path(__file__).parent / "fixtures" / "fuzz"  # see its README.md
    read_or_refuse((found / "feed-loose-parser-keyerror.xml").read_bytes())
    page = (found / "page-control-character-after-player.html").read_bytes().decode("utf-8", "replace")
    assert WECHAT.parse("https://mp.weixin.qq.com/s/x", page) is not None


def test_a_removal_file_that_looks_gzipped_but_is_not_is_refused(tmp_path):
    """Found by bench/fuzz.py: a gzip magic number followed by an unknown method."""
    from datetime import UTC

    path = tmp_path / "removals.csv.gz"
    path.write_bytes(b"\x1f\x8b\x09" + b"\x00" * 20)
    try:
        list(read_removals(path, tz=UTC))
    except RemovalDatasetError as exc:
        assert "does not decompress" in str(exc)
    else:
        raise AssertionError("an undecompressable file was read")


def test_control_characters_and_broken_hosts_in_addresses_do_not_stop_the_parse():
    """Found by bench/fuzz.py: a character reference to a control character (&#1;) in an
    image's address reached lxml through the body rewrite. Page: a sample WeChat article."""
    source = WECHAT_PAGES / "articles" / "huashangbao-2018-background-image.html"
    page = source.read_text("utf-8")
    at = page.index(">", page.index('id="js_content"')) + 1
    page = (
        page[:at]
        + '<img data-src="https://mmbiz.qpic.cn/a&#1;b&#0;.jpg"><p>x&#2;y</p>'
        # and addresses urljoin raises on (found the same way)
        + '<img data-src="http://[0]/x.png"><span style="background:url(http://[0]/y)">z</span>'
        + page[at:]
    )
    article = WECHAT.parse("https://mp.weixin.qq.com/s/x", page)
    assert "https://mmbiz.qpic.cn/ab\ufffd.jpg" in article.images  # the NUL reads as U+FFFD, &#1; is dropped
    assert 'src="https://mmbiz.qpic.cn/ab' in article.html  # the rewritten body has the clean address


def test_a_generic_page_declaring_a_broken_canonical_address_keeps_its_own():
    page = '<html><head><link rel="canonical" href="http://[0]/"></head><body><p>正文</p></body></html>'
    article = GENERIC.parse("https://news.example.cn/a", page)
    assert article.canonical_id and "news.example.cn" in article.url
