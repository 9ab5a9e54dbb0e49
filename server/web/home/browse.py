"""Browse pages: every partnership, cluster organisation, country and continuity link, a page
at a time.

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

from flask import Blueprint, current_app, render_template, request, url_for

from server.errors import BadRequestError, NotFoundError
from server.web.cache import AnswerCache
from server.web.freshness import release_pages
from server.web.state import BROWSED, get_state, per_release

from .facets import BY_NAME, Selection, Shown, Vocabulary, facets, narrowed, vocabulary
from .landing import landing, page_size
from .lists import Generation, Link, Overview

bp = Blueprint("browse", __name__)
release_pages(bp)

#: The lists that facets narrow, and the named query that gives the same rows.
FACETED: Final = {"partnerships": "partnerships", "clusters": "clusters"}
#: The overview's attribute holding a list, where it is not the list's name.
ATTRIBUTES: Final = {"continuity": "continued"}
#: The named query whose CSV a list links, where it is not the list's name, and whether it
#: takes ``generation`` (lineage gives a row per first-generation partnership instead).
CSV_QUERIES: Final = {"continuity": ("lineage", False)}
#: Bytes of recently asked selections kept, narrowed and counted: at 1,000 times the real
#: data counting the facets of one selection took 0.8 s, and what is kept is references.
BROWSED_BYTES: Final = 32 * 1024 * 1024

#: A selection's items and its facet panel.
Browsed = tuple[Sequence[object], list[Shown]]

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
    "continuity": (
        "Continuity links",
        "Every link the sources give from a first-generation partnership to the later "
        "partnership it continued as, with how directly they state it; each link's page holds "
        "its sources.",
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


@bp.get("/continuity-links")
def continuity() -> str:
    """All continuity links, a page at a time."""
    return _render("continuity")


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
    if faceted:
        items, panel = _browsed(kind, number, lists, selection, words)
    else:
        items, panel = getattr(lists, ATTRIBUTES.get(kind, kind)), []
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
        csv_url=downloads.get("csv") or _csv_url(kind, generation),
    )


def _csv_url(kind: str, generation: Generation | None) -> str:
    """Link the named query that gives a list's rows as CSV."""
    name, narrows = CSV_QUERIES.get(kind, (kind, True))
    return url_for(
        "api.run", name=f"{name}.csv", **(_generation_arg(generation) if narrows else {})
    )


def _browsed(
    kind: str, number: int | None, lists: Overview, selection: Selection, words: Vocabulary
) -> Browsed:
    """Return a selection's items and facets, counted once per release while recently asked.

    The cache is bounded: selections combine facet values into more than any memory holds.
    """
    cache: AnswerCache[Browsed] = current_app.extensions.setdefault(
        BROWSED, AnswerCache[Browsed](max_bytes=BROWSED_BYTES, size=_browsed_size)
    )
    chosen = tuple(sorted((name, value.href) for name, value in selection.items()))
    key = (get_state().backend.info.release, request.script_root, kind, number, chosen)
    found = cache.get(key)
    if found is None:
        found = (narrowed(kind, lists, selection), facets(kind, lists, selection, words))
        cache.put(key, found)
    return found


def _browsed_size(found: Browsed) -> int:
    """Roughly the bytes a kept selection holds: a reference per item, an object per option."""
    items, panel = found
    return 1024 + 8 * len(items) + 200 * sum(len(shown.options) for shown in panel)


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
