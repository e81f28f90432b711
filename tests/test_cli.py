"""The samizdat command, run in-process against the simulator."""

import gzip
import json
import os
import re

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from samizdat.cli import app
from samizdat.store import open_store
from tests.helpers import WECHAT, config_for

LABELS = json.loads((WECHAT / "pre-deletion" / "labels.json").read_text("utf-8"))


def run(*args, env=None):
    result = CliRunner().invoke(app, list(args), env=env)
    return result


@pytest.mark.slow
def test_capture_export_show_and_verify(tmp_path, simulator, database_url):
    config = config_for(tmp_path, simulator, database_url)
    urls = simulator.article_urls()[:3]
    captured = run("--config", config, "capture", *urls)
    assert captured.exit_code == 0, captured.output
    assert "wechat" in captured.output and "captured" in captured.output
    # What the capture wrote into the log is sealed before the command ends: no page waits
    # for a watcher to sign a tree head.
    head = run("--config", config, "log", "head")
    assert head.exit_code == 0 and json.loads(head.output)["size"] == 3, head.output

    exported = run("--config", config, "export", "--format", "jsonl")
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.output.splitlines()]
    assert len(rows) == 3
    for row in rows:
        for key in (
            "id",
            "url",
            "canonical_id",
            "platform",
            "title",
            "account",
            "author",
            "published_at",
            "text",
            "first_captured_at",
            "versions",
            "warc",
        ):
            assert key in row
        assert row["platform"] == "wechat"
        assert row["published_at"].endswith("+08:00")
        assert row["versions"] == 1
        assert set(row["warc"]) == {"file", "offset", "length", "digest", "record_id"}

    shown = run("--config", config, "show", str(rows[0]["id"]))
    assert shown.exit_code == 0, shown.output
    assert rows[0]["canonical_id"] in shown.output
    assert run("--config", config, "show", "999").exit_code == 1

    verified = run("--config", config, "verify")
    assert verified.exit_code == 0, verified.output
    said = " ".join(verified.output.split())
    assert "0 problems" in said and "images checked against their hash" in said

    # One changed byte in a record, and a row naming an article that does not exist: both found.
    (warc,) = (tmp_path / "data" / "warcs").glob("*.warc.gz")
    ref = rows[1]["warc"]
    data = bytearray(warc.read_bytes())
    data[ref["offset"] + ref["length"] // 2] ^= 0xFF
    warc.write_bytes(bytes(data))
    store = open_store(database_url or f"sqlite:///{tmp_path / 'data' / 'samizdat.db'}")
    with store.engine.begin() as connection:
        connection.execute(text("update articles set cluster_id = 999 where id = :id"), {"id": rows[0]["id"]})
    store.engine.dispose()
    broken = run("--config", config, "verify")
    assert broken.exit_code == 1
    said = " ".join(broken.output.split())
    assert "digest" in said and "name a cluster whose article does not exist" in said


def test_capture_from_a_url_list_file_and_failures_set_the_exit_code(tmp_path, simulator, database_url):
    config = config_for(tmp_path, simulator, database_url)
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "# a URL list\n" + simulator.article_urls()[0] + "\n" + simulator.base + "/fault/reset\n"
    )
    result = run("--config", config, "capture", "--from-file", str(listing))
    assert result.exit_code == 1
    assert "truncated" in result.output


def test_extract_recognises_the_platform_from_content_and_prints_json_lines(tmp_path):
    names = sorted(LABELS)[:3]
    files = [str(WECHAT / "pre-deletion" / name) for name in names]
    files.append(str(WECHAT / "notices" / "constructed" / "deleted-by-author.html"))
    result = run("extract", *files)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 4
    for name, row in zip(names, rows, strict=False):
        label = LABELS[name]
        assert row["platform"] == "wechat"
        assert row["title"] == label["title"]
        assert row["account"] == label["nickname"]
        assert row["published_at"].startswith(label["created_at"]) and row["published_at"].endswith("+08:00")
        assert row["unavailable"] is None
        for key in ("url", "canonical_id", "author", "text", "images"):
            assert key in row
    assert rows[-1]["unavailable"] == "deleted_by_author"
    assert rows[-1]["message"] == "该内容已被发布者删除"


def test_extract_generic_page_with_url(tmp_path):
    page = tmp_path / "page.html.gz"
    page.write_bytes(
        gzip.compress(
            "<html><head><title>标题</title></head><body><article><p>这是一段足够长的正文，用来测试离线提取命令是否工作正常。</p></article></body></html>".encode(
                "gbk"
            )
        )
    )
    result = run("extract", str(page), "--url", "https://news.example.cn/a")
    row = json.loads(result.output)
    assert row["platform"] == "generic"
    assert "离线提取命令" in row["text"]


def test_extract_reports_unreadable_files(tmp_path):
    broken = tmp_path / "broken.html.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    result = run("extract", str(broken))
    assert result.exit_code == 1


def test_configuration_errors_name_the_key(tmp_path):
    path = tmp_path / "samizdat.toml"
    path.write_text("[fetch]\ntimeout = 'soon'\n")
    result = run("--config", str(path), "export")
    assert result.exit_code == 2
    assert "fetch.timeout" in result.output


def test_bad_database_url_is_a_clear_error(tmp_path):
    result = run("export", env={"SAMIZDAT_DATABASE__URL": "mysql://x", "SAMIZDAT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "database.url" in result.output


@pytest.mark.slow
def test_demo_runs_offline_and_detects_the_removals(tmp_path, database_url):
    result = run(
        "--data-dir",
        str(tmp_path / "data"),
        "demo",
        "--no-serve",
        env={"SAMIZDAT_DATABASE__URL": database_url},
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    # It starts from one album and one article link, and reaches more through their links.
    assert "source: album" in text and "its albums: 1" in text and "listed by 2 albums" in text
    found = re.search(r"(\d+) of (\d+) removals detected and confirmed", text)
    assert found and found.group(1) == found.group(2) and int(found.group(2)) >= 3
    # Every entry the demo logged is under a signed head: its pages are not "not yet sealed".
    store = open_store(database_url or f"sqlite:///{tmp_path / 'data' / 'samizdat.db'}")
    try:
        with store.engine.connect() as connection:
            entries = connection.exec_driver_sql("SELECT count(*) FROM log_entries").scalar()
        head = store.tree_head()
        assert entries > 0 and head is not None and head.size == entries
    finally:
        store.engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "run"])
def test_serve_and_run_serve_the_site_over_an_archive(tmp_path, simulator, command, database_url):
    import socket
    import subprocess
    import sys
    import time

    import httpx

    config = config_for(tmp_path, simulator, database_url)
    assert run("--config", config, "capture", simulator.article_urls()[0]).exit_code == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "samizdat.cli", "--config", config, command],
        env={**os.environ, "SAMIZDAT_WEB__PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and server.poll() is None, server.stdout.read()
                time.sleep(0.2)
        assert health.json()["articles"] == 1
        assert httpx.get(f"http://127.0.0.1:{port}/api/articles").json()["items"][0]["id"] == 1
    finally:
        server.terminate()
        server.wait(10)
        server.stdout.close()


@pytest.mark.slow
def test_export_wacz_and_cdxj(tmp_path, simulator, database_url):
    import subprocess
    import sys

    config = config_for(tmp_path, simulator, database_url)
    assert run("--config", config, "capture", *simulator.article_urls()[:2]).exit_code == 0
    package = tmp_path / "all.wacz"
    exported = run("--config", config, "export", "--format", "wacz", "-o", str(package))
    assert exported.exit_code == 0, exported.output
    wacz = [sys.executable, "-c", "import sys; from wacz.main import main; sys.exit(main())"]
    checked = subprocess.run([*wacz, "validate", "-f", str(package)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    index = run("--config", config, "export", "--format", "cdxj")
    lines = index.output.splitlines()
    assert index.exit_code == 0 and lines == sorted(lines)
    assert sum(1 for line in lines if '"mime": "text/html"' in line) == 2  # the two article pages
    assert run("--config", config, "export", "--format", "wacz").exit_code == 2  # needs --output


def test_migrate_to_postgresql_copies_and_verifies_everything(tmp_path, simulator, postgres_url):
    from samizdat.read.reader import ArticleFilter, Reader
    from samizdat.store import open_store

    config = config_for(tmp_path, simulator)
    assert run("--config", config, "capture", *simulator.article_urls()[:4]).exit_code == 0
    moved = run("--config", config, "migrate-to", postgres_url)
    assert moved.exit_code == 0, moved.output
    assert "copied and verified" in moved.output and "DIFFERENT" not in moved.output
    target = open_store(postgres_url)
    article = target.article(1)
    assert article.versions and article.urls
    word = article.title[:2]
    assert 1 in {i.id for i in Reader(target.engine).articles(ArticleFilter(query=word)).items}
    # The evidence log moves with the articles: the head the capture signed, on PostgreSQL.
    head = target.tree_head()
    assert head is not None and head.size == 4 and "log_entries" in moved.output
    again = run("--config", config, "migrate-to", postgres_url)
    assert again.exit_code == 1 and "already holds 4 articles" in again.output
    target.engine.dispose()


def test_the_command_line_loads_no_stage_until_a_command_runs():
    """``samizdat --help`` stays fast (docs/benchmarks.md): importing the CLI loads neither the
    settings model, the database, the HTTP client, numpy nor the web framework."""
    import subprocess
    import sys

    heavy = ("pydantic", "pydantic_settings", "sqlalchemy", "httpx", "numpy", "fastapi", "jieba")
    probe = (
        "import sys, samizdat.cli; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m == 'samizdat.config'))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
