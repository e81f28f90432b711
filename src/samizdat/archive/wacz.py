"""CDXJ indexes and WACZ packages of archived records (the formats replay tools read).

A WACZ (Web Archive Collection Zipped, spec 1.1.1) holds the WARC records, a CDXJ index of
them, the list of pages, and a datapackage.json naming every file with its SHA-256, so a
package can be checked on its own (``wacz validate``). Records are copied byte for byte:
each record in samizdat's WARC files is its own gzip member, so the chosen members
concatenated are a valid ``.warc.gz``.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import surt
from warcio.archiveiterator import ArchiveIterator

from samizdat import __version__
from samizdat.archive.storage import WarcFiles, warc_files
from samizdat.archive.warc import ArchiveRef, read_member

WACZ_VERSION = "1.1.1"
INDEXED_TYPES = ("response", "resource", "revisit")


def url_key(url: str) -> str:
    """The URL's SURT, as pywb and ``cdxj-indexer`` key their indexes (the ``surt`` package's).

    >>> url_key("https://mp.weixin.qq.com/s?__biz=MzA4ODUzNjAxOA==&mid=2671068104&idx=7")
    'com,qq,weixin,mp)/s?__biz=mza4oduznjaxoa==&idx=7&mid=2671068104'
    """
    return surt.surt(url)


@dataclass(frozen=True)
class Page:
    url: str
    captured_at: datetime
    title: str | None


def cdxj_lines(stream, filename: str, *, base_offset: int = 0) -> Iterator[str]:
    """One CDXJ line per response, resource or revisit record of a WARC stream."""
    iterator = ArchiveIterator(stream)
    for record in iterator:
        if record.rec_type not in INDEXED_TYPES:
            continue
        headers = record.rec_headers
        url = headers.get_header("WARC-Target-URI")
        date = headers.get_header("WARC-Date") or ""
        http = record.http_headers
        if record.rec_type == "revisit":
            mime = "warc/revisit"  # as pywb expects: the payload is elsewhere
        else:
            mime = (http.get_header("Content-Type") or "").split(";")[0].strip() if http else ""
        fields = {
            "url": url,
            "mime": mime,
            "status": http.get_statuscode() if http else "200",
            "digest": headers.get_header("WARC-Payload-Digest") or "",
        }
        record.raw_stream.read()
        fields |= {
            "length": str(iterator.get_record_length()),
            "offset": str(base_offset + iterator.get_record_offset()),
            "filename": filename,
        }
        stamp = "".join(c for c in date if c.isdigit())[:14]
        yield f"{url_key(url)} {stamp} {json.dumps(fields, ensure_ascii=False)}"


def archive_index(files: WarcFiles | Path) -> Iterator[str]:
    """The CDXJ index of every WARC file of the archive, sorted."""
    files = warc_files(files)
    lines: list[str] = []
    for name in files.names():
        with files.open(name) as handle:
            lines.extend(cdxj_lines(handle, name))
    yield from sorted(lines)


def write_wacz(
    target: Path | io.BufferedIOBase,
    files: WarcFiles | Path,
    refs: Sequence[ArchiveRef],
    pages: Iterable[Page],
    *,
    title: str,
    sign: Callable[[str, str], dict] | None = None,
) -> None:
    """Package the records at ``refs`` (each once, in order) and ``pages`` as a WACZ; ``sign``,
    given the package's hash and creation time, makes the ``signedData`` of its digest file."""
    data = io.BytesIO()
    seen: set[tuple[str, int]] = set()
    for ref in refs:
        if (ref.file, ref.offset) in seen:
            continue
        seen.add((ref.file, ref.offset))
        data.write(read_member(files, ref))
    warc = data.getvalue()
    index = "\n".join(sorted(cdxj_lines(io.BytesIO(warc), "data.warc.gz"))) + "\n"
    page_lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": title})]
    for number, page in enumerate(pages):
        page_lines.append(
            json.dumps(
                {
                    "id": f"page-{number}",
                    "url": page.url,
                    "ts": page.captured_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "title": page.title or page.url,
                },
                ensure_ascii=False,
            )
        )
    files = {
        "archive/data.warc.gz": warc,
        # The name py-wacz validates and pywb's `wb-manager add --unpack-wacz` looks for (CDXJ lines).
        "indexes/index.cdx": index.encode("utf-8"),
        "pages/pages.jsonl": ("\n".join(page_lines) + "\n").encode("utf-8"),
    }
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title,
        "created": created,
        "software": f"samizdat {__version__}",
        "resources": [
            {
                "name": Path(path).name,
                "path": path,
                "hash": "sha256:" + hashlib.sha256(content).hexdigest(),
                "bytes": len(content),
            }
            for path, content in files.items()
        ],
    }
    package_bytes = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
    digest: dict = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}
    if sign is not None:
        digest["signedData"] = sign(digest["hash"], created)
    # Every file stored, none deflated, as py-wacz writes them: replay tools read the WARC in place
    # by byte ranges, and ReplayWeb.page checks each file's digest over its bytes as stored.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path, content in files.items():
            archive.writestr(path, content)
        archive.writestr("datapackage.json", package_bytes)
        archive.writestr("datapackage-digest.json", json.dumps(digest, indent=2))
