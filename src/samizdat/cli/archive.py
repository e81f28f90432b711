"""Commands on the archive as a whole: related posts, statistics, backups, migrations, verification."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from samizdat.cli.base import app, console, errors, problem, progress_bar, settings_of, store_of

if TYPE_CHECKING:
    from samizdat.backup import BackupSummary


@app.command("relate")
def relate_command(ctx: typer.Context) -> None:
    """Compute the related posts of every article still without them (``watch`` does it as they arrive)."""
    from samizdat.store.related import relate_pending

    store = store_of(ctx)
    done = 0
    with progress_bar() as progress:
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
    from rich.table import Table

    from samizdat.read.reader import Reader
    from samizdat.read.statistics import GROUPINGS, to_csv

    if by not in GROUPINGS:
        problem(", ".join(GROUPINGS), label="--by must be one of")
        raise typer.Exit(2)
    groups = Reader(store_of(ctx).engine).breakdowns()[by]
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
    from samizdat.backup import backup

    summary = _or_exit("back up", lambda: backup(settings_of(ctx), store_of(ctx), destination))
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
    from samizdat.backup import restore

    summary = _or_exit("restore", lambda: restore(settings_of(ctx), source))
    rows = sum(t.target_rows for t in summary.tables)
    console.print(
        f"restored {rows:,} rows and {summary.files} WARC files into {summary.path}; run `samizdat verify`"
    )


def _or_exit(action: str, run: "Callable[[], BackupSummary]") -> "BackupSummary":
    """What ``run`` returns, or the reason it refused and exit status 2."""
    from samizdat.backup import BackupError

    try:
        return run()
    except BackupError as exc:
        problem(exc, label=f"cannot {action}")
        raise typer.Exit(2) from None


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Create or upgrade the database schema (also done automatically on first use)."""
    store = store_of(ctx)
    console.print(f"database is up to date: {store.engine.url.render_as_string(hide_password=True)}")


@app.command("migrate-to")
def migrate_to(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The target database, e.g. postgresql://user@host/samizdat.")],
) -> None:
    """Copy this archive's database into another (empty) one, then compare every table."""
    from rich.table import Table
    from rich.text import Text

    from samizdat.store import DatabaseURLError, open_store
    from samizdat.store.transfer import TransferRefused, copy_archive

    source = store_of(ctx)
    try:
        target = open_store(url)
    except DatabaseURLError as exc:
        errors.print(str(exc), style="red")
        raise typer.Exit(2) from None
    counts = source.counts()
    with progress_bar() as progress:
        bars: dict[str, Any] = {}

        def advance(table: str, rows: int) -> None:
            if table not in bars:
                bars[table] = progress.add_task(table, total=counts.get(table))
            progress.advance(bars[table], rows)

        try:
            checks = copy_archive(source.engine, target.engine, on_rows=advance)
        except TransferRefused as exc:
            problem(exc, label="cannot copy")
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
            Text("same", style="green") if check.ok else Text("DIFFERENT", style="red"),
        )
    console.print(table)
    if not all(check.ok for check in checks):
        errors.print("the copy differs from the source: keep using the source", style="red")
        raise typer.Exit(1)
    console.print(
        f"copied and verified: set database.url = {url!r} to use it (WARC files stay where they are)"
    )


@app.command()
def verify(ctx: typer.Context) -> None:
    """Read every WARC file whole and every record the database points at; check digests,
    image hashes and links. Exits 1 on any problem."""
    from samizdat.archive.storage import warc_storage
    from samizdat.evidence.keys import KEY_FILE, archive_key, public_raw, published_key
    from samizdat.verify import verify_archive

    settings = settings_of(ctx)
    store = store_of(ctx)
    with progress_bar() as progress:
        bars: dict[str, Any] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=done)

        published = published_key(settings.data_dir)
        if published is None and (settings.data_dir / KEY_FILE).exists():
            published = archive_key(settings.data_dir).public_key()  # made before the public file was
        # No public key: any signed head then fails its signature check, as it should.
        key = public_raw(published) if published is not None else b""
        report = verify_archive(
            warc_storage(settings),
            store,
            public_key=key,
            timestamp_roots=Path(settings.timestamps.ca_file),
            witnesses=settings.witnesses.keys,
            progress=advance,
        )
    for name, cut in report.repaired:
        problem(
            f"cut a torn record of {cut:,} bytes off its end (its writer stopped)", label=name, style="yellow"
        )
    for found in report.problems:
        errors.print(found, style="red")
    console.print(
        f"{report.files:,} WARC files, {report.records:,} records read whole;"
        f" {report.references:,} references read back ({report.images:,} images checked against their hash);"
        f" {report.log_entries:,} log entries under {report.tree_heads:,} signed tree heads"
        f" ({report.timestamps:,} time stamps checked);"
        f" {len(report.problems)} problems"
    )
    if report.problems:
        raise typer.Exit(1)
