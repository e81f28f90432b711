"""Body-text F1 and date accuracy of the generic extractor on the cwced Chinese pages.

Usage: python bench/extraction_eval.py [--data DIR] [--pages N] [--verbose]

DIR holds ``original/*.html`` with ground truth in ``cleaned/``, ``date/`` (default: the
copy in tests/fixtures/cwced, from immortal-autumn/Chinese-Web-Content-Extraction-Dataset,
MIT). Body text is scored as in shared/samples/README.md (CJK-character tokens, 4-token
shingles, P/R/F1 averaged over pages). A date counts as exact when it matches the truth at
the truth's own precision (day, month or year); a page whose truth is UNKNOWN counts as
exact when no date is returned.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from htmldate import find_date

from samizdat.fetch.decode import decode_html
from samizdat.platforms import generic
from samizdat.platforms.blocks import extract
from samizdat.platforms.similarity import precision_recall_f1
from samizdat.platforms.text import parse_html

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "tests" / "fixtures" / "cwced"
_SOURCE_URL = re.compile(r'<text id="([^"]+)"')
_TRUTH_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


_UNKNOWN = re.compile(r"^\s*UNK", re.IGNORECASE)
INVALID = "invalid"


def truth_date(text: str) -> tuple[int, ...] | str | None:
    """The truth's date parts at its own precision; None when UNKNOWN; INVALID otherwise.

    A few labels are neither a date nor UNKNOWN (an empty file, an author's name copied
    into the date file); they say nothing about dates and are left out of the date score.

    >>> truth_date("2005-5-7 21:23:57"), truth_date("1998-3"), truth_date("UNKNWON"), truth_date("刘涛")
    ((2005, 5, 7), (1998, 3), None, 'invalid')
    """
    match = _TRUTH_DATE.match(text)
    if match:
        return tuple(int(part) for part in match.groups() if part)
    return None if _UNKNOWN.match(text) else INVALID


def date_exact(truth: tuple[int, ...] | str | None, found: date | None) -> bool:
    if truth is None:
        return found is None
    if found is None:
        return False
    return (found.year, found.month, found.day)[: len(truth)] == truth


@dataclass
class Evaluation:
    pages: int
    body: dict[str, tuple[float, float, float]]  # extractor -> mean (precision, recall, F1)
    dates_correct: dict[str, int]  # samizdat / htmldate -> pages exact
    dated_pages: int
    invalid_labels: list[str]
    seconds: list[float]
    rows: list[str]

    @property
    def body_f1(self) -> float:
        return self.body["samizdat (vote)"][2]

    @property
    def dates_exact(self) -> float:
        return self.dates_correct["samizdat"] / self.dated_pages


def evaluate(data: Path, limit: int = 0) -> Evaluation:
    pages = sorted((data / "original").glob("*.html"))[: limit or None]
    scores: dict[str, list[tuple[float, float, float]]] = {
        "samizdat (vote)": [],
        "block scorer alone": [],
        "readability-lxml": [],
        "trafilatura": [],
    }
    dates = {"samizdat": 0, "htmldate": 0}
    seconds: list[float] = []
    invalid_labels: list[str] = []
    rows: list[str] = []
    for page in pages:
        html_text = decode_html(page.read_bytes()).text
        source = _SOURCE_URL.search(html_text[:2000])
        url = source.group(1) if source else ""
        truth = (data / "cleaned" / f"{page.stem}.txt").read_text("utf-8", "replace")
        date_file = data / "date" / f"{page.stem}.txt"
        expected = truth_date(date_file.read_text("utf-8", "replace")) if date_file.exists() else INVALID
        started = time.perf_counter()
        article = generic.PLATFORM.parse(url, html_text)
        seconds.append(time.perf_counter() - started)
        outputs = {
            "samizdat (vote)": article.text,
            "block scorer alone": extract(parse_html(html_text)).text,
            "readability-lxml": generic._readability_text(html_text),
            "trafilatura": generic._trafilatura_text(html_text),
        }
        for name, output in outputs.items():
            scores[name].append(precision_recall_f1(truth, output))
        ours_ok = date_exact(expected, article.published_at)
        if expected == INVALID:
            invalid_labels.append(page.stem)
        else:
            dates["samizdat"] += ours_ok
            dates["htmldate"] += date_exact(expected, _htmldate(html_text))
        p, r, f = scores["samizdat (vote)"][-1]
        rows.append(
            f"{page.stem[:8]}  P {p:.2f} R {r:.2f} F1 {f:.2f}  date {'ok ' if ours_ok else 'BAD'} "
            f"{article.published_at} ({article.published_precision}) truth {expected}"
        )
    body = {
        name: tuple(statistics.fmean(row[i] for row in values) for i in range(3))
        for name, values in scores.items()
    }
    return Evaluation(
        len(pages), body, dates, len(pages) - len(invalid_labels), invalid_labels, seconds, rows
    )


def _htmldate(html_text: str) -> date | None:
    try:
        found = find_date(html_text, original_date=True)
    except Exception:  # htmldate raises on some malformed pages
        return None
    return date.fromisoformat(found) if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pages", type=int, default=0, help="only the first N pages")
    parser.add_argument("--verbose", action="store_true", help="one line per page")
    args = parser.parse_args()
    if not (args.data / "original").is_dir():
        print(f"no pages under {args.data / 'original'}", file=sys.stderr)
        return 2
    result = evaluate(args.data, args.pages)
    if args.verbose:
        print("\n".join(result.rows))
    print(f"cwced: {result.pages} pages from {args.data}")
    print(f"{'extractor':<22} {'precision':>9} {'recall':>7} {'F1':>6}")
    for name, (p, r, f) in result.body.items():
        print(f"{name:<22} {p:9.3f} {r:7.3f} {f:6.3f}")
    ours, baseline, dated = (
        result.dates_correct["samizdat"],
        result.dates_correct["htmldate"],
        result.dated_pages,
    )
    print(
        f"dates exact: samizdat {ours}/{dated} = {ours / dated:.1%}, htmldate {baseline}/{dated} = "
        f"{baseline / dated:.1%} ({len(result.invalid_labels)} pages whose date label is neither a date "
        f"nor UNKNOWN left out: {', '.join(result.invalid_labels) or 'none'})"
    )
    print(
        f"generic parse time per page: median {statistics.median(result.seconds) * 1000:.0f} ms, "
        f"max {max(result.seconds) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
