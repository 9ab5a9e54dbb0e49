"""The network of partnerships and member clusters: its page, the landing figure, the small
version on partnership pages and the bound on big graphs, over the real build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from htmlcheck import check_html

from bench import generate
from server.build.info import BuildInfo
from server.store.embedded import EmbeddedStore
from server.vocab import iri_to_path
from server.web.drawing.network import MAX_NODES, Edge, Node, draw, layout
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
HTML = {"Accept": "text/html"}
FRESH = {"Accept": "text/html", "Cache-Control": "no-cache"}
BASE = "https://w3id.org/escp4i/"
SVG = "{http://www.w3.org/2000/svg}"
PREFIXES = """
PREFIX escp: <https://w3id.org/escp4i/def#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX schema: <http://schema.org/>
"""
_NETWORK_SVG = re.compile(r'<svg xmlns="http://www.w3.org/2000/svg" class="network".*?</svg>', re.S)


def _app(store: EmbeddedStore) -> Flask:
    return create_app({"TESTING": True, "PROJECT_DIR": str(ROOT)}, backend=store)


def _rows(store: EmbeddedStore, where: str) -> list[dict[str, str]]:
    result = store.query(PREFIXES + where)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]


def _path(iri: str) -> str:
    path = iri_to_path(iri, BASE)
    assert path is not None, iri
    return path


def _memberships(store: EmbeddedStore) -> set[tuple[str, str]]:
    """Every (cluster, partnership) membership, as page paths."""
    rows = _rows(
        store,
        "SELECT DISTINCT ?c ?p WHERE { ?m a org:Membership ; org:member ?c ; org:organization ?p }",
    )
    return {(_path(r["c"]), _path(r["p"])) for r in rows}


def _partnerships(store: EmbeddedStore) -> dict[str, str]:
    """Every partnership's path, with its generation's IRI ("" when none is stated)."""
    rows = _rows(
        store,
        "SELECT ?p ?g WHERE { ?p a escp:Partnership OPTIONAL { ?p escp:generation ?g } }",
    )
    return {_path(r["p"]): r.get("g", "") for r in rows}


def _generation_numbers(store: EmbeddedStore) -> dict[str, int]:
    rows = _rows(
        store,
        "SELECT ?g ?start WHERE { ?g a escp:Generation OPTIONAL { ?g schema:startDate ?start } }",
    )
    ordered = sorted(rows, key=lambda r: (r.get("start", ""), r["g"]))
    return {r["g"]: n for n, r in enumerate(ordered, start=1)}


def _svg(html: str) -> ET.Element:
    """The one network drawing of a page, parsed as XML (it must be well-formed)."""
    found = _NETWORK_SVG.findall(html)
    assert len(found) == 1, f"{len(found)} network drawings"
    return ET.fromstring(found[0])  # noqa: S314 - markup this server wrote, parsed as XML on purpose


def _nodes(svg: ET.Element) -> dict[str, set[str]]:
    """Each node's key, with its classes; a key drawn twice fails."""
    nodes: dict[str, set[str]] = {}
    for a in svg.iter(f"{SVG}a"):
        classes = set((a.get("class") or "").split())
        if "node" in classes:
            key = a.get("data-key") or ""
            assert key not in nodes, f"{key} drawn twice"
            assert a.get("href") == key and a.find(f"{SVG}title") is not None
            nodes[key] = classes
    return nodes


def _edges(svg: ET.Element, kind: str) -> list[tuple[str, str]]:
    return [
        (line.get("data-from") or "", line.get("data-to") or "")
        for line in svg.iter(f"{SVG}line")
        if set((line.get("class") or "").split()) == {"edge", kind}
    ]


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path, headers=FRESH)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_the_network_has_one_node_per_partnership_and_member_cluster_and_one_edge_per_membership(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    memberships = _memberships(store)
    partnerships = _partnerships(store)
    clusters = {c for c, _ in memberships}
    svg = _svg(_page(client, "/network"))
    nodes = _nodes(svg)
    assert {k for k, cls in nodes.items() if "partnership" in cls} == set(partnerships)
    assert {k for k, cls in nodes.items() if "cluster" in cls} == clusters
    assert len(nodes) == len(partnerships) + len(clusters) > 0
    edges = _edges(svg, "membership")
    assert sorted(edges) == sorted(memberships) and len(edges) == len(set(edges))


def test_the_network_draws_one_continuity_edge_per_continuity_link(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    rows = _rows(
        store,
        "SELECT ?l ?f ?t WHERE { ?l a escp:ContinuityLink ; escp:fromPartnership ?f ;"
        " escp:toPartnership ?t }",
    )
    assert rows
    svg = _svg(_page(client, "/network"))
    assert sorted(_edges(svg, "continuity")) == sorted((_path(r["f"]), _path(r["t"])) for r in rows)
    links = {a.get("href") for a in svg.iter(f"{SVG}a") if a.get("class") == "edge-link"}
    assert links == {_path(r["l"]) for r in rows}


def test_clusters_in_several_partnerships_or_generations_stand_out(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    memberships = _memberships(store)
    partnerships = _partnerships(store)
    of: dict[str, set[str]] = defaultdict(set)
    for c, p in memberships:
        of[c].add(p)
    shared = {c for c, ps in of.items() if len(ps) > 1}
    bridges = {c for c, ps in of.items() if len({partnerships[p] for p in ps} - {""}) > 1}
    assert shared and bridges and bridges <= shared
    nodes = _nodes(_svg(_page(client, "/network")))
    assert {k for k, cls in nodes.items() if "shared" in cls} == shared
    assert {k for k, cls in nodes.items() if "bridge" in cls} == bridges
    numbers = _generation_numbers(store)
    for path, generation in partnerships.items():
        expected = f"generation-{numbers[generation]}" if generation else "generation-none"
        assert expected in nodes[path], path


def test_every_link_of_the_network_leads_to_a_page(client: FlaskClient) -> None:
    svg = _svg(_page(client, "/network"))
    hrefs = {a.get("href") or "" for a in svg.iter(f"{SVG}a")}
    assert len(hrefs) > 2
    for href in sorted(hrefs):
        assert client.get(href, headers=HTML).status_code == 200, href


def test_the_network_page_is_valid_html_without_style_attributes_with_legend_and_table(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    html = _page(client, "/network")
    assert check_html(html) == []
    assert not re.search(r"\sstyle\s*=", html)
    svg = _svg(html)
    assert svg.get("role") == "group"
    assert svg.find(f"{SVG}title") is not None and svg.find(f"{SVG}desc") is not None
    legend = re.search(r'<ul class="network-legend">(.*?)</ul>', html, re.S)
    assert legend
    for text in (
        "First generation partnership",
        "Second generation partnership",
        "Cluster organisation",
        "Cluster in several partnerships",
        "Cluster in more than one generation",
        "Membership",
        "Continuity link",
    ):
        assert f"</svg>{text}</li>" in legend.group(1), text
    # The table: each partnership's row links to exactly its member clusters.
    members: dict[str, set[str]] = defaultdict(set)
    for c, p in _memberships(store):
        members[p].add(c)
    table = html[html.index('<table class="list network-table">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<th scope="row"><a href="([^"]+)">.*?</th>(.*?)</tr>', table, re.S)
    assert {p for p, _ in rows} == set(_partnerships(store))
    for p, cells in rows:
        linked = set(re.findall(r'href="(/id/cluster/[^"]+)"', cells))
        assert linked == members.get(p, set()), p


def test_one_generation_holds_its_partnerships_and_their_members_only(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    numbers = _generation_numbers(store)
    partnerships = _partnerships(store)
    memberships = _memberships(store)
    for generation, number in numbers.items():
        kept = {p for p, g in partnerships.items() if g == generation}
        edges = {(c, p) for c, p in memberships if p in kept}
        svg = _svg(_page(client, f"/network?generation={number}"))
        nodes = _nodes(svg)
        assert set(nodes) == kept | {c for c, _ in edges}
        assert sorted(_edges(svg, "membership")) == sorted(edges)
        assert _edges(svg, "continuity") == []


@pytest.mark.parametrize("generation", ["0", "3", "x", "", "1%20", "%C3%A9"])
def test_a_bad_generation_is_a_400(client: FlaskClient, generation: str) -> None:
    response = client.get(f"/network?generation={generation}", headers=HTML)
    assert response.status_code == 400
    assert "generation must be one of" in response.get_data(as_text=True)


def test_the_network_is_the_same_in_every_app_and_process(
    client: FlaskClient, store: EmbeddedStore, built: BuildInfo
) -> None:
    first = _NETWORK_SVG.findall(_page(client, "/network"))
    again = _NETWORK_SVG.findall(_page(_app(store).test_client(), "/network"))
    assert first == again and first
    script = (
        "import sys; from pathlib import Path; from server.store.embedded import EmbeddedStore;"
        "from server.web.factory import create_app;"
        f"app = create_app({{'TESTING': True, 'PROJECT_DIR': {str(ROOT)!r}}},"
        f" backend=EmbeddedStore(Path({built.path!r})));"
        "sys.stdout.write(app.test_client().get('/network', headers={'Accept': 'text/html'})"
        ".get_data(as_text=True))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert _NETWORK_SVG.findall(other.stdout) == first


def test_a_partnership_page_draws_it_with_its_members_and_their_other_partnerships(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    memberships = _memberships(store)
    members: dict[str, set[str]] = defaultdict(set)
    of: dict[str, set[str]] = defaultdict(set)
    for c, p in memberships:
        members[p].add(c)
        of[c].add(p)
    for partnership in sorted(_partnerships(store)):
        html = _page(client, partnership)
        svg = _svg(html)
        own = members.get(partnership, set())
        expected = {(c, p) for c, p in memberships if c in own}
        nodes = _nodes(svg)
        assert set(nodes) == {partnership} | own | {p for _, p in expected}, partnership
        assert sorted(_edges(svg, "membership")) == sorted(expected), partnership
        assert "focus" in nodes[partnership]
        assert {k for k, cls in nodes.items() if "shared" in cls} == {
            c for c in own if len(of[c]) > 1
        }
        assert not re.search(r"\sstyle\s*=", html)
    assert check_html(html) == []


def test_other_pages_have_no_network(client: FlaskClient, store: EmbeddedStore) -> None:
    cluster = sorted(c for c, _ in _memberships(store))[0]
    assert _NETWORK_SVG.findall(_page(client, cluster)) == []


def test_a_graph_above_the_bound_is_not_laid_out_and_one_at_it_is_quickly() -> None:
    big = [Node(f"/id/cluster/c{i:06d}", "c", "cluster", "#") for i in range(50_000)]
    edges = [Edge(big[i].key, big[i // 2].key, "membership") for i in range(1, len(big))]
    started = time.perf_counter()
    assert draw(big, edges, figure_id="big", title="t", description="d") is None
    assert time.perf_counter() - started < 0.5
    # At the bound, one connected component (the costliest case) is laid out in about a second.
    bound = big[:MAX_NODES]
    started = time.perf_counter()
    svg = draw(bound, edges[: MAX_NODES - 1], figure_id="bound", title="t", description="d")
    elapsed = time.perf_counter() - started
    assert svg is not None and svg.count('class="node ') == MAX_NODES
    assert elapsed < 3, f"{elapsed:.2f} s for {MAX_NODES} nodes"
    assert layout(bound, edges[: MAX_NODES - 1]) == layout(bound, edges[: MAX_NODES - 1])


@pytest.fixture(scope="module")
def scaled(built: BuildInfo, tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    """The real build with its data graph four times over: more nodes than are drawn."""
    folder = tmp_path_factory.mktemp("scaled")
    build_dir = folder / "build"
    build_dir.mkdir()
    shutil.copy(Path(built.path) / "build.json", build_dir)
    dump = generate.write_scaled_dump(Path(built.path) / "store", folder, 4)
    generate.load_store(dump, build_dir / "store")
    return EmbeddedStore(build_dir)


def test_a_network_too_big_to_draw_says_so_and_links_the_lists(
    scaled: EmbeddedStore, store: EmbeddedStore
) -> None:
    real = len(_partnerships(store)) + len({c for c, _ in _memberships(store)})
    assert 4 * real > MAX_NODES >= real  # the real graph is drawn, four times it is not
    app = _app(scaled)
    client = app.test_client()
    html = _page(client, "/network")
    assert _NETWORK_SVG.findall(html) == [] and "network-too-big" in html
    assert f"The network has {4 * real} nodes" in html
    for href in ("/partnerships", "/clusters"):
        assert f'href="{href}"' in html and client.get(href, headers=HTML).status_code == 200
    assert check_html(html) == []
    from server.web.home.landing import landing
    from server.web.home.network import network_figure

    with app.test_request_context("/"):
        landing()  # the lists, computed once per release whatever the network does
        started = time.perf_counter()
        figure = network_figure()
        assert time.perf_counter() - started < 1
    assert "network-too-big" in figure and "<svg" not in figure


def test_the_landing_figure_holds_the_whole_network(
    app: Flask, client: FlaskClient, store: EmbeddedStore
) -> None:
    from server.web.home.network import network_figure

    with app.test_request_context("/"):
        figure = str(network_figure())
    assert _NETWORK_SVG.findall(figure) == _NETWORK_SVG.findall(_page(client, "/network"))
    assert 'href="/network"' in figure and '<ul class="network-legend">' in figure
