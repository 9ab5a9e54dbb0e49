"""The maps page (blueprint `maps`): member countries of Europe and the target markets.

Both maps are drawn on the server (``server.web.drawing.maps``) from vendored outlines and
kept once per release; ``?generation=1`` (or 2) narrows them as it narrows the browse pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from flask import Blueprint, render_template, request, url_for
from markupsafe import Markup

from server.web.drawing.maps import Area, Basemap, Unit, choropleth
from server.web.freshness import release_pages
from server.web.state import per_release

from .browse import Choice, generation_choice
from .landing import landing
from .lists import CountryItem, Overview

log = logging.getLogger(__name__)

bp = Blueprint("maps", __name__)
release_pages(bp)

CLUSTERS: Final = Unit("cluster organisation", "cluster organisations")
PARTNERSHIPS: Final = Unit("partnership", "partnerships")


@bp.get("/map")
def page() -> str:
    """Maps of the member countries and of the target markets."""
    found = landing().every
    generation = generation_choice(request.args.get("generation"), found.generations)
    number = generation.number if generation else None
    lists = found.of(number)
    switch = [Choice("All", url_for("maps.page"), generation is None)]
    switch += [
        Choice(g.short, url_for("maps.page", generation=g.number), g == generation)
        for g in found.generations
    ]
    return render_template(
        "map.html",
        generation=generation,
        switch=switch,
        europe=europe_map(lists),
        world=world_map(lists),
        regions=lists.regions,
    )


def europe_map(overview: Overview) -> Markup:
    """Europe, each member country shaded by its member cluster organisations.

    Drawn once per release and generation: ``overview`` is one of ``landing().every``'s
    (``.of(n)``), as the landing and map pages pass it; the cache is keyed by its generation.
    """
    return _map(
        overview,
        "europe",
        lambda c: c.clusters,
        title="Member cluster organisations per country",
        unit=CLUSTERS,
        query="clusters-per-country",
    )


def world_map(overview: Overview) -> Markup:
    """The world, each target-market country shaded by the partnerships naming it.

    Cached as :func:`europe_map` is; the regions named as markets are the overview's ``regions``.
    """
    return _map(
        overview,
        "world",
        lambda c: c.targeted_by,
        title="Partnerships per target-market country",
        unit=PARTNERSHIPS,
        query="partnerships-per-target-market",
    )


def _map(
    overview: Overview,
    basemap: Basemap,
    value: Callable[[CountryItem], int],
    *,
    title: str,
    unit: Unit,
    query: str,
) -> Markup:
    """One choropleth of the overview's countries, drawn once per release and generation."""
    return per_release(
        ("map", basemap, request.script_root, _number(overview)),
        lambda: choropleth(
            basemap,
            [
                Area(c.iso3, c.link.label, c.link.href, value(c))
                for c in overview.countries
                if c.iso3
            ],
            title=f"{title}{_of(overview)}",
            unit=unit,
            map_id=f"map-{basemap}{_suffix(overview)}",
            data_href=_csv(query, overview),
        ),
    )


def _number(overview: Overview) -> int | None:
    return overview.generation.number if overview.generation else None


def _of(overview: Overview) -> str:
    g = overview.generation
    return f", {g.name[:1].lower()}{g.name[1:]}" if g else ", all generations"


def _suffix(overview: Overview) -> str:
    return f"-{overview.generation.number}" if overview.generation else ""


def _csv(query: str, overview: Overview) -> str:
    """The API URL of a map table's rows: the named query, narrowed to the map's generation."""
    narrowed: dict[str, Any] = (
        {"generation": overview.generation.iri} if overview.generation else {}
    )
    return url_for("api.run", name=f"{query}.csv", **narrowed)
