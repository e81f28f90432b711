"""The ``samizdat`` command."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from samizdat import __version__, logs
from samizdat.app import open_archive, pipeline, warc_storage
from samizdat.archive.wacz import archive_index, write_wacz
from samizdat.config import ConfigError, PlatformSettings, Settings, load_settings
from samizdat.fetch import decode_html
from samizdat.platforms import Article, Registry
from samizdat.sources import NotASource, SourceKind, read_source
from samizdat.store import DatabaseURLError, open_store
from samizdat.store.reader import Reader, selected_articles
from samizdat.watch import CaptureOutcome, CaptureStatus
from samizdat.watch.checker import CheckReport
from samizdat.watch.loop import AlreadyWatching, WatchLock, watch_pass
from samizdat.watch.polling import SourceRefused, SourceReport, add_source, poll_sources
from samizdat.watch.workers import capture_in_processes, capture_urls, default_workers

app = typer.Typer(
    help="samizdat: capture articles at first sight, keep them as evidence, find them again.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"samizdat {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (default ./samizdat.toml).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="SAMIZDAT_DATA_DIR", help="Where the database and WARC files live."
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    try:
        ctx.obj = load_settings(config, data_dir=data_dir)
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    logs.configure(ctx.obj.log)


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj


@app.command()
def capture(
    ctx: typer.Context,
    urls: Annotated[list[str] | None, typer.Argument(help="Article URLs to capture now.")] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", "-f", help="A file of URLs, one per line ('-' for stdin).")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes (0: one per core for long lists, else one).")
    ] = 0,
) -> None:
    """Capture pages now: raw exchange into WARC, parsed article into the database."""
    targets = list(urls or [])
    if from_file is not None:
        lines = sys.stdin.read() if str(from_file) == "-" else from_file.read_text("utf-8")
        targets += [line.strip() for line in lines.splitlines() if line.strip() and not line.startswith("#")]
    if not targets:
        errors.print("nothing to capture: give URLs or --from-file FILE")
        raise typer.Exit(2)
    _open(ctx)  # create or migrate the database once, before any worker starts
    outcomes = _capture_all(_settings(ctx), targets, workers or default_workers(len(targets)))
    console.print(_outcomes_table(outcomes))
    if any(o.status is CaptureStatus.FAILED for o in outcomes):
        raise typer.Exit(1)


def _outcomes_table(outcomes: list[CaptureOutcome]) -> Table:
    table = Table("id", "platform", "status", "title / reason", "url", show_lines=False)
    for outcome in outcomes:
        detail = outcome.title if outcome.title is not None else f"{outcome.reason}: {outcome.message}"
        table.add_row(
            str(outcome.article_id or "—"), outcome.platform or "—", str(outcome.status), detail, outcome.url
        )
    return table


def _capture_all(settings: Settings, urls: list[str], workers: int) -> list[CaptureOutcome]:
    with _progress(enabled=len(urls) > 1) as progress:
        bar = progress.add_task("capturing", total=len(urls))
        if workers > 1:
            return capture_in_processes(settings, urls, workers, lambda _: progress.advance(bar))
        return asyncio.run(capture_urls(settings, urls, lambda _i, _o: progress.advance(bar)))


def _progress(enabled: bool = True) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=not enabled,
    )


@app.command()
def extract(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Saved pages (.html or .html.gz).", exists=True)],
    url: Annotated[
        str | None, typer.Option(help="The page's URL (default: recognise the platform by content).")
    ] = None,
) -> None:
    """Parse saved pages offline; print one JSON object per file (JSON Lines)."""
    registry = Registry(_settings(ctx).platforms)
    failed = False
    for path in files:
        try:
            raw = path.read_bytes()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            errors.print(f"[red]{path}:[/red] cannot read: {exc}")
            failed = True
            continue
        text = decode_html(raw).text
        parsed = registry.parse(url, text)
        print(json.dumps(_extract_row(path, url, parsed), ensure_ascii=False, default=_json_default))
    if failed:
        raise typer.Exit(1)


def _extract_row(path: Path, url: str | None, parsed: Any) -> dict[str, Any]:
    if isinstance(parsed, Article):
        return {
            "file": str(path),
            "platform": parsed.platform,
            "url": parsed.url or url,
            "canonical_id": parsed.canonical_id,
            "title": parsed.title,
            "account": parsed.account,
            "account_id": parsed.account_id,
            "author": parsed.author,
            "published_at": parsed.published_at,
            "published_precision": parsed.published_precision,
            "text": parsed.text,
            "images": list(parsed.images),
            "cover": parsed.cover,
            "description": parsed.description,
            "repost_of": parsed.repost_of,
            "media": [m.__dict__ for m in parsed.media],
            "site_name": parsed.site_name,
            "language": parsed.language,
            "labels": list(parsed.labels),
            "unavailable": None,
        }
    return {
        "file": str(path),
        "platform": parsed.platform,
        "url": url,
        "canonical_id": None,
        "title": None,
        "account": None,
        "author": None,
        "published_at": None,
        "text": None,
        "images": [],
        "unavailable": str(parsed.reason),
        "message": parsed.message,
        "detail": parsed.detail,
        "follow_url": parsed.follow_url,
    }


@app.command()
def export(
    ctx: typer.Context,
    format: Annotated[str, typer.Option("--format", help="jsonl, wacz or cdxj.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default stdout; a WACZ needs one).")
    ] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="WACZ: only articles matching.")] = None,
    article: Annotated[list[int] | None, typer.Option("--article", help="WACZ: only these ids.")] = None,
) -> None:
    """Export the archive: articles as JSON lines, a WACZ package, or a CDXJ index of the WARC files."""
    if format not in ("jsonl", "wacz", "cdxj"):
        errors.print(f"unknown format {format!r}: use jsonl, wacz or cdxj")
        raise typer.Exit(2)
    store = _open(ctx)
    settings = _settings(ctx)
    if format == "wacz":
        if output is None:
            errors.print("a WACZ is a zip file: give --output FILE.wacz")
            raise typer.Exit(2)
        ids = selected_articles(Reader(store.engine), query=query, ids=article)
        refs, pages = Reader(store.engine).package(ids)
        write_wacz(output, warc_storage(settings), refs, pages, title=query or "samizdat archive")
        console.print(f"wrote {output}: {len(ids)} articles, {len(refs)} records")
        return
    if format == "cdxj":
        out = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            for line in archive_index(warc_storage(settings)):
                out.write(line + "\n")
        finally:
            if output:
                out.close()
        return
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for row in store.iter_export():
            out.write(json.dumps(_export_row(row), ensure_ascii=False, default=_json_default) + "\n")
    finally:
        if output:
            out.close()


def _export_row(row: dict[str, Any]) -> dict[str, Any]:
    details = row["details"] or {}
    ref = row["warc"]
    return {
        "id": row["id"],
        "url": row["url"],
        "canonical_id": row["canonical_id"],
        "platform": row["platform"],
        "title": row["title"],
        "account": row["account"],
        "account_id": row["account_id"],
        "author": row["author"],
        "published_at": row["published_at"],
        "published_precision": row["published_precision"],
        "text": row["text"],
        "images": details.get("images", []),
        "cover": details.get("cover"),
        "description": details.get("description"),
        "repost_of": details.get("repost_of"),
        "media": details.get("media", []),
        "state": row["state"],
        # the outcome names of the watch: "alive" while live, else the (suspected or confirmed) reason
        "status": row["outcome"] if row["state"] != "live" and row["outcome"] else "alive",
        "outcome": row["outcome"],
        "detected_at": row["detected_at"],
        "first_captured_at": row["first_version_at"],  # null: removed before it could be captured
        "first_seen_at": row["first_captured_at"],
        "last_seen_alive_at": row["last_seen_alive_at"],
        "versions": row["versions"],
        "latest_captured_at": row["version_captured_at"],
        "final_url": row["final_url"],
        "http_status": row["http_status"],
        "warc": ref.__dict__ if ref else None,
        "cluster_id": row["cluster_id"],  # articles sharing a text share it; null when alone
        "related": row["related"],  # ids of related posts (not copies), nearest first
        "keywords": row["keywords"] or [],  # watchlist terms the article matched
        "listed": row["listed"],  # what a source's listing said of it (title, account, date, summary)
    }


@app.command()
def show(ctx: typer.Context, article_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """A readable summary of one article: metadata, versions, checks, images, evidence."""
    store = _open(ctx)
    article = store.article(article_id)
    if article is None:
        errors.print(f"no article with id {article_id}")
        raise typer.Exit(1)
    latest = article["versions"][-1] if article["versions"] else None
    console.rule(f"[bold]{article['title'] or '(no title)'}")
    facts = Table.grid(padding=(0, 2))
    for label, value in (
        ("id", article["id"]),
        ("platform", article["platform"]),
        ("canonical id", article["canonical_id"]),
        ("url", article["url"]),
        ("account", _join(article["account"], article["account_id"])),
        ("author", article["author"]),
        ("published", article["published_at"]),
        ("state", _join(article["state"], article["outcome"])),
        ("first captured", article["first_captured_at"]),
        ("last seen alive", article["last_seen_alive_at"]),
        ("reached by", "\n".join(article["urls"])),
    ):
        facts.add_row(f"[dim]{label}[/dim]", str(value) if value is not None else "—")
    console.print(facts)
    if latest:
        text = latest["text"]
        console.print()
        console.print(text[:1200] + ("…" if len(text) > 1200 else ""))
    versions = Table("version", "captured", "status", "characters", "WARC record", title="versions")
    for version in article["versions"]:
        ref = version["warc"]
        versions.add_row(
            str(version["id"]),
            str(version["captured_at"]),
            str(version["http_status"]),
            str(len(version["text"])),
            f"{ref.file}@{ref.offset}" if ref else "—",
        )
    console.print(versions)
    console.print(f"{len(article['images'])} images archived, {len(article['checks'])} checks recorded")


@app.command("watch")
def watch_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run the checks due now, then stop.")] = False,
    workers: Annotated[int, typer.Option(help="Processes that run re-checks (they split the articles).")] = 1,
) -> None:
    """Re-check archived articles on their schedule and poll sources; report removals once confirmed."""
    _run_watcher(ctx, once=once, workers=workers)


@app.command("run")
def run_command(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option(help="Processes that run re-checks (they split the articles).")] = 1,
) -> None:
    """Everything in one process: watch the sources and articles, and serve the site."""
    settings = _settings(ctx)
    from samizdat.web.app import create_app
    from samizdat.web.server import running_site

    app_ = create_app(settings, _open(ctx))
    with running_site(app_, host=settings.web.host, port=settings.web.port) as base:
        console.print(f"site: {base}/")
        _run_watcher(ctx, once=False, workers=workers)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default web.port).")] = None,
) -> None:
    """Serve the reader site, the API, feeds and Memento (read-only; the watcher may run beside it)."""
    import uvicorn

    from samizdat.web.app import create_app

    settings = _settings(ctx)
    host, port = host or settings.web.host, port or settings.web.port
    console.print(f"serving {settings.data_dir} at http://{host}:{port}/ — Ctrl-C stops")
    uvicorn.run(create_app(settings, _open(ctx)), host=host, port=port, log_level="warning")


@app.command("worker")
def worker_command(ctx: typer.Context) -> None:
    """One of many: poll, capture and check alongside any other workers sharing this database.

    Start as many as you like, on any machines that share the database and the archive
    directory. Due checks and source polls are claimed, so each is done by one worker; the
    per-host rate is shared through the database. Prints one JSON status line every 10 s.
    """
    import signal

    from samizdat.watch.service import Watcher

    settings = _settings(ctx)
    _open(ctx)

    async def run() -> None:
        watcher = Watcher(settings, turns_in_database=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        running = asyncio.create_task(watcher.run(stop))
        while not running.done():
            await asyncio.wait([running], timeout=10)
            status = watcher.status
            line = {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "worker": watcher.name,
                "checks": sum(status.outcomes.values()),
                "checks_per_minute": status.checks_per_minute(),
                "outcomes": dict(status.outcomes),
                "declared": status.declared,
                "captured": status.captured,
                "related": status.related,
                "due": status.due,
                "due_by_class": status.due_by_class,
                "waiting_by_class": status.queues,
                "removed_before_capture": status.removed_before_capture,
            }
            console.print_json(json.dumps(line), indent=None)
        await running

    asyncio.run(run())


# What waits in the workers' queues, by class, most urgent first (fetch/turns.Priority), and
# what is due in the database.
WAITING_CLASSES = {
    "capture": "first-sight captures",
    "capture_tasks": "first-sight captures running (with retries)",
    "poll": "source polls",
    "confirm": "confirmations",
    "signal": "signalled checks",
    "routine": "routine checks",
    "spare": "polls beyond their share",
}
DUE_CLASSES = {"confirm": "confirmations", "signal": "signalled checks", "routine": "routine checks"}
ALIVE_WITHIN = timedelta(seconds=30)


@app.command("status")
def status_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for monitoring.")] = False,
) -> None:
    """The work queue by class (due, claimed, late, waiting), the workers seen lately, per-host requests."""
    from samizdat.watch.checker import SIGNALLED

    store = _open(ctx)
    now = datetime.now(UTC)
    queue = store.queue(now, late_after=timedelta(minutes=5))
    due = store.due_by_class(now, signalled=SIGNALLED)
    alive = [w for w in queue["workers"] if now - w["seen_at"] < ALIVE_WITHIN]
    waiting: dict[str, list[float]] = {}
    for worker in alive:
        for name, (count, oldest) in (worker["queues"] or {}).items():
            total = waiting.setdefault(name, [0, 0.0])
            total[0] += count
            total[1] = max(total[1], oldest)
    if as_json:
        figures = {
            "at": now.isoformat(),
            "due": queue["due"],
            "claimed": queue["claimed"],
            "late": queue["late"],
            "due_by_class": {k: {"count": c, "late_seconds": round(late, 3)} for k, (c, late) in due.items()},
            "waiting_by_class": {k: {"count": c, "oldest_seconds": o} for k, (c, o) in waiting.items()},
            "workers_alive": len(alive),
        }
        print(json.dumps(figures))
        return
    table = Table(
        "queue",
        "",
        show_header=False,
        title=f"samizdat status — {store.engine.url.render_as_string(hide_password=True)}",
    )
    table.add_row("due now", f"{queue['due']:,}")
    for name, label in DUE_CLASSES.items():
        count, late = due[name]
        table.add_row(f"  {label}", f"{count:,}" + (f", the most overdue by {late:,.0f} s" if count else ""))
    table.add_row("claimed by a worker", f"{queue['claimed']:,}")
    table.add_row("late (due > 5 min, unclaimed)", f"{queue['late']:,}")
    oldest = queue["oldest_due"]
    table.add_row("oldest due", f"{(now - oldest).total_seconds():,.0f} s ago" if oldest else "—")
    table.add_row("waiting for their host's turn", "(in the workers alive, most urgent first)")
    for name, label in WAITING_CLASSES.items():
        count, oldest_wait = waiting.get(name, (0, 0.0))
        table.add_row(f"  {label}", f"{count:,}" + (f", the oldest for {oldest_wait:.1f} s" if count else ""))
    console.print(table)
    workers = Table(
        "worker", "host", "pid", "seen", "up", "checks", "captures", title=f"workers alive: {len(alive)}"
    )
    for w in queue["workers"]:
        seen = (now - w["seen_at"]).total_seconds()
        up = (now - w["started_at"]).total_seconds() / 60
        workers.add_row(
            w["name"], w["host"], str(w["pid"]),
            f"{seen:.0f} s ago" + ("" if seen < ALIVE_WITHIN.total_seconds() else " (gone?)"),
            f"{up:.0f} min", f"{w['checks']:,}", f"{w['captures']:,}",
        )  # fmt: skip
    console.print(workers)
    hosts = Table("host", "requests (workers' shared turns)", "next turn", title="per-host budget")
    for row in queue["hosts"]:
        wait = row["next_at"] - now.timestamp()
        hosts.add_row(
            row["host"], f"{row['requests']:,}", f"in {wait:.0f} s (backing off)" if wait > 1 else "now"
        )
    rate = _settings(ctx).fetch.per_host_rate
    hosts.caption = f"fetch.per_host_rate = {rate:g}/s" if rate else "fetch.per_host_rate = 0 (no rate limit)"
    console.print(hosts)


def _run_watcher(ctx: typer.Context, *, once: bool, workers: int) -> None:
    settings = _settings(ctx)
    _open(ctx)
    try:
        with WatchLock(settings.data_dir):
            if once:
                asyncio.run(_watch_once(settings))
            else:
                asyncio.run(_watch_live(settings, workers))
    except AlreadyWatching as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


async def _watch_once(settings: Settings) -> None:
    counts: dict[str, int] = {}

    def report(found: CheckReport) -> None:
        counts[str(found.outcome)] = counts.get(str(found.outcome), 0) + 1
        _print_news(found)

    async with pipeline(settings) as pipe:
        await watch_pass(pipe.store, pipe.checker, settings.fetch.total_concurrency, report)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no checks were due"
    console.print(f"checks: {summary}")


async def _watch_live(settings: Settings, workers: int) -> None:
    import signal

    from rich.live import Live

    from samizdat.watch.service import Watcher

    watcher = Watcher(settings, workers=workers)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    running = asyncio.create_task(watcher.run(stop))
    with Live(_status_table(watcher, settings), console=console, refresh_per_second=2) as live:
        while not running.done():
            await asyncio.wait([running], timeout=0.5)
            live.update(_status_table(watcher, settings))
    await running
    status = watcher.status
    console.print(
        f"\nstopped: {sum(status.outcomes.values())} checks, {status.declared} removals declared, "
        f"{status.edited} edits, {status.captured} new articles captured"
    )


def _status_table(watcher, settings: Settings) -> Table:
    status = watcher.status
    fetch = settings.fetch
    table = Table(title="samizdat watch — Ctrl-C stops after the checks in flight", show_header=False)
    table.add_row("due now", f"{status.due:,}")
    table.add_row("checks / min", f"{status.checks_per_minute():,}")
    table.add_row(
        "checks by outcome", ", ".join(f"{k} {v:,}" for k, v in status.outcomes.most_common()) or "—"
    )
    table.add_row("removals declared", f"{status.declared:,}")
    table.add_row("edits · back online", f"{status.edited:,} · {status.restored:,}")
    table.add_row("sources polled · new articles", f"{status.polls:,} · {status.captured:,}")
    table.add_row(
        "removed before capture · first sights failed",
        f"{status.removed_before_capture:,} · {status.first_sight_failed:,} (tried again at the next poll)",
    )
    table.add_row("left a listing, checked at once", f"{status.left_listings:,}")
    for name, label in DUE_CLASSES.items():
        count, late = status.due_by_class.get(name, (0, 0.0))
        table.add_row(f"due: {label}", f"{count:,}" + (f", most overdue by {late:,.0f} s" if count else ""))
    waiting = [
        f"{label} {count:,}" + (f" ({oldest:.1f} s)" if count else "")
        for name, label in WAITING_CLASSES.items()
        for count, oldest in [status.queues.get(name, (0, 0.0))]
    ]
    table.add_row("waiting for a turn (oldest)", ", ".join(waiting))
    if status.claims_freed:
        table.add_row("claims of dead workers taken over", f"{status.claims_freed:,}")
    table.add_row("related posts computed", f"{status.related:,}")
    rate = f"{fetch.per_host_rate:g}/s" if fetch.per_host_rate else "no rate limit"
    table.add_row(
        "per-host budget", f"{fetch.per_host_concurrency} in flight, {rate} (workers: {watcher.workers})"
    )
    table.add_row("notifications", f"{watcher.notifier.delivered} sent, {watcher.notifier.failed} failed")
    for line in status.news:
        table.add_row("", line)
    return table


source_app = typer.Typer(
    help="Feeds, sitemaps and URL lists to discover articles from.", no_args_is_help=True
)
app.add_typer(source_app, name="source")


@source_app.command("add")
def source_add(
    ctx: typer.Context,
    url: str,
    interval: Annotated[int, typer.Option(help="Seconds between polls.")] = 900,
    keyword: Annotated[
        list[str] | None,
        typer.Option("--keyword", "-k", help="Watch this term in the source's articles (repeatable)."),
    ] = None,
) -> None:
    """Add a source; its kind (feed, sitemap, URL list, OPML of feeds) is recognised from it."""
    store = _open(ctx)
    try:
        added = asyncio.run(
            add_source(_settings(ctx), store, url, interval_seconds=interval, keywords=keyword or ())
        )
    except SourceRefused as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    for source in added:
        state = "added" if source.created else "already there"
        console.print(
            f"{state}: source {source.source_id} ({source.kind}) {source.url}"
            f" — {source.listed} entries listed now"
        )


@source_app.command("import-opml")
def source_import_opml(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, help="An OPML file of feeds.")],
    interval: Annotated[int, typer.Option(help="Seconds between polls.")] = 900,
) -> None:
    """Add every feed an OPML file lists."""
    store = _open(ctx)
    try:
        document = read_source(file.read_bytes(), kind=SourceKind.OPML)
    except NotASource as exc:
        errors.print(f"[red]{file}:[/red] {exc}")
        raise typer.Exit(1) from None
    added = sum(
        store.add_source(str(SourceKind.FEED), feed, title=None, interval_seconds=interval)[1]
        for feed in document.children
    )
    console.print(f"{added} feeds added, {len(document.children) - added} already there")


@source_app.command("list")
def source_list(ctx: typer.Context) -> None:
    """The sources and when each was last polled."""
    table = Table("id", "kind", "url", "title", "every", "last polled")
    for row in _open(ctx).list_sources():
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["url"],
            row["title"] or "—",
            f"{row['poll_interval_seconds']} s",
            str(row["last_polled_at"] or "never"),
        )
    console.print(table)


@source_app.command("remove")
def source_remove(ctx: typer.Context, key: Annotated[str, typer.Argument(help="Source id or URL.")]) -> None:
    """Stop following a source (its articles stay archived)."""
    if not _open(ctx).remove_source(key):
        errors.print(f"no source {key}")
        raise typer.Exit(1)
    console.print(f"removed source {key}")


@source_app.command("poll")
def source_poll(ctx: typer.Context) -> None:
    """Poll every source once and capture the articles not seen before, at first sight."""
    settings = _settings(ctx)
    rows = _open(ctx).list_sources()
    reports, captures = asyncio.run(_poll_all(settings, rows))
    for report in reports:
        if report.error:
            errors.print(f"[yellow]source {report.source_id}:[/yellow] {report.error}")
            continue
        status = "unchanged (304)" if report.not_modified else f"{report.listed} listed, {report.new} new"
        if report.dropped:
            status += f", {report.dropped} gone from the listing (due for a check now)"
        console.print(f"source {report.source_id} {report.url}: {status}")
    if captures:
        console.print(_outcomes_table(captures))


async def _poll_all(settings: Settings, rows: list[dict]) -> tuple[list[SourceReport], list[CaptureOutcome]]:
    """Every source once, through one pipeline (its per-host limits apply across sources)."""
    async with pipeline(settings) as pipe:
        return await poll_sources(pipe, rows)


@app.command("import-removals")
def import_removals_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE.csv", help="A removal dataset (CSV or CSV.gz).")],
    platform: Annotated[str, typer.Option(help="Whose notice messages the dataset quotes.")] = "wechat",
    utc_offset: Annotated[
        str, typer.Option(help="The offset of times written without one (Wechatscope: Hong Kong, +08:00).")
    ] = "+08:00",
    dataset: Annotated[str | None, typer.Option(help="A name for the dataset (default: the file's).")] = None,
) -> None:
    """Load removals others recorded (e.g. Wechatscope's CSV) so the statistics can be compared."""
    from samizdat.sources.removals import parse_offset
    from samizdat.watch.imports import RemovalDatasetError, import_removals

    settings = _settings(ctx)
    if not path.is_file():
        errors.print(f"[red]no such file:[/red] {path}")
        raise typer.Exit(2)
    try:
        report = import_removals(
            settings, _open(ctx), path, platform=platform, tz=parse_offset(utc_offset), dataset=dataset
        )
    except (RemovalDatasetError, KeyError) as exc:
        errors.print(f"[red]cannot import:[/red] {exc.args[0]}")
        raise typer.Exit(2) from None
    table = Table("outcome", "rows", "share")
    for outcome, count in report.outcomes.most_common():
        table.add_row(outcome, f"{count:,}", f"{count / report.rows:.1%}")
    console.print(table)
    console.print(
        f"{report.rows:,} rows read, {report.added:,} added ({report.rows - report.added:,} already here)"
    )
    for message, count in report.unrecognised.most_common(10):
        errors.print(
            f"[yellow]not a known notice ({count}×), kept as unknown_unavailable:[/yellow] {message}"
        )


@app.command("relate")
def relate_command(ctx: typer.Context) -> None:
    """Compute the related posts of every article still without them (``watch`` does it as they arrive)."""
    from samizdat.store.related import relate_pending

    store = _open(ctx)
    done = 0
    with _progress() as progress:
        bar = progress.add_task("related posts", total=None)
        while found := relate_pending(store.engine, limit=200):
            done += found
            progress.advance(bar, found)
    console.print(f"related posts computed for {done:,} articles")


@app.command("stats")
def stats_command(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help="Group by: all, outcome, account, keyword or month.")] = "outcome",
    csv: Annotated[bool, typer.Option("--csv", help="Every group as CSV on standard output.")] = False,
    top: Annotated[int, typer.Option(help="Rows in the table (the CSV has them all).")] = 20,
) -> None:
    """Removal rate and time from publication to removal, by outcome, account, keyword or month."""
    from samizdat.store.reader import Reader
    from samizdat.store.statistics import GROUPINGS, to_csv

    if by not in GROUPINGS:
        errors.print(f"[red]--by must be one of[/red] {', '.join(GROUPINGS)}")
        raise typer.Exit(2)
    groups = Reader(_open(ctx).engine).breakdowns()[by]
    if csv:
        sys.stdout.write(to_csv(groups, by))
        return
    table = Table(by, "articles", "removed", "rate", "median h", "p25–p75 h")
    for group in groups[:top]:
        median, low, high = (group.quantile(share) for share in (0.5, 0.25, 0.75))
        table.add_row(
            group.name,
            f"{group.articles:,}",
            f"{group.removed:,}",
            f"{group.removal_rate:.1%}",
            "" if median is None else f"{median:.1f}",
            "" if low is None else f"{low:.1f}–{high:.1f}",
        )
    console.print(table)


@app.command("backup")
def backup_command(
    ctx: typer.Context,
    destination: Annotated[Path, typer.Argument(metavar="DEST", help="A new, empty directory.")],
) -> None:
    """A consistent copy of the archive (database and WARC files), also while it is being watched."""
    from samizdat.backup import BackupError, backup

    try:
        summary = backup(_settings(ctx), _open(ctx), destination)
    except BackupError as exc:
        errors.print(f"[red]cannot back up:[/red] {exc}")
        raise typer.Exit(2) from None
    rows = sum(t.target_rows for t in summary.tables)
    console.print(
        f"backed up to {summary.path}: {rows:,} rows in {len(summary.tables)} tables,"
        f" {summary.files} WARC files ({summary.bytes / 1e6:,.1f} MB);"
        f" restore with `samizdat restore {summary.path}`"
    )


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(metavar="SRC", help="A directory made by `samizdat backup`.")],
) -> None:
    """Bring a backup back into this (empty) archive: its database and its data directory."""
    from samizdat.backup import BackupError, restore

    try:
        summary = restore(_settings(ctx), source)
    except BackupError as exc:
        errors.print(f"[red]cannot restore:[/red] {exc}")
        raise typer.Exit(2) from None
    rows = sum(t.target_rows for t in summary.tables)
    console.print(
        f"restored {rows:,} rows and {summary.files} WARC files into {summary.path}; run `samizdat verify`"
    )


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Create or upgrade the database schema (also done automatically on first use)."""
    store = _open(ctx)
    console.print(f"database is up to date: {store.engine.url.render_as_string(hide_password=True)}")


@app.command("migrate-to")
def migrate_to(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The target database, e.g. postgresql://user@host/samizdat.")],
) -> None:
    """Copy this archive's database into another (empty) one, then compare every table."""
    from samizdat.store.transfer import TransferRefused, copy_archive

    source = _open(ctx)
    try:
        target = open_store(url)
    except DatabaseURLError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    counts = source.counts()
    with _progress() as progress:
        bars: dict[str, Any] = {}

        def advance(table: str, rows: int) -> None:
            if table not in bars:
                bars[table] = progress.add_task(table, total=counts.get(table))
            progress.advance(bars[table], rows)

        try:
            checks = copy_archive(source.engine, target.engine, on_rows=advance)
        except TransferRefused as exc:
            errors.print(f"[red]cannot copy:[/red] {exc}")
            raise typer.Exit(1) from None
        finally:
            target.engine.dispose()
            source.engine.dispose()
    table = Table("table", "rows here", "rows there", "digest", "")
    for check in checks:
        table.add_row(
            check.table,
            f"{check.source_rows:,}",
            f"{check.target_rows:,}",
            check.source_digest[:16],
            "[green]same[/green]" if check.ok else "[red]DIFFERENT[/red]",
        )
    console.print(table)
    if not all(check.ok for check in checks):
        errors.print("[red]the copy differs from the source: keep using the source[/red]")
        raise typer.Exit(1)
    console.print(
        f"copied and verified: set database.url = {url!r} to use it (WARC files stay where they are)"
    )


@app.command()
def verify(ctx: typer.Context) -> None:
    """Read every WARC file whole and every record the database points at; check digests,
    image hashes and links. Exits 1 on any problem."""
    from samizdat.verify import verify_archive

    settings = _settings(ctx)
    store = _open(ctx)
    with _progress() as progress:
        bars: dict[str, Any] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=done)

        report = verify_archive(warc_storage(settings), store, progress=advance)
    for name, cut in report.repaired:
        errors.print(
            f"[yellow]{name}: cut a torn record of {cut:,} bytes off its end (its writer stopped)[/yellow]"
        )
    for problem in report.problems:
        errors.print(f"[red]{problem}[/red]")
    console.print(
        f"{report.files:,} WARC files, {report.records:,} records read whole;"
        f" {report.references:,} references read back ({report.images:,} images checked against their hash);"
        f" {len(report.problems)} problems"
    )
    if report.problems:
        raise typer.Exit(1)


@app.command()
def demo(
    ctx: typer.Context,
    copies: Annotated[int, typer.Option(help="Distinct copies of each sample article to serve.")] = 1,
    pages: Annotated[
        Path | None, typer.Option(help="Simulator fixtures (default tests/fixtures/wechat).")
    ] = None,
    serve_site: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the site on web.port afterwards, until Ctrl-C.")
    ] = True,
) -> None:
    """Offline demo: capture what the local simulator serves, watch it remove articles, show the site."""
    from samizdat.testing import Simulator

    settings = _settings(ctx)
    try:
        simulator = Simulator(pages, copies=copies)
    except FileNotFoundError as exc:
        errors.print(str(exc))
        raise typer.Exit(2) from None
    with simulator:
        wechat = settings.platforms.get("wechat") or PlatformSettings()
        settings = replace(
            settings,
            fetch=replace(settings.fetch, allow_private_networks=True),
            platforms={
                **settings.platforms,
                "wechat": replace(wechat, hosts=(*wechat.hosts, simulator.host)),
            },
            # the demo runs in simulated time: one hour a second
            watch=replace(settings.watch, time_scale=DEMO_TIME_SCALE),
        )
        console.print(f"simulator serving {len(simulator.articles)} articles at {simulator.base}")
        urls = simulator.article_urls() + [f"{simulator.base}/notice/{name}" for name in simulator.notices]
        ctx.obj = settings
        capture(ctx, urls=urls, from_file=None, workers=1)
        removals = list(
            zip(
                simulator.articles[:3], ("deleted-by-author", "violation", "multiple-complaints"), strict=True
            )
        )
        for article, notice in removals:
            simulator.remove(article, notice)
        console.print(
            f"the simulator now removes {len(removals)} articles; watching in simulated time "
            "(one hour a second) until each removal is confirmed…"
        )
        declared = asyncio.run(_demo_watch(settings, len(removals)))
        console.print(f"{declared} of {len(removals)} removals detected and confirmed")
    relate_command(ctx)
    console.print(f"archive in {settings.data_dir}: try `samizdat show 1` or `samizdat export`")
    if serve_site:
        serve(ctx, host=None, port=None)


@app.command()
def simulate(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    copies: Annotated[int, typer.Option(help="Distinct copies of each sample article to serve.")] = 1,
    pages: Annotated[
        Path | None, typer.Option(help="Simulator fixtures (default tests/fixtures/wechat).")
    ] = None,
    timeline: Annotated[
        bool, typer.Option(help="Publish, remove and edit articles over simulated time (real removal data).")
    ] = False,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    publish_hours: Annotated[
        float, typer.Option(help="Publications spread over this many simulated hours.")
    ] = 24.0,
    removed_share: Annotated[float, typer.Option(help="Share of articles that will be removed.")] = 0.2,
    edited_share: Annotated[float, typer.Option(help="Share of articles that will be edited.")] = 0.02,
    seed: Annotated[int, typer.Option(help="Seed of the timeline's random draws.")] = 0,
    rate_limit: Annotated[
        float, typer.Option(help="Article requests/s above which a verification page is shown (0: none).")
    ] = 0.0,
    log: Annotated[Path | None, typer.Option(help="Append every request to this JSON-lines file.")] = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Write each article's fate (the ground truth) here.")
    ] = None,
    listings_keep_removed: Annotated[
        bool,
        typer.Option(help="Feeds and sitemaps keep listing removed articles (a caching RSS bridge)."),
    ] = False,
    account_entries: Annotated[int, typer.Option(help="Newest articles listed by each account's feed.")] = 50,
    account_feeds: Annotated[
        str, typer.Option(help="Which feeds accounts.opml names: xml (RSS 2.0) or json (JSON Feed).")
    ] = "xml",
    articles: Annotated[int, typer.Option(help="Serve only this many of the copies (0: all).")] = 0,
    accounts: Annotated[
        int, typer.Option(help="Spread the articles over this many account feeds (0: one per biz).")
    ] = 0,
    fault_rate: Annotated[
        float,
        typer.Option(help="Share of article and feed requests that fail: 503, verification page, cut body."),
    ] = 0.0,
    start_in: Annotated[
        float, typer.Option(help="Real seconds before the timeline's clock starts (time to set up).")
    ] = 0.0,
    asset_host: Annotated[
        str,
        typer.Option(help="Host name of the image hosts' assets (localhost: a budget of their own)."),
    ] = "",
) -> None:
    """Serve the local WeChat simulator until interrupted (for demos and benchmarks)."""
    import signal
    import threading

    from samizdat.testing import Simulator
    from samizdat.testing.timeline import plan, real_removals, save_plan

    try:
        simulator = Simulator(
            pages,
            copies=copies,
            port=port,
            time_scale=time_scale,
            rate_limit=rate_limit,
            log_path=log,
            listings_keep_removed=listings_keep_removed,
            account_entries=account_entries,
            account_feeds=account_feeds,
            articles=articles,
            accounts=accounts,
            fault_rate=fault_rate,
            fault_seed=seed,
            start_in=start_in,
            asset_host=asset_host,
        )
    except (FileNotFoundError, ValueError) as exc:
        errors.print(str(exc))
        raise typer.Exit(2) from None
    if timeline:
        fates = plan(
            len(simulator.articles),
            real_removals(),
            publish_over=publish_hours * 3600,
            removed_share=removed_share,
            edited_share=edited_share,
            seed=seed,
        )
        simulator.set_fates(fates)
    with simulator:
        if plan_file and timeline:
            save_plan(plan_file, [a.path for a in simulator.articles], fates, simulator.started, time_scale)
        # The first line is for programs that start the simulator: they read the address from it.
        print(f"serving {len(simulator.articles)} articles at {simulator.base}", flush=True)
        print(f"article URLs: {simulator.base}/urls.txt", flush=True)
        # SIGTERM ends the wait like Ctrl-C, so the request log is flushed and closed.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


def _print_news(found: CheckReport) -> None:
    if found.declared:
        console.print(
            f"[bold red]removed[/bold red] article {found.article_id}: {found.outcome} — {found.message}"
        )
    elif found.restored:
        console.print(f"[green]back online[/green] article {found.article_id}")


DEMO_TIME_SCALE = 3600.0
DEMO_SECONDS = 30.0


async def _demo_watch(settings: Settings, expected: int) -> int:
    import time

    declared = 0
    deadline = time.monotonic() + DEMO_SECONDS
    async with pipeline(settings) as pipe:
        while declared < expected and time.monotonic() < deadline:
            for found in await watch_pass(pipe.store, pipe.checker, settings.fetch.total_concurrency):
                declared += found.declared
                _print_news(found)
            await asyncio.sleep(0.1)
    return declared


def _open(ctx: typer.Context):
    """The archive's store, its connections closed when the command ends (the CLI also runs in
    other programs' processes: tests, notebooks)."""
    try:
        store = open_archive(_settings(ctx))
    except DatabaseURLError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    ctx.call_on_close(store.engine.dispose)
    return store


def _join(*parts: Any) -> str | None:
    present = [str(p) for p in parts if p]
    return " · ".join(present) if present else None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


if __name__ == "__main__":
    app()
