"""The network page (blueprint `network`): partnerships and their member clusters as a graph.

Partnerships and cluster organisations are the nodes, memberships and continuity links
the edges; clusters in several partnerships, and those in partnerships of more than one
generation (the organisations that bridge them), stand out. The layout is computed once
per release; ``?generation=1`` (or 2) narrows the graph to one generation.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from flask import Blueprint, render_template, request, url_for
from markupsafe import Markup

from server.vocab import sparql_prefixes
from server.web.drawing.network import MAX_NODES, Edge, LegendItem, Node, draw, legend
from server.web.freshness import release_pages
from server.web.state import get_state, per_release

from .browse import generation_choice
from .landing import landing
from .lists import ClusterItem, Continued, Generation, Link, Lists, PartnershipItem

log = logging.getLogger(__name__)

bp = Blueprint("network", __name__)
release_pages(bp)


@dataclass(frozen=True)
class Members:
    """A partnership with its member clusters: a row of the network's table."""

    partnership: PartnershipItem
    clusters: list[Link]


@dataclass(frozen=True)
class Network:
    """The network of one generation (or of all): its drawing, legend and table."""

    generation: Generation | None
    svg: Markup | None
    legend: Markup
    summary: str
    nodes: int
    rows: list[Members]
    continuity: list[Continued]


@bp.get("/network")
def page() -> str:
    """Show the network of partnerships and their member clusters, with a table of it."""
    found = landing().every
    generation = generation_choice(request.args.get("generation"), found.generations)
    number = generation.number if generation else None
    shown = network(number)
    switch = [("All", url_for(".page"), generation is None)]
    switch += [
        (g.short, url_for(".page", generation=g.number), g == generation) for g in found.generations
    ]
    return render_template(
        "network.html",
        network=shown,
        switch=switch,
        limit=MAX_NODES,
        data=url_for("sparql.endpoint", query=_memberships(generation), format="csv"),
    )


def _memberships(generation: Generation | None) -> str:
    """The SELECT query of the network table's rows: each partnership's members."""
    narrowed = f"FILTER(?generation = <{generation.iri}>)" if generation else ""
    return sparql_prefixes(get_state().base_iri) + (
        "SELECT ?partnership ?acronym ?generation ?cluster ?clusterLabel WHERE {\n"
        "  ?partnership a escp:Partnership ; escp:acronym ?acronym ;\n"
        "    escp:generation ?generation .\n"
        f"  {narrowed}\n"
        "  OPTIONAL { ?partnership org:hasMember ?cluster . ?cluster rdfs:label ?clusterLabel }\n"
        "} ORDER BY LCASE(?acronym) LCASE(?clusterLabel)"
    )


def network(number: int | None = None) -> Network:
    """Return the network of one generation by its number (None: all), once per release."""
    found = landing().every  # outside per_release: its lock is not reentrant
    root = request.script_root
    return per_release(("network", root, number), lambda: _compute(found, number))


def network_figure() -> Markup:
    """Return the network of every generation as a figure for the landing page.

    A network too big to draw gives a sentence saying so, with links to the lists.
    """
    shown = network()
    if shown.svg is None:
        return Markup(
            '<p class="network-too-big">The network has {nodes} nodes, more than the {limit} '
            'drawn here: <a href="{p}">partnerships</a> and <a href="{c}">cluster '
            "organisations</a> are listed page by page.</p>"
        ).format(
            nodes=shown.nodes,
            limit=MAX_NODES,
            p=url_for("browse.partnerships"),
            c=url_for("browse.clusters"),
        )
    return Markup(
        '<figure class="network-figure"><figcaption>{caption}</figcaption>{svg}{legend}'
        '<p class="more"><a href="{page}">The network on its own page, with a table of '
        "every partnership's members</a></p></figure>"
    ).format(
        caption=shown.summary, svg=shown.svg, legend=shown.legend, page=url_for("network.page")
    )


def _compute(found: Lists, number: int | None) -> Network:
    lists = found.of(number)
    bridges = {c.link.href for c in found.everything.clusters if len(c.generations) > 1}
    nodes = [_partnership(p) for p in lists.partnerships]
    nodes += [_cluster(c, c.link.href in bridges) for c in lists.clusters]
    edges = [
        Edge(c.link.href, p.href, "membership") for c in lists.clusters for p in c.partnerships
    ]
    drawn = {p.link.href for p in lists.partnerships}
    continuity = [
        c for c in found.everything.continued if c.source.href in drawn and c.target.href in drawn
    ]
    edges += [
        Edge(c.source.href, c.target.href, "continuity", c.link.href, _continued(c))
        for c in continuity
    ]
    members: dict[str, list[Link]] = defaultdict(list)
    for c in lists.clusters:
        for p in c.partnerships:
            members[p.href].append(c.link)
    shared = sum(1 for c in lists.clusters if len(c.partnerships) > 1)
    bridging = sum(1 for c in lists.clusters if c.link.href in bridges)
    summary = _summary(lists.partnerships, len(lists.clusters), len(edges) - len(continuity))
    summary += f", {len(continuity)} continuity links; {shared} clusters belong to several "
    summary += f"partnerships, {bridging} to partnerships of more than one generation"
    generation = lists.generation
    name = generation.name[:1].lower() + generation.name[1:] if generation else "all generations"
    svg = draw(
        nodes,
        edges,
        figure_id=f"network-{number or 'all'}",
        title=f"Partnerships and their member cluster organisations, {name}",
        description=summary + ". The network page lists the same memberships as a table.",
    )
    return Network(
        generation=lists.generation,
        svg=svg,
        legend=legend(_legend(found, lists.partnerships, shared, bridging, continuity)),
        summary=summary,
        nodes=len(nodes),
        rows=[Members(p, members.get(p.link.href, [])) for p in lists.partnerships],
        continuity=continuity,
    )


def _partnership(p: PartnershipItem) -> Node:
    generation = p.generation
    name = p.link.label
    title = f"{p.acronym}: {name}" if p.acronym and p.acronym != name else name
    if generation:
        title += f" ({generation.short.lower()} partnership)"
    kind = f"generation-{generation.number}" if generation else "generation-none"
    return Node(p.link.href, title, "partnership", p.link.href, p.acronym or name, (kind,))


def _cluster(c: ClusterItem, bridge: bool) -> Node:
    classes = tuple(
        name for name, holds in (("shared", len(c.partnerships) > 1), ("bridge", bridge)) if holds
    )
    partners = ", ".join(p.label for p in c.partnerships)
    title = f"{c.link.label}, member of {partners}" if partners else c.link.label
    return Node(c.link.href, title, "cluster", c.link.href, None, classes)


def _continued(c: Continued) -> str:
    strength = f" ({c.strength.label} link)" if c.strength else ""
    return f"{c.source.label} continued as {c.target.label}{strength}"


def _summary(partnerships: list[PartnershipItem], clusters: int, memberships: int) -> str:
    by_generation: dict[str, int] = defaultdict(int)
    for p in partnerships:
        by_generation[p.generation.short.lower() if p.generation else "generation not stated"] += 1
    split = ", ".join(f"{n} {g}" for g, n in by_generation.items())
    counted = f"{len(partnerships)} partnerships" + (f" ({split})" if split else "")
    return f"{counted}, {clusters} cluster organisations, {memberships} memberships"


def _legend(
    found: Lists,
    partnerships: list[PartnershipItem],
    shared: int,
    bridging: int,
    continuity: list[Continued],
) -> list[LegendItem]:
    """The legend of what the drawing holds: no entry for a kind it does not show."""
    present = {p.generation.number for p in partnerships if p.generation}
    items = [
        LegendItem(f"{g.short} partnership", "partnership", (f"generation-{g.number}",))
        for g in found.generations
        if g.number in present
    ]
    if any(p.generation is None for p in partnerships):
        items.append(LegendItem("Partnership, generation not stated", "partnership"))
    items.append(LegendItem("Cluster organisation", "cluster"))
    if shared:
        items.append(LegendItem("Cluster in several partnerships", "cluster", ("shared",)))
    if bridging:
        items.append(LegendItem("Cluster in more than one generation", "cluster", ("bridge",)))
    items.append(LegendItem("Membership", "edge", ("membership",)))
    if continuity:
        items.append(LegendItem("Continuity link", "edge", ("continuity",)))
    return items
