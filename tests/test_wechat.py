"""The WeChat parser on real saved pages (src/samizdat/testing/pages/wechat, see PROVENANCE.md)."""

import gzip
import json
from datetime import datetime, timedelta, timezone

import pytest

from samizdat.platforms import Article, Registry, Unavailable, UnavailableReason
from samizdat.platforms.wechat import PLATFORM as WECHAT
from samizdat.platforms.wechat.page import script_vars
from tests.helpers import WECHAT as PAGES

CST = timezone(timedelta(hours=8))
LABELS = json.loads((PAGES / "pre-deletion" / "labels.json").read_text("utf-8"))
NOTICES = json.loads((PAGES / "notices" / "constructed" / "expected.json").read_text("utf-8"))


def page(name: str) -> str:
    path = PAGES / name
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")


@pytest.mark.parametrize("name", sorted(LABELS))
def test_pre_deletion_pages_title_account_and_date_exact(name):
    """The 12 labelled pages captured before removal (wechatscope, October 2020)."""
    label = LABELS[name]
    article = WECHAT.parse("https://" + label["url"], page(f"pre-deletion/{name}"))
    assert isinstance(article, Article)
    assert article.title == label["title"]
    assert article.account == label["nickname"]
    assert article.published_at.date().isoformat() == label["created_at"]
    assert article.published_at.utcoffset() == timedelta(hours=8)
    # identity from the page's own variables equals the one in the labelled URL
    assert article.canonical_id == WECHAT.canonical_id("https://" + label["url"])
    assert article.account_id == name.split("_2020")[0]
    assert len(article.text) > 100
    assert "var biz" not in article.text and "function(" not in article.text


def test_publish_time_comes_from_ct_with_the_china_offset():
    article = WECHAT.parse(
        "https://mp.weixin.qq.com/s/x", page("articles/huashangbao-2018-background-image.html")
    )
    assert article.published_at == datetime(2018, 4, 6, 6, 56, 20, tzinfo=CST)  # var ct = "1522968980"
    assert article.published_at.timestamp() == 1522968980
    assert article.published_precision == "second"


def test_2018_article_with_background_images_and_music():
    article = WECHAT.parse(
        "https://mp.weixin.qq.com/s/x", page("articles/huashangbao-2018-background-image.html")
    )
    assert article.canonical_id == "ODUzMjkwMzYx:2654593305:1"
    assert article.url == "https://mp.weixin.qq.com/s?__biz=ODUzMjkwMzYx&mid=2654593305&idx=1"
    assert article.title == "4月6日周五【新闻速览一分钟】"
    assert article.account == "华商报"
    assert article.account_id == "wxid_9443134431811"
    assert article.author == "🌏华商君"
    assert article.description == "🍀昨日今晨，最新最快最有价值的讯息简报"
    assert article.cover.startswith("http://mmbiz.qpic.cn/mmbiz_jpg/Jyco923vD")
    assert all(u.startswith(("https://mmbiz.qpic.cn/", "http://mmbiz.qpic.cn/")) for u in article.images)
    assert any("640?wx_fmt=jpeg" in u for u in article.images)  # from an inline background-image
    assert len(article.images) == 29  # 28 distinct data-src in #js_content + 1 inline background
    (music,) = article.media
    assert music.kind == "music" and music.url.startswith("http://ws.stream.qqmusic.qq.com/")
    assert 'class="samizdat-media samizdat-music"' in article.html
    assert "<qqmusic" not in article.html
    assert 'src="https://mmbiz.qpic.cn/' in article.html  # lazy images resolved for display


def test_2018_article_with_a_video_keeps_it_as_a_link():
    article = WECHAT.parse(
        "https://mp.weixin.qq.com/s/x", page("articles/gongchandangyuan-2018-video-iframe.html")
    )
    assert article.title == "【视频】石榴花开"
    assert article.account == "共产党员"
    assert article.published_at == datetime.fromtimestamp(1521515999, CST)
    (video,) = article.media
    assert video.kind == "video" and "v.qq.com" in video.url
    assert "<iframe" not in article.html
    assert f'href="{video.url.replace("&", "&amp;")}"' in article.html
    assert "像石榴籽那样紧紧抱在一起" in article.text


def test_2020_article_audio_placeholder_is_kept():
    name = "gh_fb258eeffb8d_2020-10-09_2652201756_aSeczJL46x.html.gz"
    article = WECHAT.parse("https://" + LABELS[name]["url"], page(f"pre-deletion/{name}"))
    (audio,) = article.media
    assert audio.kind == "audio"
    assert audio.url == "https://res.wx.qq.com/voice/getvoice?mediaid=MzAxMjU0MDg0MV8yNjUyMjAxNzU0"
    assert audio.title == "扶贫医生双城生活"


def test_author_from_meta_when_the_page_names_one():
    name = "gh_f0f4b7f5abc1_2020-10-06_2659732654_AKghCGyEBO.html.gz"
    assert WECHAT.parse("", page(f"pre-deletion/{name}")).author == "赵明昊"
    name = "gh_4343d07caa0c_2020-10-10_2247490970_H9r40Gc2pl.html.gz"
    assert WECHAT.parse("", page(f"pre-deletion/{name}")).author is None


@pytest.mark.parametrize("name", sorted(NOTICES))
def test_every_notice_text_is_recognised(name):
    result = WECHAT.parse("https://mp.weixin.qq.com/s/x", page(f"notices/constructed/{name}"))
    assert isinstance(result, Unavailable)
    assert result.reason == NOTICES[name]["outcome"]
    assert NOTICES[name]["message"] in result.message


def test_the_real_link_expired_page():
    result = WECHAT.parse("https://mp.weixin.qq.com/s/x", page("notices/link-expired-2018.html"))
    assert (result.reason, result.message) == (UnavailableReason.LINK_EXPIRED, "链接已过期")


def test_verification_page_is_transient_with_its_detail():
    result = WECHAT.parse("https://mp.weixin.qq.com/s/x", page("notices/constructed/verification.html"))
    assert result.reason is UnavailableReason.TRANSIENT
    assert result.detail == "当前环境异常，完成验证后即可继续访问。"


def test_captcha_redirect_url_is_transient_whatever_the_page_says():
    html = page("notices/link-expired-2018.html")
    result = WECHAT.parse("https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=abc", html)
    assert result.reason is UnavailableReason.TRANSIENT


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("此内容因违规无法查看", "removed_violation"),
        ("经用户举报，发现此内容涉嫌违反相关法律法规和政策", "removed_complaint"),
        ("由用户投诉并经平台审核，涉嫌过度营销、骚扰用户", "removed_complaint"),
        ("此帐号已注销, 内容无法查看", "account_gone"),
        ("原帐号迁移时未将文章素材同步至新帐号，该链接已不可访问", "account_gone"),
        ("根据作者隐私设置，无法查看该内容", "restricted"),
        ("参数错误", "bad_request"),
        ("操作过于频繁，请稍后再试。", "transient"),
        ("一段从未见过的提示", "transient"),  # unknown: never declared a deletion on a guess
    ],
)
def test_notice_texts_of_both_markup_generations(message, reason):
    new = page("notices/link-expired-2018.html").replace("链接已过期", message)
    assert WECHAT.parse("", new).reason == reason
    old = (
        '<html><head><title></title></head><body id="activity-detail"><div class="page_msg">'
        f'<div class="text_area"><p class="global_error_msg warn">{message}</p></div></div></body></html>'
    )
    assert WECHAT.parse("", old).reason == reason


def test_an_article_quoting_a_notice_text_is_still_an_article():
    html = page("articles/gongchandangyuan-2018-video-iframe.html").replace(
        "像石榴籽那样", "有人说“该内容已被发布者删除”，但像石榴籽那样"
    )
    article = WECHAT.parse("", html)
    assert isinstance(article, Article)
    assert "该内容已被发布者删除" in article.text


def test_migrated_account_gives_the_new_link():
    html = page("notices/constructed/account-migrated.html").replace(
        "</body>", "<script>var transfer_target_link = 'https://mp.weixin.qq.com/s/newhome';</script></body>"
    )
    result = WECHAT.parse("", html)
    assert result.reason is UnavailableReason.ACCOUNT_GONE
    assert result.follow_url == "https://mp.weixin.qq.com/s/newhome"


def test_rumour_label_keeps_the_article():
    html = page("articles/gongchandangyuan-2018-video-iframe.html").replace(
        "</body>", '<div class="page_rumor">此文章被第三方评估为不实信息</div></body>'
    )
    article = WECHAT.parse("", html)
    assert isinstance(article, Article) and article.labels == ("rumour",)


def test_repost_source_is_recorded():
    html = page("articles/gongchandangyuan-2018-video-iframe.html").replace(
        "</body>",
        '<div id="js_share_source" data-url="http://mp.weixin.qq.com/s?__biz=MzA=&amp;mid=9&amp;idx=1&amp;chksm=z#rd">'
        "</div></body>",
    )
    assert WECHAT.parse("", html).repost_of == "https://mp.weixin.qq.com/s?__biz=MzA=&mid=9&idx=1"


@pytest.mark.parametrize(
    "url",
    [
        "https://mp.weixin.qq.com/s?__biz=MzI1MzM5OTczNw==&mid=2247490970&idx=1&sn=6824fa5a&chksm=e9d4&scene=21#wechat_redirect",
        "http://mp.weixin.qq.com/s?mid=2247490970&__biz=MzI1MzM5OTczNw%3D%3D&idx=1&sn=6824fa5a&sharer_sharetime=1#rd",
        "https://mp.weixin.qq.com/s?__biz=MzI1MzM5OTczNw==&mid=2247490970&idx=1&sn=6824fa5a&srcid=0101&from=timeline",
    ],
)
def test_tracking_parameters_never_change_identity(url):
    assert WECHAT.canonical_id(url) == "MzI1MzM5OTczNw==:2247490970:1"
    assert (
        WECHAT.canonical_url(url)
        == "https://mp.weixin.qq.com/s?__biz=MzI1MzM5OTczNw==&mid=2247490970&idx=1&sn=6824fa5a"
    )


def test_short_url_has_no_identity_until_the_page_is_read():
    assert WECHAT.canonical_id("https://mp.weixin.qq.com/s/AbCdEf123") is None


def test_script_variables_take_the_first_non_empty_value():
    variables = script_vars(page("articles/gongchandangyuan-2018-video-iframe.html"))
    assert variables["biz"] == "MzA4ODUzNjAxOA=="
    assert variables["mid"] == "2671068104"
    assert variables["idx"] == "7"
    assert variables["ct"] == "1521515999"


def test_registry_picks_wechat_by_host_alias_then_by_content():
    registry = Registry()
    html = page("articles/gongchandangyuan-2018-video-iframe.html")
    assert registry.for_page("https://mp.weixin.qq.com/s/x", "<html></html>").name == "wechat"
    assert registry.for_page("https://mirror.example/a", html).name == "wechat"  # sniffed
    assert registry.for_page(None, html).name == "wechat"
    assert (
        registry.for_page("https://news.example/a", "<html><body><p>hi</p></body></html>").name == "generic"
    )


def test_a_page_with_neither_body_nor_notice_is_unrecognised_not_an_empty_article():
    result = WECHAT.parse(
        "https://mp.weixin.qq.com/s/x",
        "<html><head><title>登录</title></head><body><p>请登录</p></body></html>",
    )
    assert isinstance(result, Unavailable)
    assert result.reason is UnavailableReason.TRANSIENT
    assert "unrecognised" in result.message
