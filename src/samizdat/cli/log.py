"""``samizdat log``: the tamper-evident log — the archive's key, signed tree heads, entries
with their proofs (JSON, as the API gives them and the standalone ``verify_evidence.py``,
served at ``/api/log/verifier.py``, reads them)."""

import json
from pathlib import Path
from typing import Annotated

import typer

from samizdat.cli.base import command_group, console, errors, settings_of, store_of

log_app = command_group("log", "The tamper-evident log: key, tree heads, entries and proofs.")


def _print(document: dict) -> None:
    console.print_json(json.dumps(document, ensure_ascii=False))


@log_app.command("key")
def key_command(ctx: typer.Context) -> None:
    """The archive's public key (made the first time) and its id: publish them."""

    from samizdat.evidence.keys import archive_key, key_document

    data_dir = settings_of(ctx).data_dir
    _print(key_document(archive_key(data_dir), data_dir))


@log_app.command("csr")
def csr_command(
    ctx: typer.Context,
    domain: Annotated[str, typer.Argument(help="The domain the archive is served from.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the request (PEM).")],
) -> None:
    """A certificate request for DOMAIN over the package key, to sign WACZ files as that domain.

    Have a CA sign it (Let's Encrypt: ``certbot certonly --csr FILE``), then set
    packages.domain and packages.domain_cert (the chain it returns). authsign accepts a
    signature made within 7 days of the certificate's issue: renew it weekly."""
    from samizdat.evidence.keys import archive_key, package_key
    from samizdat.evidence.packages import certificate_request

    data_dir = settings_of(ctx).data_dir
    archive_key(data_dir)
    output.write_bytes(certificate_request(package_key(data_dir), domain))
    console.print(f"wrote {output}: a request for {domain} over {data_dir}/package-key.pem")


@log_app.command("seal")
def seal_command(ctx: typer.Context) -> None:
    """Give the waiting entries their places and sign a tree head now (the watcher does it)."""
    import asyncio

    from samizdat.evidence.keys import archive_key
    from samizdat.pools import Pools
    from samizdat.watch.sealing import log_origin, seal, stamp_head

    store, settings = store_of(ctx), settings_of(ctx)
    key = archive_key(settings.data_dir)
    head = seal(store, key, log_origin(store, settings, key))
    if head is None:
        console.print("nothing new to seal")
        return
    pools = Pools.from_settings(settings.pools)
    try:
        failures = asyncio.run(stamp_head(store, head, settings.timestamps, pools))
    finally:
        pools.close()
    for failure in failures:
        errors.print(f"not stamped: {failure}", style="yellow")
    _print(store.published_head(head))


@log_app.command("head")
def head_command(
    ctx: typer.Context, size: Annotated[int | None, typer.Option(help="The head signed at this size.")] = None
) -> None:
    """The latest signed tree head."""

    store = store_of(ctx)
    found = store.tree_head(size)
    if found is None:
        errors.print("no such tree head (run `samizdat log seal`, or let the watcher sign one)")
        raise typer.Exit(1)
    _print(store.published_head(found))


@log_app.command("entry")
def entry_command(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The entry's place in the log.")],
    size: Annotated[int | None, typer.Option(help="Prove it under the head signed at this size.")] = None,
) -> None:
    """Entry SEQ with its inclusion proof under a signed head."""
    from samizdat.evidence.heads import entry_document

    store = store_of(ctx)
    found, signed = store.log_entry(seq), store.tree_head(size)
    if found is None or signed is None or seq >= signed.size:
        errors.print(f"entry {seq} is not under a signed tree head yet")
        raise typer.Exit(1)
    proof = store.inclusion(seq, signed.size)
    head = store.published_head(signed)
    _print(entry_document(found.seq, found.kind, found.entry, found.leaf, proof, head))


@log_app.command("consistency")
def consistency_command(
    ctx: typer.Context,
    first: Annotated[int, typer.Argument(help="Size of the older signed head.")],
    second: Annotated[int, typer.Argument(help="Size of the newer signed head.")],
) -> None:
    """The proof that the older signed head's tree is a prefix of the newer one's."""
    from samizdat.evidence.heads import head_document

    store = store_of(ctx)
    heads = [store.tree_head(first), store.tree_head(second)]
    if None in heads or first > second:
        errors.print("both sizes must be of signed heads, the first no larger")
        raise typer.Exit(1)
    proof = store.consistency(first, second)
    _print(
        {
            "first": head_document(heads[0]),
            "second": head_document(heads[1]),
            "proof": [p.hex() for p in proof],
        }
    )


@log_app.command("checkpoint")
def checkpoint_command(ctx: typer.Context) -> None:
    """The latest signed checkpoint (c2sp.org/tlog-checkpoint) with its cosignatures, and the
    log's verifier key, which witnesses pin (`samizdat witness add URL --key VKEY`)."""
    from samizdat.evidence.checkpoints import Checkpoint, archive_vkey
    from samizdat.evidence.keys import public_raw, published_key

    store = store_of(ctx)
    found, key = store.tree_head(), published_key(settings_of(ctx).data_dir)
    if found is None or found.checkpoint is None or key is None:
        errors.print("no checkpoint yet (run `samizdat log seal`, or let the watcher sign one)")
        raise typer.Exit(1)
    console.print(store.published_head(found)["checkpoint"], end="", soft_wrap=True)
    vkey = archive_vkey(Checkpoint.parse(found.checkpoint).origin, public_raw(key))
    errors.print(f"verifier key: {vkey}", soft_wrap=True)
