"""Commands on sources: the feeds, sitemaps and URL lists articles are found in, and removal datasets."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from samizdat.cli.base import (
    app,
    command_group,
    console,
    errors,
    outcomes_table,
    problem,
    settings_of,
    store_of,
)

if TYPE_CHECKING:
    from samizdat.config import Settings
    from samizdat.watch import CaptureOutcome
    from samizdat.watch.polling import SourceReport


source_app = command_group("source", "Feeds, sitemaps and URL lists to discover articles from.")


@source_app.command("add")
def source_add(
    ctx: typer.Context,
    url: str,
    interval: Annotated[
        int | None,
        typer.Option(help="Poll at most this often, seconds (default watch.poll_floor_seconds)."),
    ] = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option("--keyword", "-k", help="Watch this term in the source's articles (repeatable)."),
    ] = None,
) -> None:
    """Add a source; its kind (feed, sitemap, URL list, OPML of feeds, WeChat album) is recognised
    from it."""
    import asyncio

    from samizdat.watch.polling import SourceRefused, add_source

    store = store_of(ctx)
    try:
        added = asyncio.run(
            add_source(settings_of(ctx), store, url, interval_seconds=interval, keywords=keyword or ())
        )
    except SourceRefused as exc:
        errors.print(str(exc), style="red")
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
    interval: Annotated[
        int | None,
        typer.Option(help="Poll at most this often, seconds (default watch.poll_floor_seconds)."),
    ] = None,
) -> None:
    """Add every feed an OPML file lists."""
    from samizdat.sources import NotASource, SourceKind, read_source

    store = store_of(ctx)
    try:
        document = read_source(file.read_bytes(), kind=SourceKind.OPML)
    except NotASource as exc:
        problem(exc, label=str(file))
        raise typer.Exit(1) from None
    added = sum(
        store.add_source(str(SourceKind.FEED), feed, title=None, interval_seconds=interval)[1]
        for feed in document.children
    )
    console.print(f"{added} feeds added, {len(document.children) - added} already there")


@source_app.command("list")
def source_list(ctx: typer.Context) -> None:
    """The sources: how often each may be polled, when it was last, when its next poll is worth a
    check's turn, and how many entries a day it is expected to publish (watch/publishing.py)."""
    from datetime import UTC, datetime

    from rich.table import Table

    from samizdat.watch.polling import floor_of
    from samizdat.watch.publishing import Publishing, schedule_clock

    watch = settings_of(ctx).watch
    now = datetime.now(UTC)
    table = Table("id", "kind", "url", "title", "floor", "last polled", "next worth it", "a day")
    for row in store_of(ctx).list_sources():
        publishing = Publishing.from_json(row["publishing"])
        expected = publishing.per_day(schedule_clock(now, watch.time_scale)) if publishing.since else None
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["url"],
            row["title"] or "—",
            f"{floor_of(row, watch):g} s",
            str(row["last_polled_at"] or "never"),
            str(row["next_poll_at"] or "now"),
            f"{expected:.2g}" if expected is not None else "—",
        )
    console.print(table)


@source_app.command("remove")
def source_remove(ctx: typer.Context, key: Annotated[str, typer.Argument(help="Source id or URL.")]) -> None:
    """Stop following a source (its articles stay archived)."""
    if not store_of(ctx).remove_source(key):
        errors.print(f"no source {key}")
        raise typer.Exit(1)
    console.print(f"removed source {key}")


@source_app.command("poll")
def source_poll(ctx: typer.Context) -> None:
    """Poll every source once and capture the articles not seen before, at first sight."""
    import asyncio

    settings = settings_of(ctx)
    rows = store_of(ctx).list_sources()
    reports, captures = asyncio.run(_poll_all(settings, rows))
    for report in reports:
        if report.error:
            problem(report.error, label=f"source {report.source_id}", style="yellow")
            continue
        status = "unchanged (304)" if report.not_modified else f"{report.listed} listed, {report.new} new"
        if report.dropped:
            status += f", {report.dropped} gone from the listing (due for a check now)"
        console.print(f"source {report.source_id} {report.url}: {status}")
    if captures:
        console.print(outcomes_table(captures))


async def _poll_all(
    settings: "Settings", rows: list[dict]
) -> "tuple[list[SourceReport], list[CaptureOutcome]]":
    """Every source once, through one pipeline (its per-host limits apply across sources)."""
    from samizdat.app import pipeline
    from samizdat.watch.polling import poll_sources

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
    from rich.table import Table

    from samizdat.sources.removals import parse_offset
    from samizdat.watch.imports import RemovalDatasetError, import_removals

    settings = settings_of(ctx)
    if not path.is_file():
        problem(path, label="no such file")
        raise typer.Exit(2)
    try:
        report = import_removals(
            settings, store_of(ctx), path, platform=platform, tz=parse_offset(utc_offset), dataset=dataset
        )
    except (RemovalDatasetError, KeyError) as exc:
        problem(exc.args[0], label="cannot import")
        raise typer.Exit(2) from None
    table = Table("outcome", "rows", "share")
    for outcome, count in report.outcomes.most_common():
        table.add_row(outcome, f"{count:,}", f"{count / report.rows:.1%}")
    console.print(table)
    console.print(
        f"{report.rows:,} rows read, {report.added:,} added ({report.rows - report.added:,} already here)"
    )
    for message, count in report.unrecognised.most_common(10):
        problem(message, label=f"not a known notice ({count}×), kept as unknown_unavailable", style="yellow")
