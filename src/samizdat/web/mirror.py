"""The public archive as static files: ``samizdat mirror build DIR``.

A mirror is the reader site without a server — any static host, a USB stick or a
content-addressed store can carry it. It renders the site's own templates (web/pages.py gives
both the same contexts), with every link relative so that it works under any path prefix:
recently removed (paged), every article behind its banner with its versions, removal notice,
copies and related posts, accounts, statistics with their charts and CSV, Atom feeds, both
languages (Chinese at the root, English under ``en/``), the images, the unprocessed cache, one
signed WACZ per article, and a client-side search index (Pagefind, whose extended build
segments Chinese).

A static host sets no headers, so the mirror's pages carry their Content-Security-Policy in a
meta element, and archived HTML never runs on the mirror's origin: the article bodies are the
sanitised ones, and the unprocessed cache is shown inside a sandboxed frame (``srcdoc``: no
scripts, an opaque origin; the page's policy also keeps it from loading anything).

``manifest.json`` lists every file with its SHA-256 and is signed with the archive's key
(``manifest.sig``): ``samizdat mirror verify DIR|URL`` checks a copy someone else hosts. A
second build renders only the articles the log says changed since the last one (new captures,
removals, returns, edits, and the articles that share their text) and the pages that list them,
and writes only the files whose bytes changed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import and_, or_, select

from samizdat.archive import CorruptRecord, read_record
from samizdat.archive.storage import WarcFiles
from samizdat.archive.wacz import write_wacz
from samizdat.evidence.heads import head_document
from samizdat.evidence.packages import PackageSigner
from samizdat.fetch.decode import ContentEncodingError, decode_html, decompress
from samizdat.folding import fold, fold_char
from samizdat.read.reader import ArticleFilter, ArticleSummary, Reader
from samizdat.read.statistics import GROUPINGS, to_csv
from samizdat.store import Store
from samizdat.store.schema import articles, log_entries
from samizdat.web.feeds import removals_atom
from samizdat.web.i18n import OUTCOMES, Translator
from samizdat.web.pages import article_body, article_surroundings, stats_context
from samizdat.web.render import listed_text

HERE = Path(__file__).parent
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT = "samizdat-mirror-1"
LANGUAGES = {"zh": "", "en": "en/"}
PAGE_SIZE = 50
FEED_ENTRIES = 50
MAX_RAW_BYTES = 50_000_000
# Pagefind's search runs WebAssembly; nothing else runs, and nothing is fetched from elsewhere.
POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
    "connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'"
)
# The log's routine checks of a live article change nothing a mirror shows.
CHANGING_KINDS = ("capture", "removed", "restored", "edited")
SUMMARY_CHARS = 120
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\W\u3400-\u9fff\uf900-\ufaff_]+")


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
    if head == "stats.csv":
        return f"stats/{query.get('by', ['outcome'])[0]}.csv"
    if head == "raw":
        return "/".join(segments) + ".html"
    if head == "feeds":
        account = query.get("account")
        return f"feeds/accounts/{slug(account[0])}.{lang}.atom" if account else f"feeds/removed.{lang}.atom"
    if route == "/api/log/key":
        return "log/key.json"
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


def _templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), auto_reload=False
    )
    environment.globals["outcome_names"] = OUTCOMES
    return environment


class Mirror:
    def __init__(
        self,
        store: Store,
        files: WarcFiles,
        root: Path,
        *,
        sign_package: PackageSigner | None,
        base_url: str = "",
        raw: bool = True,
        packages: bool = True,
    ) -> None:
        self.store, self.warcs, self.root = store, files, root
        self.with_raw, self.with_packages = raw, packages
        self.reader = Reader(store.engine)
        self.sign_package = sign_package
        self.base_url = base_url.rstrip("/")
        self.templates = _templates()

    def render(self, out: Files, name: str, template: str, lang: str, other: str, **context: Any) -> None:
        """Page ``name`` of language ``lang``; ``other`` is the same page in the other language."""
        link = Linker(name, lang)
        page = self.templates.get_template(template).render(
            t=Translator(lang),
            lang=lang,
            link=link,
            switch_url=relative(other, name),
            mirror={
                "policy": POLICY,
                "root": relative("", name) or "./",
                "raw": self.with_raw,
                "packages": self.with_packages,
            },
            **context,
        )
        out.write(name, page)

    def each_language(self, out: Files, path: str, template: str, **context: Any) -> None:
        names = {lang: mirror_file(path, lang) for lang in LANGUAGES}
        for lang, name in names.items():
            other = names["en" if lang == "zh" else "zh"]
            self.render(out, name, template, lang, other, **context)

    # Articles -----------------------------------------------------------------------------

    def article(self, out: Files, article_id: int) -> list[str]:
        """Article ``article_id``'s pages, raw cache and WACZ; the image hashes it shows."""
        article = self.store.article(article_id)
        if article is None:
            return []
        # The article's page shows its latest version; each version has its own page too (the
        # versions page links them all, the latest included).
        shown = [(article.latest, f"/articles/{article.id}")]
        shown += [(v, f"/articles/{article.id}?version={v.id}") for v in article.versions]
        surroundings = article_surroundings(self.reader, self.store, article)
        for chosen, path in shown:
            names = {lang: mirror_file(path, lang) for lang in LANGUAGES}
            for lang, name in names.items():
                body = article_body(
                    article, chosen, lambda sha256, page=name: relative(f"blobs/{sha256}", page)
                )
                self.render(
                    out,
                    name,
                    "article.html",
                    lang,
                    names["en" if lang == "zh" else "zh"],
                    timemap_url=None,
                    **surroundings,
                    **body,
                )
        self.search_document(out, article)
        self.each_language(out, f"/articles/{article.id}/versions", "versions.html", article=article)
        if self.with_packages:
            self.package(out, article.id)
        if not self.with_raw:
            return [image.sha256 for image in article.images]
        for version in article.versions:
            self.raw(out, f"raw/{article.id}/versions/{version.id}.html", version.warc, article)
        for check in article.checks:
            if check.evidence is not None:
                self.raw(out, f"raw/{article.id}/checks/{check.id}.html", check.evidence, article)
        return [image.sha256 for image in article.images]

    def search_document(self, out: Files, article) -> None:
        """What the search index holds of the article: a page of its own, never shown, with its
        title, account and text as folded tokens (overlapping character pairs for Chinese, so
        that any 2-character substring is a term, as the site's own search finds substrings)
        and, as metadata, its id, title and the start of its text for the result list."""
        version = article.latest
        title = (version.title if version else None) or article.title or article.url
        text = version.text if version else "\n".join(listed_text(article.listed))
        searched = " ".join(
            part for part in (title, article.account or "", article.author or "", text) if part
        )
        page = self.templates.get_template("mirror_search_document.html").render(
            article=article,
            title=title,
            summary=" ".join(text.split())[:SUMMARY_CHARS],
            terms=search_terms(searched),
        )
        out.write(f"search/{article.id}.html", page)

    def raw(self, out: Files, name: str, ref, article) -> None:
        """The unprocessed cache, inert: the archived page as the ``srcdoc`` of a sandboxed frame."""
        if ref is None:
            return
        if out.has(name):  # a record never changes: its page is as the last build wrote it
            out.keep(name)
            return
        try:
            record = read_record(self.warcs, ref)
            headers = {k.lower(): v for k, v in record.http_headers}
            body = decompress(record.payload, headers.get("content-encoding"), MAX_RAW_BYTES)
            text = decode_html(body, headers.get("content-type")).text
        except (CorruptRecord, ContentEncodingError) as exc:
            out.report.problems.append(f"{name}: {exc}")
            return
        t = Translator("zh")
        page = self.templates.get_template("mirror_raw.html").render(
            t=t,
            article=article,
            srcdoc=text,
            captured=ref.digest,
            link=Linker(name, "zh"),
            policy=POLICY,
        )
        out.write(name, page)

    def package(self, out: Files, article_id: int) -> None:
        """The article's signed WACZ: every capture, image and kept notice of it."""
        name = f"articles/{article_id}.wacz"
        refs, pages = self.reader.package([article_id])
        buffer = io.BytesIO()
        title = f"samizdat article {article_id}"
        try:
            write_wacz(buffer, self.warcs, refs, pages, title=title, sign=self.sign_package)
        except CorruptRecord as exc:
            out.report.problems.append(f"{name}: {exc}")
            return
        out.write(name, buffer.getvalue())

    def images(self, out: Files, hashes: Iterable[str]) -> None:
        for sha256 in set(hashes):
            name = f"blobs/{sha256}"
            if out.has(name):
                out.keep(name)
                continue
            stored = self.store.blob(sha256)
            if stored is None:
                continue
            try:
                record = read_record(self.warcs, stored.ref)
                headers = {k.lower(): v for k, v in record.http_headers}
                data = decompress(record.payload, headers.get("content-encoding"), MAX_RAW_BYTES)
            except (CorruptRecord, ContentEncodingError) as exc:
                out.report.problems.append(f"{name}: {exc}")
                continue
            out.write(name, data)

    # Lists --------------------------------------------------------------------------------

    def all_of(self, filters: ArticleFilter) -> list[ArticleSummary]:
        """Every article ``filters`` selects, oldest first (pages keep their contents as the
        archive grows: only the newest page changes when an article is added)."""
        found: list[ArticleSummary] = []
        cursor = None
        while True:
            page = self.reader.articles(filters, limit=1000, cursor=cursor)
            found.extend(page.items)
            if not page.next_cursor:
                return found[::-1]
            cursor = page.next_cursor

    def paged(
        self, out: Files, items: list[ArticleSummary], first: str, page_path: Callable[[int], str], **context
    ):
        """``items`` (oldest first) in pages of PAGE_SIZE, newest first within each; ``first``
        shows the newest page, and each page links to the one before and after it."""
        count = max(1, -(-len(items) // PAGE_SIZE))
        for number in range(1, count + 1):
            chunk = items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE][::-1]
            newer = None if number == count else (first if number + 1 == count else page_path(number + 1))
            older = page_path(number - 1) if number > 1 else None
            path = first if number == count else page_path(number)
            self.each_language(
                out, path, "mirror_list.html", items=chunk, newer_url=newer, older_url=older, **context
            )

    def removed(self, out: Files) -> list[ArticleSummary]:
        items = self.all_of(ArticleFilter(removed_only=True))
        self.paged(
            out,
            items,
            "/",
            lambda n: f"/removed/{n}",
            heading="nav.home",
            feed_url="/feeds/removed.atom",
        )
        return items

    def account(self, out: Files, name: str) -> None:
        summary = self.reader.account(name)
        if summary is None:
            return
        path = f"/accounts/{_quoted(name)}"
        self.paged(
            out,
            self.all_of(ArticleFilter(account=name)),
            path,
            lambda n: f"{path}?page={n}",
            account=summary,
            feed_url=f"/feeds/removed.atom?account={_quoted(name)}",
        )
        for lang in LANGUAGES:
            self.feed(
                out,
                ArticleFilter(removed_only=True, account=name),
                lang,
                f"feeds/accounts/{slug(name)}.{lang}.atom",
                name,
            )

    def accounts(self, out: Files) -> list[str]:
        names = self.reader.account_names()
        self.each_language(out, "/accounts", "mirror_accounts.html", accounts=names)
        return [name for name, _, _ in names]

    def feed(
        self, out: Files, filters: ArticleFilter, lang: str, name: str, title: str | None = None
    ) -> None:
        t = Translator(lang)
        items = self.reader.articles(filters, limit=FEED_ENTRIES).items
        base = self.base_url
        atom = removals_atom(
            items,
            t,
            title=" · ".join(part for part in (t("site.name"), title) if part),
            feed_url=f"{base}/{name}" if base else name,
            site_url=f"{base}/{LANGUAGES[lang]}" if base else LANGUAGES[lang] or "./",
            article_url=lambda article_id: (
                (f"{base}/" if base else "") + mirror_file(f"/articles/{article_id}", lang)
            ),
        )
        out.write(name, atom)

    def statistics(self, out: Files) -> None:
        names = {lang: mirror_file("/stats", lang) for lang in LANGUAGES}
        for lang, name in names.items():
            context = stats_context(self.reader, Translator(lang))
            self.render(out, name, "stats.html", lang, names["en" if lang == "zh" else "zh"], **context)
        groups = self.reader.breakdowns()
        for by in GROUPINGS:
            out.write(f"stats/{by}.csv", to_csv(groups[by], by))


def search_terms(text: str) -> str:
    """``text`` folded (web and site search alike: NFKC, case, traditional → simplified) as the
    terms of the mirror's index: each run of Chinese characters as its overlapping pairs, other
    words whole. static/search.js turns a query into terms the same way.

    >>> search_terms("北約峰會 NATO 2024年")
    '北约 约峰 峰会 nato 2024 年'
    """
    terms: list[str] = []
    for run in _RUNS.findall(fold(text)):
        if _CJK.match(run):
            terms += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        else:
            terms.append(run)
    return " ".join(terms)


def fold_table() -> dict[str, str]:
    """Every CJK character that folds to another, for static/search.js to fold queries as the
    index was folded."""
    table = {}
    for code in range(0x3400, 0xA000):
        char = chr(code)
        folded = fold_char(char)
        if folded != char:
            table[char] = folded
    return table


def changed_articles(store: Store, since: datetime) -> set[int]:
    """The articles whose pages a build after ``since`` must render again: those the log says
    were captured, removed, restored or edited since, and the articles sharing their text."""
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
        if not touched:
            return touched
        clusters = select(articles.c.cluster_id).where(
            and_(articles.c.id.in_(touched), articles.c.cluster_id.is_not(None))
        )
        mates = connection.scalars(
            select(articles.c.id).where(or_(articles.c.cluster_id.in_(clusters), articles.c.id.in_(clusters)))
        )
        return touched | set(mates)


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


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


def manifest_bytes(files: dict[str, str], built_at: datetime, key_id: str) -> bytes:
    document = {
        "format": FORMAT,
        "built_at": built_at.isoformat(),
        "key_id": key_id,
        "files": dict(sorted(files.items())),
    }
    return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")


def index_search(root: Path) -> int:
    """Run Pagefind (extended: it segments Chinese) over the mirror; the index's size in bytes."""
    target = root / "pagefind"
    if target.exists():
        shutil.rmtree(target)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pagefind", "--site", str(root), "--output-subdir", "pagefind"],
            capture_output=True,
            text=True,
            timeout=3600,
        )
    except FileNotFoundError as exc:
        raise MirrorError(f"Pagefind cannot be run ({exc}): pip install 'samizdat[mirror]'") from None
    if done.returncode != 0:
        raise MirrorError(
            "Pagefind failed: "
            + (done.stderr or done.stdout).strip()[-500:]
            + " — pip install 'samizdat[mirror]'"
        )
    return sum(p.stat().st_size for p in target.rglob("*") if p.is_file())


def tree_files(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((root / prefix).rglob("*")):
        if path.is_file():
            yield path.relative_to(root).as_posix(), path


def build_mirror(
    store: Store,
    warcs: WarcFiles,
    root: Path,
    *,
    key: Ed25519PrivateKey,
    key_document: dict[str, Any],
    sign_package: PackageSigner | None,
    base_url: str = "",
    full: bool = False,
    since: datetime | None = None,
    search: bool = True,
    raw: bool = True,
    packages: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> MirrorReport:
    """Build (or bring up to date) the mirror in ``root``; see the module's description."""
    started = time.monotonic()
    built_at = datetime.now(UTC)
    root.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(root)
    incremental = previous is not None and not full
    if incremental and since is None:
        since = datetime.fromisoformat(previous["built_at"])
    report = MirrorReport(root)
    out = Files(root, previous["files"] if previous else {}, report)
    mirror = Mirror(
        store, warcs, root, sign_package=sign_package, base_url=base_url, raw=raw, packages=packages
    )

    for name in ("style.css", "search.js"):
        out.write(f"static/{name}", (HERE / "static" / name).read_bytes())
    out.write("static/fold.json", json.dumps(fold_table(), ensure_ascii=False, separators=(",", ":")))
    if incremental:
        ids = sorted(changed_articles(store, since))
    else:
        with store.engine.connect() as connection:
            ids = list(connection.scalars(select(articles.c.id).order_by(articles.c.id)))
    images: list[str] = []
    for done, article_id in enumerate(ids, 1):
        images += mirror.article(out, article_id)
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
    mirror.each_language(out, "/search", "mirror_search.html")
    out.write("log/key.json", json.dumps(key_document, indent=2))
    head = store.tree_head()
    if head is not None:
        out.write(
            "log/head.json", json.dumps(head_document(head, store.head_timestamps(head.size)), indent=2)
        )

    search_files = {n for n in out.previous if n.startswith("pagefind/")}
    for name in out.previous:
        if name in out.digests or name in search_files:
            continue
        if incremental:
            out.keep(name)
        else:
            (root / name).unlink(missing_ok=True)
            report.deleted += 1
    if search and (report.written or not search_files):
        report.search_bytes = index_search(root)
        for name, path in tree_files(root, "pagefind"):
            out.digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        for name in search_files:
            out.keep(name)
        report.search_bytes = sum((root / n).stat().st_size for n in search_files if (root / n).exists())

    manifest = manifest_bytes(out.digests, built_at, key_document["key_id"])
    (root / MANIFEST).write_bytes(manifest)
    (root / SIGNATURE).write_text(base64.b64encode(key.sign(manifest)).decode() + "\n")
    report.files = len(out.digests)
    report.bytes = sum((root / n).stat().st_size for n in out.digests if (root / n).exists())
    report.seconds = time.monotonic() - started
    return report


@dataclass
class MirrorCheck:
    """What ``mirror verify`` found: the manifest's signer and every difference from it."""

    key_id: str
    signed: bool
    checked: int = 0
    altered: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signed and not (self.altered or self.removed or self.added)


_LOCAL_LINK = re.compile(rb'(?:href|src)="([^"#?:]+)"')


def verify_mirror(source: str, trusted_key: bytes | None = None) -> MirrorCheck:
    """Check the mirror at ``source`` (a directory or an http(s) URL) against its signed
    manifest: every file it names, and what is there that it does not name — in a directory
    every file, over HTTP every local link of its pages. ``trusted_key`` (raw Ed25519) is the
    archive's key as obtained elsewhere; without it the manifest is checked against the key the
    mirror itself carries, which only shows it is self-consistent (the key id says whose)."""
    import httpx
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    remote = source.startswith(("http://", "https://"))
    client = httpx.Client(timeout=30, follow_redirects=True, trust_env=False) if remote else None
    base = source.rstrip("/") + "/"

    def read(name: str) -> bytes | None:
        if client is not None:
            answer = client.get(base + name)
            return answer.content if answer.status_code == 200 else None
        path = Path(source) / name
        return path.read_bytes() if path.is_file() else None

    try:
        manifest, signature, key_file = read(MANIFEST), read(SIGNATURE), read("log/key.json")
        if manifest is None or signature is None:
            raise MirrorError(f"{source} has no {MANIFEST} and {SIGNATURE}: not a samizdat mirror")
        document = json.loads(manifest)
        carried = base64.b64decode(json.loads(key_file)["public_key"]) if key_file else None
        key = trusted_key or carried
        if key is None:
            raise MirrorError(f"{source} carries no log/key.json: give the archive's key with --key")
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(signature.strip()), manifest)
            signed = document.get("key_id") == hashlib.sha256(key).hexdigest()
        except (InvalidSignature, ValueError):
            signed = False
        check = MirrorCheck(key_id=hashlib.sha256(key).hexdigest(), signed=signed)
        listed: dict[str, str] = document["files"]
        linked: set[str] = set()
        for name, digest in listed.items():
            content = read(name)
            check.checked += 1
            if content is None:
                check.removed.append(name)
                continue
            if hashlib.sha256(content).hexdigest() != digest:
                check.altered.append(name)
            if remote and name.endswith(".html"):
                folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
                for target in _LOCAL_LINK.findall(content):
                    linked.add(_normalised(folder + target.decode("utf-8", "replace")))
        if remote:
            check.added = sorted(n for n in linked if n and n not in listed and not n.endswith("/"))
        else:
            present = {n for n, _ in tree_files(Path(source), "")}
            check.added = sorted(present - set(listed) - {MANIFEST, SIGNATURE})
        return check
    finally:
        if client is not None:
            client.close()


def _normalised(path: str) -> str:
    """``a/b/../c.html`` as ``a/c.html``: where a relative link leads from the mirror's root."""
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)
