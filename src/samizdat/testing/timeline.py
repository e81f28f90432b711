"""What happens to the simulator's articles over simulated time: publication, removal, edits.

Removal ages and reasons are drawn from a real removal dataset (WeChatScope, 2018–2020: one
row per removed article with its publication day, removal time and the notice shown; a copy
is in ``src/samizdat/testing/pages/removals/``). The data gives the publication *day* only, so the hour
of publication is drawn uniformly within that day, never after the removal. The dataset
holds removed articles only; which share of articles is removed is a parameter.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

REMOVALS_CSV = Path(__file__).resolve().parent / "pages" / "removals"
CHINA_TIME = timezone(timedelta(hours=8))

# The dataset's notice texts → the simulator's notice pages (src/samizdat/testing/pages/wechat/notices).
NOTICE_FOR_MESSAGE = {
    "该内容已被发布者删除": "deleted-by-author",
    "The content has been deleted by the author.": "deleted-by-author",
    "此内容因违规无法查看": "violation",
    "Unable to view this content because it violates regulations": "violation",
    "此帐号已被屏蔽,": "account-blocked",
    "此内容被投诉且经审核涉嫌侵权，无法查看。": "infringement-complaint",
    "该公众号已迁移": "account-migrated",
    "此内容被多人投诉，相关的内容无法进行查看。": "multiple-complaints",
}

# The outcome a check must name for each notice (what the watcher is measured against).
OUTCOME_OF_NOTICE = {
    "deleted-by-author": "deleted_by_author",
    "violation": "removed_violation",
    "account-blocked": "account_gone",
    "account-migrated": "account_gone",
    "infringement-complaint": "removed_complaint",
    "multiple-complaints": "removed_complaint",
}


@dataclass(frozen=True)
class Removal:
    age_seconds: float  # from publication to removal
    notice: str


@dataclass(frozen=True)
class Fate:
    """One article's future, in simulated seconds from the start of the simulation."""

    published_at: float
    removed_at: float | None = None
    notice: str | None = None
    edited_at: float | None = None


def real_removals(path: Path | None = None, *, seed: int = 0) -> list[Removal]:
    """Every usable row of the removal dataset as (age, notice)."""
    path = path or next(REMOVALS_CSV.glob("*.csv.gz"))
    rng = random.Random(seed)
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8-sig")
    removals = []
    for row in csv.DictReader(io.StringIO(text)):
        notice = NOTICE_FOR_MESSAGE.get(row["censored_msg"].strip())
        try:
            day = datetime.strptime(row["created_at"], "%Y-%m-%d").replace(tzinfo=CHINA_TIME)
            removed = datetime.strptime(row["censored_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME)
        except ValueError:
            continue
        since_midnight = (removed - day).total_seconds()
        if notice is None or since_midnight <= 0:
            continue
        published = rng.uniform(0, min(86_400.0, since_midnight))
        removals.append(Removal(since_midnight - published, notice))
    return removals


def plan(
    count: int,
    removals: Sequence[Removal],
    *,
    publish_over: float,
    removed_share: float,
    edited_share: float = 0.0,
    seed: int = 0,
) -> list[Fate]:
    """Fates for ``count`` articles published uniformly over ``publish_over`` simulated seconds."""
    rng = random.Random(seed)
    fates = []
    for _ in range(count):
        published = rng.uniform(0, publish_over)
        removed_at = notice = edited_at = None
        if removals and rng.random() < removed_share:
            removal = rng.choice(removals)
            removed_at, notice = published + removal.age_seconds, removal.notice
        if rng.random() < edited_share:
            edited_at = published + rng.expovariate(1 / 86_400.0)
        fates.append(Fate(published, removed_at, notice, edited_at))
    return fates


def save_plan(path: Path, keys: Sequence[str], fates: Sequence[Fate], start: float, scale: float) -> None:
    """The ground truth, for benchmarks: each article's fate (by ``keys``, e.g. its URL path),
    the wall-clock start and the time scale."""
    path.write_text(
        json.dumps(
            {
                "start": start,
                "time_scale": scale,
                "articles": {k: asdict(f) for k, f in zip(keys, fates, strict=True)},
            }
        )
    )
