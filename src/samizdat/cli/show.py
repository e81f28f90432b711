"""``samizdat show N``: one article's summary, printed the same whichever reader gave it (the
store's, or :mod:`samizdat.store.plain` when the command starts at once)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from samizdat.store.views import ArticleDetail

SUMMARY_CHARACTERS = 1200


def join_present(*parts: Any) -> str | None:
    present = [str(p) for p in parts if p]
    return " · ".join(present) if present else None


def print_article(console: Console, article: ArticleDetail) -> None:
    """Metadata, the start of the latest text, the versions with their WARC records, counts."""
    from rich.table import Table
    from rich.text import Text

    console.rule(Text(article.title or "(no title)", style="bold"))
    facts = Table.grid(padding=(0, 2))
    for label, value in (
        ("id", article.id),
        ("platform", article.platform),
        ("canonical id", article.canonical_id),
        ("url", article.url),
        ("account", join_present(article.account, article.account_id)),
        ("author", article.author),
        ("published", article.published_at),
        ("status", article.status),
        ("first seen", article.first_seen_at),
        ("last seen alive", article.last_seen_alive_at),
        ("next check", article.next_check_at),
        ("reached by", "\n".join(article.urls)),
    ):
        facts.add_row(Text(label, style="dim"), str(value) if value is not None else "—")
    console.print(facts)
    if article.latest:
        text = article.latest.text
        console.print()
        console.print(text[:SUMMARY_CHARACTERS] + ("…" if len(text) > SUMMARY_CHARACTERS else ""))
    versions = Table("version", "captured", "status", "characters", "WARC record", title="versions")
    for version in article.versions:
        ref = version.warc
        versions.add_row(
            str(version.id),
            str(version.captured_at),
            str(version.http_status),
            str(len(version.text)),
            f"{ref.file}@{ref.offset}" if ref else "—",
        )
    console.print(versions)
    console.print(f"{len(article.images)} images archived, {len(article.checks)} checks recorded")
