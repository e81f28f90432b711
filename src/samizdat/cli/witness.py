"""``samizdat witness``: this archive as a witness of other samizdat logs — it checks that each
new checkpoint extends the last one it cosigned, cosigns it and hands the cosignature back; a
rollback, a fork or a rewritten history is refused, kept as evidence and alerted."""

import json
import time
from typing import Annotated

import typer

from samizdat.cli.base import command_group, console, errors, problem, settings_of, store_of

witness_app = command_group(
    "witness", "Witness other archives' logs: cosign what extends, refuse what does not."
)


@witness_app.command("key")
def key_command(ctx: typer.Context) -> None:
    """This witness's verifier key (made the first time): give it to the archives it watches,
    to put in their witnesses.keys."""
    from samizdat.evidence.checkpoints import vkey
    from samizdat.evidence.witness import witness_identity

    key, name = witness_identity(settings_of(ctx))
    console.print(vkey(name, key), soft_wrap=True)


@witness_app.command("add")
def add_command(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The archive's site, e.g. https://archive.example.org")],
    key: Annotated[
        str,
        typer.Option(
            "--key", help="The archive's public key, obtained apart from its site: base64 or a verifier key."
        ),
    ],
) -> None:
    """Watch the log of the archive at URL, pinned to its KEY."""
    import httpx

    from samizdat.evidence.witness import add_log, witness_client
    from samizdat.store.witnessing import WitnessError

    store = store_of(ctx)
    with witness_client(settings_of(ctx)) as client:
        try:
            found = add_log(store, client, url, key)
        except (WitnessError, httpx.HTTPError) as exc:
            problem(exc, label="not added")
            raise typer.Exit(1) from exc
    console.print(f"watching {found.origin} at {url} ({found.size} entries now; the next run cosigns)")


@witness_app.command("forget")
def forget_command(
    ctx: typer.Context, origin: Annotated[str, typer.Argument(help="The log's origin.")]
) -> None:
    """Stop watching the log ORIGIN (what it cosigned and the alerts stay in the alerts)."""
    if not store_of(ctx).forget_log(origin):
        problem(f"no log {origin} is watched (see `samizdat witness list`)", label="error")
        raise typer.Exit(1)
    console.print(f"no longer watching {origin}")


@witness_app.command("run")
def run_command(
    ctx: typer.Context,
    every: Annotated[
        float, typer.Option(help="Seconds between runs; 0: run once (for cron) and exit.", min=0)
    ] = 0,
) -> None:
    """Fetch each watched log's checkpoint, check it extends the last one cosigned, cosign it
    and give the cosignature back (`samizdat watch` does it every witnesses.every_seconds).
    Exit status 1 when a log was refused."""
    from samizdat.evidence.witness import witness_once

    settings, store = settings_of(ctx), store_of(ctx)
    refused = False
    while True:
        for result in witness_once(store, settings, store.watched_logs()):
            if result.outcome == "cosigned":
                handed = "handed back" if result.delivered else "not taken by the log"
                console.print(f"cosigned {result.origin} at {result.size} entries ({handed})")
            elif result.outcome == "refused":
                refused = True
                problem(f"{result.origin}: {result.detail}", label="REFUSED")
            else:
                errors.print(f"{result.origin}: not reached: {result.detail}")
        if not every:
            break
        time.sleep(every)
    if refused:
        raise typer.Exit(1)


@witness_app.command("list")
def list_command(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False
) -> None:
    """The logs watched, the last checkpoint cosigned of each, and every alert raised."""
    store = store_of(ctx)
    logs = store.watched_logs()
    alerts = store.witness_alerts()
    if as_json:
        document = {
            "logs": [
                {
                    "origin": w.origin,
                    "url": w.url,
                    "vkey": w.vkey,
                    "size": w.size,
                    "checked_at": w.checked_at.isoformat() if w.checked_at else None,
                }
                for w in logs
            ],
            "alerts": [
                {
                    "origin": a.origin,
                    "kind": a.kind,
                    "detail": a.detail,
                    "raised_at": a.raised_at.isoformat(),
                    "evidence": a.evidence,
                }
                for a in alerts
            ],
        }
        console.print_json(json.dumps(document, ensure_ascii=False))
        return
    if not logs:
        console.print("no log is watched: `samizdat witness add URL --key KEY`")
    for watched in logs:
        state = f"{watched.size} entries cosigned" if watched.size is not None else "not cosigned yet"
        console.print(f"{watched.origin}  {watched.url}  {state}")
    for alert in alerts:
        problem(f"{alert.raised_at:%Y-%m-%d %H:%M} {alert.origin}: {alert.detail}", label=alert.kind)
