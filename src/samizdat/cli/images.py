"""Commands on images: read the archive's images (hashes, text), show what one holds."""

from typing import Annotated

import typer

from samizdat.cli.base import command_group, console, errors, progress_bar, settings_of, store_of

images_app = command_group("images", "Archived images: the text in them and their copies.")


@images_app.command("read")
def images_read(
    ctx: typer.Context,
    text: Annotated[
        bool, typer.Option(help="Read the text in them too (pip install 'samizdat[ocr]').")
    ] = True,
    limit: Annotated[int | None, typer.Option(help="Read at most this many now.")] = None,
) -> None:
    """Read every archived image not read yet: its perceptual hashes and its text."""
    from samizdat.archive.storage import warc_storage
    from samizdat.relate.pictures import ImageRefused
    from samizdat.watch.pictures import read_backlog

    store = store_of(ctx)
    with progress_bar() as progress:
        bar = progress.add_task("images", total=None)
        try:
            report = read_backlog(
                store,
                warc_storage(settings_of(ctx)),
                text=text,
                limit=limit,
                progress=lambda done, total: progress.update(bar, completed=done, total=total),
            )
        except ImageRefused as exc:
            errors.print(str(exc), style="red")
            raise typer.Exit(2) from None
        except ImportError as exc:
            errors.print(f"{exc}: pip install 'samizdat[images]'", style="red")
            raise typer.Exit(2) from None
    seconds = report.seconds_reading_text
    per_minute = report.text_read / seconds * 60 if seconds else None
    console.print(
        f"{report.read} images read: {report.refused} refused, {report.decorations} decorations "
        f"(left out of comparisons), {report.wordless} without text (spacers, icons, blank, QR codes: "
        f"not read for text), {report.with_text} with text"
        + (f"; text read at {per_minute:.0f} images a minute" if per_minute else "")
    )


@images_app.command("show")
def images_show(ctx: typer.Context, sha256: str) -> None:
    """What one image holds: its size, why it is left out, its text, and the same image elsewhere."""
    store = store_of(ctx)
    facts = store.image_facts(sha256)
    if facts is None:
        errors.print("not read yet (samizdat images read), or no such image", style="red")
        raise typer.Exit(1)
    if facts.refused:
        console.print(f"{sha256}: refused ({facts.refused}): {facts.message}")
        return
    console.print(f"{sha256}: {facts.width} × {facts.height} {facts.format}, {facts.frames} frame(s)")
    console.print(
        f"comparisons: left out, a decoration ({facts.decoration})"
        if facts.decoration
        else "comparisons: compared with the archive's other images"
    )
    if facts.wordless:
        console.print(f"text: not read, it holds none ({facts.wordless})")
    elif facts.ocr_at is None:
        console.print("text: not read yet (samizdat images read)")
    elif facts.ocr_text:
        console.print("text:\n" + facts.ocr_text)
    else:
        console.print("text: read, none found")
    for other in store.same_images(sha256):
        console.print(f"the same image: {other}")
