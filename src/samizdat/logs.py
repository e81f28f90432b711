"""Logs for people and for collectors: ``log.format = "text"`` (a line each, readable) or
``"json"`` (one JSON object a line: time, level, logger, event name and its fields), on
standard error. What happened is logged as a named event with fields, so a collector can
count removals, polls and back-offs without parsing sentences."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from samizdat.config import LogSettings

# Attributes every LogRecord has; anything else on a record is an event field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "event"}


def event(
    logger: logging.Logger, name: str, message: str, *, level: int = logging.INFO, **fields: Any
) -> None:
    """Log ``message`` as the event ``name`` with ``fields`` (kept apart from the text)."""
    if logger.isEnabledFor(level):  # polls are logged at debug many times a second
        logger.log(level, message, extra={"event": name, **fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None),
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = {"event": getattr(record, "event", None), **_fields(record)}
        return super().format(record) + "".join(
            f" {key}={value}" for key, value in fields.items() if value is not None
        )


class _StandardError(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (it may be replaced meanwhile)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(settings: LogSettings) -> None:
    """Send samizdat's logs to standard error in the configured format and level."""
    handler = _StandardError()
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    logger = logging.getLogger("samizdat")
    logger.handlers[:] = [handler]
    logger.setLevel(settings.level.upper())
