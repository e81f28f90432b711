"""Removal statistics by outcome, account, watched keyword, month of publication and capture.

By capture, the articles captured are counted apart from those removed before samizdat could
capture them (seen in a listing, already a notice at first sight) and from imported removals.

For each group: how many articles, how many removed, the removal rate, and the time from
publication to removal (quartiles, in hours). The removal moment is the middle of the window
the watch saw it in (last seen alive, detected); for a removal imported from a dataset,
which has no window, the dataset's own removal time. The start is the publication time, or
the first capture when the page gave none. The same rows feed the page, the API and the CSV.
"""

from __future__ import annotations

import csv
import io
import statistics
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, exists, func, select

from samizdat.status import State
from samizdat.store.schema import articles, checks, versions

GROUPINGS = ("all", "outcome", "account", "keyword", "month", "capture")


def hours_to_removal(
    published_at: datetime | None,
    first_captured_at: datetime | None,
    last_seen_alive_at: datetime | None,
    detected_at: datetime | None,
) -> float | None:
    """Hours from publication (or first capture) to removal; None when either end is unknown.

    >>> from datetime import UTC
    >>> day = lambda d, h=0: datetime(2023, 7, d, h, tzinfo=UTC)
    >>> hours_to_removal(day(1), day(1), day(2), day(2, 12)), hours_to_removal(day(1), None, None, day(3))
    (30.0, 48.0)
    """
    start = published_at or first_captured_at
    if detected_at is None or start is None:
        return None
    end = last_seen_alive_at + (detected_at - last_seen_alive_at) / 2 if last_seen_alive_at else detected_at
    return (end - start).total_seconds() / 3600 if end >= start else None


@dataclass
class Group:
    name: str
    articles: int = 0
    removed: int = 0
    hours: list[float] = field(default_factory=list)  # time to removal of each removed article

    @property
    def removal_rate(self) -> float:
        return self.removed / self.articles if self.articles else 0.0

    def quantile(self, share: float) -> float | None:
        """The ``share`` quantile of the hours (the median is ``statistics.median``'s)."""
        if not self.hours:
            return None
        ordered = sorted(self.hours)
        if share == 0.5:
            return statistics.median(ordered)
        return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


@dataclass(frozen=True)
class _Row:
    account: str | None
    state: str
    outcome: str | None
    keywords: list[str] | None
    published_at: datetime | None
    published_offset_minutes: int | None
    first_captured_at: datetime
    last_seen_alive_at: datetime | None
    detected_at: datetime | None
    capture: str  # captured, before_capture (removed when first seen), imported (from a dataset)


def breakdowns(rows: Iterable[_Row]) -> dict[str, list[Group]]:
    """Every grouping of ``rows``: one group of all, outcomes by removals, accounts and keywords
    by removals then articles, months in order. Outcome groups count removals only (the rate
    is their share)."""
    groups: dict[str, dict[str, Group]] = {by: {} for by in GROUPINGS}
    removed_total = 0
    for row in rows:
        removed = row.state == State.REMOVED.value
        hours = hours_to_removal(
            row.published_at, row.first_captured_at, row.last_seen_alive_at, row.detected_at
        )
        # The month as the page showed it (a WeChat date is in UTC+8).
        local = (row.published_at or row.first_captured_at) + timedelta(
            minutes=row.published_offset_minutes or 0
        )
        month = local.strftime("%Y-%m")
        names = {
            "all": ["all"],
            "account": [row.account] if row.account else [],
            "keyword": row.keywords or [],
            "month": [month],
            "outcome": [row.outcome or "unknown_unavailable"] if removed else [],
            "capture": [row.capture],
        }
        removed_total += removed
        for by, keys in names.items():
            for key in keys:
                group = groups[by].setdefault(key, Group(key))
                group.articles += 1
                if removed:
                    group.removed += 1
                    if hours is not None:
                        group.hours.append(hours)
    for group in groups["outcome"].values():
        group.articles = removed_total
    ranked = {
        by: sorted(found.values(), key=lambda g: (-g.removed, -g.articles, g.name))
        for by, found in groups.items()
        if by != "month"
    }
    return ranked | {"month": sorted(groups["month"].values(), key=lambda g: g.name)}


def to_csv(groups: Iterable[Group], by: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by, "articles", "removed", "removal_rate", "hours_p25", "hours_median", "hours_p75"])
    for group in groups:
        writer.writerow(
            [group.name, group.articles, group.removed, f"{group.removal_rate:.6f}"]
            + ["" if (q := group.quantile(s)) is None else f"{q:.3f}" for s in (0.25, 0.5, 0.75)]
        )
    return out.getvalue()


class StatisticsCache:
    """The breakdowns, computed again only when a check was recorded since (every capture,
    state change and import records one): one indexed lookup per page view otherwise."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._key: int | None = None
        self._value: dict[str, list[Group]] = {}

    def get(self) -> dict[str, list[Group]]:
        with self.engine.connect() as connection:
            key = connection.scalar(select(func.max(checks.c.id))) or 0
            with self._lock:
                if key == self._key:
                    return self._value
            query = select(
                articles.c.account,
                articles.c.state,
                articles.c.outcome,
                articles.c.keywords,
                articles.c.published_at,
                articles.c.published_offset_minutes,
                articles.c.first_captured_at,
                articles.c.last_seen_alive_at,
                articles.c.detected_at,
                case(
                    (exists().where(versions.c.article_id == articles.c.id), "captured"),
                    (articles.c.listed.is_not(None), "before_capture"),
                    else_="imported",
                ),
            )
            value = breakdowns(
                _Row(*row) for row in connection.execution_options(yield_per=5000).execute(query)
            )
        with self._lock:
            self._key, self._value = key, value
        return value
