"""Charts drawn on the server as inline SVG: no script, no external service, readable offline."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

log = logging.getLogger(__name__)

WIDTH: Final = 420
LABEL_WIDTH: Final = 150
ROW: Final = 24
BAR: Final = 16
PAD: Final = 6
MAX_LABEL: Final = 22


@dataclass(frozen=True)
class Bar:
    """One bar: what it counts, how many, and the page about it."""

    label: str
    value: int
    href: str | None = None


def bar_chart(title: str, bars: Sequence[Bar], *, chart_id: str) -> Markup:
    """Draw a horizontal bar chart; its title states every value for screen readers.

    >>> bars = [Bar("co-funded", 12), Bar("voluntary", 2)]
    >>> svg = bar_chart("Partnerships per funding type", bars, chart_id="funding")
    >>> 'role="img"' in svg and "co-funded: 12" in svg and svg.count("<rect") == 2
    True
    """
    top = max((b.value for b in bars), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 40
    height = PAD * 2 + ROW * len(bars)
    summary = "; ".join(f"{b.label}: {b.value}" for b in bars)
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{escape(chart_id)}-title" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}: {escape(summary)}</title>',
    ]
    for index, bar in enumerate(bars):
        y = PAD + index * ROW
        length = max(round(span * bar.value / top), 1 if bar.value else 0)
        middle = y + ROW / 2
        parts += [
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle:.0f}" '
            f'text-anchor="end" dominant-baseline="middle">{escape(_cut(bar.label))}</text>',
            f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y + (ROW - BAR) / 2:.0f}" '
            f'width="{length}" height="{BAR}" rx="2"></rect>',
            f'<text class="chart-value" x="{LABEL_WIDTH + length + 6}" y="{middle:.0f}" '
            f'dominant-baseline="middle">{bar.value}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  # every text above is escaped


def _cut(label: str) -> str:
    """Shorten a long label for the chart; the title and the table keep it whole.

    >>> _cut("Bosnia and Herzegovina and beyond")
    'Bosnia and Herzegovin…'
    """
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
