"""Browse pages: every partnership, cluster organisation and country, a page at a time.

The landing page shows the start of each list; these pages hold all of it, so that a
graph many times the real one still gives pages of a bounded size. ``?generation=1``
(or 2) narrows a list to one generation, as the landing page's lists are narrowed to
the first: its partnerships, the clusters with a membership in one, their countries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from flask import Blueprint, render_template, request, url_for

from server.errors import BadRequestError, NotFoundError
from server.web.freshness import release_pages
from server.web.state import per_release

from .facets import BY_NAME, Selection, facets, narrowed, vocabulary
from .landing import landing, page_size
from .lists import Generation, Link

bp = Blueprint("browse", __name__)
release_pages(bp)

#: The lists that facets narrow, and the named query that gives the same rows.
FACETED: Final = {"partnerships": "partnerships", "clusters": "clusters"}

INTROS: Final = {
    "partnerships": (
        "Partnerships",
        "Every partnership the sources identify by name, with its generation, funding type, "
        "sectors, target markets and the number of members this graph lists (which may be "
        "fewer than it had).",
    ),
    "clusters": (
        "Cluster organisations",
        "Every member cluster organisation, with the country it is based in and its "
        "partnerships; one that took part in both generations is listed once.",
    ),
    "countries": (
        "Countries",
        "Countries where member cluster organisations are based, and countries named as target "
        "markets, each linked to its Wikidata entity.",
    ),
}


@dataclass(frozen=True)
class Pager:
    """Where a page sits in its list, and the links to its neighbours."""

    page: int
    last: int
    total: int
    first_item: int
    last_item: int
    prev: str | None
    next: str | None


@dataclass(frozen=True)
class Choice:
    """One link of the generation switch: its text, where it goes, whether it is shown."""

    label: str
    href: str
    current: bool


@bp.get("/partnerships")
def partnerships() -> str:
    """All partnerships, a page at a time."""
    return _render("partnerships")


@bp.get("/clusters")
def clusters() -> str:
    """All member cluster organisations, a page at a time."""
    return _render("clusters")


@bp.get("/countries")
def countries() -> str:
    """All countries the graph uses, a page at a time."""
    return _render("countries")


def _render(kind: str) -> str:
    found = landing().every
    generation = generation_choice(request.args.get("generation"), found.generations)
    number = generation.number if generation else None
    lists = found.of(number)
    faceted = kind in FACETED
    words = per_release(
        ("facet-vocabulary", request.script_root), lambda: vocabulary(found.everything)
    )
    selection = words.parse(request.args.to_dict(flat=False)) if faceted else {}
    items: Sequence[object] = narrowed(kind, lists, selection) if faceted else getattr(lists, kind)
    size = page_size()
    page = _page_number(request.args.get("page", "1"))
    last = max(1, math.ceil(len(items) / size))
    if page > last:
        raise NotFoundError(f"there is no page {page}: the {kind} fill {last} page(s)", last=last)
    start = (page - 1) * size
    shown = items[start : start + size]
    endpoint = f"browse.{kind}"
    tokens: dict[str, Any] = {name: words.token(name, v) for name, v in selection.items()}

    def here(**changes: str | int | None) -> str:
        args: dict[str, Any] = {"generation": number, **tokens, **changes}
        return url_for(endpoint, **{k: v for k, v in args.items() if v is not None})

    pager = Pager(
        page=page,
        last=last,
        total=len(items),
        first_item=start + 1 if shown else 0,
        last_item=start + len(shown),
        prev=here(page=page - 1) if page > 1 else None,
        next=here(page=page + 1) if page < last else None,
    )
    heading, intro = INTROS[kind]
    if generation:
        heading = f"{heading}, {generation.name[:1].lower()}{generation.name[1:]}"
    switch = [Choice("All", url_for(endpoint, **tokens), generation is None)]
    switch += [
        Choice(g.short, url_for(endpoint, generation=g.number, **tokens), g == generation)
        for g in found.generations
    ]
    panel = facets(kind, lists, selection, words) if faceted else []
    downloads = _downloads(kind, generation, selection) if faceted else {}
    return render_template(
        "browse.html",
        kind=kind,
        items=shown,
        pager=pager,
        heading=heading,
        intro=intro,
        switch=switch,
        narrowed=generation is not None,
        facets=panel,
        chosen=[
            Chosen(BY_NAME[name].label, value, here(**{name: None}))
            for name, value in selection.items()
        ],
        pick=lambda name, token: here(**{name: token}),
        cleared=here(**dict.fromkeys(tokens)),
        downloads=downloads,
        csv_url=downloads.get("csv")
        or url_for("api.run", name=f"{kind}.csv", **_generation_arg(generation)),
    )


def _generation_arg(generation: Generation | None) -> dict[str, Any]:
    return {"generation": generation.iri} if generation else {}


@dataclass(frozen=True)
class Chosen:
    """A chosen facet value, with the URL of the selection without it."""

    facet: str
    value: Link
    without: str


def _downloads(kind: str, generation: Generation | None, selection: Selection) -> dict[str, str]:
    """Link the selection's rows in the named-query API, as CSV and as JSON records."""
    given = _generation_arg(generation) | {name: value.iri for name, value in selection.items()}
    name = FACETED[kind]
    return {fmt: url_for("api.run", name=f"{name}.{fmt}", **given) for fmt in ("csv", "json")}


def generation_choice(raw: str | None, generations: Sequence[Generation]) -> Generation | None:
    """Parse ``?generation=``: absent for all, else the number of a generation."""
    if raw is None:
        return None
    for generation in generations:
        if raw == str(generation.number):
            return generation
    legal = ", ".join(str(g.number) for g in generations)
    raise BadRequestError(
        f"generation must be one of {legal} (or left out for all), not {raw[:40]!r}"
    )


def _page_number(raw: str) -> int:
    """Parse ``?page=``: a whole number from 1; anything else is the client's error."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise BadRequestError(f"page must be a whole number from 1, not {raw[:40]!r}")
    return int(raw)
