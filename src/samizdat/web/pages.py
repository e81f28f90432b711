"""What the site's pages show, gathered once for the live site (web/app.py) and the static
mirror (web/mirror.py): both render the same templates from these contexts, and differ only in
how a page links to another (``link``: a path on the live site, a relative file in the mirror)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from samizdat.config import WitnessSettings
from samizdat.read.reader import Reader
from samizdat.store import Store
from samizdat.store.views import ArticleDetail, VersionView
from samizdat.web import charts
from samizdat.web.i18n import OUTCOMES, Translator
from samizdat.web.render import blob_path, listed_text, safe_article_html
from samizdat.web.verification import page_proofs, shown_version

STATS_ROWS = 20  # rows per table on the statistics page; the CSV has them all
STATS_CHART_ROWS = 12
COPIES_SHOWN = 30


def article_context(
    reader: Reader,
    store: Store,
    article: ArticleDetail,
    chosen: VersionView | None,
    verification: Verification,
    *,
    image_path: Callable[[str], str] = blob_path,
) -> dict[str, Any]:
    return article_surroundings(reader, store, article, verification) | article_body(
        article, chosen, image_path
    )


def article_body(
    article: ArticleDetail, chosen: VersionView | None, image_path: Callable[[str], str] = blob_path
) -> dict[str, Any]:
    """The version shown: its sanitised body (images from ``image_path``), else its text."""
    images = {i.url: i.sha256 for i in article.images}
    body = Markup(safe_article_html(chosen.html or "", images, image_path)) if chosen else Markup("")
    return {
        "version": chosen,
        "shown": shown_version(chosen),
        "body": body,
        "paragraphs": None if body else (chosen.text.split("\n") if chosen else listed_text(article.listed)),
    }


@dataclass(frozen=True)
class Verification:
    """What a page needs to carry its own proofs: the archive's public key (base64; None before
    it has one) and the witnesses its readers' browsers ask for."""

    key: str | None
    witnesses: WitnessSettings


def article_surroundings(
    reader: Reader, store: Store, article: ArticleDetail, verification: Verification
) -> dict[str, Any]:
    """What an article's page shows besides the version: the same for each of its versions."""
    entries = store.log_entries_of(article.id)
    return {
        "proofs": page_proofs(store, entries, verification.key, verification.witnesses),
        "article": article,
        "evidence": next(
            (c for c in reversed(article.checks) if c.outcome == article.outcome and c.evidence), None
        ),
        "related": reader.related(article.id),
        # A text reposted by hundreds of accounts: the page names the first of them (those still
        # online first) and counts the rest; the API lists them all.
        "copies": reader.copies(article.id, article.cluster_id, limit=COPIES_SHOWN),
        "copies_total": reader.copy_count(article.cluster_id),
        "log_entries": entries,
        "pictures": [
            p for p in store.images_elsewhere(article.id) if p.facts and (p.facts.ocr_text or p.articles)
        ],
        "links_out": store.outgoing_links(article.id),
        "links_in": store.incoming_links(article.id),
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


def image_stats_context(reader: Reader, t: Translator) -> dict[str, Any]:
    stats = reader.image_statistics()
    figures = {
        "pictures": charts.bars(
            [charts.Bar(_picture_label(p), p.removed) for p in stats.pictures[:STATS_CHART_ROWS]],
            title=t("images.pictures"),
        ),
        "months": charts.bars(
            [
                charts.Bar(m.month, round(100 * m.seen_before / m.removed, 1))
                for m in stats.months[-24:]
                if m.removed
            ],
            title=t("images.months"),
        ),
        "terms": charts.bars(
            [charts.Bar(term.word, term.z) for term in stats.terms[:STATS_CHART_ROWS]],
            title=t("images.terms"),
        ),
    }
    return {"images": stats, "figures": {name: Markup(svg) for name, svg in figures.items()}}


def _picture_label(picture) -> str:
    text = " ".join(picture.text.split())
    return text[:16] if text else picture.sha256[:12]


def account_context(reader: Reader, store: Store, name: str, t: Translator) -> dict[str, Any] | None:
    """An account's page: its archived articles and, when it is watched (``samizdat account
    add``), its sources, its articles by state and its removals month by month. None: no such
    account is archived or watched."""
    watched = store.find_account(name)
    # /accounts/<biz> or /accounts/<gh_ id> of a watched account lists it by its nickname.
    name = watched.nickname if watched is not None and watched.nickname else name
    summary = reader.account(name)
    if summary is None and watched is None:
        return None
    context: dict[str, Any] = {
        "account": summary or {"name": name, "articles": 0, "removed": 0, "removal_rate": 0.0},
        "account_name": name,
        "watched": None,
    }
    if watched is not None:
        months = store.removals_by_month(watched)
        summary = store.account_summary(watched)
        context["watched"] = {
            "account": watched,
            "summary": summary,
            "states": ", ".join(f"{t.state(state)} {n}" for state, n in sorted(summary.states.items()))
            or "—",
            "sources": store.account_sources(watched),
            "months": months,
            "chart": Markup(
                charts.bars(
                    [charts.Bar(month, removed / total * 100) for month, total, removed in months if total],
                    title=t("account.rate_chart"),
                )
            ),
        }
    return context
