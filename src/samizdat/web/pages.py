"""What the site's pages show, gathered once for the live site (web/app.py) and the static
mirror (web/mirror.py): both render the same templates from these contexts, and differ only in
how a page links to another (``link``: a path on the live site, a relative file in the mirror)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from samizdat.read.reader import Reader
from samizdat.store import Store
from samizdat.store.views import ArticleDetail, VersionView
from samizdat.web import charts
from samizdat.web.i18n import OUTCOMES, Translator
from samizdat.web.render import blob_path, listed_text, safe_article_html

STATS_ROWS = 20  # rows per table on the statistics page; the CSV has them all
COPIES_SHOWN = 30


def article_context(
    reader: Reader,
    store: Store,
    article: ArticleDetail,
    chosen: VersionView | None,
    *,
    image_path: Callable[[str], str] = blob_path,
) -> dict[str, Any]:
    return article_surroundings(reader, store, article) | article_body(article, chosen, image_path)


def article_body(
    article: ArticleDetail, chosen: VersionView | None, image_path: Callable[[str], str] = blob_path
) -> dict[str, Any]:
    """The version shown: its sanitised body (images from ``image_path``), else its text."""
    images = {i.url: i.sha256 for i in article.images}
    body = Markup(safe_article_html(chosen.html or "", images, image_path)) if chosen else Markup("")
    return {
        "version": chosen,
        "body": body,
        "paragraphs": None if body else (chosen.text.split("\n") if chosen else listed_text(article.listed)),
    }


def article_surroundings(reader: Reader, store: Store, article: ArticleDetail) -> dict[str, Any]:
    """What an article's page shows besides the version: the same for each of its versions."""
    return {
        "article": article,
        "evidence": next(
            (c for c in reversed(article.checks) if c.outcome == article.outcome and c.evidence), None
        ),
        "related": reader.related(article.id),
        # A text reposted by hundreds of accounts: the page names the first of them (those still
        # online first) and counts the rest; the API lists them all.
        "copies": reader.copies(article.id, article.cluster_id, limit=COPIES_SHOWN),
        "copies_total": reader.copy_count(article.cluster_id),
        "log_entries": store.log_entries_of(article.id),
    }


def stats_context(reader: Reader, t: Translator) -> dict[str, Any]:
    stats = reader.statistics()
    names = {name: t.outcome(name) for name in OUTCOMES}
    figures = {
        "by_day": Markup(charts.stacked_days(stats.removals_by_day, names, title=t("stats.by_day"))),
        "age": Markup(
            charts.histogram(stats.removal_ages_hours, title=t("stats.age"), unit=t("stats.hours"))
        ),
        "accounts": Markup(
            charts.bars(
                [charts.Bar(n, removed) for n, removed, _ in stats.top_accounts],
                title=t("stats.top_accounts"),
            )
        ),
        "keywords": Markup(
            charts.bars([charts.Bar(k, c) for k, c in stats.top_keywords], title=t("stats.top_keywords"))
        ),
    }
    groups = reader.breakdowns()
    months = groups["month"][-24:]
    figures["months"] = Markup(
        charts.bars(
            [charts.Bar(g.name, round(100 * g.removal_rate, 1)) for g in months],
            title=t("stats.monthly_rate"),
        )
    )
    figures["outcome_hours"] = Markup(
        charts.bars(
            [charts.Bar(t.outcome(g.name), round(g.quantile(0.5), 1)) for g in groups["outcome"] if g.hours],
            title=t("stats.outcome_hours"),
        )
    )
    tables = {by: found[:STATS_ROWS] for by, found in groups.items() if by != "month"} | {"month": months}
    return {"stats": stats, "figures": figures, "tables": tables}
