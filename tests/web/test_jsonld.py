"""schema.org JSON-LD in the pages' heads, read with rdflib offline; rel=alternate links."""

from __future__ import annotations

import json
import socket
import warnings
from typing import Final

import html5lib
import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from server.build.info import BuildInfo
from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI, graph_iri, iri_to_path
from server.web.pages.jsonld import script

NS: Final = "{http://www.w3.org/1999/xhtml}"
SDO: Final = Namespace("http://schema.org/")
BROWSER: Final = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ESCP: Final = f"{DEFAULT_BASE_IRI}def#"
RDF_TYPES: Final = {"text/turtle", "application/n-triples", "application/ld+json"}

_DATASET: Final = f"""
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?ds ?title ?description ?license ?start ?end WHERE {{
  GRAPH <{graph_iri("meta")}> {{
    ?ds a dcat:Dataset ; dcterms:title ?title ; dcterms:description ?description ;
        dcterms:license ?license ; dcterms:temporal ?t .
    ?t dcat:startDate ?start ; dcat:endDate ?end .
  }}
}}
"""
_ONE: Final = f"""
SELECT ?s WHERE {{ ?s a <{ESCP}{{cls}}> ; <{{link}}> ?o }} ORDER BY ?s LIMIT 1
"""
_LINKED: Final = """SELECT ?o WHERE { <{s}> <{p}> ?o }"""


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test whose JSON-LD would make rdflib fetch a remote context."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access while parsing JSON-LD: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_landing_page_has_the_dataset(
    client: FlaskClient, store: EmbeddedStore, built: BuildInfo
) -> None:
    check_dataset(client, "/", store, built)


def test_dataset_page_has_the_dataset(
    client: FlaskClient, store: EmbeddedStore, built: BuildInfo
) -> None:
    check_dataset(client, "/dataset", store, built)


def test_cite_page_has_the_dataset(
    client: FlaskClient, store: EmbeddedStore, built: BuildInfo
) -> None:
    check_dataset(client, "/cite", store, built)


def check_dataset(client: FlaskClient, path: str, store: EmbeddedStore, built: BuildInfo) -> None:
    """The page's JSON-LD holds the Dataset with Google's required and recommended fields."""
    g = page_graph(client, path)
    row = next(r for r in store.query(_DATASET) if isinstance(r, ox.QuerySolution))
    ds = URIRef(row["ds"].value)
    assert (ds, RDF.type, SDO.Dataset) in g
    assert g.value(ds, SDO.name) == Literal(row["title"].value)
    description = str(g.value(ds, SDO.description))
    assert description == row["description"].value and 50 <= len(description) <= 5000
    assert g.value(ds, SDO.url) == URIRef(f"{DEFAULT_BASE_IRI}dataset")
    assert {Literal(str(ds)), Literal(f"sha256:{built.content_hash}")} <= set(
        g.objects(ds, SDO.identifier)
    )
    assert g.value(ds, SDO.version) == Literal(built.release)
    assert g.value(ds, SDO.license) == URIRef(row["license"].value)
    assert g.value(ds, SDO.isAccessibleForFree) == Literal(True)
    assert str(g.value(ds, SDO.temporalCoverage)) == f"{row['start'].value}/{row['end'].value}"
    creator = g.value(ds, SDO.creator)
    assert creator is not None and g.value(creator, SDO.name) is not None
    assert places(g, ds) == cluster_countries(store)
    downloads = list(g.objects(ds, SDO.distribution))
    assert len(downloads) == len(built.dumps)
    for download in downloads:
        assert (download, RDF.type, SDO.DataDownload) in g
        url = g.value(download, SDO.contentUrl)
        assert isinstance(url, URIRef) and url.startswith(f"{DEFAULT_BASE_IRI}dumps/")
        resp = client.get(str(iri_to_path(str(url), DEFAULT_BASE_IRI)))
        assert resp.status_code == 200
        assert resp.mimetype == str(g.value(download, SDO.encodingFormat))


def test_partnership_page_has_the_project(client: FlaskClient, store: EmbeddedStore) -> None:
    iri = first(store, "Partnership", "http://www.w3.org/ns/org#hasMember")
    g = page_graph(client, iri.removeprefix(DEFAULT_BASE_IRI[:-1]))
    thing = URIRef(iri)
    assert (thing, RDF.type, SDO.Project) in g
    assert g.value(thing, SDO.name) == Literal(label(store, iri))
    assert g.value(thing, SDO.alternateName) == Literal(linked(store, iri, f"{ESCP}acronym")[0])
    members = set(g.objects(thing, SDO.member))
    assert members == {URIRef(m) for m in linked(store, iri, "http://www.w3.org/ns/org#hasMember")}
    for member in members:
        assert (member, RDF.type, SDO.Organization) in g
        assert g.value(member, SDO.name) == Literal(label(store, str(member)))


def test_cluster_page_has_the_organization(client: FlaskClient, store: EmbeddedStore) -> None:
    iri = first(store, "ClusterOrganisation", f"{ESCP}country")
    g = page_graph(client, iri.removeprefix(DEFAULT_BASE_IRI[:-1]))
    thing = URIRef(iri)
    assert (thing, RDF.type, SDO.Organization) in g
    assert g.value(thing, SDO.name) == Literal(label(store, iri))
    partnerships = {URIRef(p) for p in linked(store, iri, "http://www.w3.org/ns/org#memberOf")}
    assert set(g.objects(thing, SDO.memberOf)) == partnerships
    address = g.value(thing, SDO.address)
    country = g.value(address, SDO.addressCountry)
    (stated,) = linked(store, iri, f"{ESCP}country")
    assert country == URIRef(stated)
    assert g.value(country, SDO.name) == Literal(label(store, stated))
    codes = linked(store, stated, "http://www.wikidata.org/prop/direct/P297")
    assert {str(c) for c in g.objects(country, SDO.identifier)} == set(codes)
    same = linked(store, stated, "http://www.w3.org/2002/07/owl#sameAs")
    assert {str(s) for s in g.objects(country, SDO.sameAs)} == set(same)


def test_country_page_has_the_country(client: FlaskClient, store: EmbeddedStore) -> None:
    iri = first(store, "Country", "http://www.w3.org/2002/07/owl#sameAs")
    g = page_graph(client, iri.removeprefix(DEFAULT_BASE_IRI[:-1]))
    thing = URIRef(iri)
    assert (thing, RDF.type, SDO.Country) in g
    assert g.value(thing, SDO.name) == Literal(label(store, iri))
    same = linked(store, iri, "http://www.w3.org/2002/07/owl#sameAs")
    same += linked(store, iri, "http://www.w3.org/2004/02/skos/core#exactMatch")
    assert {str(s) for s in g.objects(thing, SDO.sameAs)} == set(same)
    codes = linked(store, iri, "http://www.wikidata.org/prop/direct/P297")
    codes += linked(store, iri, "http://www.wikidata.org/prop/direct/P298")
    assert {str(c) for c in g.objects(thing, SDO.identifier)} == set(codes)


def test_script_cannot_be_closed_by_the_data() -> None:
    data = {"name": "</script><script>alert(1)</script><!-- & \u2028"}
    html = str(script(data))
    assert html.startswith('<script type="application/ld+json">')
    assert html.lower().count("</script") == 1 and html.endswith("</script>")
    assert "<!--" not in html
    inner = html.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert json.loads(inner) == data


def test_jsonld_does_not_take_the_request_host(client: FlaskClient) -> None:
    # Pages are cached whatever host asked: a forged Host must not get into them.
    for path in ("/", "/id/partnership/adpack"):
        (block,) = jsonld_blocks(client, path, host="evil.example")
        assert "evil.example" not in block


def test_no_jsonld_on_pages_of_other_kinds(client: FlaskClient) -> None:
    assert jsonld_blocks(client, "/id/sector/photonics") == []


PAGES: Final = [
    "/",
    "/partnerships",
    "/clusters",
    "/countries",
    "/dataset",
    "/id/partnership/adpack",
    "/id/cluster/lyonbiopole",
    "/id/country/be",
    "/sparql",
    "/cite",
    "/search?q=pack",
]


@pytest.mark.parametrize("path", PAGES)
def test_page_head_links_to_rdf_alternates_that_answer(client: FlaskClient, path: str) -> None:
    root = html5lib.parse(client.get(path, headers=BROWSER).get_data(as_text=True))
    head = root.find(f"{NS}head")
    assert head is not None
    links = [el for el in head.iter(f"{NS}link") if el.get("rel") == "alternate"]
    types = {el.get("type") for el in links}
    assert RDF_TYPES <= types, f"{path} announces only {types}"
    for el in links:
        href = el.get("href") or ""
        resp = client.get(href)
        assert resp.status_code == 200, href
        assert resp.mimetype == el.get("type"), href


def page_graph(client: FlaskClient, path: str) -> Graph:
    """Parse every JSON-LD block of a page into one graph."""
    blocks = jsonld_blocks(client, path)
    assert blocks, f"{path} has no JSON-LD"
    g = Graph()
    with warnings.catch_warnings():
        # rdflib 7.6's own JSON-LD parser builds a ConjunctiveGraph, which it deprecates.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        for block in blocks:
            g.parse(data=block, format="json-ld")
    return g


def jsonld_blocks(client: FlaskClient, path: str, host: str = "localhost") -> list[str]:
    resp = client.get(path, headers={**BROWSER, "Host": host})
    assert resp.status_code == 200
    root = html5lib.parse(resp.get_data(as_text=True))
    head = root.find(f"{NS}head")
    assert head is not None
    return [
        el.text or "" for el in head.iter(f"{NS}script") if el.get("type") == "application/ld+json"
    ]


def places(g: Graph, ds: Node) -> set[tuple[str, str]]:
    found = set()
    for place in g.objects(ds, SDO.spatialCoverage):
        assert (place, RDF.type, SDO.Country) in g
        found.add((str(place), str(g.value(place, SDO.name))))
    return found


def cluster_countries(store: EmbeddedStore) -> set[tuple[str, str]]:
    query = f"""
    SELECT DISTINCT ?c ?label WHERE {{
      ?x a <{ESCP}ClusterOrganisation> ; <{ESCP}country> ?c .
      ?c <http://www.w3.org/2000/01/rdf-schema#label> ?label
    }}"""
    rows = [r for r in store.query(query) if isinstance(r, ox.QuerySolution)]
    assert rows
    return {(r["c"].value, r["label"].value) for r in rows}


def first(store: EmbeddedStore, cls: str, link: str) -> str:
    query = _ONE.replace("{cls}", cls).replace("{link}", link)
    rows = [r for r in store.query(query) if isinstance(r, ox.QuerySolution)]
    assert rows, f"no {cls} with {link}"
    return str(rows[0]["s"].value)


def linked(store: EmbeddedStore, s: str, p: str) -> list[str]:
    query = _LINKED.replace("{s}", s).replace("{p}", p)
    return sorted(str(r["o"].value) for r in store.query(query) if isinstance(r, ox.QuerySolution))


def label(store: EmbeddedStore, iri: str) -> str:
    (found,) = linked(store, iri, "http://www.w3.org/2000/01/rdf-schema#label")
    return found
