"""Where a mirror puts each page, how its pages link to each other, and its manifest."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT = "samizdat-mirror-1"
LANGUAGES = {"zh": "", "en": "en/"}
# Pagefind's search runs WebAssembly; nothing else runs, and nothing is fetched from elsewhere.
POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
    "connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'"
)


class MirrorError(ValueError):
    """The mirror cannot be built or checked; the message says why and what to do."""


@dataclass
class MirrorReport:
    directory: Path
    articles: int = 0
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    files: int = 0
    bytes: int = 0
    search_bytes: int = 0
    search_shards: int = 0  # search indexes (of SEARCH_SHARD articles each) built again
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def slug(name: str) -> str:
    """A file name for an account (any script, any length): the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def mirror_file(path: str, lang: str) -> str:
    """The mirror's file for a path of the live site, relative to the mirror's root.

    >>> mirror_file("/articles/12?version=3", "en")
    'en/articles/12/versions/3.html'
    >>> mirror_file("/accounts/%E4%BA%BA%E6%B0%91", "zh")
    'accounts/0cfe1b3c1bb2914b.html'
    """
    parts = urlsplit(path)
    route, query = parts.path, parse_qs(parts.query)
    pages = LANGUAGES[lang]
    segments = [unquote(s) for s in route.strip("/").split("/")] if route.strip("/") else []
    if not segments:
        return pages + "index.html"
    head = segments[0]
    if head == "articles" and segments[1].endswith(".wacz"):
        return f"articles/{segments[1]}"
    if head == "articles" and len(segments) == 2:
        if "version" in query:
            return f"{pages}articles/{segments[1]}/versions/{query['version'][0]}.html"
        return f"{pages}articles/{segments[1]}.html"
    if head == "articles" and segments[2:] == ["versions"]:
        return f"{pages}articles/{segments[1]}/versions.html"
    if head == "accounts" and len(segments) == 2:
        page = query.get("page", ["1"])[0]
        return f"{pages}accounts/{slug(segments[1])}" + ("" if page == "1" else f"/{page}") + ".html"
    if head == "removed":
        return f"{pages}removed/{segments[1]}.html"
    if head in ("stats", "search", "accounts") and len(segments) == 1:
        return f"{pages}{head}.html" if head != "accounts" else f"{pages}accounts/index.html"
    if route == "/stats/images":
        return f"{pages}stats/images.html"
    if route == "/stats/images.csv":
        return f"stats/images-{query.get('table', ['pictures'])[0]}.csv"
    if head == "stats.csv":
        return f"stats/{query.get('by', ['outcome'])[0]}.csv"
    if head == "raw":
        return "/".join(segments) + ".html"
    if head == "feeds":
        account = query.get("account")
        return f"feeds/accounts/{slug(account[0])}.{lang}.atom" if account else f"feeds/removed.{lang}.atom"
    if route == "/api/log/key":
        return "log/key.json"
    if route == "/log/checkpoint":
        return "log/checkpoint"
    if head in ("static", "blobs"):
        return "/".join(segments)
    raise ValueError(f"the mirror has no page for {path}")


def relative(target: str, page: str) -> str:
    """``target`` (a file relative to the root) as a link from ``page`` (another such file)."""
    depth = page.count("/")
    return "../" * depth + target


class Linker:
    """The ``link`` of the templates for one page of the mirror."""

    def __init__(self, page: str, lang: str) -> None:
        self.page, self.lang = page, lang

    def __call__(self, path: str | None) -> str:
        if not path or path.startswith("#"):
            return path or ""
        return relative(mirror_file(path, self.lang), self.page)


class Files:
    """Writes the mirror's files, only those whose bytes changed, and keeps their digests."""

    def __init__(self, root: Path, previous: dict[str, str], report: MirrorReport) -> None:
        self.root, self.previous, self.report = root, previous, report
        self.digests: dict[str, str] = {}

    def has(self, name: str) -> bool:
        return name in self.previous and (self.root / name).exists()

    def keep(self, name: str) -> None:
        """A file this build did not regenerate: it stays as the last build wrote it."""
        if name in self.previous:
            self.digests[name] = self.previous[name]

    def write(self, name: str, content: bytes | str) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        digest = hashlib.sha256(data).hexdigest()
        self.digests[name] = digest
        if self.previous.get(name) == digest and (self.root / name).exists():
            self.report.unchanged += 1
            return
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".part")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        self.report.written += 1


def read_manifest(root: Path) -> dict[str, Any] | None:
    path = root / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise MirrorError(f"{path} cannot be read ({exc}): build with --full into a new directory") from None
    if manifest.get("format") != FORMAT:
        raise MirrorError(f"{path} is not a samizdat mirror's manifest")
    return manifest


def manifest_bytes(
    files: dict[str, str], built_at: datetime, key_id: str, witnessed_size: int = 0, search_terms: int = 0
) -> bytes:
    document = {
        "format": FORMAT,
        "built_at": built_at.isoformat(),
        "key_id": key_id,
        # The log's entries the witnesses had cosigned: pages with entries beyond are rendered
        # again once the witnesses reach them (their proofs move to a cosigned checkpoint).
        "witnessed_size": witnessed_size,
        # How the search documents write their terms: a mirror whose documents were written
        # another way is built again in full (static/search.js queries one way only).
        "search_terms": search_terms,
        "files": dict(sorted(files.items())),
    }
    return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")


def tree_files(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((root / prefix).rglob("*")):
        if path.is_file():
            yield path.relative_to(root).as_posix(), path
