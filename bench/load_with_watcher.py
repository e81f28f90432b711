"""The site under sustained load while the watcher re-checks the archive it serves.

Usage: python bench/load_with_watcher.py [--copies 30] [--minutes 10] [--connections 50]

The simulator serves 14 × COPIES articles; ``samizdat capture`` archives them; then
``samizdat watch`` re-checks them in fast time (an hour a second) and ``samizdat serve``
(uvicorn, two processes, the search limit off) answers wrk: 50 connections for MINUTES,
article pages nine times in ten, searches the tenth. Reported: wrk's requests/s, latency,
non-2xx answers and socket errors; the articles the watcher re-checked meanwhile; the server's
memory (resident, all its processes) sampled every 10 s, first minute against last.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select

from samizdat.store import open_store
from samizdat.store.schema import articles
from samizdat.testing import WECHAT_PAGES, Simulator
from samizdat.testing.crashes import config_file
from site_load import serve

FIXTURES = WECHAT_PAGES
SEARCHES = ("北约", "峰会", "中国", "新闻", "公交", "医生", "美国", "检察院")


def resident_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its children (uvicorn's workers), in KiB."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
        pids += [int(c) for c in children]
    return total


def checked_since(data: Path, moment: datetime) -> int:
    """Articles the watcher found alive since ``moment`` (an unchanged page stores no check row)."""
    store = open_store(f"sqlite:///{data / 'samizdat.db'}")
    try:
        with store.engine.connect() as connection:
            return connection.scalar(select(func.count()).where(articles.c.last_seen_alive_at >= moment))
    finally:
        store.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--connections", type=int, default=50)
    options = parser.parse_args()
    cli = [sys.executable, "-c", "from samizdat.cli import app; app()"]
    with tempfile.TemporaryDirectory() as directory, Simulator(FIXTURES, copies=options.copies) as sim:
        config = config_file(Path(directory), sim)
        data = Path(directory) / "data"
        urls = sim.article_urls()
        subprocess.run([*cli, "--config", str(config), "capture", *urls], check=True, capture_output=True)
        count = len(urls)
        watcher = subprocess.Popen([*cli, "--config", str(config), "watch"], stdout=subprocess.DEVNULL)
        server, base = serve(data, 2)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            started = time.monotonic()
            while not stop.wait(10):
                samples.append((time.monotonic() - started, resident_kib(server.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        load_began = datetime.now(UTC)
        sampler.start()
        script = Path(directory) / "mix.lua"
        words = ", ".join(f'"{quote(w)}"' for w in SEARCHES)
        script.write_text(
            f"""
math.randomseed(11)
local words = {{{words}}}
request = function()
  if math.random(10) == 1 then
    return wrk.format("GET", "/api/search?q=" .. words[math.random(#words)])
  end
  return wrk.format("GET", "/articles/" .. math.random(1, {count}))
end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx: %d\\n", summary.errors.status))
end
"""
        )
        seconds = int(options.minutes * 60)
        command = ["wrk", "-t", "2", "-c", str(options.connections), "-d", f"{seconds}s", "--latency"]
        result = subprocess.run(
            [*command, "-s", str(script), base], capture_output=True, text=True, check=True
        )
        stop.set()
        sampler.join()
        checked = checked_since(data, load_began)
        watcher_alive = watcher.poll() is None
        watcher.terminate()
        server.terminate()
        watcher.wait()
        server.wait()
    print(result.stdout)
    first = [kib for at, kib in samples if at <= 60]
    last = [kib for at, kib in samples if at >= samples[-1][0] - 60]
    by_minute = {}
    for at, kib in samples:
        by_minute.setdefault(int(at // 60), []).append(kib)
    print(
        "server memory by minute (MiB):",
        " ".join(f"{statistics.mean(v) / 1024:.0f}" for v in by_minute.values()),
    )
    peak = max(k for _, k in samples) / 1024
    print(
        f"{count} articles, {checked} of them re-checked and found alive during the load; the watcher"
        f" {'was still running' if watcher_alive else 'had STOPPED'}; server memory: first minute"
        f" {statistics.mean(first) / 1024:.0f} MiB, last minute {statistics.mean(last) / 1024:.0f} MiB,"
        f" peak {peak:.0f} MiB ({len(samples)} samples)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
