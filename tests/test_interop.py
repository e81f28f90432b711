"""The field's own tools read what samizdat writes (issue 17): pywb replays every capture of an
archive through samizdat's own CDXJ, and through its WACZ unpacked by `wb-manager`.

pywb pins its own dependencies (gevent among them), so it lives in a virtualenv of its own,
made by `make test` (`.venv-pywb`; `SAMIZDAT_PYWB` names another). Pages: the simulator's
(src/samizdat/testing/pages/wechat/PROVENANCE.md).
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from samizdat.archive.wacz import archive_index
from samizdat.cli import app
from tests.helpers import fast_archive_settings

PYWB = Path(os.environ.get("SAMIZDAT_PYWB", Path(__file__).parent.parent / ".venv-pywb"))

pytestmark = pytest.mark.slow


def pywb_tool(name: str) -> Path:
    tool = PYWB / "bin" / name
    if not tool.exists():
        message = f"pywb is not installed at {PYWB}: run `make .venv-pywb/.installed` (or set SAMIZDAT_PYWB)"
        if os.environ.get("CI") == "true":
            raise AssertionError(message)
        pytest.skip(message)
    return tool


@pytest.fixture(scope="module")
def archive(tmp_path_factory, simulator):
    """14 articles, a page with one image under two URLs (a revisit), and a removal notice."""
    import asyncio

    from samizdat.app import pipeline

    settings = fast_archive_settings(tmp_path_factory.mktemp("interop") / "data", simulator)
    urls = [
        *simulator.article_urls(),
        f"http://localhost:{simulator.host.split(':')[1]}/news/duplicate-images",
        f"{simulator.base}/notice/deleted-by-author",
    ]

    async def capture():
        async with pipeline(settings) as pipe:
            for url in urls:
                await pipe.capturer.capture(url)

    asyncio.run(capture())
    return settings


def serve(root: Path):
    """pywb's `wayback` on a free port of 127.0.0.1, serving ``root``'s collections."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = root / "wayback.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(pywb_tool("wayback")), "-b", "127.0.0.1", "-p", str(port)],
            cwd=root,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    server.wait()
    raise AssertionError(f"pywb did not start: {log.read_text(errors='replace')[-2000:]}")


def replayed(port: int, collection: str, index_lines: list[str]) -> list[tuple[str, int]]:
    """Each indexed capture fetched from pywb in its raw (id_) mode: (url, status)."""
    answers = []
    for line in index_lines:
        _, stamp, fields = line.split(" ", 2)
        url = json.loads(fields)["url"]
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/{collection}/{stamp}id_/{url}", timeout=30
            ) as r:
                answers.append((url, r.status))
        except urllib.error.HTTPError as error:
            answers.append((url, error.code))
    return answers


def test_pywb_replays_every_capture_through_samizdat_s_own_index(archive, tmp_path):
    lines = list(archive_index(archive.warc_dir))
    collection = tmp_path / "collections" / "samizdat"
    (collection / "indexes").mkdir(parents=True)
    shutil.copytree(archive.warc_dir, collection / "archive")
    (collection / "indexes" / "index.cdxj").write_text("".join(line + "\n" for line in lines))
    server, port = serve(tmp_path)
    try:
        answers = replayed(port, "samizdat", lines)
    finally:
        server.kill()
        server.wait()
    assert len(answers) == len(lines) >= 40
    assert [a for a in answers if a[1] != 200] == []
    assert any('"mime": "warc/revisit"' in line for line in lines)  # the revisit replays too


def test_pywb_unpacks_samizdat_s_wacz_with_its_index_and_replays_it(archive, tmp_path):
    from typer.testing import CliRunner

    wacz = tmp_path / "all.wacz"
    exported = CliRunner().invoke(
        app, ["--data-dir", str(archive.data_dir), "export", "--format", "wacz", "-o", str(wacz)]
    )
    assert exported.exit_code == 0, exported.output
    root = tmp_path / "pywb"
    root.mkdir()
    subprocess.run([str(pywb_tool("wb-manager")), "init", "w"], cwd=root, check=True, capture_output=True)
    added = subprocess.run(
        [str(pywb_tool("wb-manager")), "add", "w", str(wacz), "--unpack-wacz"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "does not contain any indices" not in added.stderr
    lines = (root / "collections" / "w" / "indexes" / "index.cdxj").read_text().splitlines()
    server, port = serve(root)
    try:
        answers = replayed(port, "w", lines)
    finally:
        server.kill()
        server.wait()
    assert len(answers) == len(lines) >= 40
    assert [a for a in answers if a[1] != 200] == []
