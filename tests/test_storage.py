"""The archive reached through its storage interface alone (archive/storage.py): captures,
checks, the site's raw cache and images, WACZ, the CDXJ index and verify work the same on a
second implementation that keeps no file on disk (samizdat.testing.storage, written like an
object store client). Pages: the simulator's (src/samizdat/testing/pages/wechat, PROVENANCE.md)."""

import io
import json
import zipfile
from datetime import UTC, datetime

import httpx
import pytest

from samizdat.app import pipeline
from samizdat.archive import ArchiveRef, CorruptRecord, read_record
from samizdat.archive.storage import ArchiveFileMissing, LocalWarcFiles, check_name
from samizdat.archive.wacz import archive_index
from samizdat.testing.storage import MemoryWarcFiles
from samizdat.verify import verify_archive
from samizdat.watch.loop import watch_pass
from samizdat.web.app import create_app
from samizdat.web.server import running_site


async def test_every_stage_works_through_the_interface_alone(settings, simulator):
    files = MemoryWarcFiles()
    urls = simulator.article_urls()[:3]
    async with pipeline(settings, files=files) as pipe:
        outcomes = [await pipe.capturer.capture(url) for url in urls]
        pipe.store.check_urls_soon(urls, datetime.now(UTC))
        checked = await watch_pass(pipe.store, pipe.checker, 4)
        store = pipe.store
    assert all(o.article_id for o in outcomes) and {r.outcome for r in checked} == {"alive"}
    assert not settings.warc_dir.exists() or not list(settings.warc_dir.iterdir())  # nothing on disk
    assert files.sealed and not files.spooled and files.syncs >= len(urls)  # sealed when the pipeline closed
    refs = list(store.all_refs())
    assert {table for table, _, _ in refs} == {"versions", "checks", "blobs"}
    assert all(read_record(files, ref).ref == ref for _, _, ref in refs)
    report = verify_archive(files, store)
    assert report.problems == [] and report.references == len(refs) and report.files == len(files.sealed)
    indexed = [json.loads(line.split(" ", 2)[2]) for line in archive_index(files)]
    assert {entry["filename"] for entry in indexed} == set(files.sealed)
    assert {(entry["filename"], int(entry["offset"])) for entry in indexed} >= {
        (ref.file, ref.offset) for _, _, ref in refs
    }
    blob = next(key for table, key, _ in refs if table == "blobs")
    with running_site(create_app(settings, store, files=files)) as base, httpx.Client(base_url=base) as site:
        assert site.get(f"/raw/{outcomes[0].article_id}").status_code == 200
        assert site.get(f"/blobs/{blob}").status_code == 200
        package = site.get(f"/articles/{outcomes[0].article_id}.wacz")
    assert package.status_code == 200
    with zipfile.ZipFile(io.BytesIO(package.content)) as wacz:
        index = wacz.read("indexes/index.cdx").decode()
    assert ")/s" in index and ")/ext/" in index  # the article page and its images


def test_a_missing_object_or_a_name_with_a_path_is_refused(tmp_path):
    for files in (MemoryWarcFiles(), LocalWarcFiles(tmp_path)):
        with pytest.raises(ArchiveFileMissing):
            files.read("absent.warc.gz", 0, 10)
    for name in ("../x.warc.gz", "a/b.warc.gz", ".writing", "", "a\x00.warc.gz", "c\\d"):
        with pytest.raises(ArchiveFileMissing):
            check_name(name)
    with pytest.raises(CorruptRecord):
        read_record(MemoryWarcFiles(), ArchiveRef("x.warc.gz", 0, 5, "sha256:x", "<urn:uuid:x>"))
