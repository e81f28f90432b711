"""When a source is worth polling: from what its polls have shown of its publishing.

A poll is the first sight of what a source publishes. Polled too rarely, an article removed
soon after it was published is lost; polled too often, the requests come out of the host's
budget for the checks that find removals, and a source that publishes once a day gains
nothing from being asked every quarter of an hour. So each source's polls follow its own
publishing, in schedule time (``watch.time_scale``):

- **Its rate, by hour of the day.** WeChat accounts publish in pushes, a few times a day, at
  hours of their own. Each poll that finds new entries notes when (:class:`Publishing`); the
  entries expected in an hour of the day are those found in that hour (spread a little over
  its neighbours) per day watched, with a prior of ``PRIOR_PER_DAY`` entries a day spread
  evenly, weighing as much as ``PRIOR_DAYS`` days of watching: a new source is polled as one
  that publishes daily, and its own record takes over as it grows. Finds older than
  ``MEMORY_DAYS`` are forgotten, so a source that falls silent backs off.
- **Worth a check's turn.** A poll goes ahead of the host's checks (``Priority.POLL``) once the
  entries expected since the last poll reach ``WORTH``: a fifth of an article, so a new source
  is polled every five hours or so (of real removals, 4 % come within three hours of
  publication, 11 % within seven: a first sight is worth more than a routine check). Before
  that, from the source's floor on (its own interval, ``samizdat source add --interval``), it
  may go with what the checks leave (``Priority.SPARE``), so an idle host still polls at the
  floor.
- **Just published: floor.** Pushes come in bursts and a new entry is the one most at risk, so
  a poll that found new entries is followed by another at the floor.
- **Never further apart than the ceiling** (``watch.poll_ceiling_seconds``): a source that
  wakes after a long silence waits at most that long for its first sight. Such a poll expects
  little, so it waits in line with the routine checks (``Priority.ROUTINE``) instead of going
  ahead of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

HOUR = 3600.0
DAY = 86_400.0
PRIOR_PER_DAY = 1.0  # entries a day a source is taken to publish before it has shown its own rate
PRIOR_DAYS = 1.0  # how much that belief weighs, in days of watching
MEMORY_DAYS = 28.0  # finds older than this are forgotten
MAX_FINDS = 200  # finds remembered per source
WORTH = 0.2  # entries expected since the last poll for which a poll displaces a check
# A find counts in its hour of the day and, less, in the hours beside it: a source that
# published at 9:50 yesterday may publish at 10:10 today.
SPREAD = (0.25, 0.5, 0.25)


def schedule_clock(moment: datetime, time_scale: float) -> float:
    """``moment`` on the schedule's clock (seconds): the same as the wall clock at ``time_scale`` 1,
    and as many schedule days per real day as the scale says otherwise (hours of the day included)."""
    return moment.timestamp() * time_scale


def from_schedule_clock(seconds: float, time_scale: float) -> datetime:
    return datetime.fromtimestamp(seconds / time_scale, UTC)


@dataclass(frozen=True)
class Publishing:
    """What a source's polls have shown: since when it is watched, and when new entries came
    (schedule clock, seconds), with how many."""

    since: float | None = None
    finds: tuple[tuple[float, int], ...] = field(default=())
    # The next poll is due because the ceiling came, not because an entry is expected by then.
    expects_little: bool = False

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Publishing:
        if not value:
            return cls()
        finds = tuple((float(at), int(n)) for at, n in value.get("finds", ()))
        return cls(value.get("since"), finds, bool(value.get("expects_little")))

    def to_json(self) -> dict[str, Any]:
        finds = [[round(at, 3), n] for at, n in self.finds]
        return {"since": self.since, "finds": finds, "expects_little": self.expects_little}

    def polled(self, at: float, new_entries: int) -> Publishing:
        """After a poll at ``at`` that found ``new_entries`` (the first poll's entries were
        there before the source was watched: they say nothing of its rate)."""
        if self.since is None:
            return Publishing(at)
        finds = [(when, n) for when, n in self.finds if at - when <= MEMORY_DAYS * DAY]
        if new_entries:
            finds.append((at, new_entries))
        return Publishing(self.since, tuple(finds[-MAX_FINDS:]))

    def hourly(self, at: float) -> list[float]:
        """Entries expected in each hour of the day (UTC on the schedule's clock), as of ``at``."""
        watched = min(MEMORY_DAYS, max(0.0, at - (self.since if self.since is not None else at)) / DAY)
        counts = [PRIOR_PER_DAY * PRIOR_DAYS / 24] * 24
        for when, n in self.finds:
            hour = int(when % DAY // HOUR)
            for offset, weight in zip((-1, 0, 1), SPREAD, strict=True):
                counts[(hour + offset) % 24] += n * weight
        return [count / (watched + PRIOR_DAYS) for count in counts]

    def per_day(self, at: float) -> float:
        """Entries expected a day, as of ``at``."""
        return sum(self.hourly(at))

    def worth_polling_at(
        self, last_poll: float, *, found: bool, floor: float, ceiling: float
    ) -> tuple[float, bool]:
        """When the next poll after one at ``last_poll`` is due (schedule clock): at the floor
        after a poll that ``found`` new entries, else once ``WORTH`` entries are expected,
        between the floor and the ceiling; and whether it was the ceiling that set it."""
        floor = min(floor, ceiling)
        if found:
            return last_poll + floor, False
        hourly = self.hourly(last_poll)
        total, moment, end = 0.0, last_poll, last_poll + ceiling
        while moment < end:
            boundary = min(end, (math.floor(moment / HOUR) + 1) * HOUR)
            rate = hourly[int(moment % DAY // HOUR)] / HOUR
            if rate > 0 and total + rate * (boundary - moment) >= WORTH:
                return max(last_poll + floor, moment + (WORTH - total) / rate), False
            total += rate * (boundary - moment)
            moment = boundary
        return end, True


def next_poll(
    publishing: Publishing,
    *,
    polled_at: datetime,
    new_entries: int,
    floor_seconds: float,
    ceiling_seconds: float,
    time_scale: float,
) -> tuple[Publishing, datetime]:
    """The source's record after a poll at ``polled_at``, and when its next poll is due."""
    at = schedule_clock(polled_at, time_scale)
    first = publishing.since is None
    updated = publishing.polled(at, new_entries)
    due, by_ceiling = updated.worth_polling_at(
        at, found=bool(new_entries) and not first, floor=floor_seconds, ceiling=ceiling_seconds
    )
    return replace(updated, expects_little=by_ceiling), polled_at + timedelta(seconds=(due - at) / time_scale)
