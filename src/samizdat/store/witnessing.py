"""This archive as a witness of other logs: the logs it watches, pinned to their keys, with
the last checkpoint it cosigned of each, and the alerts it raised (``evidence/witness.py``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from samizdat.store.schema import witness_alerts, witnessed_logs


class WitnessError(ValueError):
    """A log cannot be watched as asked (its checkpoint is missing, unsigned or not its key's)."""


@dataclass(frozen=True)
class WatchedLog:
    origin: str
    url: str
    vkey: str
    size: int | None
    root: bytes | None
    checkpoint: str | None
    checked_at: datetime | None


@dataclass(frozen=True)
class Alert:
    origin: str
    kind: str  # rollback, fork, inconsistent, signature
    detail: str
    evidence: dict
    raised_at: datetime


class WitnessQueries:
    engine: Engine

    def watch_log(self, origin: str, url: str, vkey: str) -> None:
        """Watch the log ``origin`` at ``url``, pinned to ``vkey`` (again: the address changes,
        what was cosigned and the key stay)."""
        with self.engine.begin() as connection:
            known = connection.scalar(select(witnessed_logs.c.vkey).where(witnessed_logs.c.origin == origin))
            if known is None:
                connection.execute(insert(witnessed_logs).values(origin=origin, url=url, vkey=vkey))
            elif known != vkey:
                raise WitnessError(
                    f"{origin} is watched pinned to another key: `samizdat witness forget {origin}` first"
                )
            else:
                connection.execute(
                    update(witnessed_logs).where(witnessed_logs.c.origin == origin).values(url=url)
                )

    def forget_log(self, origin: str) -> bool:
        with self.engine.begin() as connection:
            return bool(
                connection.execute(witnessed_logs.delete().where(witnessed_logs.c.origin == origin)).rowcount
            )

    def watched_logs(self) -> list[WatchedLog]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(witnessed_logs).order_by(witnessed_logs.c.origin)).all()
        return [WatchedLog(r.origin, r.url, r.vkey, r.size, r.root, r.checkpoint, r.checked_at) for r in rows]

    def witnessed(self, origin: str, size: int, root: bytes, note: str, at: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(witnessed_logs)
                .where(witnessed_logs.c.origin == origin)
                .values(size=size, root=root, checkpoint=note, checked_at=at)
            )

    def raise_alert(self, alert: Alert) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(witness_alerts).values(
                    origin=alert.origin,
                    kind=alert.kind,
                    detail=alert.detail,
                    evidence=json.dumps(alert.evidence, ensure_ascii=False, sort_keys=True),
                    raised_at=alert.raised_at,
                )
            )

    def witness_alerts(self, origin: str | None = None) -> list[Alert]:
        query = select(witness_alerts).order_by(witness_alerts.c.id)
        if origin is not None:
            query = query.where(witness_alerts.c.origin == origin)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [Alert(r.origin, r.kind, r.detail, json.loads(r.evidence), r.raised_at) for r in rows]
