"""When to check an article again: dense while it is young, sparse later, none past the horizon.

Removals are not spread evenly over an article's life (``shared/docs/wechat.md``: median 1.9
days from the publication day's midnight, 90 % within 3.2 days). With K checks to spend over
the horizon, the expected delay between a removal and the check that sees it is about
∫ f(t) / (2 λ(t)) dt, where f is the density of removal ages and λ the check rate; it is
smallest when λ(t) ∝ √f(t); concentrating a little more (λ ∝ f^0.75) trades a little mean for
shorter median and p90 delays. :class:`RemovalProfile` holds f as a histogram over log-spaced
age bins, estimated from real removals (``watch/removal_profile.json``, made by
``bench/schedule_simulation.py --fit``); :class:`SchedulePolicy` turns it into intervals.
``bench/schedule_simulation.py`` shows the gain over a fixed interval spending as many checks.
"""

from __future__ import annotations

import bisect
import functools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from samizdat.config import WatchSettings

PROFILE_FILE = Path(__file__).with_name("removal_profile.json")


@dataclass(frozen=True)
class RemovalProfile:
    """Share of removals in each age bin; ``edges`` in hours, ``shares`` sums to 1."""

    edges: tuple[float, ...]  # len(shares) + 1 bin edges, from 0
    shares: tuple[float, ...]

    @classmethod
    def from_ages(
        cls,
        ages_hours: Sequence[float],
        *,
        horizon_hours: float,
        bins: int = 24,
        publication_window_hours: float = 0.0,
    ) -> RemovalProfile:
        """Estimate from observed removal ages; a small floor keeps every bin checkable.

        With ``publication_window_hours`` > 0 the ages are counted from the start of a window
        in which the article was published at an unknown, uniformly likely moment (the removal
        data gives the publication day only): each removal is spread over the ages it may have
        had, at quarter-hour steps.
        """
        first = 0.25  # the first bin ends at 15 minutes
        ratio = (horizon_hours / first) ** (1 / (bins - 1))
        edges = (0.0, *(first * ratio**i for i in range(bins)))
        counts = [0.0] * bins
        for observed in ages_hours:
            for age, weight in _possible_ages(observed, publication_window_hours):
                if 0 <= age < horizon_hours:
                    counts[min(bisect.bisect_right(edges, age) - 1, bins - 1)] += weight
        total = sum(counts) or 1
        floor = 0.002
        shares = [max(c / total, floor) for c in counts]
        scale = sum(shares)
        return cls(tuple(round(e, 6) for e in edges), tuple(s / scale for s in shares))

    @classmethod
    def load(cls, path: Path = PROFILE_FILE) -> RemovalProfile:
        data = json.loads(path.read_text("utf-8"))
        return cls(tuple(data["edges_hours"]), tuple(data["shares"]))

    def dump(self, path: Path, *, source: str) -> None:
        payload = {"source": source, "edges_hours": list(self.edges), "shares": list(self.shares)}
        path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")

    @property
    def horizon_hours(self) -> float:
        return self.edges[-1]


def _possible_ages(observed: float, window: float) -> list[tuple[float, float]]:
    """(age, weight) pairs for a removal seen ``observed`` hours after the window opened."""
    if window <= 0:
        return [(observed, 1.0)]
    steps = [i * 0.25 for i in range(int(min(observed, window) / 0.25) + 1)]
    return [(observed - start, 1 / len(steps)) for start in steps]


@dataclass(frozen=True)
class SchedulePolicy:
    """Check intervals that spend ``checks`` requests per article over the profile's horizon."""

    profile: RemovalProfile
    checks: int = 60
    # λ ∝ density^concentration. 0.5 minimises the mean delay; 0.75 minimised the p90 delay on
    # the fitting half of the removal data (median 0.50, p90 0.52, mean 0.63 of a fixed interval).
    concentration: float = 0.75
    priority_factor: float = 3.0  # a priority article is checked this many times as often
    jitter: float = 0.1  # ± this share of each interval, so checks of a batch spread out
    min_interval_hours: float = 1 / 30  # never more often than every two minutes

    @functools.cached_property
    def rates(self) -> list[float]:
        """Checks per hour in each bin: λ ∝ density^concentration, scaled to spend ``checks`` in all."""
        widths = [b - a for a, b in zip(self.profile.edges, self.profile.edges[1:], strict=False)]
        roots = [
            (share / width) ** self.concentration
            for share, width in zip(self.profile.shares, widths, strict=True)
        ]
        spent = sum(r * w for r, w in zip(roots, widths, strict=True))
        return [r * self.checks / spent for r in roots]

    def interval_hours(self, age_hours: float, *, priority: bool = False) -> float | None:
        """Hours until the next check of an article this old, or None past the horizon."""
        if age_hours >= self.profile.horizon_hours:
            return None
        index = min(
            bisect.bisect_right(self.profile.edges, max(age_hours, 0.0)) - 1, len(self.profile.shares) - 1
        )
        rate = self.rates[index] * (self.priority_factor if priority else 1.0)
        # The last check falls on the horizon at the latest: a removal in the sparse tail is
        # still caught within the horizon, not a week later by the slow schedule after it.
        return min(max(1 / rate, self.min_interval_hours), self.profile.horizon_hours - age_hours)

    def next_check(
        self, age: timedelta, *, priority: bool = False, rng: random.Random | None = None
    ) -> timedelta | None:
        hours = self.interval_hours(age.total_seconds() / 3600, priority=priority)
        if hours is None:
            return None
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return timedelta(hours=hours * spread)

    def check_ages(self, *, priority: bool = False) -> list[float]:
        """The ages (hours) at which an article is checked from capture to the horizon, no jitter."""
        ages, age = [], 0.0
        while (step := self.interval_hours(age, priority=priority)) is not None:
            age += step
            ages.append(age)
        return ages


def scheduled_interval(
    policy: SchedulePolicy,
    watch: WatchSettings,
    first_captured_at: datetime,
    now: datetime,
    *,
    priority: bool,
) -> timedelta | None:
    """The schedule's interval (schedule time) after a look at ``now`` at an article first
    captured at ``first_captured_at``; None from ``watch.horizon_days`` of schedule time on."""
    age = (now - first_captured_at) * watch.time_scale
    if age >= timedelta(days=watch.horizon_days):
        return None
    return policy.next_check(age, priority=priority)
