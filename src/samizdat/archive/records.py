"""Build WARC 1.1 records from fetched exchanges (building is kept apart from writing).

Digests are SHA-256 (``sha256:`` + base32, as WARC 1.1 allows) and are computed here, so
the same digest names the record in the WARC file and in the database.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from io import BytesIO
from typing import TYPE_CHECKING

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

if TYPE_CHECKING:
    from samizdat.fetch import Exchange

WARC_VERSION = "WARC/1.1"
# A field of our own (WARC 1.1 allows them; the WARC- names are the standard's): the way out a
# request went by.
EGRESS_FIELD = "Samizdat-Egress"
# The body is stored de-chunked, so a Transfer-Encoding header would misdescribe it.
_HOP_BY_HOP = frozenset({"transfer-encoding"})


def sha256_label(data: bytes) -> str:
    """WARC digest label of ``data``.

    >>> sha256_label(b"")
    'sha256:4OYMIQUY7QOBJGX36TEJS35ZEQT24QPEMSNZGTFESWMRW6CSXBKQ===='
    """
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


class RecordFactory(RecordBuilder):
    """warcio's builder with an injectable clock and id source, so tests can pin exact bytes."""

    def __init__(self, *, clock=None, make_id=None) -> None:
        super().__init__(warc_version=WARC_VERSION)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._make_id_fn = make_id or (lambda: f"<urn:uuid:{uuid.uuid4()}>")

    def _make_warc_id(self) -> str:
        return self._make_id_fn()

    def curr_warc_date(self) -> str:
        return warc_date(self._clock())

    def exchange_records(self, exchange: Exchange) -> tuple[ArcWarcRecord, ArcWarcRecord]:
        """The (response, request) pair of one exchange, response first as crawlers write it."""
        date = warc_date(exchange.started_at)
        response_headers = [(k, v) for k, v in exchange.response_headers if k.lower() not in _HOP_BY_HOP]
        http_headers = StatusAndHeaders(
            f"{exchange.status} {exchange.reason}".strip(), response_headers, protocol="HTTP/1.1"
        )
        warc_headers = {"WARC-Date": date, "WARC-Protocol": _protocol(exchange.http_version)}
        if exchange.ip:
            warc_headers["WARC-IP-Address"] = exchange.ip
        response = self._record(exchange.url, "response", exchange.body, http_headers, warc_headers)
        import httpx  # only writers get here: readers of the archive need not load the HTTP client

        path = httpx.URL(exchange.url).raw_path.decode("ascii")
        request_headers = StatusAndHeaders(
            f"{exchange.method} {path}",
            list(exchange.request_headers),
            protocol="HTTP/1.1",
            is_http_request=True,
        )
        request = self._record(
            exchange.url,
            "request",
            b"",
            request_headers,
            {
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers["WARC-Record-ID"],
                # From where it was fetched: the machine's own address, another of its
                # addresses, or a proxy (fetch/egress.py; never its credentials).
                EGRESS_FIELD: exchange.egress,
            },
        )
        return response, request

    def records_of(self, exchanges: Sequence[Exchange]) -> list[ArcWarcRecord]:
        """The records of a fetch's exchanges (its redirects, then its final answer), in order."""
        return [record for exchange in exchanges for record in self.exchange_records(exchange)]

    def revisit_record(
        self, exchange: Exchange, *, refers_to_uri: str, refers_to_date: str, refers_to_id: str
    ) -> ArcWarcRecord:
        """A response whose payload is already archived: headers kept, body replaced by a pointer."""
        response_headers = [(k, v) for k, v in exchange.response_headers if k.lower() not in _HOP_BY_HOP]
        http_headers = StatusAndHeaders(
            f"{exchange.status} {exchange.reason}".strip(), response_headers, protocol="HTTP/1.1"
        )
        record = self.create_revisit_record(
            exchange.url,
            sha256_label(exchange.body),
            refers_to_uri,
            refers_to_date,
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": warc_date(exchange.started_at)},
        )
        record.rec_headers.add_header("WARC-Refers-To", refers_to_id)
        if exchange.ip:
            record.rec_headers.add_header("WARC-IP-Address", exchange.ip)
        self._set_block_digest(record, b"")
        return record

    def metadata_record(
        self, uri: str, fields: Mapping[str, str], *, concurrent_to: str | None = None
    ) -> ArcWarcRecord:
        body = "".join(f"{k}: {_one_line(v)}\r\n" for k, v in fields.items() if v).encode("utf-8")
        warc_headers = {"WARC-Date": self.curr_warc_date()}
        if concurrent_to:
            warc_headers["WARC-Concurrent-To"] = concurrent_to
        return self._record(uri, "metadata", body, None, warc_headers)

    def warcinfo_record(self, filename: str, info: Mapping[str, str]) -> ArcWarcRecord:
        record = self.create_warcinfo_record(filename, dict(info))
        self.ensure_digest(record, block=True, payload=False)
        return record

    def _record(
        self,
        uri: str,
        record_type: str,
        payload: bytes,
        http_headers: StatusAndHeaders | None,
        warc_headers: Mapping[str, str],
    ) -> ArcWarcRecord:
        record = self.create_warc_record(
            uri,
            record_type,
            payload=BytesIO(payload),
            length=len(payload),
            http_headers=http_headers,
            warc_headers_dict=dict(warc_headers),
        )
        if record_type in ("response", "request", "resource"):
            record.rec_headers.replace_header("WARC-Payload-Digest", sha256_label(payload))
        self._set_block_digest(record, payload)
        return record

    def _set_block_digest(self, record: ArcWarcRecord, payload: bytes) -> None:
        head = b""
        if record.http_headers is not None:
            record.http_headers.compute_headers_buffer(self.header_filter)
            head = record.http_headers.headers_buff
        record.rec_headers.replace_header("WARC-Block-Digest", sha256_label(head + payload))
        record.length = len(head) + len(payload)
        record.rec_headers.replace_header("Content-Length", str(record.length))


def record_id(record: ArcWarcRecord) -> str:
    return record.rec_headers.get_header("WARC-Record-ID")


def warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _protocol(http_version: str) -> str:
    return {"HTTP/2": "h2", "HTTP/1.1": "http/1.1", "HTTP/1.0": "http/1.0"}.get(
        http_version, http_version.lower()
    )


def _one_line(value: str) -> str:
    return " ".join(str(value).split())
