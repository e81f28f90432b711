"""Commands that watch: the watcher, a worker among many, the site beside them, the queue's status."""

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from samizdat.cli.base import app, console, errors, problem, settings_of, store_of

if TYPE_CHECKING:
    import asyncio

    from rich.table import Table

    from samizdat.config import Settings
    from samizdat.service import Watcher
    from samizdat.watch.checker import CheckReport


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
    settings = settings_of(ctx)
    from samizdat.web.app import create_app
    from samizdat.web.server import running_site

    app_ = create_app(settings, store_of(ctx))
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

    settings = settings_of(ctx)
    host, port = host or settings.web.host, port or settings.web.port
    console.print(f"serving {settings.data_dir} at http://{host}:{port}/ — Ctrl-C stops")
    uvicorn.run(create_app(settings, store_of(ctx)), host=host, port=port, log_level="warning")


@app.command("worker")
def worker_command(ctx: typer.Context) -> None:
    """One of many: poll, capture and check alongside any other workers sharing this database.

    Start as many as you like, on any machines that share the database and the archive
    directory. Due checks and source polls are claimed, so each is done by one worker; the
    per-host rate is shared through the database. Prints one JSON status line every 10 s.
    """
    import asyncio

    from samizdat.service import Watcher

    settings = settings_of(ctx)
    store_of(ctx)

    async def run() -> None:
        watcher = Watcher(settings, turns_in_database=True)
        running = _until_signalled(watcher)
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
                "images_read": status.images_read,
                "due": status.due,
                "due_by_class": status.due_by_class,
                "waiting_by_class": status.queues,
                "removed_before_capture": status.removed_before_capture,
                "linked": status.linked,
                "links_set_aside": status.links_set_aside,
                "requests_by_host": status.requests,
                "egresses": status.egresses,
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
    "image": "images of pages just stored",
    "link": "articles linked from captured pages",
    "confirm": "confirmations",
    "signal": "signalled checks",
    "routine": "routine checks",
    "spare": "polls not yet worth a check's turn",
}


HOSTS_SHOWN = 8  # hosts in the tables of requests sent, the busiest first

DUE_CLASSES = {"confirm": "confirmations", "signal": "signalled checks", "routine": "routine checks"}


# Real seconds, like the heartbeats they count (a worker beats every 2 s whatever the time scale).
ALIVE_WITHIN = timedelta(seconds=30)


@app.command("status")
def status_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for monitoring.")] = False,
) -> None:
    """The work queue by class (due, claimed, late, waiting), the workers seen lately, per-host requests."""
    from rich.table import Table

    from samizdat.watch.checker import SIGNALLED

    store = store_of(ctx)
    now = datetime.now(UTC)
    # Lateness is schedule time: five minutes of the schedule, however fast it runs.
    queue = store.queue(now, late_after=timedelta(minutes=5) / settings_of(ctx).watch.time_scale)
    due = store.due_by_class(now, signalled=SIGNALLED)
    alive = [w for w in queue["workers"] if now - w["seen_at"] < ALIVE_WITHIN]
    waiting: dict[str, list[float]] = {}
    sent: dict[str, dict[str, int]] = {}
    ways: dict[str, dict[str, float]] = {}  # by way out (fetch.egress), the workers' added up
    for worker in alive:
        for name, (count, oldest) in (worker["queues"] or {}).items():
            total = waiting.setdefault(name, [0, 0.0])
            total[0] += count
            total[1] = max(total[1], oldest)
        for host, classes in (worker["requests"] or {}).items():
            for name, count in classes.items():
                sent.setdefault(host, {}).setdefault(name, 0)
                sent[host][name] += count
        for name, figures in (worker.get("egresses") or {}).items():
            total = ways.setdefault(
                name, {"requests": 0, "refusals": 0, "resting_hosts": 0, "down_seconds": 0.0}
            )
            for figure in ("requests", "refusals", "resting_hosts"):
                total[figure] += figures.get(figure, 0)
            total["down_seconds"] = max(total["down_seconds"], figures.get("down_seconds", 0.0))
    if as_json:
        figures = {
            "at": now.isoformat(),
            "due": queue["due"],
            "claimed": queue["claimed"],
            "late": queue["late"],
            "due_by_class": {k: {"count": c, "late_seconds": round(late, 3)} for k, (c, late) in due.items()},
            "waiting_by_class": {k: {"count": c, "oldest_seconds": o} for k, (c, o) in waiting.items()},
            "requests_by_host": sent,
            "egresses": ways,
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
    table.add_row("late (due > 5 schedule min, unclaimed)", f"{queue['late']:,}")
    oldest = queue["oldest_due"]
    table.add_row("oldest due", f"{(now - oldest).total_seconds():,.0f} s ago" if oldest else "—")
    table.add_row("waiting for their host's turn", "(in the workers alive, most urgent first)")
    for name, label in WAITING_CLASSES.items():
        count, oldest_wait = waiting.get(name, (0, 0.0))
        table.add_row(f"  {label}", f"{count:,}" + (f", the oldest for {oldest_wait:.1f} s" if count else ""))
    for name, figures in ways.items():
        table.add_row(f"by way out {name}", _way_figures(figures))
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
    if sent:
        console.print(_requests_table(sent, title="requests sent by the workers alive, by host and class"))
    hosts = Table("host", "requests (workers' shared turns)", "next turn", title="per-host budget")
    for row in queue["hosts"]:
        wait = row["next_at"] - now.timestamp()
        hosts.add_row(
            row["host"], f"{row['requests']:,}", f"in {wait:.0f} s (backing off)" if wait > 1 else "now"
        )
    rate = settings_of(ctx).fetch.per_host_rate
    hosts.caption = f"fetch.per_host_rate = {rate:g}/s" if rate else "fetch.per_host_rate = 0 (no rate limit)"
    console.print(hosts)


def _run_watcher(ctx: typer.Context, *, once: bool, workers: int) -> None:
    import asyncio

    from samizdat.config import ConfigError
    from samizdat.service import WatcherFailed
    from samizdat.watch.loop import AlreadyWatching, WatchLock

    settings = settings_of(ctx)
    store_of(ctx)
    try:
        with WatchLock(settings.data_dir):
            if once:
                asyncio.run(_watch_once(settings))
            else:
                asyncio.run(_watch_live(settings, workers))
    except AlreadyWatching as exc:
        errors.print(str(exc), style="red")
        raise typer.Exit(2) from None
    except ConfigError as exc:
        problem(exc, label="configuration error")
        raise typer.Exit(2) from None
    except WatcherFailed as exc:
        problem(f"{exc} — `samizdat verify` checks what was written", label="stopped")
        raise typer.Exit(1) from None


async def _watch_once(settings: "Settings") -> None:
    from samizdat.app import pipeline
    from samizdat.watch.loop import watch_pass

    counts: dict[str, int] = {}

    def report(found: "CheckReport") -> None:
        counts[str(found.outcome)] = counts.get(str(found.outcome), 0) + 1
        print_news(found)

    async with pipeline(settings) as pipe:
        await watch_pass(pipe.store, pipe.checker, settings.fetch.total_concurrency, report)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no checks were due"
    console.print(f"checks: {summary}")


async def _watch_live(settings: "Settings", workers: int) -> None:
    import asyncio

    from rich.live import Live

    from samizdat.service import Watcher

    watcher = Watcher(settings, workers=workers)
    running = _until_signalled(watcher)
    with Live(_status_table(watcher, settings), console=console.made(), refresh_per_second=2) as live:
        while not running.done():
            await asyncio.wait([running], timeout=0.5)
            live.update(_status_table(watcher, settings))
    await running
    status = watcher.status
    console.print(
        f"\nstopped: {sum(status.outcomes.values())} checks, {status.declared} removals declared, "
        f"{status.edited} edits, {status.captured} new articles captured"
    )


def _until_signalled(watcher: "Watcher") -> "asyncio.Task[None]":
    """Run ``watcher`` until SIGINT or SIGTERM (it ends the checks in flight first)."""
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return asyncio.create_task(watcher.run(stop))


def _requests_table(sent: dict[str, dict[str, int]], *, title: str) -> "Table":
    """What each host's budget went to: polls, captures, images, links, checks (most used hosts first)."""
    from rich.table import Table

    classes = [name for name in WAITING_CLASSES if name != "capture_tasks"]
    table = Table("host", *classes, "all", title=title)
    for host, counts in sorted(sent.items(), key=lambda item: -sum(item[1].values()))[:HOSTS_SHOWN]:
        table.add_row(host, *(f"{counts.get(name, 0):,}" for name in classes), f"{sum(counts.values()):,}")
    return table


def _status_table(watcher, settings: "Settings") -> "Table":
    from rich.table import Table

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
    table.add_row(
        "linked articles · set aside (host out of reach)",
        f"{status.linked:,} · {status.links_set_aside:,} (tried again later)",
    )
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
    if watcher.reading is not None:
        table.add_row("images read (in the background)", f"{status.images_read:,}")
    for host, counts in sorted(status.requests.items(), key=lambda item: -sum(item[1].values()))[
        :HOSTS_SHOWN
    ]:
        spent = ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items(), key=lambda i: -i[1]))
        table.add_row(f"sent to {host}", spent)
    if len(status.egresses) > 1:
        for name, figures in status.egresses.items():
            table.add_row(f"by way out {name}", _way_figures(figures))
    rate = f"{fetch.per_host_rate:g}/s" if fetch.per_host_rate else "no rate limit"
    ways = f", for each of {len(status.egresses)} ways out" if len(status.egresses) > 1 else ""
    table.add_row(
        "per-host budget",
        f"{fetch.per_host_concurrency} in flight, {rate}{ways} (workers: {watcher.workers})",
    )
    table.add_row("notifications", f"{status.notified:,} sent, {status.notify_failed:,} given up")
    if status.requested:
        table.add_row("submitted URLs captured", f"{status.requested:,}")
    for line in status.news:
        table.add_row("", line)
    return table


def _way_figures(figures: dict[str, float]) -> str:
    shown = f"{figures['requests']:,} requests, {figures['refusals']:,} refused"
    if figures["resting_hosts"]:
        shown += f", resting for {figures['resting_hosts']:,} hosts"
    if figures["down_seconds"]:
        shown += f", down for {figures['down_seconds']:.0f} s more"
    return shown


def print_news(found: "CheckReport") -> None:
    from rich.text import Text

    if found.declared:
        console.print(
            Text.assemble(
                ("removed", "bold red"), f" article {found.article_id}: {found.outcome} — {found.message}"
            )
        )
    elif found.restored:
        console.print(Text.assemble(("back online", "green"), f" article {found.article_id}"))
