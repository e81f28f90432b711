"""Accounts to watch: a researcher's "these 50 accounts".

An account is known by what its articles say of themselves: on WeChat its ``biz`` (the first
part of every article's canonical id), its user name (``gh_…``) and its nickname. Its articles
are not copied or tagged: they are every archived article that names it, whenever it was
archived — before the account was added too. Its albums become sources of it (unless
``follow_albums`` is off): those named in its archived articles when it is added, and those
named in its articles captured later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, Text, and_, case, cast, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from samizdat.store.schema import accounts, articles, sources, versions


@dataclass(frozen=True)
class Account:
    id: int
    platform: str
    biz: str | None
    user_name: str | None
    nickname: str | None
    follow_albums: bool
    created_at: datetime

    @property
    def name(self) -> str:
        """How the site and the CLI call it: its nickname, else its user name, else its biz."""
        return self.nickname or self.user_name or self.biz or f"account {self.id}"


@dataclass(frozen=True)
class AccountSummary:
    account: Account
    articles: int
    removed: int
    states: dict[str, int]
    sources: int


def _account(row) -> Account:
    return Account(
        row.id, row.platform, row.biz, row.user_name, row.nickname, bool(row.follow_albums), row.created_at
    )


def account_name_of(connection: Connection, platform: str, canonical_id: str) -> str | None:
    """The name of the account an article's canonical id names (on WeChat its biz, before the
    colon), as a watched account or the account's newest archived article calls it."""
    if ":" not in canonical_id:
        return None
    biz = canonical_id.split(":", 1)[0]
    watched = _matching(connection, platform, biz, None, None)
    if watched is not None and (watched.nickname or watched.user_name):
        return watched.nickname or watched.user_name
    return connection.scalar(
        select(articles.c.account)
        .where(articles.c.platform == platform, _of_biz(biz), articles.c.account.is_not(None))
        .order_by(articles.c.id.desc())
        .limit(1)
    )


def _matching(
    connection: Connection, platform: str, biz: str | None, user_name: str | None, nickname: str | None
) -> Account | None:
    """The first account of ``platform`` with any of these names."""
    names = [
        column == value
        for column, value in (
            (accounts.c.biz, biz),
            (accounts.c.user_name, user_name),
            (accounts.c.nickname, nickname),
        )
        if value
    ]
    if not names:
        return None
    row = connection.execute(
        select(accounts).where(accounts.c.platform == platform, or_(*names)).order_by(accounts.c.id).limit(1)
    ).first()
    return _account(row) if row else None


def _of_biz(biz: str):
    """The clause selecting the articles whose canonical id starts with ``biz``."""
    escaped = biz.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return articles.c.canonical_id.like(escaped + ":%", escape="\\")


def account_articles(account: Account):
    """The clause selecting the archived articles that name ``account``."""
    names = []
    if account.biz:
        names.append(_of_biz(account.biz))
    if account.user_name:
        names.append(articles.c.account_id == account.user_name)
    if account.nickname:
        names.append(articles.c.account == account.nickname)
    return and_(articles.c.platform == account.platform, or_(*names)) if names else articles.c.id.is_(None)


class AccountQueries:
    engine: Engine

    def add_account(
        self,
        platform: str,
        *,
        biz: str | None = None,
        user_name: str | None = None,
        nickname: str | None = None,
        follow_albums: bool = True,
    ) -> tuple[Account, bool]:
        """Record an account (or fill in what an existing one lacked); (it, whether it is new)."""
        with self.engine.begin() as connection:
            existing = _matching(connection, platform, biz, user_name, nickname)
            if existing is None:
                new_id = connection.execute(
                    insert(accounts).returning(accounts.c.id),
                    {
                        "platform": platform,
                        "biz": biz,
                        "user_name": user_name,
                        "nickname": nickname,
                        "follow_albums": int(follow_albums),
                        "created_at": datetime.now(UTC),
                    },
                ).scalar_one()
                created = True
            else:
                new_id, created = existing.id, False
                filled = {
                    key: value
                    for key, value in (("biz", biz), ("user_name", user_name), ("nickname", nickname))
                    if value and not getattr(existing, key)
                }
                filled["follow_albums"] = int(follow_albums)
                connection.execute(update(accounts).where(accounts.c.id == new_id).values(**filled))
            row = connection.execute(select(accounts).where(accounts.c.id == new_id)).one()
        return _account(row), created

    def find_account(self, name: str) -> Account | None:
        """The account called ``name`` (nickname, user name, biz or id)."""
        with self.engine.connect() as connection:
            clauses = [accounts.c.nickname == name, accounts.c.user_name == name, accounts.c.biz == name]
            if name.isdigit():
                clauses.append(accounts.c.id == int(name))
            row = connection.execute(
                select(accounts).where(or_(*clauses)).order_by(accounts.c.id).limit(1)
            ).first()
        return _account(row) if row else None

    def watched_account(
        self, platform: str, canonical_id: str, user_name: str | None, nickname: str | None
    ) -> Account | None:
        """The watched account an article (by what it says of itself) belongs to, if any."""
        biz = canonical_id.split(":", 1)[0] if ":" in canonical_id else None
        with self.engine.connect() as connection:
            return _matching(connection, platform, biz, user_name, nickname)

    def list_accounts(self) -> list[AccountSummary]:
        """Every watched account with its articles by state and its sources, by name."""
        with self.engine.connect() as connection:
            found = [_account(row) for row in connection.execute(select(accounts).order_by(accounts.c.id))]
            summaries = [self._summary(connection, account) for account in found]
        return sorted(summaries, key=lambda s: s.account.name)

    def account_summary(self, account: Account) -> AccountSummary:
        with self.engine.connect() as connection:
            return self._summary(connection, account)

    def _summary(self, connection: Connection, account: Account) -> AccountSummary:
        states = dict(
            connection.execute(
                select(articles.c.state, func.count())
                .where(account_articles(account))
                .group_by(articles.c.state)
            ).all()
        )
        source_count = connection.scalar(select(func.count()).where(sources.c.account_id == account.id)) or 0
        return AccountSummary(account, sum(states.values()), states.get("removed", 0), states, source_count)

    def account_sources(self, account: Account) -> list[dict]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(sources).where(sources.c.account_id == account.id).order_by(sources.c.id)
            )
            return [dict(row._mapping) for row in rows]

    def attach_source(self, source_id: int, account: Account) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(sources).where(sources.c.id == source_id).values(account_id=account.id))

    def names_in_articles(self, account: Account) -> tuple[str | None, str | None, str | None] | None:
        """(biz, user name, nickname) as the account's newest archived article gives them."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(articles.c.canonical_id, articles.c.account_id, articles.c.account)
                .where(account_articles(account))
                .order_by(articles.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        biz = row.canonical_id.split(":", 1)[0] if ":" in row.canonical_id else None
        return biz, row.account_id, row.account

    def account_listings(self, account: Account) -> list[str]:
        """The lists of articles (albums) the account's archived articles name, of its own."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(versions.c.details)
                .join(articles, articles.c.id == versions.c.article_id)
                .where(account_articles(account))
            )
            found: dict[str, None] = {}
            for (details,) in rows:
                for url in (details or {}).get("listings", []):
                    found[url] = None
        return list(found)

    def removals_by_month(self, account: Account) -> list[tuple[str, int, int]]:
        """(month, articles first archived that month, of them removed since), oldest first."""
        month = func.substr(cast(articles.c.first_captured_at, Text), 1, 7)
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    month.label("month"),
                    func.count(),
                    func.sum(case((articles.c.state == "removed", 1), else_=0)),
                )
                .where(account_articles(account), articles.c.first_captured_at.is_not(None))
                .group_by("month")
                .order_by("month")
            ).all()
        return [(row[0], row[1], int(row[2] or 0)) for row in rows]
