"""Statistics charts as inline SVG: no JavaScript, readable on a phone, printable."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

# One colour per outcome, distinguishable for the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


def stacked_days(by_day: Mapping[str, Counter], names: Mapping[str, str], *, title: str) -> str:
    """Removals per day as stacked columns, one colour per outcome, with a legend."""
    days = sorted(by_day)
    if not days:
        return ""
    outcomes = sorted({o for counts in by_day.values() for o in counts})
    colour = {o: PALETTE[i % len(PALETTE)] for i, o in enumerate(outcomes)}
    width, height, left, bottom = 640, 220, 36, 28
    top = max(sum(c.values()) for c in by_day.values())
    column = (width - left) / len(days)
    parts = [_axis(left, height, bottom, top, width)]
    for i, day in enumerate(days):
        y = height - bottom
        for outcome in outcomes:
            count = by_day[day].get(outcome, 0)
            if not count:
                continue
            h = (height - bottom - 10) * count / top
            y -= h
            parts.append(
                f'<rect x="{left + i * column + 1:.1f}" y="{y:.1f}" width="{max(column - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{colour[outcome]}"><title>{escape(day)} · '
                f"{escape(names.get(outcome, outcome))}: {count}</title></rect>"
            )
    for i in sorted({0, len(days) - 1, len(days) // 2}):
        parts.append(
            f'<text x="{left + (i + 0.5) * column:.1f}" y="{height - 8}" text-anchor="middle">'
            f"{escape(days[i])}</text>"
        )
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour[o]}"></span>{escape(names.get(o, o))}</li>'
        for o in outcomes
    )
    return _svg(width, height, title, "".join(parts)) + f'<ul class="legend">{legend}</ul>'


def histogram(values: Sequence[float], *, title: str, unit: str, bins: int = 12) -> str:
    """Values in hours on a log scale (removals cluster in the first days, then thin out)."""
    if not values:
        return ""
    edges = [0.0] + [2**i for i in range(bins)]  # 1 h, 2 h, 4 h, … ~2,048 h
    counts = [0] * bins
    for value in values:
        index = min(bins - 1, 0 if value < 1 else int(math.log2(value)) + 1)
        counts[index] += 1
    labels = (
        [f"<{edges[1]:g}"]
        + [f"{edges[i]:g}–{edges[i + 1]:g}" for i in range(1, bins - 1)]
        + [f"≥{edges[-2]:g}"]
    )
    return bars([Bar(f"{label} {unit}", c) for label, c in zip(labels, counts, strict=True)], title=title)


def bars(items: Sequence[Bar], *, title: str) -> str:
    """Horizontal bars, one row per item, value printed beside it."""
    if not items:
        return ""
    row, label_width, width = 22, 200, 640
    height = row * len(items) + 8
    top = max(b.value for b in items) or 1
    parts = []
    for i, bar in enumerate(items):
        y = 4 + i * row
        w = (width - label_width - 60) * bar.value / top
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(bar.label[:28])}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{PALETTE[0]}"></rect>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 15}">{bar.value:g}</text>'
        )
    return _svg(width, height, title, "".join(parts))


def _axis(left: int, height: int, bottom: int, top: float, width: int) -> str:
    y = height - bottom
    return (
        f'<line x1="{left}" y1="{y}" x2="{width}" y2="{y}" stroke="#666"></line>'
        f'<text x="{left - 4}" y="16" text-anchor="end">{top:g}</text>'
        f'<text x="{left - 4}" y="{y}" text-anchor="end">0</text>'
    )


def _svg(width: int, height: int, title: str, body: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )
