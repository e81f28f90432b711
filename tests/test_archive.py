"""WARC writing and reading: format-exact records, durable references, tamper detection."""

import gzip
import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samizdat.archive import ArchiveRef, CorruptRecord, RecordFactory, WarcWriter, read_record, sha256_label
from samizdat.fetch import Exchange

WHEN = datetime(2023, 7, 26, 8, 0, 0, tzinfo=UTC)


def exchange(
    body: bytes = b"<html>\xe4\xb8\xad</html>", url: str = "https://mp.weixin.qq.com/s/abc"
) -> Exchange:
    return Exchange(
        url=url,
        ip="203.0.113.7",
        method="GET",
        request_headers=(("Host", "mp.weixin.qq.com"), ("User-Agent", "UA/1")),
        http_version="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=(("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked")),
        body=body,
        started_at=WHEN,
    )


def pinned_factory() -> RecordFactory:
    counter = itertools.count(1)
    return RecordFactory(
        clock=lambda: WHEN, make_id=lambda: f"<urn:uuid:00000000-0000-0000-0000-{next(counter):012d}>"
    )


def test_response_record_is_exact(tmp_path):
    response, request = pinned_factory().exchange_records(exchange())
    writer = WarcWriter(tmp_path, fsync=False, factory=pinned_factory())
    refs = writer.append([response, request])
    writer.close()
    raw = (tmp_path / refs[0].file).read_bytes()[refs[0].offset : refs[0].offset + refs[0].length]
    text = gzip.decompress(raw).decode("utf-8")
    head, _, block = text.partition("\r\n\r\n")
    assert head.splitlines()[0] == "WARC/1.1"
    assert "WARC-Type: response" in head
    assert "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>" in head
    assert "WARC-Target-URI: https://mp.weixin.qq.com/s/abc" in head
    assert "WARC-Date: 2023-07-26T08:00:00.000000Z" in head
    assert "WARC-IP-Address: 203.0.113.7" in head
    assert f"WARC-Payload-Digest: {sha256_label(exchange().body)}" in head
    assert block.startswith("HTTP/1.1 200 OK\r\n")
    assert "Transfer-Encoding" not in block  # the body is stored de-chunked
    assert block.endswith("<html>中</html>\r\n\r\n")
    assert refs[0].digest == sha256_label(exchange().body)
    assert refs[1].record_id == "<urn:uuid:00000000-0000-0000-0000-000000000002>"


def test_every_reference_reads_back_the_exact_bytes(tmp_path):
    writer = WarcWriter(tmp_path)
    bodies = [b"", b"a", "中文".encode() * 1000, bytes(range(256)) * 50]
    refs = []
    for i, body in enumerate(bodies):
        refs += writer.append(RecordFactory().exchange_records(exchange(body, f"https://x.example/{i}")))
    writer.close()
    for i, body in enumerate(bodies):
        stored = read_record(tmp_path, refs[2 * i])
        assert stored.payload == body
        assert stored.http_status == 200
        assert stored.warc_headers["WARC-Target-URI"] == f"https://x.example/{i}"


def test_warcio_check_and_index_accept_the_files(tmp_path):
    writer = WarcWriter(tmp_path)
    factory = writer.factory
    response, request = factory.exchange_records(exchange())
    metadata = factory.metadata_record(
        "https://mp.weixin.qq.com/s/abc",
        {"platform": "wechat"},
        concurrent_to=response.rec_headers["WARC-Record-ID"],
    )
    revisit = factory.revisit_record(
        exchange(),
        refers_to_uri="https://mp.weixin.qq.com/s/abc",
        refers_to_date="2023-07-26T08:00:00Z",
        refers_to_id="<urn:uuid:x>",
    )
    writer.append([response, request, metadata, revisit])
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    warcio = [sys.executable, "-m", "warcio.cli"]
    checked = subprocess.run([*warcio, "check", "-v", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("digest pass") >= 3
    indexed = subprocess.run([*warcio, "index", str(path)], capture_output=True, text=True, check=True)
    types = [line for line in indexed.stdout.splitlines() if line]
    assert len(types) == 5  # warcinfo + the four records
    assert '"warc-type": "revisit"' in indexed.stdout


def test_files_rotate_by_size_and_names_are_unique_per_writer(tmp_path):
    first = WarcWriter(tmp_path, max_bytes=2000, fsync=False)
    second = WarcWriter(tmp_path, max_bytes=2000, fsync=False)
    for i in range(10):
        # incompressible bodies, so every gzip record passes the 2000-byte limit by itself
        first.append(RecordFactory().exchange_records(exchange(os.urandom(3000), f"https://a/{i}")))
        second.append(RecordFactory().exchange_records(exchange(os.urandom(3000), f"https://b/{i}")))
    first.close()
    second.close()
    names = sorted(p.name for p in tmp_path.glob("*.warc.gz"))
    assert len(names) == 20
    assert len(set(names)) == 20
    assert all(name.startswith("samizdat-") for name in names)


def test_tampered_record_is_detected(tmp_path):
    writer = WarcWriter(tmp_path)
    ref = writer.append(RecordFactory().exchange_records(exchange(b"original evidence")))[0]
    writer.close()
    path = tmp_path / ref.file
    data = path.read_bytes()
    record = gzip.decompress(data[ref.offset : ref.offset + ref.length]).replace(b"original", b"doctored")
    forged = gzip.compress(record)
    path.write_bytes(data[: ref.offset] + forged + data[ref.offset + ref.length :])
    forged_ref = ArchiveRef(ref.file, ref.offset, len(forged), ref.digest, ref.record_id)
    with pytest.raises(CorruptRecord, match="digest"):
        read_record(tmp_path, forged_ref)


def test_torn_or_missing_record_is_detected(tmp_path):
    writer = WarcWriter(tmp_path)
    ref = writer.append(RecordFactory().exchange_records(exchange()))[0]
    writer.close()
    torn = ArchiveRef(ref.file, ref.offset, ref.length + 100_000, ref.digest, ref.record_id)
    with pytest.raises(CorruptRecord, match="torn"):
        read_record(tmp_path, torn)
    with pytest.raises(CorruptRecord):
        read_record(tmp_path, ArchiveRef("missing.warc.gz", 0, 10, ref.digest, ref.record_id))
    with pytest.raises(CorruptRecord, match="refusing"):
        read_record(tmp_path, ArchiveRef("../../etc/passwd", 0, 10, ref.digest, ref.record_id))


@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=5000), path=st.text(alphabet="abcxyz/中文-_", max_size=30))
def test_write_read_round_trip(tmp_path_factory, body, path):
    directory = tmp_path_factory.mktemp("warc")
    writer = WarcWriter(directory, fsync=False)
    url = "https://example.org/" + path
    refs = writer.append(RecordFactory().exchange_records(exchange(body, url)))
    writer.close()
    stored = read_record(directory, refs[0])
    assert stored.payload == body
    assert stored.ref.digest == sha256_label(body)


def test_read_record_needs_the_directory_it_was_written_to(tmp_path):
    writer = WarcWriter(tmp_path / "a")
    ref = writer.append(RecordFactory().exchange_records(exchange()))[0]
    writer.close()
    with pytest.raises(CorruptRecord):
        read_record(Path(tmp_path / "b"), ref)


def test_a_record_rewritten_with_its_own_digests_is_caught_by_the_database_s(tmp_path):
    """A forger who changes the payload and rewrites WARC-Payload-Digest and WARC-Block-Digest to
    match makes a record that agrees with itself: the digest the database holds still tells."""
    writer = WarcWriter(tmp_path)
    ref = writer.append(RecordFactory().exchange_records(exchange(b"original evidence")))[0]
    writer.close()
    path = tmp_path / ref.file
    data = path.read_bytes()
    record = gzip.decompress(data[ref.offset : ref.offset + ref.length])
    head, block = record.split(b"\r\n\r\n", 1)
    block = block[: -len(b"\r\n\r\n")].replace(b"original", b"doctored")
    _, payload = block.split(b"\r\n\r\n", 1)
    head = head.replace(ref.digest.encode(), sha256_label(payload).encode())
    lines = [
        f"WARC-Block-Digest: {sha256_label(block)}".encode()
        if line.startswith(b"WARC-Block-Digest")
        else line
        for line in head.split(b"\r\n")
    ]
    forged = gzip.compress(b"\r\n".join(lines) + b"\r\n\r\n" + block + b"\r\n\r\n")
    path.write_bytes(data[: ref.offset] + forged + data[ref.offset + ref.length :])
    forged_ref = ArchiveRef(ref.file, ref.offset, len(forged), ref.digest, ref.record_id)
    with pytest.raises(CorruptRecord, match="the database"):
        read_record(tmp_path, forged_ref)
    # A changed byte under the old headers fails on the digests, as it always did.
    bad_block = gzip.compress(record.replace(b"original", b"doctored"))
    path.write_bytes(data[: ref.offset] + bad_block + data[ref.offset + ref.length :])
    with pytest.raises(CorruptRecord, match="digest"):
        read_record(tmp_path, ArchiveRef(ref.file, ref.offset, len(bad_block), ref.digest, ref.record_id))
