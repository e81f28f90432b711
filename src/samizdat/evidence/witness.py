"""This archive as a witness of other logs (``samizdat witness``).

A witness keeps, for each log it watches, the last checkpoint it cosigned, and cosigns a new
one only once it has checked that it extends that one: signed by the log's pinned key, no
smaller, the same root at the same size, and a consistency proof from the old size to the new
(RFC 9162). A log that shows a smaller tree (a rollback), another root at a size it cosigned (a
fork) or a tree the proof does not join to the old (history rewritten) is refused: the two
checkpoints and the proof are kept as evidence, and the alert is raised. Its cosignature goes
back to the log (``POST /api/log/cosignatures``), which keeps it beside the head.

The first checkpoint of a log is trusted as it is (a witness cannot know what came before it):
``witness add`` pins the key and the origin, the first run cosigns what it finds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samizdat import logs
from samizdat.config import Settings
from samizdat.evidence.checkpoints import (
    Checkpoint,
    archive_vkey,
    cosign,
    note_signers,
    parse_vkey,
    with_signatures,
)
from samizdat.evidence.keys import public_raw, witness_key
from samizdat.evidence.merkle import verify_consistency
from samizdat.store.witnessing import Alert, WatchedLog, WitnessError, WitnessQueries

log = logging.getLogger(__name__)
CHECKPOINT_PATH = "/log/checkpoint"
CONSISTENCY_PATH = "/api/log/consistency"
COSIGNATURES_PATH = "/api/log/cosignatures"


@dataclass(frozen=True)
class Witnessed:
    """What one run made of one log: cosigned (and whether the log took the cosignature),
    refused (with the alert), or not reached."""

    origin: str
    outcome: str  # cosigned, refused, unreachable
    size: int | None = None
    detail: str = ""
    delivered: bool = False


def witness_name(name: str, base_url: str, key: Ed25519PrivateKey) -> str:
    """The key name this witness cosigns under: ``name`` when set, else the site's address
    with ``/witness``, else one made from the witness key."""
    if name:
        return name
    if base_url:
        parts = urlsplit(base_url)
        return (parts.netloc + parts.path).rstrip("/") + "/witness"
    return f"samizdat.witness/{hashlib.sha256(public_raw(key)).hexdigest()[:16]}"


def log_vkey(key: str, origin: str) -> str:
    """The verifier key of a log: ``key`` as given (a vkey, or the raw Ed25519 public key in
    base64, as ``/api/log/key`` publishes it) under ``origin``."""
    try:
        parse_vkey(key)
        return key
    except (ValueError, binascii.Error):
        pass
    try:
        public = base64.b64decode(key, validate=True)
    except binascii.Error as exc:
        raise WitnessError("the key is neither a verifier key (name+id+key) nor a base64 public key") from exc
    if len(public) != 32:
        raise WitnessError("an Ed25519 public key is 32 bytes (base64 of /api/log/key's public_key)")
    return archive_vkey(origin, public)


def _base(url: str) -> str:
    return url.rstrip("/")


def fetch_checkpoint(client: httpx.Client, url: str) -> Checkpoint:
    answer = client.get(_base(url) + CHECKPOINT_PATH)
    if answer.status_code != 200:
        raise WitnessError(f"{url}{CHECKPOINT_PATH} answered {answer.status_code}: no checkpoint to witness")
    try:
        return Checkpoint.parse(answer.text)
    except (ValueError, binascii.Error) as exc:
        raise WitnessError(f"{url}{CHECKPOINT_PATH} is not a checkpoint: {exc}") from exc


def add_log(store: WitnessQueries, client: httpx.Client, url: str, key: str) -> Checkpoint:
    """Watch the log at ``url`` (a samizdat site), pinned to ``key``: its checkpoint must be
    signed by that key, and its origin is the name it is known by from now on."""
    found = fetch_checkpoint(client, url)
    vkey = log_vkey(key, found.origin)
    name, _, _ = parse_vkey(vkey)
    if name != found.origin:
        raise WitnessError(f"the key is {name}'s, the checkpoint is {found.origin}'s")
    if found.origin not in note_signers(found.note, [vkey]):
        raise WitnessError(f"the checkpoint at {url} is not signed by that key: not adding it")
    store.watch_log(found.origin, url, vkey)
    return found


def witness_identity(settings: Settings) -> tuple[Ed25519PrivateKey, str]:
    """This archive's witness key (made the first time) and the name it cosigns under."""
    key = witness_key(settings.data_dir)
    return key, witness_name(settings.witnesses.name, settings.web.base_url, key)


def witness_client(settings: Settings) -> httpx.Client:
    return httpx.Client(timeout=settings.witnesses.timeout, follow_redirects=True, trust_env=False)


def witness_once(store: WitnessQueries, settings: Settings, logs: Sequence[WatchedLog]) -> list[Witnessed]:
    """Check and cosign the latest checkpoint of each of the watched ``logs``, once, as this
    archive's witness, with the settings' name, timeout and alert receivers."""
    key, name = witness_identity(settings)
    with witness_client(settings) as client:
        return [_witness(store, client, key, name, watched, settings.notify.webhooks) for watched in logs]


def _witness(
    store: WitnessQueries,
    client: httpx.Client,
    key: Ed25519PrivateKey,
    name: str,
    watched: WatchedLog,
    webhooks: tuple[str, ...],
) -> Witnessed:
    now = datetime.now(UTC)
    try:
        offered = fetch_checkpoint(client, watched.url)
    except (httpx.HTTPError, WitnessError) as exc:
        return Witnessed(watched.origin, "unreachable", detail=str(exc) or type(exc).__name__)

    def refuse(kind: str, detail: str, **evidence) -> Witnessed:
        alert = Alert(
            watched.origin,
            kind,
            detail,
            {"cosigned": watched.checkpoint, "offered": offered.note, "url": watched.url, **evidence},
            now,
        )
        store.raise_alert(alert)
        logs.event(log, "witness_alert", f"{watched.origin}: {detail}", level=logging.ERROR, kind=kind)
        _announce(client, webhooks, alert)
        return Witnessed(watched.origin, "refused", offered.size, detail)

    if offered.origin != watched.origin or watched.origin not in note_signers(offered.note, [watched.vkey]):
        return refuse("signature", "the checkpoint is not signed by the log's pinned key")
    if watched.size is not None and watched.root is not None:
        if offered.size < watched.size:
            return refuse(
                "rollback", f"the log shows {offered.size} entries after {watched.size} were cosigned"
            )
        if offered.size == watched.size and offered.root != watched.root:
            return refuse("fork", f"another root at {offered.size} entries than the one cosigned")
        if offered.size > watched.size:
            proof, problem = _consistency(client, watched.url, watched.size, offered.size)
            if proof is None or not verify_consistency(
                watched.size, offered.size, watched.root, offered.root, proof
            ):
                return refuse(
                    "inconsistent",
                    problem
                    or f"the tree of {offered.size} entries does not extend the {watched.size} cosigned",
                    proof=[p.hex() for p in proof or ()],
                )
    line = cosign(key, name, offered.note, now)
    cosigned = with_signatures(offered.note, [line])
    store.witnessed(watched.origin, offered.size, offered.root, cosigned, now)
    try:
        delivered = (
            client.post(
                _base(watched.url) + COSIGNATURES_PATH,
                content=cosigned.encode(),
                headers={"content-type": "text/plain; charset=utf-8"},
            ).status_code
            == 200
        )
    except httpx.HTTPError:
        delivered = False
    return Witnessed(watched.origin, "cosigned", offered.size, delivered=delivered)


def _consistency(client: httpx.Client, url: str, first: int, second: int) -> tuple[list[bytes] | None, str]:
    """The log's proof that its tree of ``first`` entries is a prefix of the one of ``second``
    (None and why, when it gives none)."""
    try:
        answer = client.get(_base(url) + CONSISTENCY_PATH, params={"first": first, "second": second})
        if answer.status_code != 200:
            return (
                None,
                f"the log gives no proof that {second} entries extend the {first} cosigned "
                f"(it answered {answer.status_code})",
            )
        return [bytes.fromhex(p) for p in answer.json()["proof"]], ""
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return None, f"the log's consistency proof is unreadable: {exc}"


def _announce(client: httpx.Client, webhooks: tuple[str, ...], alert: Alert) -> None:
    """Tell the operator's receivers now (once each: the alert stays in the store either way)."""
    body = {
        "kind": "witness_alert",
        "alert": alert.kind,
        "origin": alert.origin,
        "message": alert.detail,
        "at": alert.raised_at.isoformat(),
    }
    for target in webhooks:
        try:
            client.post(target, json=body)
        except httpx.HTTPError as exc:
            logs.event(log, "witness_alert_undelivered", f"{target}: {exc}", level=logging.WARNING)
