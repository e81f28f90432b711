"""Commands on articles: capture them now, parse saved pages, export and show the archive."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from samizdat.cli.base import (
    app,
    console,
    errors,
    json_default,
    outcomes_table,
    problem,
    progress_bar,
    settings_of,
    store_of,
)

if TYPE_CHECKING:
    from samizdat.config import Settings
    from samizdat.store.views import ExportedArticle
    from samizdat.watch import CaptureOutcome


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
    no_links: Annotated[
        bool, typer.Option("--no-links", help="Do not capture the articles these pages link to.")
    ] = False,
) -> None:
    """Capture pages now: raw exchange into WARC, parsed article into the database.

    The articles a captured page links to are captured too, as for an article a source lists
    (``[links]``: depth and caps); one whose host cannot be reached now is set aside, and
    ``samizdat watch`` tries it again later."""
    from samizdat.watch import CaptureStatus
    from samizdat.workers import default_workers

    targets = list(urls or [])
    if from_file is not None:
        lines = sys.stdin.read() if str(from_file) == "-" else from_file.read_text("utf-8")
        targets += [line.strip() for line in lines.splitlines() if line.strip() and not line.startswith("#")]
    if not targets:
        errors.print("nothing to capture: give URLs or --from-file FILE")
        raise typer.Exit(2)
    store_of(ctx)  # create or migrate the database once, before any worker starts
    linked: list[CaptureOutcome] = []
    outcomes = _capture_all(
        settings_of(ctx),
        targets,
        workers or default_workers(len(targets)),
        on_linked=None if no_links else linked.append,
    )
    console.print(outcomes_table(outcomes))
    if linked:
        console.print(_linked_summary(linked))
    if any(o.status is CaptureStatus.FAILED for o in outcomes):
        raise typer.Exit(1)


def _linked_summary(linked: "list[CaptureOutcome]") -> str:
    from collections import Counter

    from samizdat.watch import CaptureStatus
    from samizdat.watch.firstsight import removal_seen, transient

    kinds = Counter(
        "archived"
        if o.article_id is not None
        else "removed before capture"
        if removal_seen(o) is not None
        else "set aside for `samizdat watch` to try again"
        if transient(o)
        else "failed"
        for o in linked
    )
    new = sum(1 for o in linked if o.status is CaptureStatus.CAPTURED)
    parts = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    return f"articles these pages link to: {len(linked)} ({parts}; {new} new)"


def _capture_all(
    settings: "Settings", urls: list[str], workers: int, *, on_linked=None
) -> "list[CaptureOutcome]":
    import asyncio

    from samizdat.workers import capture_in_processes, capture_urls

    with progress_bar(enabled=len(urls) > 1) as progress:
        bar = progress.add_task("capturing", total=len(urls))
        if workers > 1:
            return capture_in_processes(
                settings, urls, workers, lambda _: progress.advance(bar), on_linked=on_linked
            )
        return asyncio.run(
            capture_urls(settings, urls, lambda _i, _o: progress.advance(bar), on_linked=on_linked)
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
    import gzip
    import json

    from samizdat.fetch import decode_html
    from samizdat.platforms import Registry

    registry = Registry(settings_of(ctx).platforms)
    failed = False
    for path in files:
        try:
            raw = path.read_bytes()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            problem(f"cannot read: {exc}", label=str(path))
            failed = True
            continue
        text = decode_html(raw).text
        parsed = registry.parse(url, text)
        print(json.dumps(_extract_row(path, url, parsed), ensure_ascii=False, default=json_default))
    if failed:
        raise typer.Exit(1)


def _extract_row(path: Path, url: str | None, parsed: Any) -> dict[str, Any]:
    from samizdat.platforms import Article

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
    format: Annotated[str, typer.Option("--format", help="jsonl, wacz, cdxj or evidence.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default stdout; a WACZ needs one).")
    ] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="WACZ: only articles matching.")] = None,
    article: Annotated[
        list[int] | None, typer.Option("--article", help="WACZ: only these ids; evidence: the one article.")
    ] = None,
) -> None:
    """Export the archive: articles as JSON lines, a WACZ package, a CDXJ index of the WARC files,
    or one article's evidence bundle (its WACZ, log entries with proofs, the signed head, the key,
    the standalone checker and a methods statement)."""
    import json

    from samizdat.archive.storage import warc_storage
    from samizdat.archive.wacz import archive_index, write_wacz
    from samizdat.read.reader import Reader, selected_articles

    if format not in ("jsonl", "wacz", "cdxj", "evidence"):
        errors.print(f"unknown format {format!r}: use jsonl, wacz, cdxj or evidence")
        raise typer.Exit(2)
    store = store_of(ctx)
    settings = settings_of(ctx)
    if format == "evidence":
        from samizdat.read.bundle import BundleRefused, write_evidence_bundle

        if output is None or not article or len(article) != 1:
            errors.print("an evidence bundle is one article's zip: give --article ID --output FILE.zip")
            raise typer.Exit(2)
        try:
            bundle = write_evidence_bundle(output, settings, store, warc_storage(settings), article[0])
        except BundleRefused as exc:
            errors.print(str(exc))
            raise typer.Exit(1) from None
        console.print(
            f"wrote {output}: article {bundle.article_id}, {bundle.entries} log entries under the head of "
            f"{bundle.tree_size}, {bundle.timestamps} time stamps"
        )
        return
    if format == "wacz":
        if output is None:
            errors.print("a WACZ is a zip file: give --output FILE.wacz")
            raise typer.Exit(2)
        from samizdat.evidence.keys import archive_key
        from samizdat.evidence.packages import PackageSigningError, package_signer

        archive_key(settings.data_dir)  # the package key comes with it
        try:
            sign = package_signer(settings)
        except PackageSigningError as exc:
            errors.print(str(exc))
            raise typer.Exit(2) from None
        ids = selected_articles(Reader(store.engine), query=query, ids=article)
        refs, pages = Reader(store.engine).package(ids)
        write_wacz(output, warc_storage(settings), refs, pages, title=query or "samizdat archive", sign=sign)
        console.print(f"wrote {output}: {len(ids)} articles, {len(refs)} records, signed")
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
            out.write(json.dumps(_export_row(row), ensure_ascii=False, default=json_default) + "\n")
    finally:
        if output:
            out.close()


def _export_row(article: "ExportedArticle") -> dict[str, Any]:
    latest = article.latest
    details = latest.details if latest else {}
    return {
        "id": article.id,
        "url": article.url,
        "canonical_id": article.canonical_id,
        "platform": article.platform,
        "title": article.title,
        "account": article.account,
        "account_id": article.account_id,
        "author": article.author,
        "published_at": article.published_at,
        "published_precision": article.published_precision,
        "text": latest.text if latest else None,
        "images": details.get("images", []),
        "image_text": list(article.image_text),  # images whose text was read: url, sha256, text, lines
        "cover": details.get("cover"),
        "description": details.get("description"),
        "repost_of": details.get("repost_of"),
        "media": details.get("media", []),
        "state": article.state,
        "status": article.status,
        "outcome": article.outcome,
        "detected_at": article.detected_at,
        "first_captured_at": article.first_version_at,  # null: removed before it could be captured
        "first_seen_at": article.first_seen_at,
        "last_seen_alive_at": article.last_seen_alive_at,
        "versions": article.version_count,
        "latest_captured_at": latest.captured_at if latest else None,
        "final_url": latest.final_url if latest else None,
        "http_status": latest.http_status if latest else None,
        "warc": latest.warc.__dict__ if latest and latest.warc else None,
        "cluster_id": article.cluster_id,  # articles sharing a text share it; null when alone
        "related": list(article.related),  # ids of related posts (not copies), nearest first
        "keywords": list(article.keywords),  # watchlist terms the article matched
        "listed": article.listed,  # what a source's listing said of it (title, account, date, summary)
    }


@app.command()
def show(ctx: typer.Context, article_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """A readable summary of one article: metadata, versions, checks, images, evidence."""
    from samizdat.cli.show import print_article

    store = store_of(ctx)
    article = store.article(article_id)
    if article is None:
        errors.print(f"no article with id {article_id}")
        raise typer.Exit(1)
    print_article(console.made(), article)
