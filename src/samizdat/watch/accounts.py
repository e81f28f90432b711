"""Accounts as things to watch: ``samizdat account add <biz | gh_ id | article URL>``.

An account given by an article URL is read from the article (captured first when it is not
archived yet): its biz, user name and nickname. Every archived article that names the account
belongs to it (store/accounts.py); the albums its articles name become sources of it, now and
whenever a later capture of its articles names another (:func:`adopt_listings`), unless the
account was added with albums off.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from samizdat.config import Settings
from samizdat.platforms.registry import Registry
from samizdat.pools import Pool
from samizdat.sources import SourceKind
from samizdat.store import Store
from samizdat.store.accounts import Account

USER_NAME = re.compile(r"^gh_[0-9A-Za-z]{6,32}$")
BIZ = re.compile(r"^[A-Za-z0-9+/]{8,64}={0,2}$")
ALBUM_INTERVAL_SECONDS = 3600


class AccountRefused(ValueError):
    """What was given names no account; the message says what would."""


@dataclass(frozen=True)
class AddedAccount:
    account: Account
    created: bool
    articles: int  # archived articles that name it
    sources: list[str]  # albums that became its sources now


async def add_account(
    settings: Settings, store: Store, key: str, *, follow_albums: bool = True
) -> AddedAccount:
    """Record the account ``key`` names and attach its albums; see the module's description."""
    key = key.strip()
    fields: dict[str, str | None] = {}
    platform = "wechat"
    if key.lower().startswith(("http://", "https://")):
        platform, fields = await _from_article(settings, store, key)
    elif USER_NAME.match(key):
        fields = {"user_name": key}
    elif BIZ.match(key):
        fields = {"biz": key}
    else:
        raise AccountRefused(
            f"{key!r} names no account: give its biz (as in its article URLs, __biz=…), "
            "its user name (gh_…) or the URL of one of its articles"
        )
    account, created = await asyncio.to_thread(
        lambda: store.add_account(platform, follow_albums=follow_albums, **fields)
    )
    account = await asyncio.to_thread(_filled_in, store, account)
    added = await asyncio.to_thread(_adopt, store, account, None)
    summary = await asyncio.to_thread(store.account_summary, account)
    return AddedAccount(account, created, summary.articles, added)


async def _from_article(settings: Settings, store: Store, url: str) -> tuple[str, dict[str, str | None]]:
    article_id = await asyncio.to_thread(store.article_id_for_url, url)
    if article_id is None:
        from samizdat.watch.firstsight import with_retries
        from samizdat.workers import capture_urls  # the capture stage, only for a URL not archived

        async def capture():
            return (await capture_urls(settings, [url]))[0]

        outcome = await with_retries(capture, settings.watch)  # as a first sight: a 503 is no answer
        if outcome.article_id is None:
            raise AccountRefused(f"cannot read the account from {url}: {outcome.message or outcome.status}")
        article_id = outcome.article_id
    article = await asyncio.to_thread(store.article, article_id)
    platform = Registry(settings.platforms).platform(article.platform)
    canonical = article.canonical_id
    biz = canonical.split(":", 1)[0] if platform.name == "wechat" and ":" in canonical else None
    if not (biz or article.account_id or article.account):
        raise AccountRefused(f"the article at {url} names no account")
    return article.platform, {"biz": biz, "user_name": article.account_id, "nickname": article.account}


def _filled_in(store: Store, account: Account) -> Account:
    """The account with the names its newest archived article gives it, where it lacked them."""
    names = store.names_in_articles(account)
    if names is None:
        return account
    biz, user_name, nickname = names
    filled, _ = store.add_account(
        account.platform,
        biz=account.biz or (biz if account.platform == "wechat" else None),
        user_name=account.user_name or user_name,
        nickname=account.nickname or nickname,
        follow_albums=account.follow_albums,
    )
    return filled


def _adopt(store: Store, account: Account, listings: list[str] | None) -> list[str]:
    """Make the account's albums (``listings``, or those its archived articles name) its sources."""
    if not account.follow_albums:
        return []
    own = [
        url
        for url in (listings if listings is not None else store.account_listings(account))
        if not account.biz or f"__biz={account.biz}&" in url
    ]
    added = []
    for url in own:
        source_id, created = store.add_source(
            str(SourceKind.LISTING), url, title=None, interval_seconds=ALBUM_INTERVAL_SECONDS
        )
        store.attach_source(source_id, account)
        if created:
            added.append(url)
    return added


async def adopt_listings(
    store: Store,
    platform: str,
    canonical_id: str,
    names: str | None,
    listings: tuple[str, ...],
    *,
    pool: Pool,
) -> list[str]:
    """After a capture: the albums it names become sources of its account, when the account is
    watched (and follows its albums)."""
    if not listings:
        return []

    def adopt() -> list[str]:
        account = store.watched_account(platform, canonical_id, names, names)
        return _adopt(store, account, list(listings)) if account is not None else []

    return await pool.run(adopt)
