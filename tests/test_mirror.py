"""The static mirror: incremental builds write only what changed, and `mirror verify` catches a
changed byte, a removed file and an added one, in a directory and over HTTP.
Pages: the simulator's (src/samizdat/testing/pages/wechat/PROVENANCE.md)."""

import asyncio
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec

import pytest
from typer.testing import CliRunner

from samizdat.app import pipeline
from samizdat.archive.storage import warc_storage
from samizdat.cli import app
from samizdat.evidence.keys import archive_key, key_document, public_raw
from samizdat.evidence.packages import package_signer
from samizdat.store import open_archive
from samizdat.testing import Simulator
from samizdat.web.mirror import build_mirror, mirror_file
from samizdat.web.mirror.pages import SEARCH_TERMS
from samizdat.web.mirror.verify import verify_mirror
from tests.helpers import WECHAT, declared, fast_archive_settings, watch_until

pytestmark = pytest.mark.slow


async def capture(settings, sim, articles, remove=()):
    async with pipeline(settings) as pipe:
        ids = [(await pipe.capturer.capture(sim.base + a.path)).article_id for a in articles]
        for article in remove:
            sim.remove(article, "violation")
        await watch_until(pipe, declared(len(remove)))
        return ids


def build(settings, root, **options):
    store = open_archive(settings)
    key = archive_key(settings.data_dir)
    try:
        return build_mirror(
            store,
            warc_storage(settings),
            root,
            key=key,
            key_document=key_document(key, settings.data_dir),
            sign_package=package_signer(settings),
            **options,
        )
    finally:
        store.engine.dispose()


@pytest.fixture
def simulator():
    """A simulator of this module's own: its tests remove articles from it."""
    with Simulator(WECHAT, copies=1) as sim:
        yield sim


@pytest.fixture
def built(tmp_path, simulator):
    settings = fast_archive_settings(tmp_path / "data", simulator)
    ids = asyncio.run(capture(settings, simulator, simulator.articles[:6], remove=simulator.articles[:1]))
    root = tmp_path / "mirror"
    report = build(settings, root, search=False)
    return settings, root, ids, report


def test_a_second_build_writes_only_what_changed(built, simulator):
    settings, root, ids, first = built
    assert first.problems == [] and first.articles == len(ids) and first.written == first.files
    again = build(settings, root, search=False)
    assert again.articles == 0 and again.written == 0 and again.files == first.files

    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    new = asyncio.run(capture(settings, simulator, simulator.articles[6:8], remove=simulator.articles[1:2]))
    later = build(settings, root, search=False)
    rewritten = {p.relative_to(root).as_posix() for p, t in before.items() if p.stat().st_mtime_ns != t}
    # The two new articles and the removed one, their pages in both languages, the lists that
    # show them, the feeds and statistics: not the other articles' pages.
    assert later.articles == 3
    assert (root / mirror_file(f"/articles/{new[0]}", "zh")).exists() and "index.html" in rewritten
    for untouched in (ids[0], *ids[2:]):
        mine = (
            f"articles/{untouched}.",
            f"articles/{untouched}/",
            f"en/articles/{untouched}",
            f"raw/{untouched}/",
        )
        assert not [name for name in rewritten if name.startswith(mine)], untouched
    removed_page = (root / mirror_file(f"/articles/{ids[1]}", "zh")).read_text()
    assert 'class="banner banner-removed"' in removed_page
    assert verify_mirror(str(root), public_raw(archive_key(settings.data_dir))).ok


def test_a_mirror_whose_search_documents_were_written_another_way_is_built_again(built):
    """Search documents of an earlier release hold Chinese pairs as text, which the search
    page no longer queries: an incremental build over them renders every article again."""
    settings, root, ids, _ = built
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["search_terms"] == SEARCH_TERMS
    del manifest["search_terms"]  # as an earlier release wrote it
    (root / "manifest.json").write_text(json.dumps(manifest))
    again = build(settings, root, search=False)
    assert again.articles == len(ids)
    assert build(settings, root, search=False).articles == 0  # and then it is up to date


def test_workers_write_the_same_mirror_as_one_process(built, tmp_path, monkeypatch):
    settings, root, ids, serial = built
    monkeypatch.setattr("samizdat.web.mirror.CHUNK", 1)  # a task per article: both workers render
    parallel = build(settings, tmp_path / "parallel", search=False, workers=2)
    assert parallel.problems == [] and parallel.articles == serial.articles == len(ids)
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "manifest.sig")
    }
    differing = [name for name, data in files.items() if (tmp_path / "parallel" / name).read_bytes() != data]
    # A WACZ records when it was packaged and signed.
    assert files and all(name.endswith(".wacz") for name in differing), differing
    manifests = [
        json.loads((r / "manifest.json").read_text())["files"] for r in (root, tmp_path / "parallel")
    ]
    assert manifests[0].keys() == manifests[1].keys()


def test_the_search_index_is_sharded_and_only_a_changed_shard_is_indexed_again(tmp_path, simulator):
    """Pagefind holds the index it builds in memory: the mirror's search has one index per
    ``search_shard`` articles (merged in the browser, test_browser.py), and a build indexes
    again only the shards whose documents changed."""
    settings = fast_archive_settings(tmp_path / "data", simulator)
    ids = asyncio.run(capture(settings, simulator, simulator.articles[:5]))
    assert ids == [1, 2, 3, 4, 5]
    root = tmp_path / "mirror"
    options = {"search_shard": 2, "raw": False, "packages": False}
    first = build(settings, root, **options)
    assert first.search_shards == 3 and json.loads((root / "pagefind" / "shards.json").read_text()) == [
        {"name": "0", "articles": 1},  # ids 0–1: article 1
        {"name": "1", "articles": 2},
        {"name": "2", "articles": 2},
    ]
    assert sorted(p.name for p in (root / "search" / "1").iterdir()) == ["2.html", "3.html"]
    kept = {
        p: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in (root / "pagefind").glob("[012]/**/*")
        if p.is_file()
    }

    asyncio.run(capture(settings, simulator, simulator.articles[5:6]))  # article 6: shard 3
    second = build(settings, root, **options)
    assert second.search_shards == 1
    assert [s["name"] for s in json.loads((root / "pagefind" / "shards.json").read_text())] == [
        "0",
        "1",
        "2",
        "3",
    ]
    assert (root / "pagefind" / "3" / "pagefind.js").exists()
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in kept} == kept  # not indexed again
    assert verify_mirror(str(root), public_raw(archive_key(settings.data_dir))).ok  # in the manifest

    assert build(settings, root, **options).search_shards == 0  # nothing changed


def test_verify_catches_a_changed_byte_a_removed_file_and_an_added_one(built):
    settings, root, ids, _ = built
    key = public_raw(archive_key(settings.data_dir))
    assert verify_mirror(str(root), key).ok
    page = root / mirror_file(f"/articles/{ids[2]}", "zh")
    data = bytearray(page.read_bytes())
    data[len(data) // 2] ^= 0x01
    page.write_bytes(bytes(data))
    (root / "stats" / "month.csv").unlink()
    (root / "articles" / "extra.html").write_text("<p>not from the archive</p>")
    check = verify_mirror(str(root), key)
    assert check.signed and check.altered == [page.relative_to(root).as_posix()]
    assert check.removed == ["stats/month.csv"] and check.added == ["articles/extra.html"]

    result = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), "mirror", "verify", str(root)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "1 altered, 1 removed, 1 added" in said and "signed by this archive's key: yes" in said

    # A manifest rewritten to match is no longer the archive's.
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["files"].pop("stats/month.csv")
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert not verify_mirror(str(root), key).signed


def test_verify_over_http_finds_what_a_host_changed(built):
    settings, root, _, _ = built
    key = public_raw(archive_key(settings.data_dir))
    index = root / "index.html"
    index.write_text(index.read_text().replace("</main>", '<a href="en/planted.html">more</a></main>'))
    (root / "en" / "planted.html").write_text("<p>planted</p>")
    (root / "feeds" / "removed.en.atom").unlink()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        check = verify_mirror(f"http://127.0.0.1:{server.server_address[1]}/{root.name}/", key)
    finally:
        server.shutdown()
        server.server_close()
    assert check.signed and check.altered == ["index.html"]
    assert check.removed == ["feeds/removed.en.atom"] and check.added == ["en/planted.html"]


def test_without_pagefind_the_mirror_builds_with_a_warning_and_no_search_page(built, tmp_path, monkeypatch):
    """The mirror extra is optional: without Pagefind the build says so, naming the extra with its
    brackets (messages are printed as text, not as terminal markup), and no page links a search
    that is not there. With Pagefind, a build adds the search page and its link everywhere."""
    settings, _, ids, _ = built
    config = tmp_path / "samizdat.toml"
    config.write_text(f'data_dir = "{settings.data_dir}"\n', encoding="utf-8")
    root = tmp_path / "bare"
    real_find_spec = find_spec
    monkeypatch.setattr(
        "samizdat.web.mirror.find_spec", lambda name: None if name == "pagefind" else real_find_spec(name)
    )
    done = CliRunner().invoke(app, ["--config", str(config), "mirror", "build", str(root), "--workers", "1"])
    assert done.exit_code == 0, done.output
    assert "pip install 'samizdat[mirror]'" in done.stderr
    home = (root / "index.html").read_text()
    assert "search-link" not in home and not (root / mirror_file("/search", "zh")).exists()
    assert verify_mirror(str(root), public_raw(archive_key(settings.data_dir))).ok

    monkeypatch.undo()
    report = build(settings, root, raw=False, packages=False)
    assert report.problems == [] and report.articles == len(ids)  # every page again: they link the search
    assert "search-link" in (root / "index.html").read_text()
    assert (root / mirror_file("/search", "zh")).exists() and (root / "pagefind" / "shards.json").exists()
