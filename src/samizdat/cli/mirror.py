"""``samizdat mirror``: the public archive as static files anyone can host, checked against the
archive's signature (web/mirror/)."""

import base64
import contextlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from samizdat.cli.base import command_group, console, errors, progress_bar, settings_of, store_of

mirror_app = command_group("mirror", "The public archive as static files: build, check a copy, look at it.")


@mirror_app.command("build")
def build_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Where the mirror is written (made if need be).")],
    full: Annotated[
        bool, typer.Option("--full", help="Render every article, not only what changed.")
    ] = False,
    since: Annotated[
        datetime | None, typer.Option(help="Render what changed after this time (default: the last build).")
    ] = None,
    search: Annotated[bool, typer.Option(help="Build the search index (Pagefind).")] = True,
    raw: Annotated[bool, typer.Option(help="Include the unprocessed cache (most of the size).")] = True,
    packages: Annotated[bool, typer.Option(help="Include each article's signed WACZ.")] = True,
    base_url: Annotated[
        str, typer.Option(help="Where the mirror will be served, for its feeds' links.")
    ] = "",
    workers: Annotated[
        int, typer.Option(min=1, help="Processes rendering article pages (default: one per CPU).")
    ] = os.cpu_count() or 1,
    search_shard: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Articles per search index (default 10,000; Pagefind takes up to 6 GB per 10,000).",
        ),
    ] = None,
) -> None:
    """Write the public site as static files into DIRECTORY; a second build writes only what
    changed, and the signed manifest lets anyone check a copy (`samizdat mirror verify`)."""
    from samizdat.archive.storage import warc_storage
    from samizdat.evidence.keys import archive_key, key_document
    from samizdat.evidence.packages import PackageSigningError, package_signer
    from samizdat.web.mirror import MirrorError, build_mirror

    settings = settings_of(ctx)
    store = store_of(ctx)
    key = archive_key(settings.data_dir)
    try:
        signer = package_signer(settings)
    except PackageSigningError as exc:
        errors.print(str(exc))
        raise typer.Exit(2) from None
    with progress_bar() as progress:
        bar = progress.add_task("articles", total=None)
        try:
            report = build_mirror(
                store,
                warc_storage(settings),
                directory,
                key=key,
                key_document=key_document(key, settings.data_dir),
                sign_package=signer,
                witnesses=settings.witnesses,
                base_url=base_url or settings.web.base_url,
                full=full,
                since=since.astimezone() if since else None,
                search=search,
                raw=raw,
                packages=packages,
                workers=workers,
                **({"search_shard": search_shard} if search_shard else {}),
                progress=lambda done, total: progress.update(bar, completed=done, total=total),
            )
        except MirrorError as exc:
            errors.print(str(exc))
            raise typer.Exit(1) from None
    for problem in report.problems:
        errors.print(problem, style="yellow")
    console.print(
        f"{directory}: {report.articles:,} articles rendered, {report.written:,} files written, "
        f"{report.unchanged:,} unchanged, {report.deleted:,} deleted; {report.files:,} files, "
        f"{report.bytes / 1e6:,.1f} MB (search index {report.search_bytes / 1e6:,.1f} MB, "
        f"{report.search_shards} shard(s) indexed) "
        f"in {report.seconds:,.1f} s"
    )


@mirror_app.command("verify")
def verify_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The mirror: a directory or an http(s) URL.")],
    key: Annotated[
        str | None,
        typer.Option(help="The archive's public key (base64) or key.json, as obtained from the archive."),
    ] = None,
) -> None:
    """Check every file of a mirror against its signed manifest: what was altered, added or removed."""
    from rich.text import Text

    from samizdat.evidence.keys import public_raw, published_key
    from samizdat.web.mirror import MirrorError
    from samizdat.web.mirror.verify import verify_mirror

    trusted = None
    if key:
        text = Path(key).read_text() if Path(key).is_file() else key
        trusted = base64.b64decode(json.loads(text)["public_key"] if text.lstrip().startswith("{") else text)
    elif (published := published_key(settings_of(ctx).data_dir)) is not None:
        trusted = public_raw(published)
    try:
        check = verify_mirror(source, trusted)
    except MirrorError as exc:
        errors.print(str(exc))
        raise typer.Exit(1) from None
    whose = (
        "this archive's key" if trusted else "the key the mirror carries (compare the id with the archive's)"
    )
    console.print(
        Text.assemble(
            f"manifest signed by {whose}: ",
            ("yes", "") if check.signed else ("NO", "red"),
            f" · key id {check.key_id}",
        )
    )
    for label, names in (("altered", check.altered), ("removed", check.removed), ("added", check.added)):
        for name in names:
            console.print(Text.assemble((label, "red"), f" {name}"))
    console.print(
        f"{check.checked:,} files checked: {len(check.altered)} altered, {len(check.removed)} removed, "
        f"{len(check.added)} added"
    )
    if not check.ok:
        raise typer.Exit(1)


@mirror_app.command("serve")
def serve_command(
    directory: Annotated[Path, typer.Argument(help="The mirror's directory.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8090,
) -> None:
    """Serve DIRECTORY on 127.0.0.1 for a quick look (any static file server will do)."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    if not (directory / "index.html").is_file():
        errors.print(f"{directory} holds no index.html: build it with `samizdat mirror build {directory}`")
        raise typer.Exit(2)
    handler = partial(SimpleHTTPRequestHandler, directory=str(directory))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        console.print(f"the mirror is at http://127.0.0.1:{port}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
