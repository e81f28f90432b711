"""The mirror's pages: the site's templates rendered from the site's contexts (web/pages.py),
with relative links; the search documents Pagefind indexes."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from samizdat.archive import CorruptRecord, read_record
from samizdat.archive.storage import WarcFiles
from samizdat.archive.wacz import write_wacz
from samizdat.evidence.packages import PackageSigner
from samizdat.fetch.decode import ContentEncodingError, decode_html
from samizdat.folding import fold, fold_char
from samizdat.read.image_statistics import TABLES as IMAGE_TABLES
from samizdat.read.image_statistics import to_csv as image_csv
from samizdat.read.reader import ArticleFilter, ArticleSummary, Reader
from samizdat.read.statistics import GROUPINGS, to_csv
from samizdat.store import Store
from samizdat.web.feeds import removals_atom
from samizdat.web.i18n import OUTCOMES, Translator
from samizdat.web.mirror.layout import LANGUAGES, POLICY, Files, Linker, mirror_file, relative, slug
from samizdat.web.pages import (
    Verification,
    article_body,
    article_surroundings,
    image_stats_context,
    stats_context,
)
from samizdat.web.render import listed_text

WEB = Path(__file__).parent.parent
PAGE_SIZE = 50
FEED_ENTRIES = 50
MAX_RAW_BYTES = 50_000_000
SUMMARY_CHARS = 120
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\W\u3400-\u9fff\uf900-\ufaff_]+")


def _templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(WEB / "templates"), autoescape=select_autoescape(["html"]), auto_reload=False
    )
    environment.globals["outcome_names"] = OUTCOMES
    return environment


# Articles per search index: Pagefind holds the index it builds in memory (up to 6.3 GB for
# 10,000 articles); the browser merges the shards' indexes (static/search.js).
SEARCH_SHARD = 10_000


class Mirror:
    def __init__(
        self,
        store: Store,
        files: WarcFiles,
        root: Path,
        *,
        sign_package: PackageSigner | None,
        verification: Verification,
        base_url: str = "",
        raw: bool = True,
        packages: bool = True,
        search: bool = True,
        search_shard: int = SEARCH_SHARD,
    ) -> None:
        self.store, self.warcs, self.root = store, files, root
        self.with_search, self.search_shard = search, search_shard
        self.with_raw, self.with_packages = raw, packages
        self.reader = Reader(store.engine)
        self.sign_package = sign_package
        self.verification = verification
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
                "search": self.with_search,
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
        surroundings = article_surroundings(self.reader, self.store, article, self.verification)
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
        image_text = [p.facts.ocr_text for p in surroundings["pictures"] if p.facts.ocr_text]
        self.search_document(out, article, image_text)
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

    def search_document(self, out: Files, article, image_text: list[str]) -> None:
        """What the search index holds of the article: a page of its own, never shown, with its
        title, account, text and the text read in its images as folded tokens (overlapping
        character pairs for Chinese, so that any 2-character substring is a term, as the site's
        own search finds substrings)
        and, as metadata, its id, title and the start of its text for the result list."""
        version = article.latest
        title = (version.title if version else None) or article.title or article.url
        text = version.text if version else "\n".join(listed_text(article.listed))
        searched = " ".join(
            part for part in (title, article.account or "", article.author or "", text, *image_text) if part
        )
        page = self.templates.get_template("mirror_search_document.html").render(
            article=article,
            title=title,
            summary=" ".join(text.split())[:SUMMARY_CHARS],
            terms=search_terms(searched),
        )
        out.write(f"search/{article.id // self.search_shard}/{article.id}.html", page)

    def raw(self, out: Files, name: str, ref, article) -> None:
        """The unprocessed cache, inert: the archived page as the ``srcdoc`` of a sandboxed frame."""
        if ref is None:
            return
        if out.has(name):  # a record never changes: its page is as the last build wrote it
            out.keep(name)
            return
        try:
            record = read_record(self.warcs, ref)
            text = decode_html(record.body(MAX_RAW_BYTES), record.header("content-type")).text
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
                data = read_record(self.warcs, stored.ref).body(MAX_RAW_BYTES)
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

    def removed(self, out: Files) -> None:
        items = self.all_of(ArticleFilter(removed_only=True))
        self.paged(
            out,
            items,
            "/",
            lambda n: f"/removed/{n}",
            heading="nav.home",
            feed_url="/feeds/removed.atom",
        )

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
        names = {lang: mirror_file("/stats/images", lang) for lang in LANGUAGES}
        for lang, name in names.items():
            context = image_stats_context(self.reader, Translator(lang))
            self.render(
                out, name, "stats_images.html", lang, names["en" if lang == "zh" else "zh"], **context
            )
        images = self.reader.image_statistics()
        for table in IMAGE_TABLES:
            out.write(mirror_file(f"/stats/images.csv?table={table}", "zh"), image_csv(images, table))


# The way search_terms writes them: 2 since pairs are code-point words (1: Chinese text).
SEARCH_TERMS = 2


def search_terms(text: str) -> str:
    """``text`` folded (web and site search alike: NFKC, case, traditional → simplified) as the
    terms of the mirror's index: each run of Chinese characters as its overlapping pairs, other
    words whole. static/search.js turns a query into terms the same way.

    A pair is written as the code points of its characters (:func:`cjk_token`): Pagefind cuts
    Chinese text into dictionary words, so a pair that is not a word ("的人") was indexed as
    two characters, and a search for it read the postings of ``的`` — most of the index.

    >>> search_terms("北約峰會 NATO 2024年")
    'u5317u7ea6 u7ea6u5cf0 u5cf0u4f1a nato 2024 u5e74'
    """
    terms: list[str] = []
    for run in _RUNS.findall(fold(text)):
        if _CJK.match(run):
            pairs = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
            terms += [cjk_token(pair) for pair in pairs]
        else:
            terms.append(run)
    return " ".join(terms)


def cjk_token(characters: str) -> str:
    """Chinese characters as one plain word that no segmenter cuts: ``u`` and the hexadecimal
    code point of each (static/search.js writes queries the same way)."""
    return "".join(f"u{ord(c):x}" for c in characters)


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


def _quoted(name: str) -> str:
    return quote(name, safe="")
