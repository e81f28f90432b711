"""The command line's shared parts: the app, its consoles, the settings and the store of a command.

Every command module imports its heavy stages inside its commands, so that ``samizdat --help``
and a quick command start in a fraction of a second.
"""

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from samizdat import __version__

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from samizdat.config import Layers, Settings
    from samizdat.store import Store
    from samizdat.watch import CaptureOutcome

LAYERS = "samizdat.layers"  # ctx.meta key: the settings with where each key came from

# Help is plain text (rich_markup_mode=None): Typer's rich help loads a Markdown parser and
# takes as long again as the rest of `samizdat --help` (docs/benchmarks.md, fast start).
app = typer.Typer(
    help="samizdat: capture articles at first sight, keep them as evidence, find them again.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def command_group(name: str, help: str) -> typer.Typer:
    """A group of commands (``samizdat NAME …``), helped in plain text as the app is."""
    group = typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(group, name=name)
    return group


# Markup is off: a message, a title or a path is printed as it is ("pip install
# 'samizdat[mirror]'" keeps its brackets); colour is given with style= or Text.
class _ConsoleAtFirstUse:
    """A rich Console made when a command first prints: `samizdat --help` never loads rich."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def made(self) -> "Console":
        """The Console itself (for rich's own displays, which hold it as a context)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made(), name)


console = _ConsoleAtFirstUse(markup=False, highlight=False)
errors = _ConsoleAtFirstUse(stderr=True, markup=False, highlight=False)


def problem(message: object, *, label: str, style: str = "red") -> None:
    """``label: message`` on stderr, the label coloured, the message as it is."""
    from rich.text import Text

    errors.print(Text.assemble((f"{label}:", style), " ", str(message)), soft_wrap=True)


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
    from samizdat import logs
    from samizdat.config import ConfigError, load_layers

    source = ctx.get_parameter_source("data_dir")
    if source is not None and source.name == "ENVIRONMENT":
        data_dir = None  # read with the other SAMIZDAT_* variables, and said to come from there
    try:
        layers = load_layers(config, data_dir=data_dir)
    except ConfigError as exc:
        problem(exc, label="configuration error")
        raise typer.Exit(2) from None
    ctx.obj = layers.settings
    ctx.meta[LAYERS] = layers
    logs.configure(ctx.obj.log)


def settings_of(ctx: typer.Context) -> "Settings":
    return ctx.obj


def layers_of(ctx: typer.Context) -> "Layers":
    return ctx.meta[LAYERS]


def store_of(ctx: typer.Context) -> "Store":
    """The archive's store, its connections closed when the command ends (the CLI also runs in
    other programs' processes: tests, notebooks)."""
    from samizdat.store import DatabaseURLError, open_archive

    try:
        store = open_archive(settings_of(ctx))
    except DatabaseURLError as exc:
        problem(exc, label="configuration error")
        raise typer.Exit(2) from None
    ctx.call_on_close(store.engine.dispose)
    return store


def outcomes_table(outcomes: "list[CaptureOutcome]") -> "Table":
    from rich.table import Table

    table = Table("id", "platform", "status", "title / reason", "url", show_lines=False)
    for outcome in outcomes:
        detail = outcome.title if outcome.title is not None else f"{outcome.reason}: {outcome.message}"
        table.add_row(
            str(outcome.article_id or "—"), outcome.platform or "—", str(outcome.status), detail, outcome.url
        )
    return table


def progress_bar(enabled: bool = True) -> "Progress":
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=errors.made(),
        transient=True,
        disable=not enabled,
    )


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
