"""First-sight capture end to end: simulator → fetch → WARC → parse → database."""

import asyncio
import gzip
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from samizdat.app import pipeline
from samizdat.archive import read_record
from samizdat.store.schema import article_urls, blobs, version_blobs
from samizdat.watch import CaptureStatus
from tests.helpers import WECHAT, with_fetch

LABELS = json.loads((WECHAT / "pre-deletion" / "labels.json").read_text("utf-8"))


async def capture_all(settings, urls):
    async with pipeline(settings) as pipe:
        outcomes = await asyncio.gather(*(pipe.capturer.capture(u) for u in urls))
        return outcomes, pipe.store


def simulated(simulator, label):
    biz, mid, idx = (
        dict(p.split("=", 1) for p in label["url"].split("?", 1)[1].split("&"))[k]
        for k in ("__biz", "mid", "idx")
    )
    return next(a for a in simulator.articles if (a.biz, a.mid, a.idx) == (biz, mid, idx))


@pytest.mark.slow
async def test_every_sample_article_is_captured_with_exact_fields(settings, simulator):
    outcomes, store = await capture_all(settings, simulator.article_urls())
    assert [o.status for o in outcomes] == [CaptureStatus.CAPTURED] * len(simulator.articles)
    for name, label in LABELS.items():
        article_id = store.article_id_for_url(simulator.base + simulated(simulator, label).path)
        article = store.article(article_id)
        assert article.title == label["title"], name
        assert article.account == label["nickname"], name
        assert article.published_at.date().isoformat() == label["created_at"], name
        assert article.published_at.utcoffset().total_seconds() == 8 * 3600
        assert article.account_id == name.split("_2020")[0]
        (version,) = article.versions
        stored = read_record(settings.warc_dir, version.warc)
        served = gzip.decompress(stored.payload).decode("utf-8")
        assert label["title"].split("|")[0].strip() in served  # the exact page as served
        assert version.text and version.text == article.latest.text


async def test_warc_files_pass_warcio_check_and_every_reference_reads_back(settings, simulator):
    _, store = await capture_all(settings, simulator.article_urls()[:6])
    refs = list(store.all_refs())
    assert {table for table, _, _ in refs} == {"versions", "checks", "blobs"}
    for _, _, ref in refs:
        assert read_record(settings.warc_dir, ref).ref == ref  # digest verified inside
    files = sorted(settings.warc_dir.glob("*.warc.gz"))
    checked = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", *map(str, files)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    indexed = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "index", *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    )
    types = [json.loads(line)["warc-type"] for line in indexed.stdout.splitlines()]
    assert {"warcinfo", "response", "request", "metadata"} <= set(types)


async def test_short_and_long_url_of_one_article_are_one_record(settings, simulator):
    article = simulator.articles[0]
    long_url = simulator.base + article.path + "&chksm=abc&scene=21#wechat_redirect"
    outcomes, store = await capture_all(settings, [long_url])
    async with pipeline(settings) as pipe:
        short = await pipe.capturer.capture(simulator.short_url(article))
    assert outcomes[0].status is CaptureStatus.CAPTURED
    assert short.status is CaptureStatus.UNCHANGED
    assert short.article_id == outcomes[0].article_id
    assert short.canonical_id == f"{article.biz}:{article.mid}:{article.idx}"
    stored = store.article(short.article_id)
    assert len(stored.versions) == 1
    assert len(stored.checks) == 2
    assert simulator.short_url(article) in stored.urls
    assert store.counts()["articles"] == 1


async def test_images_are_stored_once_by_content_hash(settings, simulator):
    urls = [simulator.base + a.path for a in simulator.articles if "华商报" in a.html]
    outcomes, store = await capture_all(settings, urls)
    (outcome,) = outcomes
    assert outcome.images == 30  # 29 body images + the cover
    with store.engine.connect() as connection:
        blob_rows = connection.execute(select(blobs)).all()
        links = connection.execute(select(version_blobs)).all()
    assert len(links) == 30
    for blob in blob_rows:
        stored = read_record(settings.warc_dir, store.blob(blob.sha256).ref)
        assert stored.payload.startswith(b"\x89PNG")
    assert len(blob_rows) == 30  # every image of this page is different


async def test_one_image_under_two_urls_is_one_blob_and_a_revisit_record(settings, simulator):
    url = f"http://localhost:{simulator.host.split(':')[1]}/news/duplicate-images"
    outcomes, store = await capture_all(settings, [url])
    assert outcomes[0].status is CaptureStatus.CAPTURED
    assert outcomes[0].images == 2
    with store.engine.connect() as connection:
        assert len(connection.execute(select(blobs)).all()) == 1
        assert len(connection.execute(select(version_blobs)).all()) == 2
    files = sorted(settings.warc_dir.glob("*.warc.gz"))
    indexed = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "index", *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    )
    records = [json.loads(line) for line in indexed.stdout.splitlines()]
    assert [r["warc-target-uri"].rsplit("=", 1)[1] for r in records if r["warc-type"] == "revisit"] == [
        "jpeg"
    ]


async def test_the_archive_s_cdxj_is_the_one_cdxj_indexer_writes(settings, simulator):
    """pywb reads samizdat's own index: its keys are the ``surt`` package's (lower case, ``=``
    kept), a revisit is ``warc/revisit``; the whole index equals the reference indexer's."""
    from samizdat.archive.wacz import archive_index

    image_page = f"http://localhost:{simulator.host.split(':')[1]}/news/duplicate-images"
    await capture_all(settings, [image_page, *simulator.article_urls()[:4]])
    files = sorted(p.name for p in settings.warc_dir.glob("*.warc.gz"))
    reference = subprocess.run(
        [str(Path(sys.executable).parent / "cdxj-indexer"), "-s", *files],
        cwd=settings.warc_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ours = "".join(line + "\n" for line in archive_index(settings.warc_dir))
    assert ours == reference
    assert '"mime": "warc/revisit"' in ours and "__biz=mza" in ours  # SURT: lower case, "=" kept


async def test_recapturing_adds_a_check_and_no_duplicate_version(settings, simulator):
    url = simulator.article_urls()[3]
    first, store = await capture_all(settings, [url])
    again, _ = await capture_all(settings, [url])
    assert again[0].status is CaptureStatus.UNCHANGED
    article = store.article(first[0].article_id)
    assert len(article.versions) == 1
    assert [c.outcome for c in article.checks] == ["alive", "alive"]
    assert store.counts()["blobs"] > 0
    with store.engine.connect() as connection:
        assert (
            connection.scalar(select(article_urls.c.article_id).where(article_urls.c.url == url))
            == first[0].article_id
        )


async def test_notice_at_first_sight_is_reported_and_kept_as_evidence(settings, simulator):
    outcomes, store = await capture_all(settings, [f"{simulator.base}/notice/violation"])
    (outcome,) = outcomes
    assert outcome.status is CaptureStatus.UNAVAILABLE
    assert (outcome.reason, outcome.message) == ("removed_violation", "此内容因违规无法查看")
    assert store.counts()["articles"] == 0
    stored = read_record(settings.warc_dir, outcome.response)
    assert "此内容因违规无法查看" in gzip.decompress(stored.payload).decode("utf-8")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/fault/reset", "truncated"),
        ("/fault/truncated-gzip", "truncated"),
        ("/fault/wrong-length", "truncated"),
        ("/fault/empty", "empty"),
        ("/fault/binary", "not_text"),
        ("/fault/huge", "too_large"),
        ("/fault/endless", "too_large"),
        ("/fault/redirect-loop", "too_many_redirects"),
    ],
)
async def test_bad_input_gives_a_clear_outcome_and_writes_no_row(settings, simulator, path, reason):
    outcomes, store = await capture_all(settings, [simulator.base + path])
    (outcome,) = outcomes
    assert outcome.status is CaptureStatus.FAILED
    assert outcome.reason == reason
    assert outcome.message
    assert store.counts() == {"articles": 0, "versions": 0, "blobs": 0, "checks": 0}


@pytest.mark.slow
async def test_slow_drip_times_out(settings, simulator):
    outcomes, store = await capture_all(
        with_fetch(settings, timeout=1.0), [simulator.base + "/fault/slow?interval=0.3"]
    )
    assert (outcomes[0].status, outcomes[0].reason) == (CaptureStatus.FAILED, "timeout")
    assert store.counts()["articles"] == 0


@pytest.mark.parametrize("path", ["/fault/gbk-undeclared", "/fault/misdeclared"])
async def test_chinese_pages_with_missing_or_wrong_charset_are_read_correctly(settings, simulator, path):
    generic_host = f"http://localhost:{simulator.host.split(':')[1]}"  # not a WeChat alias
    outcomes, store = await capture_all(settings, [generic_host + path])
    (outcome,) = outcomes
    assert outcome.status is CaptureStatus.CAPTURED
    assert outcome.platform == "generic"
    assert outcome.title == "中文标题：本地测试文章"
    article = store.article(outcome.article_id)
    assert article.versions[0].text.count("段正文") == 12
    assert article.published_at.isoformat() == "2021-03-04T10:20:00+08:00"


async def test_http_errors_are_archived_not_parsed(settings, simulator):
    outcomes, store = await capture_all(settings, [simulator.base + "/fault/status?code=451"])
    (outcome,) = outcomes
    assert (outcome.status, outcome.reason) == (CaptureStatus.HTTP_ERROR, "http_451")
    assert read_record(settings.warc_dir, outcome.response).http_status == 451
    assert store.counts()["articles"] == 0


async def test_private_addresses_are_refused_by_default(settings, simulator):
    strict = with_fetch(settings, allow_private_networks=False)
    outcomes, store = await capture_all(
        strict, [simulator.article_urls()[0], f"{simulator.base}/redirect?to=http://127.0.0.1:1/"]
    )
    assert [o.reason for o in outcomes] == ["unsafe_url", "unsafe_url"]
    assert store.counts()["articles"] == 0


async def test_a_failure_after_archiving_leaves_no_row_pointing_anywhere(settings, simulator, monkeypatch):
    from samizdat.store import Store

    def crash(self, records):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Store, "record_captures", crash)
    with pytest.raises(RuntimeError):
        await capture_all(settings, [simulator.article_urls()[1]])
    monkeypatch.undo()
    async with pipeline(settings) as pipe:
        assert pipe.store.counts() == {"articles": 0, "versions": 0, "blobs": 0, "checks": 0}
        outcome = await pipe.capturer.capture(simulator.article_urls()[1])
    assert outcome.status is CaptureStatus.CAPTURED


async def test_images_can_be_switched_off(settings, simulator):
    quiet = replace(settings, capture=replace(settings.capture, images=False))
    outcomes, store = await capture_all(quiet, simulator.article_urls()[:2])
    assert all(o.images == 0 for o in outcomes)
    assert store.counts()["blobs"] == 0
