"""What the landing page and its sibling pages show, computed once per release."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import pyoxigraph as ox
from flask import current_app, request
from markupsafe import Markup

from server.store.backend import Backend
from server.vocab import SEED_PAGE
from server.web.state import get_catalog, get_state, per_release

from .charts import bar_chart
from .lists import Generation, Lists, Overview
from .overview import overview

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stated:
    """A stated number of partnerships, with the sites that state it (host, URL)."""

    value: int
    approximate: bool
    funding: str | None
    date: str | None
    sources: list[tuple[str, str]]


@dataclass(frozen=True)
class Context:
    """A later generation, shown after the first: its stated and enumerated partnerships."""

    generation: Generation
    stated: list[Stated]
    lists: Overview


@dataclass(frozen=True)
class Headline:
    """One line of the landing page's headline: enumerated here against a stated figure.

    The figure shown is the one the seed page states (the product's source), else the
    first; ``low`` and ``high`` span every value the sources state for the same measure.
    """

    measure: str
    noun: str
    enumerated: int
    stated: int
    approximate: bool
    low: int
    high: int
    anchor: str

    @property
    def conflicting(self) -> bool:
        """Tell whether the sources state different values for this measure."""
        return self.low != self.high


#: The headline's measures, in order, with the noun each line uses.
HEADLINE: Final = (
    ("partnerships", "partnerships"),
    ("cluster-organisations", "cluster organisations"),
    ("countries", "countries"),
)


@dataclass(frozen=True)
class Landing:
    """What the landing page shows; the same for every request to one release.

    The headline, totals, lists and charts are the first generation's, the product's main
    subject; the later generations come after it as context, ``every`` holds the lists of
    every generation, which the browse pages narrow, and ``every_figure`` every stated
    figure, which ``/figures`` shows.
    """

    every_figure: list[dict[str, Any]]
    headline: list[Headline]
    totals: list[dict[str, Any]]
    lists: Overview
    charts: dict[str, Markup]
    every: Lists
    context: list[Context]


def page_size() -> int:
    """Return how many items each list of the landing page, and a browse page, shows."""
    return int(current_app.config["LIST_PAGE_SIZE"])


def landing() -> Landing:
    """Return the landing page's figures, lists and charts, computed once per release.

    Whole-graph queries (seconds at 1,000 times the real data) run on first use only.
    """
    state = get_state()
    root = request.script_root
    return per_release(("landing", root), lambda: _compute(state.backend, state.base_iri))


def _compute(backend: Backend, base: str) -> Landing:
    every = overview(backend, base, request.script_root)
    first = every.generations[0] if every.generations else None
    lists = every.of(first.number if first else None)
    figures = run_file("key-figures.rq")
    partnerships = f"{base}id/measure/partnerships"
    charts = {
        "funding": bar_chart(
            "Partnerships per funding type", lists.by_funding, chart_id="chart-funding"
        ),
        "country": bar_chart(
            "Member cluster organisations per country", lists.by_country, chart_id="chart-country"
        ),
        "market": bar_chart(
            "Partnerships per target market", lists.by_market, chart_id="chart-market"
        ),
    }
    own = [f for f in figures if first is None or f.get("scope") == first.iri]
    return Landing(
        every_figure=figures,
        headline=headline(own, base),
        totals=totals(lists),
        lists=lists,
        charts=charts,
        every=every,
        context=[
            Context(
                g,
                [
                    _stated(f)
                    for f in figures
                    if f.get("scope") == g.iri and f["measure"] == partnerships
                ],
                every.of(g.number),
            )
            for g in every.generations[1:]
        ],
    )


def headline(figures: list[dict[str, Any]], base: str) -> list[Headline]:
    """Pick, per headline measure, the stated figure for all funding types to compare with."""
    lines = []
    for slug, noun in HEADLINE:
        measure = f"{base}id/measure/{slug}"
        rows = [
            f
            for f in figures
            if f.get("measure") == measure
            and not f.get("funding")
            and f.get("enumerated") is not None
        ]
        if not rows:
            continue
        seed = [f for f in rows if SEED_PAGE in (f.get("sources") or "").split()]
        shown = (seed or rows)[0]
        values = [int(f["value"]) for f in rows]
        lines.append(
            Headline(
                measure=measure,
                noun=noun,
                enumerated=int(shown["enumerated"]),
                stated=int(shown["value"]),
                approximate=bool(shown.get("approximate")),
                low=min(values),
                high=max(values),
                anchor=f"measure-{slug}",
            )
        )
    return lines


@dataclass(frozen=True)
class FigureGroup:
    """The stated figures about one scope (a generation, the label, a call), conflicts marked."""

    scope: str
    label: str
    anchor: str
    rows: list[dict[str, Any]]


def figure_groups(landing: Landing, labels: dict[str, str]) -> list[FigureGroup]:
    """Group every stated figure by scope, first generation first, and mark conflicts.

    A figure conflicts when another figure of the same measure, funding type and scope
    states a different value; ``anchor`` is set on the first row of each measure.
    """
    order = [g.iri for g in landing.every.generations]
    scopes = sorted(
        {f.get("scope") or "" for f in landing.every_figure},
        key=lambda s: (order.index(s) if s in order else len(order), s),
    )
    groups = []
    for scope in scopes:
        rows = [dict(f) for f in landing.every_figure if (f.get("scope") or "") == scope]
        values: dict[tuple[Any, Any], set[Any]] = {}
        for f in rows:
            values.setdefault((f.get("measure"), f.get("funding")), set()).add(f["value"])
        seen: set[Any] = set()
        for f in rows:
            f["conflicting"] = len(values[(f.get("measure"), f.get("funding"))]) > 1
            slug = (f.get("measure") or "").rsplit("/", 1)[-1]
            first_of_measure = f.get("measure") not in seen
            f["anchor"] = (
                f"measure-{slug}" if order and scope == order[0] and first_of_measure else None
            )
            seen.add(f.get("measure"))
        label = labels.get(scope) or scope.rsplit("/", 1)[-1] or "not stated"
        anchor = "scope-" + (scope.rsplit("/", 1)[-1] or "none")
        groups.append(FigureGroup(scope, label, anchor, rows))
    return groups


def figures_page() -> list[FigureGroup]:
    """Return the figures page's groups, computed once per release."""
    found = landing()
    backend = get_state().backend

    def compute() -> list[FigureGroup]:
        scopes = sorted({f["scope"] for f in found.every_figure if f.get("scope")})
        labels: dict[str, str] = {}
        if scopes:
            values = " ".join(f"<{s}>" for s in scopes)
            result = backend.query(
                "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
                "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
                f"SELECT ?s ?label WHERE {{ VALUES ?s {{ {values} }} "
                "?s rdfs:label|skos:prefLabel ?label }"
            )
            if isinstance(result, ox.QuerySolutions):
                for row in result:
                    subject, label = row["s"], row["label"]
                    if subject is not None and label is not None:
                        labels.setdefault(subject.value, label.value)
        return figure_groups(found, labels)

    return per_release(("figures", request.script_root), compute)


def totals(lists: Overview) -> list[dict[str, Any]]:
    """Count what one generation's lists enumerate, as ``enumerated-counts.rq`` names it."""
    funding: dict[str | None, int] = {}
    for p in lists.partnerships:
        label = p.funding.label if p.funding else None
        funding[label] = funding.get(label, 0) + 1
    rows: list[dict[str, Any]] = [
        {"what": "cluster organisations", "count": len(lists.clusters)},
        {"what": "member countries", "count": lists.member_countries},
        {"what": "memberships", "count": lists.memberships},
        {"what": "partnerships", "count": len(lists.partnerships)},
    ]
    rows += [
        {"what": "partnerships by funding type", "fundingLabel": label, "count": n}
        for label, n in sorted(funding.items(), key=lambda item: (item[0] is not None, item[0]))
    ]
    with_members = sum(1 for p in lists.partnerships if p.members)
    rows.append({"what": "partnerships with members", "count": with_members})
    return rows


def run_file(name: str) -> list[dict[str, Any]]:
    """Run a named query of ``queries/`` (as the catalog loaded it) and return plain rows."""
    query = get_catalog().get(name.removesuffix(".rq"))
    if query is None:
        raise KeyError(f"no named query {name!r} in the catalog")
    result = get_state().backend.query(query.text)
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError(f"{name} is not a SELECT query")
    names = [v.value for v in result.variables]
    rows = []
    for solution in result:
        row: dict[str, Any] = {}
        for name_ in names:
            term = solution[name_]
            row[name_] = _plain(term)
        rows.append(row)
    return rows


def _stated(figure: dict[str, Any]) -> Stated:
    urls = (figure.get("sources") or "").split()
    return Stated(
        value=int(figure["value"]),
        approximate=bool(figure.get("approximate")),
        funding=figure.get("fundingLabel"),
        date=figure.get("date"),
        sources=[(urlsplit(url).netloc.removeprefix("www."), url) for url in urls],
    )


def _plain(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> Any:
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype.endswith(("#integer", "#int", "#long")):
            return int(term.value)
        if datatype.endswith(("#decimal", "#double", "#float")):
            return float(term.value)
        if datatype.endswith("#boolean"):
            return term.value == "true"
        return term.value
    return term.value if isinstance(term, ox.NamedNode) else str(term)
