"""The tamper-evident log end to end: what the archive asserts is logged with the rows it
rests on, sealed under signed tree heads, proved by the API and the CLI, checked by the
standalone verifier (which imports nothing of samizdat) and by `samizdat verify`.
Pages: the simulator's (src/samizdat/testing/pages/wechat/PROVENANCE.md)."""

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text, update
from typer.testing import CliRunner

from samizdat.app import pipeline
from samizdat.archive.storage import warc_storage
from samizdat.cli import app
from samizdat.evidence.keys import archive_key, public_raw
from samizdat.store.schema import log_entries
from samizdat.verify import verify_archive
from samizdat.watch.sealing import seal
from tests.helpers import declared, fast_archive_settings, watch_until

VERIFIER = Path(__file__).parent.parent / "src" / "samizdat" / "evidence" / "verify_evidence.py"


def cli(settings, *args):
    result = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), *args], env=_database(settings))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _database(settings):
    return {"SAMIZDAT_DATABASE__URL": settings.database.url} if settings.database.url else {}


def export_evidence(settings, article: int, path: Path):
    return CliRunner().invoke(
        app,
        [
            "--data-dir",
            str(settings.data_dir),
            "export",
            "--format",
            "evidence",
            "--article",
            str(article),
            "-o",
            str(path),
        ],
        env=_database(settings),
    )


def verifier(tmp_path, key, evidence) -> subprocess.CompletedProcess:
    (tmp_path / "key.json").write_text(json.dumps(key))
    (tmp_path / "evidence.json").write_text(json.dumps(evidence))
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(tmp_path / "key.json"), str(tmp_path / "evidence.json")],
        capture_output=True,
        text=True,
    )


async def build(settings, sim, captured: int):
    async with pipeline(settings) as pipe:
        for article in sim.articles[:captured]:
            await pipe.capturer.capture(sim.base + article.path)
        sim.remove(sim.articles[0], "violation")
        await watch_until(pipe, declared(1))
        return pipe.store


async def test_the_log_proves_what_the_archive_asserts_and_verify_catches_rewrites(
    database_url, tmp_path, simulator
):
    from samizdat.testing import Simulator
    from tests.helpers import WECHAT

    with Simulator(WECHAT, copies=1) as sim:
        settings = fast_archive_settings(tmp_path / "data", sim)
        if database_url:
            from dataclasses import replace

            settings = replace(settings, database=replace(settings.database, url=database_url))
        store = await build(settings, sim, 4)
        key = archive_key(settings.data_dir)
        first = store.tree_head()  # the pipeline sealed what it wrote as it closed
        assert first is not None and seal(store, key, "test.example/log") is None  # and left nothing to seal
        kinds = [store.log_entry(seq).kind for seq in range(first.size)]
        assert kinds.count("capture") == 4 and kinds.count("removed") == 1 and kinds.count("check") >= 2
        removed_entry = json.loads(store.log_entry(kinds.index("removed")).entry)
        assert removed_entry["outcome"] == "removed_violation"

        published = cli(settings, "log", "key")
        entry = cli(settings, "log", "entry", "0")
        assert json.loads(entry["entry"])["kind"] == "capture"
        genuine = verifier(tmp_path, published, entry)
        assert genuine.returncode == 0, genuine.stdout
        assert genuine.stdout.count("ok  ") == 4  # head, inclusion, checkpoint signature, checkpoint = head
        import httpx

        from samizdat.web.app import create_app
        from samizdat.web.server import running_site

        with (  # the site serves the same evidence
            running_site(create_app(settings)) as base,
            httpx.Client(base_url=base, timeout=30) as client,
        ):
            assert client.get("/api/log/key").json() == published
            assert client.get("/api/log/entries/0").json() == entry
            page = client.get("/articles/1", params={"lang": "en"}).text
            assert 'id="evidence"' in page and 'href="/api/log/entries/0"' in page
            assert client.head("/api/log/head").status_code == 200
        for forged in (
            entry | {"entry": entry["entry"].replace('"capture"', '"check"')},
            entry | {"tree_head": entry["tree_head"] | {"size": entry["tree_head"]["size"] + 1}},
            entry | {"proof": list(reversed(entry["proof"]))},
        ):
            assert verifier(tmp_path, published, forged).returncode == 1

        async with pipeline(settings) as pipe:  # the log grows: the new head extends the old
            await pipe.capturer.capture(sim.base + sim.articles[5].path)
        second = store.tree_head()
        assert second.size > first.size
        proof = cli(settings, "log", "consistency", str(first.size), str(second.size))
        assert verifier(tmp_path, published, proof).returncode == 0
        forked = proof | {"first": proof["first"] | {"root": "00" * 32}}
        assert verifier(tmp_path, published, forked).returncode == 1

        # One article's evidence bundle: its WACZ, its entries with proofs, the head, the key, the
        # checker and the methods statement; the checker runs from the bundle alone.
        import zipfile

        bundle_path = tmp_path / "evidence.zip"
        result = export_evidence(settings, 1, bundle_path)
        assert result.exit_code == 0, result.output
        unpacked = tmp_path / "bundle"
        with zipfile.ZipFile(bundle_path) as bundle:
            bundle.extractall(unpacked)
        methods = (unpacked / "METHODS.md").read_text()
        assert "## How the removal was confirmed" in methods and "removed_violation" in methods
        assert (unpacked / "article-1.wacz").stat().st_size > 0 and (
            unpacked / "log" / "tree-head.bin"
        ).exists()
        assert "verify_evidence.py log/key.json article-1.wacz" in methods
        for entry_file in [*sorted((unpacked / "log").glob("entry-*.json")), unpacked / "article-1.wacz"]:
            checked = subprocess.run(
                [
                    sys.executable,
                    str(unpacked / "verify_evidence.py"),
                    str(unpacked / "log" / "key.json"),
                    str(entry_file),
                ],
                capture_output=True,
                text=True,
            )
            assert checked.returncode == 0, checked.stdout
        missing = export_evidence(settings, 999, bundle_path)
        assert missing.exit_code == 1 and "no article 999" in missing.output

        files = warc_storage(settings)
        public = public_raw(key)
        clean = verify_archive(files, store, public_key=public)
        assert clean.problems == [] and clean.log_entries == second.size and clean.tree_heads == 2

        # A rewritten entry, and then the whole tree rebuilt over it: the signed heads tell.
        with store.engine.begin() as connection:
            original = connection.scalar(text("select entry from log_entries where seq = 0"))
            connection.execute(
                update(log_entries)
                .where(log_entries.c.seq == 0)
                .values(entry=original.replace("http", "ftp"))
            )
        problems = verify_archive(files, store, public_key=public).problems
        assert any("log entry 0: its text does not hash" in p for p in problems)
        with store.engine.begin() as connection:
            connection.execute(text("update log_entries set seq = null"))
            connection.execute(text("delete from log_nodes"))
        while store.sequence_log():
            pass
        problems = verify_archive(files, store, public_key=public).problems
        assert any("tree head of" in p and "another root" in p for p in problems), problems

        # A database row pointed at another record than the one logged.
        with store.engine.begin() as connection:
            connection.execute(update(log_entries).where(log_entries.c.seq == 0).values(entry=original))
            connection.execute(text("update versions set warc_record_id = '<urn:uuid:other>' where id = 1"))
        problems = verify_archive(files, store, public_key=public).problems
        assert any("version 1 no longer points at the record" in p for p in problems), problems
        # A head signed by another key is not the archive's.
        assert verify_archive(files, store, public_key=b"\x01" * 32).problems

        # A record cut out of its WARC file (the file still whole, every other member intact).
        with store.engine.connect() as connection:
            name, offset, length = connection.execute(
                text("select warc_file, warc_offset, warc_length from versions where id = 2")
            ).one()
        path = settings.data_dir / "warcs" / name
        data = path.read_bytes()
        path.write_bytes(data[:offset] + data[offset + length :])
        problems = verify_archive(files, store, public_key=public).problems
        assert any(p.startswith("versions 2: ") and "holds another record" in p for p in problems), problems
        assert any("no WARC record starts there" in p for p in problems), problems
        store.engine.dispose()


async def test_tree_heads_are_stamped_by_a_time_stamping_authority_and_verify_checks_the_tokens(
    tmp_path, simulator
):
    """A local RFC 3161 authority (``openssl ts``) stamps each signed head; the token is kept
    only once it checks out, `verify` checks it against the roots given, and a token that was
    altered or comes from an authority not trusted is reported."""
    from dataclasses import replace

    from samizdat.config import TimestampSettings
    from samizdat.pools import Pools
    from samizdat.watch.sealing import stamp_head
    from tests.helpers import local_tsa

    with local_tsa(tmp_path / "tsa") as (authority, root):
        settings = fast_archive_settings(tmp_path / "data", simulator)
        settings = replace(
            settings, timestamps=TimestampSettings(authorities=(authority,), ca_file=str(root))
        )
        async with pipeline(settings) as pipe:
            await pipe.capturer.capture(simulator.base + simulator.articles[0].path)
            store = pipe.store
        head = store.tree_head()  # sealed as the pipeline closed
        pools = Pools.from_settings(settings.pools)
        assert await stamp_head(store, head, settings.timestamps, pools) == []
        unreachable = TimestampSettings(authorities=("http://127.0.0.1:9/tsr",), ca_file=str(root))
        assert len(await stamp_head(store, head, unreachable, pools)) == 1  # said, not kept
        pools.close()
    ((stamped_by, token, at),) = store.head_timestamps(head.size)
    assert stamped_by == authority and abs((at - head.signed_at).total_seconds()) < 60
    shown = cli(settings, "log", "head")
    assert shown["timestamps"][0]["authority"] == authority

    files, public = warc_storage(settings), public_raw(archive_key(settings.data_dir))
    report = verify_archive(files, store, public_key=public, timestamp_roots=root)
    assert report.problems == [] and report.timestamps == 1
    untrusted = verify_archive(files, store, public_key=public, timestamp_roots=tmp_path / "tsa" / "tsa.pem")
    assert any("stamp of" in p for p in untrusted.problems)
    with store.engine.begin() as connection:
        altered = token[:-40] + bytes(b ^ 0xFF for b in token[-40:])
        connection.execute(text("update head_timestamps set token = :token"), {"token": altered})
    assert any(
        "stamp of" in p
        for p in verify_archive(files, store, public_key=public, timestamp_roots=root).problems
    )
    store.engine.dispose()
