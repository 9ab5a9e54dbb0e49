"""Choropleth maps drawn on the server as inline SVG from the vendored country outlines.

The outlines (``boundaries/countries.json``, Natural Earth via world-atlas; see its README)
are SVG path data keyed by ISO 3166-1 alpha-3, already projected and simplified by
``scripts/boundaries.py``. Here they only get shaded: no tiles, no script, no other host.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from markupsafe import Markup, escape

log = logging.getLogger(__name__)

BOUNDARIES: Final = Path(__file__).parent / "boundaries" / "countries.json"
#: At most this many shades; the classes are ``shade-1`` (fewest) to ``shade-5``.
SHADES: Final = 5
#: Radius (pixels) of the dot drawn over a country too small to see at the map's scale.
DOT: Final = 3.5

Basemap = Literal["europe", "world"]


@dataclass(frozen=True)
class Area:
    """One country to shade: its ISO alpha-3 code, name, page and value."""

    iso3: str
    label: str
    href: str
    value: int


@dataclass(frozen=True)
class Bin:
    """One shade of the legend: the values it covers and how many countries fall in it."""

    shade: int
    low: int
    high: int
    countries: int

    @property
    def label(self) -> str:
        """The values as the legend states them: "3" or "4–7"."""
        return str(self.low) if self.low == self.high else f"{self.low}–{self.high}"


@dataclass(frozen=True)
class Unit:
    """What a value counts, in the singular and the plural: "cluster organisation(s)"."""

    one: str
    many: str

    def of(self, value: int) -> str:
        """Return the value with its unit: "1 partnership", "3 partnerships"."""
        return f"{value} {self.one if value == 1 else self.many}"


def bins(values: Iterable[int], most: int = SHADES) -> list[Bin]:
    """Split positive values into at most ``most`` shades of about as many countries each.

    A value never straddles two shades, so fewer distinct values give fewer shades.

    >>> [(b.label, b.countries) for b in bins([1, 1, 2, 3, 9])]
    [('1', 2), ('2', 1), ('3', 1), ('9', 1)]
    >>> [(b.label, b.countries) for b in bins([1, 1, 1, 2, 2, 3, 4, 5, 8, 13, 21], most=3)]
    [('1–2', 5), ('3–5', 3), ('8–21', 3)]
    """
    ordered = sorted(v for v in values if v > 0)
    distinct = sorted(set(ordered))
    if len(distinct) <= most:
        return [Bin(i, v, v, ordered.count(v)) for i, v in enumerate(distinct, start=1)]
    groups: list[list[int]] = []
    for value in distinct:
        placed = sum(len(g) for g in groups)
        share = len(ordered) * len(groups) / most
        same = [v for v in ordered if v == value]
        if not groups or (placed >= share and len(groups) < most):
            groups.append(same)
        else:
            groups[-1].extend(same)
    return [Bin(i, g[0], g[-1], len(g)) for i, g in enumerate(groups, start=1)]


def shade_of(value: int, legend: Sequence[Bin]) -> int:
    """Return the shade whose values include ``value`` (0 for none).

    >>> shade_of(5, [Bin(1, 1, 2, 4), Bin(2, 3, 9, 2)])
    2
    """
    return next((b.shade for b in legend if b.low <= value <= b.high), 0)


def choropleth(
    basemap: Basemap,
    areas: Sequence[Area],
    *,
    title: str,
    unit: Unit,
    map_id: str,
    data_href: str | None = None,
) -> Markup:
    """Draw a map shading each area by its value, with its legend and a data table.

    Each shaded country is a link to its page, named "Germany: 12 cluster organisations";
    countries without a value are drawn plain and unlinked. The ``<svg>`` is a labelled
    group (not ``role="img"``, whose children would hide the links from assistive
    technology), and the table under it holds the same figures.

    >>> malta = [Area("MLT", "Malta", "/c/mt", 2)]
    >>> svg = choropleth("europe", malta, title="T", unit=Unit("x", "xs"), map_id="m")
    >>> svg.count('class="shade-1"') >= 2 and 'aria-label="Malta: 2 xs"' in svg
    True
    """
    outlines = _outlines()[basemap]
    shown = sorted((a for a in areas if a.value > 0), key=lambda a: (-a.value, a.label))
    legend = bins(a.value for a in shown)
    by_code = {a.iso3: a for a in shown}
    unit_px = int(outlines["unit"])
    width, height = int(outlines["width"]), int(outlines["height"])
    ident = escape(map_id)
    drawn = outlines["shapes"].keys() | outlines["dots"].keys()
    missing = sorted(a.label for a in shown if a.iso3 not in drawn)
    desc = f"{len(shown)} countries shaded in {len(legend)} shades by {unit.many}"
    if missing:
        desc += "; not drawn (no outline): " + ", ".join(missing)
    parts = [
        f'<figure class="map" id="{ident}">',
        f'<figcaption id="{ident}-caption">{escape(title)}</figcaption>',
        f'<svg class="map-svg map-{basemap}" role="group" '
        f'aria-labelledby="{ident}-title {ident}-desc" '
        f'viewBox="0 0 {width * unit_px} {height * unit_px}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}; the table below lists them.</desc>',
    ]
    if outlines.get("outline"):
        parts.append(f'<path class="map-sphere" d="{outlines["outline"]}"></path>')
    parts += [f'<path class="map-other" d="{d}"></path>' for d in outlines["others"]]
    for code, d in outlines["shapes"].items():
        if code not in by_code:
            parts.append(f'<path class="map-land" data-iso3="{escape(code)}" d="{d}"></path>')
    for area in sorted(shown, key=lambda a: a.iso3):
        if area.iso3 in drawn:
            parts.append(_shaded(area, outlines, shade_of(area.value, legend), unit))
    parts.append("</svg>")
    parts.append(_legend(legend, unit, title))
    parts.append(_table(shown, legend, title, unit, data_href))
    parts.append("</figure>")
    return Markup("".join(parts))  # noqa: S704  # path data is ours; every text is escaped


def _shaded(area: Area, outlines: dict[str, Any], shade: int, unit: Unit) -> str:
    name = escape(f"{area.label}: {unit.of(area.value)}")
    code = escape(area.iso3)
    inner = f"<title>{name}</title>"
    if area.iso3 in outlines["shapes"]:
        inner += f'<path class="shade-{shade}" d="{outlines["shapes"][area.iso3]}"></path>'
    if area.iso3 in outlines["dots"]:
        x, y = (float(c) * int(outlines["unit"]) for c in outlines["dots"][area.iso3])
        r = DOT * int(outlines["unit"])
        inner += (
            f'<circle class="shade-{shade} map-dot" cx="{x:.0f}" cy="{y:.0f}" r="{r:.0f}"></circle>'
        )
    return (
        f'<a class="map-country shade-{shade}" data-iso3="{code}" href="{escape(area.href)}" '
        f'aria-label="{name}">{inner}</a>'
    )


def _legend(legend: Sequence[Bin], unit: Unit, title: str) -> str:
    items = "".join(
        f'<li class="map-key" data-shade="{b.shade}" data-low="{b.low}" data-high="{b.high}">'
        f'<svg class="map-swatch" viewBox="0 0 10 10" width="14" height="14" aria-hidden="true" '
        f'focusable="false"><rect class="shade-{b.shade}" width="10" height="10"></rect></svg> '
        f"{escape(b.label)} {escape(unit.one if b.high == 1 else unit.many)}: "
        f"{b.countries} {'country' if b.countries == 1 else 'countries'}</li>"
        for b in legend
    )
    return (
        f'<ul class="map-legend" aria-label="Legend: {escape(title)}">{items}'
        '<li class="map-key" data-shade="0"><svg class="map-swatch" viewBox="0 0 10 10" '
        'width="14" height="14" aria-hidden="true" focusable="false">'
        '<rect class="map-land" width="10" height="10"></rect></svg> none</li></ul>'
    )


def _table(
    shown: Sequence[Area],
    legend: Sequence[Bin],
    title: str,
    unit: Unit,
    data_href: str | None = None,
) -> str:
    rows = "".join(
        f'<tr><th scope="row"><a href="{escape(a.href)}">{escape(a.label)}</a></th>'
        f'<td class="num">{a.value}</td><td>{escape(_bin_label(a.value, legend))}</td></tr>'
        for a in shown
    )
    return (
        f"<details><summary>Data</summary><table><caption>{escape(title)}</caption>"
        '<thead><tr><th scope="col">Country</th>'
        f'<th scope="col" class="num">{escape(unit.many.capitalize())}</th>'
        f'<th scope="col">Shade</th></tr></thead><tbody>{rows}</tbody></table>{_csv(data_href)}'
        "</details>"
    )


def _csv(href: str | None) -> str:
    """Link the table's rows in the API, where the caller gives their URL."""
    if href is None:
        return ""
    return f'<p class="csv-link"><a href="{escape(href)}" type="text/csv">CSV</a> of these rows</p>'


def _bin_label(value: int, legend: Sequence[Bin]) -> str:
    shade = shade_of(value, legend)
    return next((b.label for b in legend if b.shade == shade), "")


@cache
def _outlines() -> dict[str, dict[str, Any]]:
    """Read the vendored outlines once per process: they change only with the code."""
    maps: dict[str, dict[str, Any]] = json.loads(BOUNDARIES.read_text(encoding="utf-8"))["maps"]
    return maps
