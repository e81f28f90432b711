"""``samizdat show N`` answered by sqlite3 alone (samizdat/cli/entry.py, store/plain.py): the
same article, the same printed summary, as the full path through SQLAlchemy; and the quick path
steps aside whenever the full settings could answer differently. Pages: the saved WeChat
articles of shared/samples (tests/fixtures/wechat), served by the simulator."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from samizdat.app import pipeline
from samizdat.cli.entry import _database, _parse, _show_quickly
from samizdat.store import open_archive
from samizdat.store.plain import PlainReader
from samizdat.testing import Simulator
from samizdat.watch.loop import watch_pass
from tests.helpers import WECHAT, fast_archive_settings

QUICK = "from samizdat.cli.entry import main; main()"
FULL = "from samizdat.cli import app; app()"


@pytest.fixture
def archive(tmp_path):
    """Three captured articles, one of them removed since and seen removed (its checks kept)."""
    with Simulator(WECHAT, copies=1) as simulator:
        return build_archive(tmp_path, simulator)


def build_archive(tmp_path, simulator):
    settings = fast_archive_settings(tmp_path / "data", simulator)

    async def build():
        async with pipeline(settings) as pipe:
            ids = [(await pipe.capturer.capture(url)).article_id for url in simulator.article_urls()[:3]]
            simulator.remove(simulator.articles[0], "deleted-by-author")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and pipe.store.article(ids[0]).detected_at is None:
                await watch_pass(pipe.store, pipe.checker, 4)
                await asyncio.sleep(0.05)
            return ids

    ids = asyncio.run(build())
    (tmp_path / "samizdat.toml").write_text(f'data_dir = "{tmp_path / "data"}"\n', "utf-8")
    return settings, ids


def test_the_plain_reader_gives_the_stores_answer_for_every_article(archive):
    settings, ids = archive
    store = open_archive(settings)
    reader = PlainReader.open(settings.data_dir / "samizdat.db")
    assert reader is not None
    try:
        removed = reader.article(ids[0])
        assert removed.detected_at is not None and removed.checks, "the fixture's removal was not seen"
        assert all(reader.article(i).images for i in ids[1:]), "captures with images expected"
        for article_id in [*ids, max(ids) + 1]:
            assert reader.article(article_id) == store.article(article_id)
    finally:
        reader.close()
        store.engine.dispose()


def command(code: str, *args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("SAMIZDAT_")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment | {"COLUMNS": "100"} | (env or {}),
    )


def test_the_quick_and_the_full_path_print_the_same(archive, tmp_path):
    _, ids = archive
    for article_id in ids:
        quick = command(QUICK, "show", str(article_id), cwd=tmp_path)
        full = command(FULL, "show", str(article_id), cwd=tmp_path)
        assert quick.returncode == full.returncode == 0, quick.stderr + full.stderr
        assert quick.stdout == full.stdout
    quick = command(QUICK, "show", "999", cwd=tmp_path)
    full = command(FULL, "show", "999", cwd=tmp_path)
    assert (
        (quick.returncode, quick.stderr) == (full.returncode, full.stderr) == (1, "no article with id 999\n")
    )


def test_show_takes_the_quick_path_without_typer_pydantic_or_sqlalchemy(archive, tmp_path):
    _, ids = archive
    listing = "import atexit, sys; atexit.register(lambda: print(sorted(sys.modules), file=sys.stderr)); "
    shown = command(listing + QUICK, "--config", "samizdat.toml", "show", str(ids[1]), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    loaded = {name.split(".")[0] for name in eval(shown.stderr.strip().splitlines()[-1])}
    assert not loaded & {"typer", "pydantic", "pydantic_settings", "sqlalchemy", "warcio"}


@pytest.mark.parametrize(
    "args",
    [
        ["show"],
        ["show", "1", "--help"],
        ["show", "x"],
        ["show", "-1"],
        ["show", "١"],  # an Arabic-Indic digit: int() takes it, Typer does not
        ["--version", "show", "1"],
        ["--config", "a", "--config", "b", "show", "1"],
        ["capture", "1"],
        ["--config"],
    ],
)
def test_anything_but_show_of_one_id_goes_to_the_full_path(args):
    assert _parse(args) is None


def test_the_options_read_as_typer_reads_them():
    assert _parse(["--config=a.toml", "--data-dir", "d", "show", "7"]) == (
        {"--config": "a.toml", "--data-dir": "d"},
        7,
    )


def test_settings_the_quick_path_cannot_be_sure_of_send_it_to_the_full_path(tmp_path):
    (tmp_path / "samizdat.toml").write_text('data_dir = "here"\n', "utf-8")
    assert _database({}, {}, tmp_path) == tmp_path / "here" / "samizdat.db"
    assert _database({}, {"SAMIZDAT_DATA_DIR": "there"}, tmp_path) == tmp_path / "there" / "samizdat.db"
    assert _database({"--data-dir": "flag"}, {"SAMIZDAT_DATA_DIR": "there"}, tmp_path) == (
        tmp_path / "flag" / "samizdat.db"
    )
    assert _database({}, {"SAMIZDAT_FETCH__TIMEOUT": "3"}, tmp_path) is None
    assert _database({"--config": "missing.toml"}, {}, tmp_path) is None
    for text in (
        'data_dir = "x"\n[database]\nurl = "postgresql://h/db"\n',
        "data_dir = 3\n",
        'data_dir = "  "\n',
        "[",
    ):
        (tmp_path / "samizdat.toml").write_text(text, "utf-8")
        assert _database({}, {}, tmp_path) is None, text
    (tmp_path / "samizdat.toml").unlink()
    assert _database({}, {}, tmp_path) == tmp_path / "samizdat-data" / "samizdat.db"


def test_an_archive_not_yet_made_or_at_an_older_schema_goes_to_the_full_path(tmp_path, archive):
    settings, ids = archive
    assert not _show_quickly(["--data-dir", str(tmp_path / "nothing-here"), "show", "1"], {}, tmp_path)
    database = settings.data_dir / "samizdat.db"
    import sqlite3

    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    assert PlainReader.open(database) is None
    assert not _show_quickly(["--data-dir", str(settings.data_dir), "show", str(ids[0])], {}, tmp_path)
