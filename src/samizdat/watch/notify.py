"""Tell the operator's systems when an article is removed, edited or back: webhooks and Apprise.

A check that declares a removal, a return or an edit writes a notification into the outbox
(the ``notifications`` table) in the same transaction as the check itself, so a crash loses
none. The watcher delivers them: each is POSTed as JSON to every configured webhook
(``notify.webhooks``) with its ``id`` in the body and in an ``Idempotency-Key`` header, and
sent through Apprise when ``notify.apprise`` lists Apprise URLs (an optional install).
Delivery is at least once: a receiver may see the same ``id`` twice (after a crash between
its answer and our note of it) and should keep the first. A failed delivery is tried again
with doubling back-off (``notify.attempts`` times in all), skipping the targets that took it,
then given up and logged. Webhook URLs are the operator's own, so they may point into a
private network, unlike the URLs being watched. With no target configured, what is pending
is marked given up rather than kept to flood a target added later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import httpx

from samizdat.config import ConfigError, NotifySettings
from samizdat.fetch.client import asyncio_transport
from samizdat.fetch.safety import Resolve
from samizdat.pools import Pools
from samizdat.store import PendingNotification, Store
from samizdat.watch.loop import first_of

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # the outbox is read at least this often (and at once when a check adds to it)
BATCH = 50
APPRISE = "apprise"  # the target name of Apprise deliveries in the outbox


@dataclass(frozen=True)
class Event:
    """What a receiver gets (the JSON body of a webhook POST)."""

    id: str  # the idempotency key: the same on every delivery of this event
    kind: str  # "removed", "edited" or "restored"
    article_id: int
    outcome: str
    message: str | None
    url: str | None
    title: str | None
    account: str | None
    at: str  # ISO 8601 with offset: when it was detected

    @classmethod
    def of(cls, pending: PendingNotification) -> Event:
        return cls(
            pending.key,
            pending.kind,
            pending.article_id,
            pending.outcome,
            pending.message,
            pending.url,
            pending.title,
            pending.account,
            pending.detected_at.isoformat(),
        )

    def summary(self) -> str:
        detail = f"{self.outcome}: {self.message}" if self.message else self.outcome
        return f"{self.kind}: {self.title or self.url} ({detail})"


class Notifier:
    """``await notifier.run(stop)`` delivers what the outbox holds until ``stop`` is set;
    ``wake()`` says something was just added."""

    def __init__(
        self,
        settings: NotifySettings,
        store: Store,
        *,
        worker: str,
        pools: Pools,
        resolver: Resolve,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.worker = worker
        self.pools = pools
        self._client = httpx.AsyncClient(
            timeout=settings.timeout,
            transport=transport or asyncio_transport(resolver=resolver),
            trust_env=False,
        )
        self._apprise = _apprise(settings.apprise) if settings.apprise else None
        self._added = asyncio.Event()
        self.delivered = 0
        self.failed = 0

    @property
    def targets(self) -> tuple[str, ...]:
        return self.settings.webhooks + ((APPRISE,) if self._apprise else ())

    def wake(self) -> None:
        self._added.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                self._added.clear()
                if self.targets:
                    taken = await self.pools.store.run(
                        self.store.take_notifications,
                        datetime.now(UTC),
                        BATCH,
                        worker=self.worker,
                        lease=self._lease(),
                    )
                    await asyncio.gather(*(self._deliver(pending) for pending in taken))
                    if len(taken) == BATCH:
                        continue
                    timeout: float | None = POLL_SECONDS
                else:
                    await self.pools.store.run(
                        self.store.drop_notifications, datetime.now(UTC), "no notification target configured"
                    )
                    timeout = None  # until something is added
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await first_of(stop.wait(), self._added.wait())
        finally:
            await self._client.aclose()

    def _lease(self) -> timedelta:
        # Real seconds, as the back-off below: these waits are the operator's own systems',
        # never the watched platform's, so the schedule's time scale does not apply.
        return timedelta(seconds=2 * self.settings.timeout * max(1, len(self.targets)))

    async def _deliver(self, pending: PendingNotification) -> None:
        event = Event.of(pending)
        delivered = set(pending.delivered_to)
        errors = []
        for target in self.targets:
            if target in delivered:
                continue
            try:
                await self._send(event, target)
                delivered.add(target)
            except (httpx.HTTPError, RuntimeError) as exc:
                errors.append(f"{target}: {exc}")
        attempt = pending.attempts + 1
        error = "; ".join(errors) or None
        retry_at = None
        if error is None:
            self.delivered += 1
        elif attempt >= self.settings.attempts:
            self.failed += 1
            log.warning(
                "gave up notifying of article %d after %d attempts: %s", event.article_id, attempt, error
            )
        else:
            delay = self.settings.backoff_seconds * 2 ** (attempt - 1)
            retry_at = datetime.now(UTC) + timedelta(seconds=delay)
            log.info(
                "notifying of article %d failed (%s); trying again in %.1f s", event.article_id, error, delay
            )
        await self.pools.store.run(
            self.store.notification_tried,
            pending.id,
            datetime.now(UTC),
            delivered_to=sorted(delivered),
            error=error,
            retry_at=retry_at,
        )

    async def _send(self, event: Event, target: str) -> None:
        if target == APPRISE:
            sent = await self.pools.outside.run(self._apprise.notify, title="samizdat", body=event.summary())
            if not sent:
                raise RuntimeError("Apprise could not deliver to any of its URLs")
            return
        response = await self._client.post(
            target,
            content=json.dumps(asdict(event), ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": event.id},
        )
        response.raise_for_status()


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
