"""The generic extractor: a quality gate on cwced (real Chinese pages) and hostile markup."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samizdat.platforms import Article
from samizdat.platforms.blocks import extract
from samizdat.platforms.generic import PLATFORM as GENERIC
from samizdat.platforms.text import parse_html
from tests.helpers import bench_module

extraction_eval = bench_module("extraction_eval")

# Pinned minimums: CI fails when a change makes extraction worse (bench/extraction_eval.py).
MIN_BODY_F1 = 0.955
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


PARAGRAPHS = [
    "巴拉臘特發展于1850年開始的淘金潮中，也是當年華人勞工集中的地方，如今是維多利亞州第三大城市。",
    "素芬山是一座建在原金礦遺址上的仿古城，城中從建筑到人物都再現了十九世紀六十年代的歷史風貌。",
    "走進素芬山，舊時的馬車仍在照跑，賣煙的小女孩仍在吆喝，流浪的藝人仍在彈琴，讓人時光倒流。",
]


def _post(title: str, stamp: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<tr><td><table><tr><td class="title">{title}</td><td>{stamp}</td></tr>'
        f"<tr><td>{body}<p>[打印]</p><p>由作者张贴 @ {stamp} (359) 共 3 篇评论</p></td></tr></table></td></tr>"
        "<tr><td><hr></td></tr>"
    )


def _page(inner: str) -> str:
    return (
        '<html><head><meta charset="utf-8"><title>博客</title></head><body>'
        '<div class="nav"><a href="/">首页</a> <a href="/blog">博客</a></div>'
        f"<table>{inner}</table></body></html>"
    )


def test_a_page_of_several_posts_keeps_the_first():
    # The layout of a blog's month archive in cwced (blog.wenxuecity.com, 8f1cdd94 and
    # 59562291), whose gold text is the first post: each post a row with its title, a date
    # stamp, the body and a "posted by … @ date" line.
    posts = [
        _post("昨天去金矿玩", "2005-03-21 01:20:44", PARAGRAPHS),
        _post("长发剪了", "2005-03-18 01:58:01", [p.replace("素芬山", "理发店") for p in PARAGRAPHS]),
        _post("雪意", "2005-03-15 16:47:37", [p.replace("素芬山", "雪山上") for p in PARAGRAPHS]),
    ]
    article = GENERIC.parse("http://blog.example/archives.php?date=200503", _page("".join(posts)))
    assert all(paragraph in article.text for paragraph in PARAGRAPHS)
    assert "理发店" not in article.text and "雪山上" not in article.text


def test_replies_below_an_article_are_not_the_article():
    # As on a news page with its readers' comments in cwced (biz.163.com, 5acac71b).
    article_rows = "".join(f"<tr><td><p>{p}</p></td></tr>" for p in PARAGRAPHS)
    replies = "".join(
        f'<tr><td class="reply"><p>网友{n}[219.130.79.*] 2005-03-2{n} 10:0{n}</p>'
        f"<p>第{n}位网友说：其实很多东西都是这里制造的，只不过转了个圈又卖回来，价格翻了好几倍。</p></td></tr>"
        for n in range(1, 4)
    )
    article = GENERIC.parse("http://news.example.cn/a.html", _page(article_rows + replies))
    assert all(paragraph in article.text for paragraph in PARAGRAPHS)
    assert "网友" not in article.text


def test_a_chronology_is_not_mistaken_for_posts():
    # Sections of one article, each opening with a date inside a sentence: no stamp lines.
    sections = "".join(
        f'<tr><td class="section"><p>{year}年4月14日，{p}</p><p>{p}</p></td></tr>'
        for year, p in zip((2016, 2017, 2020), PARAGRAPHS, strict=True)
    )
    article = GENERIC.parse("http://news.example.cn/b.html", _page(sections))
    assert all(f"{year}年4月14日" in article.text for year in (2016, 2017, 2020))


def test_a_thread_index_of_stamped_entries_is_left_out_by_the_block_scorer():
    # The reply index below a forum post in cwced (bbs.cctv.com, a6e8b739): one line per
    # reply, stamped without a year and followed by counters.
    entries = "".join(
        f"<li>{title}【{who}】08-1{n} 16:0{n} 298字 [4321/87]</li>"
        for n, (title, who) in enumerate(
            [
                ("旅行中，谁忽悠了你？", "版主"),
                ("一把辛酸泪啊。", "皮皮"),
                ("还是素质问题", "柠檬"),
                ("我的经历：", "hylxy"),
            ]
        )
    )
    page = _page(
        f"<tr><td>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}<p>回复线索：</p><ul>{entries}</ul></td></tr>"
    )
    text = extract(parse_html(page)).text
    assert all(paragraph in text for paragraph in PARAGRAPHS)
    assert "谁忽悠了你" not in text and "298字" not in text


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
