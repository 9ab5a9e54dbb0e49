"""A network of partnerships and their member clusters, laid out and drawn as inline SVG.

Pure: nodes and edges in, positions and markup out. The layout is a seeded force layout
(networkx's Fruchterman-Reingold) of each connected component apart, the components then
packed in rows, largest first; nodes and edges are sorted by key first and coordinates
rounded, so that one graph gives the same SVG in every process.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import networkx as nx
from markupsafe import Markup, escape

log = logging.getLogger(__name__)

#: Above this many nodes the network is not drawn. 400 nodes in one component take about
#: 0.35 s to lay out and 120 kB of SVG (the real graph: 131 nodes, 0.05-0.1 s, 55 kB); the
#: 1,000-fold benchmark graph (131,000 nodes) would take some 40 s and 40 MB, unreadable.
#: It also keeps every component under 500 nodes, where networkx would need scipy.
MAX_NODES: Final = 400
SEED: Final = 20161
ITERATIONS: Final = 80
WIDTH: Final = 960
#: The side of a component's square grows with the square root of its node count.
UNIT: Final = 40.0
PAD: Final = 18.0
MARGIN: Final = 12.0
#: Room at the right for the labels of the rightmost nodes.
LABEL_ROOM: Final = 80.0
SQUARE: Final = 11.0
DOT: Final = 4.5
SHARED_DOT: Final = 6.5

NodeKind = Literal["partnership", "cluster"]
EdgeKind = Literal["membership", "continuity"]
Point = tuple[float, float]


@dataclass(frozen=True)
class Node:
    """A partnership or a cluster: its key (its page's path), name, kind and CSS classes.

    ``short`` is drawn beside the node (a partnership's acronym); the name is its title.
    """

    key: str
    label: str
    kind: NodeKind
    href: str
    short: str | None = None
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edge:
    """A membership (cluster to partnership) or a continuity link (earlier to later).

    A continuity link has a page of its own (``href``) and a title saying what it links.
    """

    source: str
    target: str
    kind: EdgeKind
    href: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class LegendItem:
    """One entry of a legend: a node or an edge drawn with the classes the network uses."""

    text: str
    shape: Literal["partnership", "cluster", "edge"]
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placed:
    """Where every node sits (rounded, in SVG units), and the size of the drawing."""

    positions: dict[str, Point]
    width: float
    height: float


def too_big(nodes: Sequence[Node], max_nodes: int = MAX_NODES) -> bool:
    """Tell whether a network has more nodes than is drawn.

    >>> too_big([Node(str(i), "n", "cluster", "#") for i in range(3)], max_nodes=2)
    True
    """
    return len(nodes) > max_nodes


def layout(nodes: Sequence[Node], edges: Sequence[Edge], *, unit: float = UNIT) -> Placed:
    """Place every node, each connected component apart, the components packed in rows.

    Each component is laid out alone with a fixed seed in a square whose side is
    ``unit`` times the square root of its size; the squares fill rows of at most
    :data:`WIDTH`, the largest first.

    >>> ns = [Node("a", "A", "partnership", "#"), Node("b", "B", "cluster", "#")]
    >>> placed = layout(ns, [Edge("b", "a", "membership")])
    >>> sorted(placed.positions) == ["a", "b"] and 0 < placed.width <= WIDTH
    True
    """
    graph = _graph(nodes, edges)
    components = sorted(
        (sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0])
    )
    positions: dict[str, Point] = {}
    x = y = MARGIN
    row = right = 0.0
    for component in components:
        side = unit * math.sqrt(len(component))
        box = side + 2 * PAD
        if x + box > WIDTH - LABEL_ROOM and x > MARGIN:
            x, y, row = MARGIN, y + row, 0.0
        for key, (px, py) in _component_layout(graph, component).items():
            positions[key] = (
                round(x + PAD + (px + 1) / 2 * side, 1),
                round(y + PAD + (py + 1) / 2 * side, 1),
            )
        x += box
        row = max(row, box)
        right = max(right, x)
    width = min(float(WIDTH), right + LABEL_ROOM)
    return Placed(positions, round(width, 1), round(y + row + MARGIN, 1))


def draw(
    nodes: Sequence[Node],
    edges: Sequence[Edge],
    *,
    figure_id: str,
    title: str,
    description: str,
    max_nodes: int = MAX_NODES,
    unit: float = UNIT,
) -> Markup | None:
    """Draw the network as an SVG whose nodes (and continuity links) link to their pages.

    Returns None when it has more than ``max_nodes`` nodes: the caller says so instead.
    ``unit`` scales the drawing (see :func:`layout`).
    The SVG is a labelled group (``role="img"`` would hide its links from assistive
    technology); every link carries a ``<title>`` naming what it leads to.

    >>> ns = [Node("/p", "Packaging", "partnership", "/p", "AdPack", ("generation-1",)),
    ...       Node("/c", "Valley", "cluster", "/c")]
    >>> svg = draw(ns, [Edge("/c", "/p", "membership")], figure_id="n", title="T",
    ...            description="D")
    >>> svg.count('class="node ') == 2 and 'class="edge membership"' in svg
    True
    >>> draw(ns, [], figure_id="n", title="T", description="D", max_nodes=1) is None
    True
    """
    if too_big(nodes, max_nodes):
        return None
    ordered = sorted(nodes, key=lambda n: n.key)
    wires = sorted(_known(ordered, edges), key=lambda e: (e.kind, e.source, e.target))
    placed = layout(ordered, wires, unit=unit)
    size = f'viewBox="0 0 {placed.width} {placed.height}" '
    size += f'width="{placed.width}" height="{placed.height}"'
    fid = escape(figure_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="network" role="group" '
        f'aria-labelledby="{fid}-title" aria-describedby="{fid}-desc" '
        f"{size}>",
        f'<title id="{fid}-title">{escape(title)}</title>',
        f'<desc id="{fid}-desc">{escape(description)}</desc>',
        '<g class="edges">',
    ]
    parts += [_edge(e, placed.positions) for e in wires]
    parts += ["</g>", '<g class="nodes">']
    parts += [_node(n, placed.positions[n.key]) for n in ordered]
    parts += ["</g>", "</svg>"]
    return Markup("".join(parts))  # noqa: S704  # every text and attribute above is escaped


def legend(items: Iterable[LegendItem]) -> Markup:
    """Draw a legend: one small SVG swatch per item, drawn with the network's classes.

    >>> html = legend([LegendItem("cluster", "cluster", ("shared",))])
    >>> 'class="node cluster shared"' in html and "<li>" in html
    True
    """
    rows = []
    for item in items:
        classes = " ".join(item.classes)
        if item.shape == "edge":
            swatch = f'<line class="edge {escape(classes)}" x1="2" y1="9" x2="30" y2="9"></line>'
        else:
            node = Node("legend", item.text, item.shape, "", None, item.classes)
            swatch = f'<g class="{_node_classes(node)}">{_shape(node, (16.0, 9.0))}</g>'
        rows.append(
            '<li><svg class="network-swatch" viewBox="0 0 32 18" width="32" height="18" '
            f'aria-hidden="true" focusable="false">{swatch}</svg>{escape(item.text)}</li>'
        )
    return Markup(f'<ul class="network-legend">{"".join(rows)}</ul>')  # noqa: S704  # escaped


def _graph(nodes: Sequence[Node], edges: Sequence[Edge]) -> nx.Graph[str]:
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(n.key for n in nodes)
    graph.add_edges_from((e.source, e.target) for e in edges)
    return graph


def _component_layout(graph: nx.Graph[str], component: list[str]) -> dict[str, Point]:
    """Lay out one component in the square [-1, 1]², deterministically."""
    if len(component) == 1:
        return {component[0]: (0.0, 0.0)}
    # A fresh graph with sorted nodes and edges: the seeded initial positions follow node
    # order, and a subgraph view would iterate in the (hash-seeded) order of a set.
    sub: nx.Graph[str] = nx.Graph()
    sub.add_nodes_from(component)
    sub.add_edges_from(sorted((min(a, b), max(a, b)) for a, b in graph.subgraph(component).edges))
    placed = nx.spring_layout(sub, seed=SEED, iterations=ITERATIONS, method="force")
    return {key: (float(p[0]), float(p[1])) for key, p in placed.items()}


def _known(nodes: Sequence[Node], edges: Iterable[Edge]) -> list[Edge]:
    """Keep the edges between drawn nodes, once each."""
    keys = {n.key for n in nodes}
    unique = {(e.kind, e.source, e.target): e for e in edges}
    return [e for e in unique.values() if e.source in keys and e.target in keys]


def _edge(edge: Edge, positions: dict[str, Point]) -> str:
    (x1, y1), (x2, y2) = positions[edge.source], positions[edge.target]
    line = (
        f'<line class="edge {edge.kind}" data-from="{escape(edge.source)}" '
        f'data-to="{escape(edge.target)}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"></line>'
    )
    if edge.href is None:
        return line
    title = f"<title>{escape(edge.label)}</title>" if edge.label else ""
    return f'<a href="{escape(edge.href)}" class="edge-link">{title}{line}</a>'


def _node(node: Node, at: Point) -> str:
    text = ""
    if node.short:
        offset = SQUARE if node.kind == "partnership" else SHARED_DOT + 2
        text = (
            f'<text x="{round(at[0] + offset, 1)}" y="{round(at[1] + 4, 1)}">'
            f"{escape(node.short)}</text>"
        )
    return (
        f'<a href="{escape(node.href)}" class="{_node_classes(node)}" '
        f'data-key="{escape(node.key)}"><title>{escape(node.label)}</title>'
        f"{_shape(node, at)}{text}</a>"
    )


def _node_classes(node: Node) -> str:
    return escape(" ".join(("node", node.kind, *node.classes)))


def _shape(node: Node, at: Point) -> str:
    x, y = at
    if node.kind == "partnership":
        half = SQUARE / 2
        return (
            f'<rect x="{round(x - half, 1)}" y="{round(y - half, 1)}" '
            f'width="{SQUARE}" height="{SQUARE}"></rect>'
        )
    radius = SHARED_DOT if "shared" in node.classes else DOT
    return f'<circle cx="{x}" cy="{y}" r="{radius}"></circle>'
