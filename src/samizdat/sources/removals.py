"""Read a removal dataset: a CSV of articles others saw removed (title, account, publication
date, removal time, the notice's message), such as the Wechatscope monitor's
(``src/samizdat/testing/pages/removals``). Imported, its rows sit beside the archive's own removals so the
statistics can be compared with published figures.

Columns are found by name, in any order, under the names the known datasets use. A file
that lacks one, or a row whose dates do not read, is refused with the line and the reason:
nothing is imported from a file that does not read whole.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

# Each field and the column names it may go by (the first present wins).
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "account": ("nickname", "account", "account_name"),
    "published": ("created_at", "published_at", "published", "publish_date"),
    "removed": ("censored_date", "removed_at", "detected_at", "deleted_at"),
    "message": ("censored_msg", "message", "removal_message", "notice"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "key": ("archive", "url", "id", "key"),
}
# Wechatscope's archive names: <account id>_<publication date>_<message id>_<token>.<suffixes>
_ARCHIVE_NAME = re.compile(r"^(gh_[0-9a-f]+)_\d{4}-\d{2}-\d{2}_(\d+)_([A-Za-z0-9]+)")


class RemovalDatasetError(ValueError):
    """The file is not a removal dataset samizdat can read; the message says where and why."""


@dataclass(frozen=True)
class RemovalRow:
    line: int
    key: str  # the row's identity within the dataset
    title: str
    account: str | None
    account_id: str | None
    published_at: datetime
    published_precision: str  # "day" when the dataset gives a date, "second" for a time
    removed_at: datetime
    message: str


def read_removals(path: Path, *, tz: timezone) -> Iterator[RemovalRow]:
    """The rows of ``path`` (CSV, or CSV.gz), times read in ``tz`` when they carry no offset."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise RemovalDatasetError(
                f"{path}: looks gzip-compressed but does not decompress ({exc})"
            ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise RemovalDatasetError(
                f"{path}: line {line} is neither UTF-8 nor GBK/GB18030 text (byte {raw[exc.start]:#04x});"
                " save the file as UTF-8"
            ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    chosen = {field: _column(header, names) for field, names in (COLUMNS | OPTIONAL_COLUMNS).items()}
    missing = [f"{field} ({' or '.join(COLUMNS[field])})" for field in COLUMNS if chosen[field] is None]
    if missing:
        raise RemovalDatasetError(
            f"{path}: no column for {', '.join(missing)}; the header is {', '.join(header) or '(empty)'}"
        )
    seen: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        values = {name.strip().lower(): (value or "").strip() for name, value in row.items() if name}
        field = {name: values.get(column or "", "") for name, column in chosen.items()}
        published, precision = _when(field["published"], tz, path, number, "publication date")
        removed, _ = _when(field["removed"], tz, path, number, "removal time")
        key = field["key"] or f"line-{number}"
        # A dataset may list one article twice (two messages seen): each row stays a record.
        seen[key] = seen.get(key, 0) + 1
        identity = key if seen[key] == 1 else f"{key}~{seen[key]}"
        archive = _ARCHIVE_NAME.match(Path(key).name)
        yield RemovalRow(
            line=number,
            key=identity,
            title=field["title"],
            account=field["account"] or None,
            account_id=archive.group(1) if archive else None,
            published_at=published,
            published_precision=precision,
            removed_at=removed,
            message=field["message"],
        )


def parse_offset(value: str) -> timezone:
    """``+08:00``, ``-0500``, ``UTC``, or hours (``8``) as a fixed UTC offset.

    >>> [str(parse_offset(v)) for v in ("+08:00", "8", "-0530", "UTC")]
    ['UTC+08:00', 'UTC+08:00', 'UTC-05:30', 'UTC']
    """
    text = value.strip().upper()
    if text in ("UTC", "Z", "0", "+00:00"):
        return UTC
    match = re.fullmatch(r"([+-]?)(\d{1,2})(?::?(\d{2}))?", text)
    if match is None or int(match.group(2)) > 14:
        raise RemovalDatasetError(f"{value!r} is not a UTC offset; write it as +08:00, -05:00 or UTC")
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0)))


def _column(header: list[str], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in header), None)


def _when(value: str, tz: timezone, path: Path, line: int, what: str) -> tuple[datetime, str]:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RemovalDatasetError(
            f"{path}, line {line}: the {what} {value!r} is not a date (YYYY-MM-DD)"
            " or a time (YYYY-MM-DD HH:MM:SS)"
        ) from None
    precision = "day" if len(value) <= 10 else "second"
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)), precision
