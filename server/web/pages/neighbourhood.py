"""A partnership's neighbourhood: its members and their other partnerships, drawn small.

The partnership page shows where it sits in the network: one query finds its member
clusters and every partnership each of them belongs to, and the network drawing of
``server/web/drawing`` lays them out. It costs a few milliseconds, so it is drawn per
request rather than kept for each of the (at scale, tens of thousands of) partnerships.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

import pyoxigraph as ox
from markupsafe import Markup

from server.store.backend import Backend
from server.vocab import sparql_prefixes
from server.web.drawing.network import MAX_NODES, Edge, LegendItem, Node, draw, legend
from server.web.state import generation_name, per_release

from .present import Labeller, View
from .sections import select

log = logging.getLogger(__name__)

#: Longest cluster name drawn beside its node; the node's title holds it whole.
MAX_LABEL: Final = 24
#: The small drawing is drawn larger than the whole network, for the names beside nodes.
UNIT: Final = 70.0

# The partnership itself, then every (member, partnership) membership of its members,
# its own included: the other partnerships of its members and how they connect.
_NEIGHBOURHOOD: Final = """
SELECT ?iri ?partnership ?label ?acronym ?generation ?cluster ?clusterLabel ?clusterAcronym
WHERE {
  {
    ?iri a escp:Partnership .
    BIND(?iri AS ?partnership)
  }
  UNION
  {
    ?membership org:organization ?iri ; org:member ?cluster .
    ?other org:member ?cluster ; org:organization ?partnership .
    OPTIONAL { ?cluster rdfs:label ?clusterLabel }
    OPTIONAL { ?cluster escp:acronym ?clusterAcronym }
  }
  OPTIONAL { ?partnership rdfs:label ?label }
  OPTIONAL { ?partnership escp:acronym ?acronym }
  OPTIONAL { ?partnership escp:generation ?generation }
}
"""

# Generations are numbered from 1 by start date, as the landing and browse pages number them.
_GENERATIONS: Final = """
SELECT ?iri ?label ?start WHERE {
  ?iri a escp:Generation ; rdfs:label ?label .
  OPTIONAL { ?iri <http://schema.org/startDate> ?start }
}
"""


@dataclass
class _Partnership:
    iri: str
    label: str = ""
    acronym: str = ""
    generation: str = ""


@dataclass
class _Cluster:
    iri: str
    label: str = ""
    acronym: str = ""
    partnerships: set[str] = field(default_factory=set)


def figure(page: View, backend: Backend, labeller: Labeller) -> Markup | None:
    """Draw a partnership page's neighbourhood as a figure; None for other pages.

    The figure holds the partnership, its members and their other partnerships, each
    linked to its page, with a legend; a neighbourhood too big to draw gets a sentence.
    """
    if page.kind != "partnership":
        return None
    base = labeller.base
    generations = per_release("generation numbers", lambda: _generations(backend, base))
    partnerships: dict[str, _Partnership] = {}
    clusters: dict[str, _Cluster] = {}
    for row in select(backend, _NEIGHBOURHOOD, "iri", page.iri, base):
        p = partnerships.setdefault(row["partnership"], _Partnership(row["partnership"]))
        p.label = row.get("label", p.label)
        p.acronym = row.get("acronym", p.acronym)
        p.generation = row.get("generation", p.generation)
        if "cluster" in row:
            c = clusters.setdefault(row["cluster"], _Cluster(row["cluster"]))
            c.label = row.get("clusterLabel", c.label)
            c.acronym = row.get("clusterAcronym", c.acronym)
            c.partnerships.add(row["partnership"])
    nodes = [_partnership(p, page.iri, generations, labeller) for p in partnerships.values()]
    nodes += [_cluster(c, partnerships, labeller) for c in clusters.values()]
    edges = [
        Edge(labeller.link(c.iri), labeller.link(p), "membership")
        for c in clusters.values()
        for p in sorted(c.partnerships)
    ]
    others = len(partnerships) - 1
    name = page.subtitle or page.title
    summary = (
        f"{name}, its {len(clusters)} member cluster organisations listed here and the "
        f"{others} other partnerships they belong to"
    )
    svg = draw(
        nodes,
        edges,
        figure_id="neighbourhood",
        unit=UNIT,
        title=f"The network around {name}",
        description=summary + ". The members table lists the same memberships.",
    )
    if svg is None:
        return Markup(
            '<p class="network-too-big">{summary}: {nodes} nodes, more than the {limit} drawn '
            "here; the tables list them.</p>"
        ).format(summary=summary, nodes=len(nodes), limit=MAX_NODES)
    items = _legend(nodes, generations)
    return Markup(
        '<figure class="network-figure network-small"><figcaption>{summary}.</figcaption>'
        "{svg}{legend}</figure>"
    ).format(summary=summary, svg=svg, legend=legend(items))


def _generations(backend: Backend, base: str) -> dict[str, tuple[int, str]]:
    """Number the generations from 1 by start date; map each IRI to number and short name."""
    result = backend.query(sparql_prefixes(base) + _GENERATIONS)
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError("the generations query must be a SELECT")
    rows = []
    for solution in result:
        iri, label, start = (solution[name] for name in ("iri", "label", "start"))
        if iri is not None and label is not None:
            rows.append((start.value if start is not None else "", iri.value, label.value))
    return {
        iri: (n, generation_name(label).split(" (", 1)[0])
        for n, (_, iri, label) in enumerate(sorted(rows), start=1)
    }


def _partnership(
    p: _Partnership, focus: str, generations: dict[str, tuple[int, str]], labeller: Labeller
) -> Node:
    name = p.label or labeller.label(p.iri)
    known = generations.get(p.generation)
    title = f"{p.acronym}: {name}" if p.acronym and p.acronym != name else name
    if known:
        title += f" ({known[1].lower()} partnership)"
    classes: tuple[str, ...] = (f"generation-{known[0]}" if known else "generation-none",)
    if p.iri == focus:
        classes += ("focus",)
    href = labeller.link(p.iri)
    return Node(href, title, "partnership", href, p.acronym or _cut(name), classes)


def _cluster(c: _Cluster, partnerships: dict[str, _Partnership], labeller: Labeller) -> Node:
    name = c.label or labeller.label(c.iri)
    generations = {partnerships[p].generation for p in c.partnerships if p in partnerships}
    classes = tuple(
        kind
        for kind, holds in (
            ("shared", len(c.partnerships) > 1),
            ("bridge", len(generations - {""}) > 1),
        )
        if holds
    )
    acronyms = sorted(partnerships[p].acronym or partnerships[p].label for p in c.partnerships)
    title = f"{name}, member of {', '.join(acronyms)}"
    href = labeller.link(c.iri)
    return Node(href, title, "cluster", href, c.acronym or _cut(name), classes)


def _legend(nodes: list[Node], generations: dict[str, tuple[int, str]]) -> list[LegendItem]:
    """The legend of what this drawing holds."""
    classes = {cls for n in nodes for cls in n.classes}
    items = [
        LegendItem(f"{name} partnership", "partnership", (f"generation-{number}",))
        for number, name in sorted(generations.values())
        if f"generation-{number}" in classes
    ]
    if "generation-none" in classes:
        items.append(LegendItem("Partnership, generation not stated", "partnership"))
    items.append(LegendItem("Cluster organisation", "cluster"))
    if "shared" in classes:
        items.append(LegendItem("Cluster in several partnerships", "cluster", ("shared",)))
    if "bridge" in classes:
        items.append(LegendItem("Cluster in more than one generation", "cluster", ("bridge",)))
    items.append(LegendItem("Membership", "edge", ("membership",)))
    return items


def _cut(label: str) -> str:
    """Shorten a long name drawn beside its node.

    >>> _cut("Aragonian Aerospace Cluster and friends of it")
    'Aragonian Aerospace Clu…'
    """
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
