"""First-sight capture with the background image reader on and off, and its OCR throughput.

Usage: python bench/capture_with_ocr.py [--copies 20] [--runs 2] [--share 0.25] [--backlog 40]

Starts ``samizdat simulate --pictures`` in its own process: every image of every article is a
screenshot with two lines of real article text (samizdat/testing/pictures.py), each copy of a
saved page with pictures of its own. Then, alternately (off, on, off, on, …), captures every
article into an empty archive as ``samizdat capture --workers N`` does, with ``--on`` runs
also running the watcher's image reader (watch/pictures.py: a process at nice 10 using at
most ``--share`` of one core, reading hashes and text) from before the first capture to
after the last. Reports articles per second for each run, the median of each mode and their
ratio (goal: within 10 %), what the reader read meanwhile, and then the OCR throughput of the
backlog left (``--backlog`` images read by ``read_backlog`` in this process, one engine with
every core): images per minute. A first capture, not counted, lets the simulator draw and
compress everything once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

from capture_throughput import capture, simulator_settings
from samizdat.archive.storage import warc_storage
from samizdat.config import ImageSettings, Settings
from samizdat.store import open_archive
from samizdat.testing.process import simulator_process
from samizdat.watch.pictures import read_backlog, reading_process


def one_run(urls: list[str], directory: Path, base: str, args, *, ocr: bool) -> tuple[float, int, Settings]:
    settings = simulator_settings(directory, base, args.concurrency)
    settings = replace(settings, images=ImageSettings(cpu_share=args.share))
    open_archive(settings).engine.dispose()
    reader = reading_process(settings) if ocr else None
    if reader:
        reader.start()
    try:
        seconds, _ = capture(urls, settings, args.workers)
    finally:
        if reader:
            reader.stop()
    return seconds, reader.done if reader else 0, settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20, help="copies of each of the 14 sample articles")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight, all workers together")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="capture processes")
    parser.add_argument("--runs", type=int, default=2, help="runs of each mode, alternated")
    parser.add_argument("--share", type=float, default=0.25, help="the reader's share of one core")
    parser.add_argument("--backlog", type=int, default=40, help="images read for the throughput figure")
    args = parser.parse_args()
    process, base = simulator_process(["--copies", str(args.copies), "--pictures"])
    rates: dict[bool, list[float]] = {False: [], True: []}
    try:
        urls = httpx.get(f"{base}/urls.txt").text.split()
        with tempfile.TemporaryDirectory() as directory:  # the simulator draws and compresses all once
            seconds, _, _ = one_run(urls, Path(directory), base, args, ocr=False)
            print(f"warm-up: {len(urls)} articles in {seconds:.1f} s (not counted)", flush=True)
        for _ in range(args.runs):
            for ocr in (False, True):
                with tempfile.TemporaryDirectory() as directory:
                    seconds, read, settings = one_run(urls, Path(directory), base, args, ocr=ocr)
                    rates[ocr].append(len(urls) / seconds)
                    store = open_archive(settings)
                    images = store.backlog(text=True)
                    print(
                        f"OCR {'on ' if ocr else 'off'}: {len(urls)} articles in {seconds:6.1f} s = "
                        f"{len(urls) / seconds:6.2f} articles/s"
                        + (f"; the reader read {read} images meanwhile" if ocr else "")
                        + f"; images not read (or not for their text) at the end: {images}",
                        flush=True,
                    )
                    if ocr and len(rates[True]) == args.runs:
                        started = time.perf_counter()
                        report = read_backlog(store, warc_storage(settings), text=True, limit=args.backlog)
                        wall = time.perf_counter() - started
                    store.engine.dispose()
    finally:
        process.terminate()
        process.wait()
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"articles: {len(urls)}, {args.workers} capture processes, {args.concurrency} in flight")
    print(f"median capture rate: OCR off {off:.2f}/s, OCR on {on:.2f}/s, on/off {on / off:.3f}")
    print(
        f"backlog: {report.read} images read in {wall:.1f} s ({report.read / wall * 60:.1f} images/min; "
        f"{report.text_read} by OCR at {report.text_read / report.seconds_reading_text * 60:.1f}/min "
        f"of OCR time), {report.with_text} with text"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
