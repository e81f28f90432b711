"""Tell the operator's systems when an article is removed, edited or back: webhooks and Apprise.

Each event is POSTed as JSON to every configured webhook (``notify.webhooks``) and, when
``notify.apprise`` lists Apprise URLs, sent through Apprise (an optional install). Delivery
runs beside the checks and never slows them; a failed delivery is retried with doubling
back-off (``notify.attempts`` times in all), then logged and dropped. Webhook URLs are the
operator's own, so they may point into a private network, unlike the URLs being watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import asdict, dataclass

import httpx

from samizdat.config import ConfigError, NotifySettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    kind: str  # "removed", "edited" or "restored"
    article_id: int
    outcome: str
    message: str
    url: str | None
    title: str | None
    account: str | None
    at: str  # ISO 8601 with offset: when it was detected

    def summary(self) -> str:
        detail = f"{self.outcome}: {self.message}" if self.message else self.outcome
        return f"{self.kind}: {self.title or self.url} ({detail})"


class Notifier:
    """``notifier.send(event)`` queues; ``await notifier.run()`` delivers until ``aclose``."""

    def __init__(
        self, settings: NotifySettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._client = httpx.AsyncClient(timeout=settings.timeout, transport=transport, trust_env=False)
        self._apprise = _apprise(settings.apprise) if settings.apprise else None
        self.delivered = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return bool(self.settings.webhooks or self._apprise)

    def send(self, event: Event) -> None:
        if self.enabled:
            self._queue.put_nowait(event)

    async def run(self) -> None:
        while (event := await self._queue.get()) is not None:
            await asyncio.gather(
                *(self._deliver(event, webhook) for webhook in self.settings.webhooks),
                *([self._deliver(event, None)] if self._apprise else []),
            )

    async def aclose(self, drain_seconds: float = 10.0) -> None:
        """Deliver what is queued (for at most ``drain_seconds``), then stop."""
        self._queue.put_nowait(None)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_seconds):
                while not self._queue.empty():
                    await asyncio.sleep(0.05)
        await self._client.aclose()

    async def _deliver(self, event: Event, webhook: str | None) -> None:
        delay = self.settings.backoff_seconds
        for attempt in range(1, self.settings.attempts + 1):
            try:
                if webhook is not None:
                    response = await self._client.post(
                        webhook,
                        content=json.dumps(asdict(event), ensure_ascii=False).encode("utf-8"),
                        headers={"Content-Type": "application/json; charset=utf-8"},
                    )
                    response.raise_for_status()
                else:
                    sent = await asyncio.to_thread(
                        self._apprise.notify, title="samizdat", body=event.summary()
                    )
                    if not sent:
                        raise RuntimeError("Apprise could not deliver to any of its URLs")
                self.delivered += 1
                return
            except (httpx.HTTPError, RuntimeError) as exc:
                target = webhook or "apprise"
                if attempt == self.settings.attempts:
                    self.failed += 1
                    log.warning("gave up notifying %s of article %d: %s", target, event.article_id, exc)
                    return
                log.info("notifying %s failed (%s); retrying in %.1f s", target, exc, delay)
                await asyncio.sleep(delay)
                delay *= 2


def _apprise(urls: tuple[str, ...]):
    try:
        import apprise
    except ImportError:
        raise ConfigError(
            "notify.apprise is set but Apprise is not installed: pip install apprise "
            "(or remove notify.apprise and use notify.webhooks)"
        ) from None
    client = apprise.Apprise()
    for url in urls:
        if not client.add(url):
            raise ConfigError(f"notify.apprise: Apprise does not understand {url!r}")
    return client
