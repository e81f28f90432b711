"""The generic extractor: a quality gate on cwced (real Chinese pages) and hostile markup."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samizdat.platforms import Article
from samizdat.platforms.generic import PLATFORM as GENERIC
from tests.helpers import bench_module

extraction_eval = bench_module("extraction_eval")

# Pinned minimums: CI fails when a change makes extraction worse (bench/extraction_eval.py).
MIN_BODY_F1 = 0.92
MIN_DATES_EXACT = 0.90

ENGLISH_PAGE = """<!doctype html><html lang="en"><head><title>Council votes to close library | Springfield Gazette</title>
<meta property="og:site_name" content="Springfield Gazette">
<meta property="article:published_time" content="2024-03-05T09:30:00-05:00">
<meta name="author" content="Jane Doe"></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
<header class="site-header"><a href="/">Springfield Gazette</a></header>
<div class="layout"><aside class="sidebar"><h3>Most read</h3><ul>
<li><a href="/a">Mayor opens new bridge over the river</a></li><li><a href="/b">Storm expected this weekend</a></li>
<li><a href="/c">High school wins state title</a></li></ul></aside>
<article><h1>Council votes to close library</h1><p class="byline">By Jane Doe</p>
<p>The city council voted 5-2 on Tuesday to close the Elm Street library, ending a century of service in the
neighbourhood. Residents who packed the chamber said the decision was made without consultation.</p>
<p>"We found out from a flyer," said Maria Lopez, who has borrowed books there since 1978. The council said
repairs to the roof would cost more than the branch's annual budget, and that a mobile library would visit twice a
week.</p><p>Opponents plan to collect signatures for a referendum. Under the city charter, they need 4,000 valid
signatures within sixty days to force a vote, a threshold reached only once before.</p>
<img src="/img/library.jpg" alt="The library"></article></div>
<div class="comments"><p>Great news, finally! Posted by troll99 on March 5, 2024.</p></div>
<footer><p>Copyright © 2024 Springfield Gazette. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


@pytest.mark.slow
def test_quality_gate_on_cwced():
    result = extraction_eval.evaluate(extraction_eval.DEFAULT_DATA)
    assert result.pages == 69
    assert result.body_f1 >= MIN_BODY_F1, f"body F1 {result.body_f1:.3f} fell below {MIN_BODY_F1}"
    assert result.dates_exact >= MIN_DATES_EXACT, (
        f"dates {result.dates_exact:.1%} fell below {MIN_DATES_EXACT:.0%}"
    )


def test_english_news_page():
    article = GENERIC.parse("https://gazette.example/news/library?utm_source=tw", ENGLISH_PAGE)
    assert isinstance(article, Article)
    assert article.title == "Council votes to close library"
    assert article.author == "Jane Doe"
    assert article.site_name == "Springfield Gazette"
    assert article.language == "en"
    assert article.published_at.isoformat() == "2024-03-05T09:30:00-05:00"
    assert "voted 5-2 on Tuesday" in article.text
    assert "threshold reached only once before" in article.text
    for junk in ("Most read", "Mayor opens new bridge", "troll99", "All rights reserved", "Weather"):
        assert junk not in article.text
    assert article.images == ("https://gazette.example/img/library.jpg",)
    assert article.canonical_id == "https://gazette.example/news/library"


def test_chinese_page_in_gbk_with_a_dateline():
    from samizdat.fetch.decode import decode_html
    from samizdat.testing.faults import ARTICLE_IN_GBK

    text = decode_html(ARTICLE_IN_GBK.encode("gbk")).text
    article = GENERIC.parse("http://news.example.cn/a.html", text)
    assert article.title == "中文标题：本地测试文章"
    assert article.language == "zh"
    assert article.published_at.isoformat() == "2021-03-04T10:20:00+08:00"
    assert article.text.count("段正文") == 12


def test_declared_canonical_url_only_on_the_same_host():
    page = '<html><head><link rel="canonical" href="{}"></head><body><p>x</p></body></html>'
    same = GENERIC.parse("https://site.example/a?id=1&from=feed", page.format("https://site.example/story/1"))
    assert same.canonical_id == "https://site.example/story/1"
    other = GENERIC.parse("https://site.example/a?id=1", page.format("https://evil.example/story/1"))
    assert other.canonical_id == "https://site.example/a?id=1"


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<",
        "<html><body>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</body></html>",
        "<html><body><table><tr><td>" * 300 + "x",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>xml declared</p></body></html>",
        "<html><body><script>while(1){}</script><p>text</p></body></html>",
        "\x00\x01\x02 binary-ish",
    ],
)
def test_malformed_markup_never_crashes(html):
    article = GENERIC.parse("https://x.example/", html)
    assert isinstance(article, Article)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' abcpdivtable中文。，\n&;#")), max_size=400))
def test_arbitrary_markup_gives_an_article(html):
    article = GENERIC.parse("https://x.example/", html)
    assert isinstance(article.text, str)


def test_the_pictures_of_a_page_whose_words_are_mostly_in_them_are_kept():
    """One paragraph of text and six images (the sentences set as images, as the simulator's
    /news/text-lines does): the paragraph outweighs the article element, and the images around
    it are still the article's."""
    page = (
        "<html><head><title>图片里的一句话</title></head><body><nav><a href='/'>首页</a></nav>"
        "<article><h1>图片里的一句话</h1>"
        "<p>这篇报道的关键句子都做成了图片，页面的文字里没有它们，读者只能在图片里看到。</p>"
        + "".join(f'<p><img src="/ext/pictures/{i}.png"></p>' for i in range(6))
        + "</article></body></html>"
    )
    article = GENERIC.parse("http://example.org/news/1", page)
    assert article.images == tuple(f"http://example.org/ext/pictures/{i}.png" for i in range(6))
    assert "读者只能在图片里看到" in article.text and "首页" not in article.text
