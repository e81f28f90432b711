"""What the tamper-evident log costs: writing entries, sequencing them into the Merkle tree,
signing a head, and proving an entry or the consistency of two heads, at a given log size.

    .venv/bin/python bench/evidence_log.py --entries 1000000

Entries are synthetic capture entries of the real shape (about 450 bytes of JSON), written
1,000 to a transaction as the archive writer batches them, on SQLite in a temporary directory
(or --postgres URL).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from samizdat.evidence.keys import archive_key, sign_head
from samizdat.evidence.merkle import verify_consistency, verify_inclusion
from samizdat.store import open_store
from samizdat.store.log import add_log_entries


def payload(i: int) -> dict:
    return {
        "article": i,
        "version": i,
        "platform": "wechat",
        "canonical_id": f"MzA4ODUzNjAxOA==:{2671068104 + i}:1",
        "url": f"https://mp.weixin.qq.com/s?__biz=MzA4ODUzNjAxOA==&mid={2671068104 + i}&idx=1",
        "captured_at": datetime.now(UTC).isoformat(),
        "content_hash": f"{i:064x}",
        "record": {
            "file": "samizdat-20261130-00001.warc.gz",
            "offset": i * 40_000,
            "length": 39_000,
            "digest": f"sha256:{i:064x}",
            "record_id": f"<urn:uuid:{i:032x}>",
        },
        "images": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(args.postgres or f"sqlite:///{Path(directory) / 'log.db'}")
        started = time.perf_counter()
        for start in range(0, args.entries, 1000):
            with store.engine.begin() as connection:
                add_log_entries(
                    connection,
                    [("capture", None, payload(i)) for i in range(start, min(args.entries, start + 1000))],
                )
        written = time.perf_counter() - started
        started = time.perf_counter()
        while store.sequence_log():
            pass
        sequenced = time.perf_counter() - started
        key = archive_key(Path(directory))
        started = time.perf_counter()
        head = sign_head(key, args.entries, store.log_root(args.entries), datetime.now(UTC))
        signing = time.perf_counter() - started
        inclusion_times, sizes = [], []
        for seq in range(0, args.entries, max(1, args.entries // 50)):
            started = time.perf_counter()
            proof = store.inclusion(seq, args.entries)
            inclusion_times.append(time.perf_counter() - started)
            sizes.append(32 * len(proof))
            assert verify_inclusion(seq, args.entries, store.log_entry(seq).leaf, proof, head.root)
        first = args.entries // 3 + 7
        started = time.perf_counter()
        consistency = store.consistency(first, args.entries)
        consistency_time = time.perf_counter() - started
        assert verify_consistency(first, args.entries, store.log_root(first), head.root, consistency)
        print(f"entries: {args.entries:,}")
        print(f"writing with the rows: {written / args.entries * 1e6:.1f} µs an entry (1,000 a transaction)")
        print(f"sequencing into the tree: {sequenced / args.entries * 1e6:.1f} µs an entry")
        print(f"root and Ed25519 signature of a head: {signing * 1e3:.2f} ms")
        print(
            f"inclusion proof: {statistics.median(inclusion_times) * 1e3:.2f} ms median, "
            f"{max(sizes)} bytes at most ({max(sizes) // 32} hashes)"
        )
        size = 32 * len(consistency)
        took = consistency_time * 1e3
        print(f"consistency proof {first:,} → {args.entries:,}: {took:.2f} ms, {size} bytes")
        store.engine.dispose()


if __name__ == "__main__":
    main()
