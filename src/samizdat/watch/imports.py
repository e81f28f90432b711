"""Import a removal dataset (``samizdat import-removals``): each row becomes a removed article
with the outcome its message names, read by the platform's own notice texts, and the watchlist
terms its title matches. Rows are never checked: there is no capture to compare with.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from pathlib import Path

from samizdat.config import Settings
from samizdat.platforms.registry import Registry
from samizdat.sources.removals import RemovalDatasetError, read_removals
from samizdat.status import REMOVALS, Outcome
from samizdat.store import ImportedRemoval, Store
from samizdat.watch.keywords import Watchlist
from samizdat.watch.outcomes import outcome_of_notice
from samizdat.watch.sealing import seal_archive


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    unrecognised: Counter[str] = field(default_factory=Counter)  # messages no notice text matched


def import_removals(
    settings: Settings, store: Store, path: Path, *, platform: str, tz: timezone, dataset: str | None = None
) -> ImportReport:
    registry = Registry(settings.platforms)
    reader = registry.platform(platform)
    watchlist = Watchlist(settings.keywords.terms)
    name = dataset or path.name.split(".")[0]
    report = ImportReport()
    removals = []
    for row in read_removals(path, tz=tz):
        reason = reader.reason_for_notice(row.message)
        outcome = outcome_of_notice(reason) if reason is not None else None
        if outcome is None or outcome not in REMOVALS:
            report.unrecognised[row.message] += 1
            outcome = Outcome.UNKNOWN_UNAVAILABLE
        report.rows += 1
        report.outcomes[outcome] += 1
        removals.append(
            ImportedRemoval(
                platform=platform,
                canonical_id=f"import:{name}:{row.key}",
                url=f"urn:samizdat:import:{name}:{row.key}",
                title=row.title,
                account=row.account,
                account_id=row.account_id,
                published_at=row.published_at,
                published_precision=row.published_precision,
                outcome=outcome,
                message=row.message,
                detected_at=row.removed_at.astimezone(UTC),
                keywords=watchlist.matches(row.title),
            )
        )
    report.added = store.import_removals(removals, imported_at=datetime.now(UTC))
    seal_archive(store, settings)
    return report


__all__ = ["ImportReport", "RemovalDatasetError", "import_removals"]
