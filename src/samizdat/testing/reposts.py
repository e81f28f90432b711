"""A repost set: real article texts, each reposted the way WeChat accounts repost.

A repost adds a header (where it came from) and a footer (the reposting account's call to
follow), leaves out a paragraph, retypes the punctuation (full-width to ASCII, other quote
marks), and every other one is converted to traditional characters. The clustering tests and
``bench/copies.py`` measure on it: each repost must join its original, and no two different
articles may be linked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

HEADERS = (
    "本文转载自公众号「{account}」，原标题如下，如有侵权请联系删除。",
    "来源：{account}｜作者授权转载，转载请注明出处",
    "▲点击上方蓝字关注{account}，每天为你推送好文章",
    "编者按：这篇文章在朋友圈广为流传，我们转来与读者分享。",
)
FOOTERS = (
    "长按二维码关注{account}，点击阅读原文，本文仅代表作者观点，不代表本号立场。",
    "— END —\n喜欢就点个在看吧！投稿邮箱见公众号菜单。",
    "往期推荐：点击下方链接查看更多精彩内容。{account}欢迎你的留言。",
)
ACCOUNTS = ("观察者说", "历史的天空", "深夜读书", "新闻实验室", "江湖夜雨")
PUNCTUATION = str.maketrans(
    {"，": ",", "。": ". ", "“": '"', "”": '"', "：": ":", "；": ";", "？": "?", "！": "!"}
)


@dataclass(frozen=True)
class Repost:
    original: int  # index of the text it copies
    text: str
    traditional: bool


def repost(text: str, rng: random.Random, *, traditional: bool) -> str:
    paragraphs = [p.strip() for p in text.replace("\r", "").split("\n\n") if p.strip()]
    if len(paragraphs) > 2:
        del paragraphs[rng.randrange(len(paragraphs))]
    account = rng.choice(ACCOUNTS)
    body = "\n\n".join(
        [
            rng.choice(HEADERS).format(account=account),
            *(p.translate(PUNCTUATION) for p in paragraphs),
            rng.choice(FOOTERS).format(account=account),
        ]
    )
    return _to_traditional(body) if traditional else body


def repost_set(texts: list[str], *, seed: int = 7) -> list[Repost]:
    """One repost per text, every other one in traditional characters."""
    rng = random.Random(seed)
    return [
        Repost(index, repost(text, rng, traditional=index % 2 == 0), index % 2 == 0)
        for index, text in enumerate(texts)
    ]


def _to_traditional(text: str) -> str:
    import opencc

    return opencc.OpenCC("s2t").convert(text)
