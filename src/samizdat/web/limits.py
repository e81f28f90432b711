"""A per-client rate limit for search, the one public request whose cost a visitor chooses.

A token bucket per client address: ``burst`` searches at once, then ``per_minute`` a minute.
Buckets of clients not seen for a while are forgotten, oldest first, so a flood of addresses
cannot grow the table past :data:`MAX_CLIENTS`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

MAX_CLIENTS = 100_000


class RateLimiter:
    def __init__(self, per_minute: float, burst: int, *, clock=time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)
        self._lock = threading.Lock()

    def wait_for(self, client: str) -> float:
        """0 when ``client`` may search now (a token is taken), else the seconds until it may.

        >>> t = [0.0]
        >>> limit = RateLimiter(per_minute=60, burst=2, clock=lambda: t[0])
        >>> [limit.wait_for("a") for _ in range(3)], limit.wait_for("b")
        ([0.0, 0.0, 1.0], 0.0)
        >>> t[0] = 1.0; limit.wait_for("a")
        0.0
        """
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                tokens -= 1
                wait = 0.0
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
            return wait
