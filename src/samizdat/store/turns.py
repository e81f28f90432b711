"""The per-host turns of :mod:`samizdat.fetch.turns`, kept in the database (table
``host_turns``) for workers on several machines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from samizdat.fetch.turns import MIN_WAIT, RESERVATION_GRACE, Priority


class DatabaseTurns:
    """The same turns kept in the database (table ``host_turns``), for workers on several machines.

    One statement per turn: the host's row moves on by 1 / rate only if its time has come and
    no more urgent class holds a reservation, on the database's clock (PostgreSQL's
    ``clock_timestamp()``), so workers whose clocks differ still share one rate and one order.
    SQLite serves workers on one machine and reads the clock in the statement too. A turn
    costs one round trip to the database (measured in docs/benchmarks.md).
    """

    blocking = True  # a round trip to the database: call it from a thread

    def __init__(self, rate: float, engine: Any) -> None:
        self.rate = rate
        self.engine = engine
        self._known: set[str] = set()
        # The clock is read inside each statement: the database's, shared by every machine.
        if engine.dialect.name == "postgresql":
            now = "extract(epoch FROM clock_timestamp())::float8"
        else:  # SQLite serves one machine: its clock, read when the statement runs (store/engine.py)
            now = "unix_now()"
        held = f"(NOT :aged AND :step > 0 AND reserved_until > {now} AND reserved_class < :priority)"
        # A row comes back only when the turn was free and is now ours: no ambiguity to resolve.
        self._take = text(
            f"UPDATE host_turns SET next_at = {now} + :step, requests = requests + 1, "
            "reserved_until = CASE WHEN reserved_class >= :priority THEN 0 ELSE reserved_until END "
            f"WHERE host = :host AND next_at <= {now} AND NOT {held} RETURNING next_at"
        )
        # Not ours: reserve the next turn for this class when none more urgent holds it; the
        # wait is until that turn, or until a more urgent class's reservation ends.
        reservable = f"(reserved_until <= {now} OR :priority <= reserved_class)"
        self._reserve = text(
            "UPDATE host_turns SET "
            f"reserved_class = CASE WHEN {reservable} THEN :priority ELSE reserved_class END, "
            f"reserved_until = CASE WHEN {reservable} THEN next_at + :grace ELSE reserved_until END "
            f"WHERE host = :host AND :step > 0 "
            f"RETURNING CASE WHEN {held} THEN reserved_until - {now} ELSE next_at - {now} END"
        )
        self._wait = text(f"SELECT next_at - {now} FROM host_turns WHERE host = :host")
        self._back_off = text(
            f"UPDATE host_turns SET next_at = CASE WHEN next_at > {now} + :seconds THEN next_at "
            f"ELSE {now} + :seconds END WHERE host = :host"
        )

    def _ensure(self, connection: Any, host: str) -> None:
        if host in self._known:
            return
        exists = connection.execute(
            text("SELECT 1 FROM host_turns WHERE host = :host"), {"host": host}
        ).first()
        if exists is None:
            connection.execute(
                text(
                    "INSERT INTO host_turns (host, next_at, requests, reserved_class, reserved_until) "
                    "VALUES (:host, 0, 0, 0, 0) ON CONFLICT (host) DO NOTHING"
                ),
                {"host": host},
            )
        self._known.add(host)

    def take(self, host: str, priority: Priority = Priority.CAPTURE, *, aged: bool = False) -> float:
        step = 1 / self.rate if self.rate > 0 else 0.0
        values = {"host": host, "step": step, "priority": int(priority), "aged": aged}
        with self.engine.begin() as connection:
            self._ensure(connection, host)
            if connection.execute(self._take, values).first() is not None:
                return 0.0
            wait = connection.execute(self._reserve, values | {"grace": RESERVATION_GRACE}).scalar()
            if wait is None:
                wait = connection.execute(self._wait, {"host": host}).scalar_one()
        # 0 means "the turn is yours": a turn that came free after the UPDATE is still not taken.
        return max(wait, MIN_WAIT)

    def back_off(self, host: str, seconds: float) -> None:
        with self.engine.begin() as connection:
            self._ensure(connection, host)
            connection.execute(self._back_off, {"host": host, "seconds": seconds})
