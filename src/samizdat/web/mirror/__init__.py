"""The public archive as static files: ``samizdat mirror build DIR``.

A mirror is the reader site without a server — any static host, a USB stick or a
content-addressed store can carry it. It renders the site's own templates (web/pages.py gives
both the same contexts), with every link relative so that it works under any path prefix:
recently removed (paged), every article behind its banner with its versions, removal notice,
copies and related posts, accounts, statistics with their charts and CSV, Atom feeds, both
languages (Chinese at the root, English under ``en/``), the images, the unprocessed cache, one
signed WACZ per article, and a client-side search index (Pagefind, whose extended build
segments Chinese) in shards of ``SEARCH_SHARD`` articles, each indexed again only when one of
its documents changed, merged by the search page.

A static host sets no headers, so the mirror's pages carry their Content-Security-Policy in a
meta element, and archived HTML never runs on the mirror's origin: the article bodies are the
sanitised ones, and the unprocessed cache is shown inside a sandboxed frame (``srcdoc``: no
scripts, an opaque origin; the page's policy also keeps it from loading anything).

``manifest.json`` lists every file with its SHA-256 and is signed with the archive's key
(``manifest.sig``): ``samizdat mirror verify DIR|URL`` checks a copy someone else hosts
(web/mirror/verify.py). A
second build renders only the articles the log says changed since the last one (new captures,
removals, returns, edits, and the articles that share their text) and the pages that list them,
and writes only the files whose bytes changed.

Article pages, most of a build's time, are rendered by ``workers`` processes (forked: each
opens its own database connections), each writing its own share of the files and returning
their digests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import and_, or_, select

from samizdat.archive.storage import WarcFiles
from samizdat.config import WitnessSettings
from samizdat.evidence.packages import PackageSigner
from samizdat.read.reader import RANKED_MAX, ArticleFilter
from samizdat.store import Store
from samizdat.store.schema import article_links, articles, image_facts, log_entries, version_blobs, versions
from samizdat.web.mirror.layout import (
    LANGUAGES,
    MANIFEST,
    SIGNATURE,
    Files,
    MirrorError,
    MirrorReport,
    manifest_bytes,
    mirror_file,
    read_manifest,
    tree_files,
)
from samizdat.web.mirror.pages import SEARCH_SHARD, SEARCH_TERMS, Mirror, fold_table
from samizdat.web.pages import Verification

WEB = Path(__file__).parent.parent
# The log's routine checks of a live article change nothing a mirror shows.
CHANGING_KINDS = ("capture", "removed", "restored", "edited")
CHUNK = 50  # articles a worker renders per task: small enough for a smooth progress bar


@dataclass
class _Rendered:
    """What a worker's share of the article pages left: the files it wrote and the images shown."""

    articles: int
    digests: dict[str, str]
    written: int
    unchanged: int
    problems: list[str]
    images: list[str] = field(default_factory=list)


_forked: dict[str, Any] = {}  # the parent's Mirror and previous digests, inherited by forked workers


def _render_chunk(ids: list[int]) -> _Rendered:
    mirror: Mirror = _forked["mirror"]
    if _forked.pop("fresh_connections", False):
        # The pool's connections came with the fork; they belong to the parent.
        mirror.store.engine.dispose(close=False)
    report = MirrorReport(mirror.root)
    out = Files(mirror.root, _forked["previous"], report)
    images = [sha256 for article_id in ids for sha256 in mirror.article(out, article_id)]
    return _Rendered(len(ids), out.digests, report.written, report.unchanged, report.problems, images)


def _render_articles(
    mirror: Mirror, previous: dict[str, str], ids: list[int], workers: int
) -> Iterator[_Rendered]:
    chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    parallel = workers > 1 and len(chunks) > 1 and "fork" in multiprocessing.get_all_start_methods()
    _forked.update(mirror=mirror, previous=previous, fresh_connections=parallel)
    try:
        if not parallel:
            yield from map(_render_chunk, chunks)
            return
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            yield from pool.map(_render_chunk, chunks)
    finally:
        _forked.clear()


def newly_witnessed(store: Store, before: int, now: int) -> set[int]:
    """The articles with entries the witnesses had not cosigned at the last build (the log's
    first ``before``) and have now (its first ``now``): their pages' proofs move to a
    cosigned checkpoint."""
    if now <= before:
        return set()
    with store.engine.connect() as connection:
        return set(
            connection.scalars(
                select(log_entries.c.article_id)
                .where(
                    log_entries.c.seq >= before,
                    log_entries.c.seq < now,
                    log_entries.c.article_id.is_not(None),
                )
                .distinct()
            )
        )


def changed_articles(store: Store, since: datetime) -> set[int]:
    """The articles whose pages a build after ``since`` must render again: those the log says
    were captured, removed, restored or edited since, those with images read since (their text
    and copies are shown), the articles sharing their text, and those they link to (their
    "linked from" changed)."""
    with store.engine.connect() as connection:
        touched = set(
            connection.scalars(
                select(log_entries.c.article_id).where(
                    log_entries.c.created_at > since,
                    log_entries.c.kind.in_(CHANGING_KINDS),
                    log_entries.c.article_id.is_not(None),
                )
            )
        )
        touched.update(
            connection.scalars(
                select(versions.c.article_id)
                .join(version_blobs, version_blobs.c.version_id == versions.c.id)
                .join(image_facts, image_facts.c.sha256 == version_blobs.c.sha256)
                .where(or_(image_facts.c.analysed_at > since, image_facts.c.ocr_at > since))
                .distinct()
            )
        )
        if not touched:
            return touched
        clusters = select(articles.c.cluster_id).where(
            and_(articles.c.id.in_(touched), articles.c.cluster_id.is_not(None))
        )
        mates = connection.scalars(
            select(articles.c.id).where(or_(articles.c.cluster_id.in_(clusters), articles.c.id.in_(clusters)))
        )
        linked = connection.scalars(
            select(articles.c.id).where(
                articles.c.canonical_id.in_(
                    select(article_links.c.canonical_id).where(article_links.c.article_id.in_(touched))
                )
            )
        )
        return touched | set(mates) | set(linked)


def index_search(root: Path, shards: set[str]) -> None:
    """Run Pagefind (extended: it segments Chinese) over the search documents of each of
    ``shards`` (``search/<shard>/``), writing each index to ``pagefind/<shard>/``; then list
    the shards that have documents, with how many, in ``pagefind/shards.json`` for the search
    page (it reads the newest first and estimates a common word's matches from them)."""
    documents = root / "search"
    present = (
        sorted((p.name for p in documents.iterdir() if p.is_dir()), key=int) if documents.is_dir() else []
    )
    for stale in (root / "pagefind").glob("*"):
        if not stale.is_dir():
            stale.unlink()
        elif stale.name in shards or stale.name not in present:
            shutil.rmtree(stale)
    for shard in sorted(shards & set(present), key=int):
        _pagefind(root, shard)
    (root / "pagefind").mkdir(exist_ok=True)
    listed = [
        {"name": shard, "articles": sum(1 for _ in (documents / shard).glob("*.html"))} for shard in present
    ]
    (root / "pagefind" / "shards.json").write_text(json.dumps(listed))


def write_static(out: Files) -> None:
    """The pages' style and scripts, and the folding table the search page cuts queries with."""
    for name in ("style.css", "search.js", "verify.js", "noble.js"):
        out.write(f"static/{name}", (WEB / "static" / name).read_bytes())
    out.write("static/fold.json", json.dumps(fold_table(), ensure_ascii=False, separators=(",", ":")))


def write_search_page(mirror: Mirror, out: Files) -> None:
    """The search page in each language; it shows newest first above the site's RANKED_MAX."""
    mirror.each_language(out, "/search", "mirror_search.html", ranked_max=RANKED_MAX)


def _search_document(name: str) -> bool:
    """``search/<shard>/<id>.html``"""
    return name.startswith("search/") and name.count("/") == 2


def _pagefind(root: Path, shard: str) -> None:
    try:
        done = subprocess.run(
            [
                sys.executable,
                *("-m", "pagefind", "--site", str(root), "--output-subdir", f"pagefind/{shard}"),
                *("--glob", f"search/{shard}/*.html"),  # the search documents, not the pages people read
            ],
            capture_output=True,
            text=True,
            timeout=3600,
        )
    except FileNotFoundError as exc:
        raise MirrorError(f"Pagefind cannot be run ({exc}): pip install 'samizdat[mirror]'") from None
    if done.returncode != 0:
        # Pagefind holds the whole index in memory: the kernel stops it (SIGKILL) when it runs out.
        why = (
            f"killed by signal {-done.returncode}, out of memory?"
            if done.returncode < 0
            else f"exit status {done.returncode}"
        )
        output = (done.stderr or done.stdout).strip()
        missing = " — pip install 'samizdat[mirror]'" if "No module named" in output else ""
        raise MirrorError(f"Pagefind failed on shard {shard} ({why}): {output[-500:]}{missing}")


def build_mirror(
    store: Store,
    warcs: WarcFiles,
    root: Path,
    *,
    key: Ed25519PrivateKey,
    key_document: dict[str, Any],
    sign_package: PackageSigner | None,
    witnesses: WitnessSettings | None = None,
    base_url: str = "",
    full: bool = False,
    since: datetime | None = None,
    search: bool = True,
    raw: bool = True,
    packages: bool = True,
    workers: int = os.cpu_count() or 1,
    search_shard: int = SEARCH_SHARD,
    progress: Callable[[int, int], None] | None = None,
) -> MirrorReport:
    """Build (or bring up to date) the mirror in ``root``; see the module's description."""
    started = time.monotonic()
    built_at = datetime.now(UTC)
    witnesses = witnesses or WitnessSettings()
    root.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(root)
    report = MirrorReport(root)
    if search and find_spec("pagefind") is None:
        report.problems.append(
            "this mirror has no search: Pagefind, which builds its index, is not installed "
            "(pip install 'samizdat[mirror]', then build again)"
        )
        search = False
    # A mirror indexed before keeps its search page while a build leaves the index alone.
    searchable = search or (root / "pagefind" / "shards.json").exists()
    # Built again in full: a mirror from before the search index had shards (search/<id>.html),
    # and one that gains or loses its search page (every page links it, or not).
    unsharded = previous is not None and any(
        n.startswith("search/") and not _search_document(n) for n in previous["files"]
    )
    had_search = previous is not None and mirror_file("/search", "en") in previous["files"]
    # Documents of an earlier way of writing terms would be queried as this way writes them.
    old_terms = (
        previous is not None
        and previous.get("search_terms", 1) != SEARCH_TERMS
        and any(_search_document(n) for n in previous["files"])
    )
    incremental = (
        previous is not None and not full and not unsharded and not old_terms and searchable == had_search
    )
    if incremental and since is None:
        since = datetime.fromisoformat(previous["built_at"])
    out = Files(root, previous["files"] if previous else {}, report)
    mirror = Mirror(
        store,
        warcs,
        root,
        sign_package=sign_package,
        verification=Verification(key_document.get("public_key"), witnesses),
        base_url=base_url,
        raw=raw,
        packages=packages,
        search=searchable,
        search_shard=search_shard,
    )

    write_static(out)
    witnessed = store.witnessed_size(witnesses.names, witnesses.needed)
    if incremental:
        ids = sorted(
            changed_articles(store, since)
            | newly_witnessed(store, previous.get("witnessed_size", 0), witnessed)
        )
    else:
        with store.engine.connect() as connection:
            ids = list(connection.scalars(select(articles.c.id).order_by(articles.c.id)))
    images: list[str] = []
    done = 0
    for rendered in _render_articles(mirror, out.previous, ids, workers):
        out.digests.update(rendered.digests)
        report.written += rendered.written
        report.unchanged += rendered.unchanged
        report.problems += rendered.problems
        images += rendered.images
        done += rendered.articles
        if progress:
            progress(done, len(ids))
    mirror.images(out, images)
    report.articles = len(ids)

    mirror.removed(out)
    names = mirror.accounts(out)
    if incremental:
        with store.engine.connect() as connection:
            touched = set(connection.scalars(select(articles.c.account).where(articles.c.id.in_(ids))))
        names = [name for name in names if name in touched]
    for name in names:
        mirror.account(out, name)
    for lang in LANGUAGES:
        mirror.feed(out, ArticleFilter(removed_only=True), lang, f"feeds/removed.{lang}.atom")
    mirror.statistics(out)
    if searchable:
        write_search_page(mirror, out)
    out.write("log/key.json", json.dumps(key_document, indent=2))
    head = store.tree_head()
    if head is not None:
        published = store.published_head(head)
        out.write("log/head.json", json.dumps(published, indent=2))
        if "checkpoint" in published:
            out.write("log/checkpoint", published["checkpoint"])

    search_files = {n for n in out.previous if n.startswith("pagefind/")}
    for name in out.previous:
        if name in out.digests or name in search_files:
            continue
        if incremental:
            out.keep(name)
        else:
            (root / name).unlink(missing_ok=True)
            report.deleted += 1
    if search:
        # A shard is indexed again when one of its documents changed, or it has no index yet.
        indexed = {n.split("/")[1] for n in search_files if n.count("/") == 2}
        changed = {
            name.split("/")[1]
            for name in out.previous.keys() | out.digests.keys()
            if _search_document(name) and out.previous.get(name) != out.digests.get(name)
        }
        documents = {n.split("/")[1] for n in out.digests if _search_document(n)}
        stale = changed | (documents - indexed)
        report.search_shards = len(stale)
        if stale or not (root / "pagefind" / "shards.json").exists():
            index_search(root, stale)
        for name in search_files:
            if name.count("/") == 2 and name.split("/")[1] in documents - stale:
                out.keep(name)
        for name, path in tree_files(root, "pagefind"):
            if name not in out.digests:
                out.digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    report.search_bytes = sum((root / n).stat().st_size for n in out.digests if n.startswith("pagefind/"))

    manifest = manifest_bytes(out.digests, built_at, key_document["key_id"], witnessed, SEARCH_TERMS)
    (root / MANIFEST).write_bytes(manifest)
    (root / SIGNATURE).write_text(base64.b64encode(key.sign(manifest)).decode() + "\n")
    report.files = len(out.digests)
    report.bytes = sum((root / n).stat().st_size for n in out.digests if (root / n).exists())
    report.seconds = time.monotonic() - started
    return report


__all__ = ["MirrorError", "MirrorReport", "build_mirror", "changed_articles", "mirror_file"]
