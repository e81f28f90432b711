"""Witnesses (issue 30): archives on loopback cosign each other's checkpoints while the history
extends, and refuse — alert, keep the evidence — a rolled-back head, a forked head and a
rewritten entry. The archive keeps the cosignatures and gives them with its heads, in evidence
bundles and in its mirror; the standalone verifier can require N of them."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner

from samizdat.app import pipeline
from samizdat.cli import app
from samizdat.config import DatabaseSettings, Settings, WitnessSettings
from samizdat.evidence.checkpoints import Checkpoint, note_signers, sign_checkpoint
from samizdat.evidence.keys import archive_key
from samizdat.store import open_archive
from samizdat.store.schema import cosignatures, log_entries, log_nodes, tree_heads
from samizdat.testing import Simulator
from samizdat.web.app import create_app
from samizdat.web.server import running_site
from tests.helpers import WECHAT, fast_archive_settings, missing

VERIFIER = Path(__file__).parent.parent / "src" / "samizdat" / "evidence" / "verify_evidence.py"


def run(data_dir: Path, *args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


def verify(tmp_path: Path, key: dict, evidence: dict, *options: str) -> subprocess.CompletedProcess:
    (tmp_path / "key.json").write_text(json.dumps(key))
    (tmp_path / "entry.json").write_text(json.dumps(evidence))
    return subprocess.run(
        [sys.executable, str(VERIFIER), *options, str(tmp_path / "key.json"), str(tmp_path / "entry.json")],
        capture_output=True,
        text=True,
    )


async def capture(settings: Settings, sim: Simulator, articles) -> None:
    async with pipeline(settings) as pipe:  # it seals what it wrote as it closes
        for article in articles:
            await pipe.capturer.capture(sim.base + article.path)


async def test_witnesses_cosign_an_extending_log_and_refuse_rollback_fork_and_rewrite(tmp_path, database_url):
    witnesses = {name: tmp_path / name for name in ("bremen", "cairo")}
    vkeys = {name: run(path, "witness", "key").strip() for name, path in witnesses.items()}
    assert all(v.startswith("samizdat.witness/") and v.count("+") >= 2 for v in vkeys.values())

    with Simulator(WECHAT, copies=1) as sim:
        settings = fast_archive_settings(
            tmp_path / "archive",
            sim,
            witnesses=WitnessSettings(keys=tuple(vkeys.values()), quorum=2),
            database=DatabaseSettings(url=database_url),
        )
        # The CLI reads its settings as an operator's would: the file or the environment.
        on_its_database = {
            "SAMIZDAT_WITNESSES__KEYS": ",".join(vkeys.values()),
            "SAMIZDAT_WITNESSES__QUORUM": "2",
            **({"SAMIZDAT_DATABASE__URL": database_url} if database_url else {}),
        }
        await capture(settings, sim, sim.articles[:3])
        store = open_archive(settings)
        key = base64.b64encode(archive_key(settings.data_dir).public_key().public_bytes_raw()).decode()

        with running_site(create_app(settings)) as site, httpx.Client(base_url=site) as client:
            note = client.get("/log/checkpoint").text
            first = Checkpoint.parse(note)
            assert first.origin.startswith("samizdat.archive/") and first.size == store.tree_head().size

            for path in witnesses.values():
                assert "watching" in run(path, "witness", "add", site, "--key", key)
            # Another key pinned for the same log is refused before anything is watched.
            stranger = base64.b64encode(bytes(32)).decode()
            assert "not signed by that key" in run(
                tmp_path / "stranger", "witness", "add", site, "--key", stranger, code=1
            )

            for path in witnesses.values():
                assert f"cosigned {first.origin} at {first.size} entries (handed back)" in run(
                    path, "witness", "run"
                )
            cosigned = client.get("/log/checkpoint").text
            assert set(note_signers(cosigned, vkeys.values())) == {v.split("+")[0] for v in vkeys.values()}

            # The log grows: each witness checks the consistency proof and cosigns the new head.
            await capture(settings, sim, sim.articles[3:5])
            second = Checkpoint.parse(client.get("/log/checkpoint").text)
            assert second.size > first.size
            for path in witnesses.values():
                assert f"at {second.size} entries (handed back)" in run(path, "witness", "run")

            entry = client.get("/api/log/entries/0").json()
            published = client.get("/api/log/key").json()
            assert len(note_signers(entry["tree_head"]["checkpoint"], vkeys.values())) == 2
            both = [arg for v in vkeys.values() for arg in ("--witness", v)]
            holds = verify(tmp_path, published, entry, *both, "--quorum", "2")
            assert holds.returncode == 0, holds.stdout
            assert "cosigned by 2 of the witnesses given, 2 needed" in holds.stdout
            short = verify(tmp_path, published, entry, "--witness", vkeys["bremen"], "--quorum", "2")
            assert short.returncode == 1 and "cosigned by 1 of the witnesses given, 2 needed" in short.stdout

            # A cosignature of a witness the archive does not know is not kept.
            from samizdat.evidence.checkpoints import cosign
            from samizdat.evidence.keys import witness_key

            stranger_line = cosign(witness_key(tmp_path / "stranger"), "stranger.example/w", cosigned)
            offered = f"{first.text}\n{stranger_line}\n"
            answer = client.post("/api/log/cosignatures", content=offered.encode())
            assert answer.status_code == 403 and "witnesses.keys" in answer.json()["error"]

            # Evidence bundles and the mirror carry the cosigned checkpoint.
            bundle = tmp_path / "bundle.zip"
            run(
                settings.data_dir,
                *("export", "--format", "evidence", "--article", "1", "-o", str(bundle)),
                env=on_its_database,
            )
            with zipfile.ZipFile(bundle) as opened:
                head = json.loads(opened.read("log/tree-head.json"))
                opened.extractall(tmp_path / "bundle")
            assert len(note_signers(head["checkpoint"], vkeys.values())) == 2
            # METHODS.md names the witnesses and the command that requires them; it holds.
            methods = (tmp_path / "bundle" / "METHODS.md").read_text()
            command = next(line.strip() for line in methods.splitlines() if "--quorum 2" in line)
            entry_file = next((tmp_path / "bundle" / "log").glob("entry-*.json")).relative_to(
                tmp_path / "bundle"
            )
            required = subprocess.run(
                command.replace("python3", sys.executable, 1).replace("log/entry-N.json", str(entry_file)),
                shell=True,
                cwd=tmp_path / "bundle",
                capture_output=True,
                text=True,
            )
            assert required.returncode == 0 and "cosigned by 2 of the witnesses given" in required.stdout, (
                required.stdout + required.stderr
            )
            mirror = tmp_path / "mirror"
            run(settings.data_dir, "mirror", "build", str(mirror), env=on_its_database)
            assert (mirror / "log" / "checkpoint").read_text() == client.get("/log/checkpoint").text

            # `samizdat verify` checks each checkpoint and the cosignatures kept with it.
            assert run(settings.data_dir, "verify", env=on_its_database).rstrip().endswith(" 0 problems")
            kept = store.cosignatures(second.size)[0]
            flipped = kept[:-6] + ("A" if kept[-6] != "A" else "B") + kept[-5:]
            with store.engine.begin() as connection:
                connection.execute(
                    update(cosignatures).where(cosignatures.c.line == kept).values(line=flipped)
                )
            found = run(settings.data_dir, "verify", env=on_its_database, code=1)
            assert f"the cosignature of {kept.split(' ')[1]} does not hold" in " ".join(found.split())
            with store.engine.begin() as connection:
                connection.execute(
                    update(cosignatures).where(cosignatures.c.line == flipped).values(line=kept)
                )

            bremen = witnesses["bremen"]

            def refused(kind: str) -> dict:
                output = run(bremen, "witness", "run", code=1)
                assert "REFUSED" in output, output
                alerts = json.loads(run(bremen, "witness", "list", "--json"))["alerts"]
                assert alerts[-1]["kind"] == kind, alerts[-1]
                return alerts[-1]

            latest = store.tree_head()
            with store.engine.begin() as connection:  # rolled back: the newest head withdrawn
                connection.execute(delete(tree_heads).where(tree_heads.c.size == latest.size))
            alert = refused("rollback")
            assert Checkpoint.parse(alert["evidence"]["cosigned"]).size == latest.size
            assert Checkpoint.parse(alert["evidence"]["offered"]).size == first.size

            signing = archive_key(settings.data_dir)
            other_root = bytes(32)
            forked = dataclasses.replace(
                latest,
                root=other_root,
                checkpoint=sign_checkpoint(signing, first.origin, latest.size, other_root),
            )
            store.add_tree_head(forked)  # forked: the same size, another root, validly signed
            alert = refused("fork")
            assert Checkpoint.parse(alert["evidence"]["offered"]).root == other_root

            # Rewritten: an old entry changed, the tree rebuilt and a larger head signed with the
            # archive's own key. Only the consistency proof shows it.
            with store.engine.begin() as connection:
                connection.execute(delete(tree_heads))
                connection.execute(delete(log_nodes))
                connection.execute(update(log_entries).values(seq=None))
                connection.execute(
                    update(log_entries).where(log_entries.c.id == 1).values(entry=log_entries.c.entry + " ")
                )
            await capture(settings, sim, sim.articles[5:6])
            assert store.tree_head().size > latest.size
            alert = refused("inconsistent")
            assert alert["evidence"]["proof"], "the proof that failed is kept"
            assert "does not extend" in alert["detail"]

            # The other witness refuses the same rewritten history on its own.
            assert "REFUSED" in run(witnesses["cairo"], "witness", "run", code=1)
        # A log out of reach is no alert: the witness says so and tries again next time.
        output = run(witnesses["cairo"], "witness", "run")
        assert (
            "not reached" in output
            and len(json.loads(run(witnesses["cairo"], "witness", "list", "--json"))["alerts"]) == 1
        )


GO_NOTE = Path("/usr/share/gocode/src/golang.org/x/mod/sumdb/note/note.go")


def go_notecheck(tmp_path: Path) -> Path:
    """tests/interop/notecheck.go built against Debian's golang.org/x/mod (GOPATH mode: no
    module download)."""
    if shutil.which("go") is None or not GO_NOTE.exists():
        missing("Go and golang.org/x/mod: apt-get install golang-go golang-golang-x-mod-dev (make test does)")
    binary = tmp_path / "notecheck"
    subprocess.run(
        ["go", "build", "-o", str(binary), str(Path(__file__).parent / "interop" / "notecheck.go")],
        check=True,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "GOPATH": "/usr/share/gocode",
            "GO111MODULE": "off",
            "GOCACHE": str(tmp_path / "gocache"),
        },
        capture_output=True,
    )
    return binary


@pytest.mark.slow
async def test_go_s_note_package_verifies_the_checkpoint_samizdat_writes(tmp_path):
    """Interop: Go's golang.org/x/mod/sumdb/note (the signed-note format's reference code)
    opens the checkpoint samizdat serves with the verifier key samizdat prints, also when it
    carries a witness's cosignature, and rejects it once one byte of its text changed."""
    notecheck = go_notecheck(tmp_path)
    witness = tmp_path / "witness"
    vkey = run(witness, "witness", "key").strip()
    with Simulator(WECHAT, copies=1) as sim:
        settings = fast_archive_settings(tmp_path / "archive", sim, witnesses=WitnessSettings(keys=(vkey,)))
        await capture(settings, sim, sim.articles[:2])
        printed = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), "log", "checkpoint"])
        assert printed.exit_code == 0, printed.output
        log_vkey = printed.stderr.split("verifier key: ")[1].strip()
        with running_site(create_app(settings)) as site:
            key = base64.b64encode(archive_key(settings.data_dir).public_key().public_bytes_raw()).decode()
            run(witness, "witness", "add", site, "--key", log_vkey)
            assert "handed back" in run(witness, "witness", "run")
            served = httpx.get(site + "/log/checkpoint").text
            assert key and printed.stdout in served  # the CLI's checkpoint, now cosigned too

    def go(note: str) -> subprocess.CompletedProcess:
        (tmp_path / "note").write_text(note, encoding="utf-8")
        return subprocess.run(
            [str(notecheck), log_vkey, str(tmp_path / "note")], capture_output=True, text=True
        )

    opened = go(served)
    origin = Checkpoint.parse(served).origin
    assert opened.returncode == 0, opened.stdout
    assert opened.stdout.startswith(f"verified by {origin} (1 other signatures not checked)")
    assert opened.stdout.split("\n", 1)[1] == Checkpoint.parse(served).text
    lines = served.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # another size, the signature unchanged
    rejected = go("\n".join(lines))
    assert rejected.returncode == 1 and "rejected" in rejected.stdout


async def test_a_mirror_built_again_gives_pages_the_checkpoint_the_witnesses_cosigned_since(tmp_path):
    """A page's proofs are given under the smallest checkpoint that holds its entries, cosigned
    if there is one: the next build renders again the pages whose entries the witnesses have
    reached since, and only those."""
    from samizdat.web.mirror.layout import mirror_file

    witness = tmp_path / "witness"
    vkey = run(witness, "witness", "key").strip()
    named = {"SAMIZDAT_WITNESSES__KEYS": vkey}
    with Simulator(WECHAT, copies=1) as sim:
        settings = fast_archive_settings(tmp_path / "archive", sim, witnesses=WitnessSettings(keys=(vkey,)))
        await capture(settings, sim, sim.articles[:2])
        mirror = tmp_path / "mirror"

        def proofs(article: int) -> dict:
            page = (mirror / mirror_file(f"/articles/{article}", "en")).read_text("utf-8")
            start = page.index('id="verification-proofs">') + len('id="verification-proofs">')
            return json.loads(page[start : page.index("</script>", start)])

        run(settings.data_dir, "mirror", "build", str(mirror), "--no-search", env=named)
        assert note_signers(proofs(1)["checkpoint"], [vkey]) == {}
        with running_site(create_app(settings)) as site:
            key = json.loads(run(settings.data_dir, "log", "key"))["public_key"]
            run(witness, "witness", "add", site, "--key", key)
            run(witness, "witness", "run")
        await capture(settings, sim, sim.articles[2:3])  # a head no witness saw
        run(settings.data_dir, "mirror", "build", str(mirror), "--no-search", env=named)
        assert list(note_signers(proofs(1)["checkpoint"], [vkey])) == [vkey.split("+")[0]]
        assert list(note_signers(proofs(2)["checkpoint"], [vkey])) == [vkey.split("+")[0]]
        assert note_signers(proofs(3)["checkpoint"], [vkey]) == {}
        manifest = json.loads((mirror / "manifest.json").read_text())
        assert manifest["witnessed_size"] == Checkpoint.parse(proofs(1)["checkpoint"]).size


def test_a_wrong_witness_setting_says_what_it_expects(tmp_path):
    from samizdat.config import ConfigError, load_settings

    for environ, expected in (
        (
            {"SAMIZDAT_WITNESSES__KEYS": "nonsense"},
            "witnesses.keys: expected verifier keys as `samizdat witness key`",
        ),
        (
            {"SAMIZDAT_WITNESSES__ORIGIN": "my archive"},
            "witnesses.origin: expected a name without spaces or '+'",
        ),
    ):
        with pytest.raises(ConfigError) as raised:
            load_settings(environ=environ, cwd=tmp_path)
        assert expected in str(raised.value)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from samizdat.evidence.checkpoints import vkey

    a_log_s_key = vkey("archive.example/log", Ed25519PrivateKey.generate(), kind=0x01)
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={"SAMIZDAT_WITNESSES__KEYS": a_log_s_key}, cwd=tmp_path)
    assert "is not a witness's (type 0x04)" in str(raised.value)


@pytest.mark.slow
async def test_the_watcher_witnesses_the_logs_it_was_given(tmp_path):
    """`samizdat watch` does a witness's rounds itself, every witnesses.every_seconds."""
    import asyncio

    from samizdat.service import Watcher

    with Simulator(WECHAT, copies=1) as sim:
        witness_dir = tmp_path / "witness"
        vkey = run(witness_dir, "witness", "key").strip()
        settings = fast_archive_settings(tmp_path / "archive", sim, witnesses=WitnessSettings(keys=(vkey,)))
        await capture(settings, sim, sim.articles[:2])
        with running_site(create_app(settings)) as site:
            key = json.loads(run(settings.data_dir, "log", "key"))["public_key"]
            run(witness_dir, "witness", "add", site, "--key", key)
            witness = fast_archive_settings(witness_dir, sim, witnesses=WitnessSettings(every_seconds=0.2))
            stop = asyncio.Event()
            running = asyncio.create_task(Watcher(witness).run(stop))
            store = open_archive(settings)
            head = store.tree_head()
            for _ in range(100):
                if store.cosignatures(head.size):
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await asyncio.wait_for(running, 30)
            assert [line.split(" ")[1] for line in store.cosignatures(head.size)] == [vkey.split("+")[0]]
