"""Commands on accounts: the accounts a researcher watches, their albums and their removals."""

from pathlib import Path
from typing import Annotated

import typer

from samizdat.cli.base import command_group, console, errors, settings_of, store_of

account_app = command_group("account", "Accounts to watch: their articles, albums and removals.")


@account_app.command("add")
def account_add(
    ctx: typer.Context,
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help="Each account's biz (__biz=… in its URLs), its gh_… id, or one of its article URLs."
        ),
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option(help="A file of such keys, one per line (# starts a comment).")
    ] = None,
    albums: Annotated[bool, typer.Option(help="Watch the albums its articles name as sources of it.")] = True,
) -> None:
    """Watch accounts: their archived articles are attached, their albums become their sources.
    One that cannot be read is reported and the others are still added."""
    import asyncio

    from samizdat.watch.accounts import AccountRefused, add_account

    wanted = list(keys or [])
    if from_file is not None:
        lines = from_file.read_text(encoding="utf-8-sig").splitlines()
        wanted += [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
    if not wanted:
        errors.print("name at least one account (or --from-file FILE)", style="red")
        raise typer.Exit(2)
    settings, store = settings_of(ctx), store_of(ctx)
    refused = 0
    for key in wanted:
        try:
            added = asyncio.run(add_account(settings, store, key, follow_albums=albums))
        except AccountRefused as exc:
            errors.print(str(exc), style="red")
            refused += 1
            continue
        account = added.account
        state = "added" if added.created else "already watched"
        console.print(
            f"{state}: account {account.id} {account.name} (biz {account.biz or '?'}, user name "
            f"{account.user_name or '?'}): {added.articles} archived articles"
            + (f"; {len(added.sources)} albums now watched" if added.sources else "")
        )
        for url in added.sources:
            console.print(f"  album {url}")
    if refused:
        raise typer.Exit(1)


@account_app.command("list")
def account_list(ctx: typer.Context) -> None:
    """The watched accounts: their articles by state, removals and sources."""
    from rich.table import Column, Table

    # Folded, never cut: a biz or user name with an ellipsis names nothing.
    names = ("id", "name", "biz", "user name", "articles", "removed", "sources", "albums")
    table = Table(*(Column(name, overflow="fold") for name in names))
    for summary in store_of(ctx).list_accounts():
        account = summary.account
        table.add_row(
            str(account.id),
            account.name,
            account.biz or "—",
            account.user_name or "—",
            str(summary.articles),
            str(summary.removed),
            str(summary.sources),
            "followed" if account.follow_albums else "off",
        )
    console.print(table)
