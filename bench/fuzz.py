"""Coverage-guided fuzzing (atheris, libFuzzer) of the readers of untrusted input, with a time
limit per input and a memory limit for the whole run.

Usage: python bench/fuzz.py TARGET [--seconds 60] [--rss-mb 1024] [--input-timeout 5]
       python bench/fuzz.py all --seconds 120        # every target in turn

Targets: ``page`` (any bytes decoded and parsed as an article page by every platform, as a
capture or a check does), ``source`` (any bytes read as a feed, sitemap, OPML or URL list),
``config`` (any bytes as samizdat.toml), ``url`` (any text through the URL canonicalisers,
which must be stable), ``removals`` (any bytes as a removal dataset). Each starts from a seed
corpus of real inputs (tests/fixtures: the sample pages, the feeds the simulator serves, the
example configuration, a slice of the WeChatScope removals) and mutates them, guided by the
code paths they reach. An input fails the run when it raises anything but the reader's own
refusal, runs longer than ``--input-timeout`` seconds (a hang), or takes the process past
``--rss-mb`` (unbounded memory); libFuzzer then writes it to ``crash-*``/``timeout-*``/
``oom-*`` in the working directory. Needs ``pip install atheris`` (``make fuzz`` does it).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from samizdat.testing import REMOVALS, WECHAT_PAGES

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TARGETS = ("page", "source", "config", "url", "removals")


def seeds(target: str) -> list[bytes]:
    """Real inputs to start from."""
    if target == "page":
        pages = [p.read_bytes() for p in sorted((WECHAT_PAGES / "articles").glob("*.html"))[:6]]
        pages += [p.read_bytes() for p in sorted((WECHAT_PAGES / "notices").rglob("*.html"))[:6]]
        return pages
    if target == "source":
        from samizdat.testing import Simulator

        with Simulator(WECHAT_PAGES) as sim:
            import httpx

            paths = ("/feed.xml", "/feed.json", "/sitemap.xml", "/sitemap-articles.xml", "/accounts.opml")
            return [httpx.get(sim.base + path).content for path in (*paths, "/urls.txt")]
    if target == "config":
        return [(ROOT / "samizdat.example.toml").read_bytes()]
    if target == "url":
        return [
            b"https://mp.weixin.qq.com/s?__biz=MzA5&mid=2650&idx=1&sn=abc#rd",
            b"https://mp.weixin.qq.com/s/AbCdEf",
            b"http://news.example.cn/a/b?utm_source=x&id=3",
        ]
    dataset = REMOVALS
    lines = gzip.decompress(dataset.read_bytes()).splitlines()
    return [b"\n".join(lines[:40])]


def one_input(target: str):
    """The function libFuzzer calls with each input, for ``target``."""
    if target == "page":
        from samizdat.config import Settings
        from samizdat.fetch.decode import decode_html
        from samizdat.platforms import Registry

        registry = Registry(Settings().platforms)
        urls = (None, "https://mp.weixin.qq.com/s/x", "https://news.example.cn/a")

        def page(data: bytes) -> None:
            text = decode_html(data).text
            for url in urls:
                registry.parse(url, text)

        return page
    if target == "source":
        from samizdat.sources.documents import NotASource, read_source

        def source(data: bytes) -> None:
            with contextlib.suppress(NotASource):
                read_source(data, "https://feeds.example/")

        return source
    if target == "config":
        from samizdat.config import ConfigError, load_settings

        path = Path(tempfile.mkdtemp()) / "samizdat.toml"

        def config(data: bytes) -> None:
            path.write_bytes(data)
            with contextlib.suppress(ConfigError):
                load_settings(path, environ={})

        return config
    if target == "url":
        from samizdat.platforms.generic import PLATFORM as GENERIC
        from samizdat.platforms.wechat import PLATFORM as WECHAT

        def url(data: bytes) -> None:
            text = data.decode("utf-8", "replace")
            for platform in (WECHAT, GENERIC):
                canonical = platform.canonical_url(text)
                if platform.canonical_url(canonical) != canonical:
                    raise AssertionError(f"{platform.name}: {text!r} → {canonical!r} is not stable")
                platform.canonical_id(text)

        return url
    from datetime import timedelta, timezone

    from samizdat.sources.removals import RemovalDatasetError, read_removals

    path = Path(tempfile.mkdtemp()) / "removals.csv"
    hkt = timezone(timedelta(hours=8))

    def removals(data: bytes) -> None:
        path.write_bytes(data)
        with contextlib.suppress(RemovalDatasetError):
            for _ in read_removals(path, tz=hkt):
                pass

    return removals


def fuzz(target: str, libfuzzer_args: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["samizdat"]):
        check = one_input(target)
    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-"))
    for number, seed in enumerate(seeds(target)):
        (corpus / f"seed-{number}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *libfuzzer_args, str(corpus)], check)
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=[*TARGETS, "all"])
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("--rss-mb", type=int, default=1024, help="memory limit of the fuzzing process")
    parser.add_argument("--input-timeout", type=int, default=5, help="seconds one input may take")
    parser.add_argument("--max-len", type=int, default=200_000, help="longest input tried, bytes")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    libfuzzer_args = [
        f"-max_total_time={options.seconds}",
        f"-rss_limit_mb={options.rss_mb}",
        f"-timeout={options.input_timeout}",
        f"-max_len={options.max_len}",
        "-print_final_stats=1",
    ]
    if options.worker:
        fuzz(options.target, libfuzzer_args)
        return 0
    failed = 0
    for target in TARGETS if options.target == "all" else (options.target,):
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, __file__, target, "--worker", *sys.argv[2:]],
            capture_output=True,
            text=True,
        )
        stats = {
            line.removeprefix("stat::").split(":", 1)[0]: line.rsplit(":", 1)[1].strip()
            for line in run.stderr.splitlines()
            if line.startswith("stat::")
        }
        verdict = "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
        print(
            f"{target:9} {verdict}: {int(stats.get('number_of_executed_units', 0)):,} inputs in"
            f" {time.monotonic() - started:.0f} s, {stats.get('new_units_added', '?')} new paths kept,"
            f" peak memory {stats.get('peak_rss_mb', '?')} MB (limit {options.rss_mb})",
            flush=True,
        )
        if run.returncode != 0:
            failed += 1
            print("\n".join(run.stderr.splitlines()[-40:]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
