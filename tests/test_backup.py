"""Backup while the archive is being written, restore, and the same pages served.

Pages: the simulator's (src/samizdat/testing/pages/wechat, see PROVENANCE.md)."""

import asyncio
import dataclasses
import stat
import threading

import httpx
import pytest

from samizdat.app import pipeline
from samizdat.backup import BackupError, backup, restore
from samizdat.config import DatabaseSettings
from samizdat.evidence.keys import KEY_FILES, archive_key
from samizdat.store import open_store
from samizdat.testing import Simulator
from samizdat.verify import verify_archive
from samizdat.watch.loop import watch_pass
from samizdat.web.app import create_app
from samizdat.web.server import running_site
from tests.helpers import WECHAT, fast_archive_settings


async def capture(settings, urls):
    async with pipeline(settings) as pipe:
        return [(await pipe.capturer.capture(url)).article_id for url in urls]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_a_backup_taken_during_captures_restores_to_the_same_pages(tmp_path, target, request, database_url):
    """From either backend (``database_url``: the live archive's) to either (``target``)."""
    with Simulator(WECHAT, copies=1) as sim:
        settings = fast_archive_settings(tmp_path / "live", sim, database=DatabaseSettings(url=database_url))
        urls = [sim.base + a.path for a in sim.articles]
        first = asyncio.run(capture(settings, urls[:7]))
        sim.remove(sim.articles[0], "violation")

        async def watch_once():
            async with pipeline(settings) as pipe:
                await watch_pass(pipe.store, pipe.checker, 8)

        asyncio.run(watch_once())
        # The other seven are captured while the backup is taken.
        writing = threading.Thread(target=lambda: asyncio.run(capture(settings, urls[7:])))
        writing.start()
        archive_key(settings.data_dir)
        store = open_store(settings.database_url)
        summary = backup(settings, store, tmp_path / "backup")
        writing.join()
        with pytest.raises(BackupError, match="not empty"):
            backup(settings, store, tmp_path / "backup")

        database = DatabaseSettings(
            url=request.getfixturevalue("postgres_url") if target == "postgresql" else ""
        )
        restored = dataclasses.replace(settings, data_dir=tmp_path / "restored", database=database)
        back = restore(restored, tmp_path / "backup")
        assert back.files == summary.files and [t.target_rows for t in back.tables] == [
            t.target_rows for t in summary.tables
        ]
        with pytest.raises(BackupError, match="already holds"):
            restore(restored, tmp_path / "backup")
        kept = [name for name in KEY_FILES if (settings.data_dir / name).exists()]
        assert len(kept) == 5  # no witness key: this archive witnessed nothing
        for name in kept:  # the restored archive signs as the same archive, its log unforked
            assert (restored.data_dir / name).read_bytes() == (settings.data_dir / name).read_bytes()
        assert stat.S_IMODE((restored.data_dir / "archive-key.pem").stat().st_mode) == 0o600

        restored_store = open_store(restored.database_url)
        report = verify_archive(restored.warc_dir, restored_store)
        assert report.problems == [] and report.references > 0
        # The evidence log comes back whole: the same signed heads, every entry at its place.
        head = restored_store.tree_head()
        assert head is not None and store.tree_head(head.size) == head
        assert restored_store.log_entry(head.size - 1) == store.log_entry(head.size - 1)
        with (
            running_site(create_app(settings, store)) as live,
            running_site(create_app(restored, restored_store)) as copy,
        ):
            for article_id in first:
                for path in (f"/articles/{article_id}", f"/raw/{article_id}", f"/api/articles/{article_id}"):
                    original, again = httpx.get(live + path), httpx.get(copy + path)
                    assert original.status_code == again.status_code == 200, path
                    assert original.content == again.content, path


def test_a_damaged_backup_is_refused(tmp_path, database_url):
    with Simulator(WECHAT, copies=1) as sim:
        settings = fast_archive_settings(tmp_path / "live", sim, database=DatabaseSettings(url=database_url))
        asyncio.run(capture(settings, [sim.base + sim.articles[0].path]))
    backup(settings, open_store(settings.database_url), tmp_path / "backup")
    (warc,) = (tmp_path / "backup" / "warcs").glob("*.warc.gz")
    warc.write_bytes(warc.read_bytes()[:-10])
    restored = dataclasses.replace(settings, data_dir=tmp_path / "restored", database=DatabaseSettings())
    with pytest.raises(BackupError, match="differs from the manifest"):
        restore(restored, tmp_path / "backup")
