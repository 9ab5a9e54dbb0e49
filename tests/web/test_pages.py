"""Linked-data pages through the app: dereferencing, negotiation, headers, HTML and search."""

from __future__ import annotations

import re
import warnings
from typing import Final

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient
from htmlcheck import check_html
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, ORG, OWL, RDF, RDFS, SH, SKOS, VOID

from server.build.info import BuildInfo
from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI, ESCP, WD

BASE: Final = DEFAULT_BASE_IRI
ID: Final = Namespace(BASE + "id/")
BROWSER: Final = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

#: One minted IRI per class kind, with the rdf:type its document must state.
KINDS: Final = {
    "partnership": ("/id/partnership/adpack", ESCP.Partnership),
    "cluster": ("/id/cluster/lyonbiopole", ESCP.ClusterOrganisation),
    "membership": ("/id/membership/adpack/packbridge", ORG.Membership),
    "country": ("/id/country/be", ESCP.Country),
    "region": ("/id/region/south-america", ESCP.Region),
    "sector": ("/id/sector/photonics", SKOS.Concept),
    "funding": ("/id/funding/co-funded", SKOS.Concept),
    "strand": ("/id/strand/1", SKOS.Concept),
    "role": ("/id/role/coordinator", ORG.Role),
    "measure": ("/id/measure/partnerships", SKOS.Concept),
    "country-group": ("/id/country-group/eu", SKOS.Concept),
    "figure": ("/id/figure/eccp-2018-countries", ESCP.StatedFigure),
    "stated-market": ("/id/figure/main-target-market-br", ESCP.StatedTargetMarket),
    "programme": ("/id/programme/cosme", ESCP.Programme),
    "call": ("/id/call/cos-cluster-2014-3-03", ESCP.Call),
    "label": ("/id/label/escp-4i", ESCP.Label),
    "generation": ("/id/generation/escp-4i-1", ESCP.Generation),
    "continuity": ("/id/continuity/adpack-to-adpack2", ESCP.ContinuityLink),
    "evidence": ("/id/evidence/probable", SKOS.Concept),
    "link-strength": ("/id/link-strength/explicit", SKOS.Concept),
    "organisation": ("/id/organisation/easme", ESCP.PublicBody),
    "scheme": ("/id/sector", SKOS.ConceptScheme),
    "dataset": ("/dataset", VOID.Dataset),
    "graph": ("/graph/data", VOID.Dataset),
    "ontology": ("/def", OWL.Ontology),
    "shapes": ("/shapes", OWL.Ontology),
}
#: Page formats: Accept value, media type answered, rdflib parser name.
FORMATS: Final = [
    ("text/turtle", "text/turtle", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("*/*", "text/turtle", "turtle"),
]
SUFFIXES: Final = {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "rdf": "xml"}


def _graph(resp_data: bytes, fmt: str) -> Graph:
    with warnings.catch_warnings():
        # rdflib 7.6's own JSON-LD parser builds a ConjunctiveGraph, which it deprecates.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return Graph().parse(data=resp_data, format=fmt)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_get_minted_iri_as_turtle_states_its_type(client: FlaskClient, kind: str) -> None:
    path, cls = KINDS[kind]
    resp = client.get(path, headers={"Accept": "text/turtle"})
    assert resp.status_code == 200, resp.data[:300]
    assert resp.mimetype == "text/turtle"
    g = _graph(resp.data, "turtle")
    assert (URIRef(BASE + path.lstrip("/")), RDF.type, cls) in g


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_get_minted_iri_as_html_is_a_valid_page_naming_it(client: FlaskClient, kind: str) -> None:
    path, _ = KINDS[kind]
    resp = client.get(path, headers=BROWSER)
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert check_html(html) == []
    assert f'<link rel="alternate" type="text/turtle" href="{path}.ttl"' in html
    assert f"{BASE}{path.lstrip('/')}" in html  # the IRI is shown
    assert "Release <code>" in html  # the footer names the release


def test_every_iri_of_the_release_resolves(client: FlaskClient, store: EmbeddedStore) -> None:
    iris = set()
    for quad in store.store:
        for term in (quad.subject, quad.object, quad.graph_name):
            if isinstance(term, ox.NamedNode) and term.value.startswith(BASE):
                iris.add(term.value.split("#", 1)[0])
    iris -= {BASE + "sparql"}  # the SPARQL endpoint, served by its own blueprint
    # The compilation notes the evidence levels cite are files, served by their own blueprint.
    files = {iri for iri in iris if iri.startswith(BASE + "sources/")}
    assert files and len(iris - files) > 300
    failed = []
    for iri in sorted(iris - files):
        resp = client.get("/" + iri[len(BASE) :], headers={"Accept": "application/n-triples"})
        if resp.status_code != 200 or iri.encode() not in resp.data:
            failed.append((iri, resp.status_code))
    failed += [
        (iri, status)
        for iri in sorted(files)
        if (status := client.get("/" + iri[len(BASE) :]).status_code) != 200
    ]
    assert failed == []


def test_partnership_document_holds_members_labels_incoming_links_and_sources(
    client: FlaskClient,
) -> None:
    g = _graph(client.get("/id/partnership/adpack.ttl").data, "turtle")
    adpack = ID["partnership/adpack"]
    members = set(g.objects(adpack, ORG.hasMember))
    assert ID["cluster/packbridge"] in members and len(members) == 5
    assert (adpack, ESCP.coordinator, ID["cluster/balticnet-plasmatec-e-v"]) in g
    assert (ID["cluster/packbridge"], RDFS.label, Literal("Packbridge", lang="en")) in g
    assert (ID["membership/adpack/packbridge"], ORG.organization, adpack) in g
    assert (ID["funding/co-funded"], SKOS.prefLabel, Literal("co-funded", lang="en")) in g
    assert (
        adpack,
        DCTERMS.source,
        URIRef("https://euramaterials.eu/en/projets/adpack/"),
    ) in g


def test_country_document_links_wikidata_and_lists_its_clusters(client: FlaskClient) -> None:
    g = _graph(client.get("/id/country/be", headers={"Accept": "text/turtle"}).data, "turtle")
    be = ID["country/be"]
    assert (be, OWL.sameAs, WD.Q31) in g
    assert (ID["cluster/plastiwin"], ESCP.country, be) in g
    assert (ID["cluster/plastiwin"], RDFS.label, Literal("Plastiwin", lang="en")) in g


def test_term_iri_of_the_ontology_resolves_to_the_whole_ontology(client: FlaskClient) -> None:
    g = _graph(client.get("/def", headers={"Accept": "text/turtle"}).data, "turtle")
    assert (ESCP.Partnership, RDFS.subClassOf, ORG.OrganizationalCollaboration) in g
    assert (ESCP.fundingType, RDF.type, OWL.ObjectProperty) in g
    html = client.get("/def", headers=BROWSER).get_data(as_text=True)
    assert 'id="Partnership"' in html and 'id="fundingType"' in html


def test_shapes_document_keeps_rdf_lists_and_anchors_each_shape(client: FlaskClient) -> None:
    g = _graph(client.get("/shapes.ttl").data, "turtle")
    shapes = Namespace(BASE + "shapes#")
    assert (shapes.PartnershipShape, SH.targetClass, ESCP.Partnership) in g
    ignored = g.value(shapes.PartnershipShape, SH.ignoredProperties)
    assert ignored is not None and RDF.type in list(g.items(ignored))
    html = client.get("/shapes", headers=BROWSER).get_data(as_text=True)
    assert 'id="PartnershipShape"' in html and 'id="PartnershipShape-acronym"' in html


def test_named_graph_document_holds_the_graph(client: FlaskClient, built: BuildInfo) -> None:
    g = _graph(client.get("/graph/data.nt").data, "nt")
    assert len(g) >= built.graphs["data"]
    assert (ID["partnership/adpack"], ESCP.acronym, Literal("AdPack")) in g


@pytest.mark.parametrize(("accept", "media_type", "parser"), FORMATS)
def test_get_partnership_with_accept_returns_that_format(
    client: FlaskClient, accept: str, media_type: str, parser: str
) -> None:
    resp = client.get("/id/partnership/adpack", headers={"Accept": accept})
    assert resp.status_code == 200
    assert resp.mimetype == media_type
    assert (ID["partnership/adpack"], ESCP.acronym, Literal("AdPack")) in _graph(resp.data, parser)
    suffix = next(s for s, p in SUFFIXES.items() if p == parser)
    assert resp.headers["Content-Location"] == f"/id/partnership/adpack.{suffix}"


def test_get_without_accept_returns_turtle(client: FlaskClient) -> None:
    resp = client.get("/id/country/be")
    assert resp.mimetype == "text/turtle"
    assert resp.headers["Content-Type"] == "text/turtle; charset=utf-8"


def test_browser_accept_returns_html(client: FlaskClient) -> None:
    resp = client.get("/id/country/be", headers=BROWSER)
    assert resp.mimetype == "text/html"
    assert resp.headers["Content-Location"] == "/id/country/be.html"


@pytest.mark.parametrize("suffix", [*SUFFIXES, "html"])
def test_get_with_suffix_returns_that_format_whatever_the_accept(
    client: FlaskClient, suffix: str
) -> None:
    resp = client.get(f"/id/country/be.{suffix}", headers={"Accept": "text/html"})
    assert resp.status_code == 200
    if suffix == "html":
        assert resp.mimetype == "text/html" and "Q31" in resp.get_data(as_text=True)
    else:
        assert (ID["country/be"], OWL.sameAs, WD.Q31) in _graph(resp.data, SUFFIXES[suffix])
    assert resp.headers["Content-Location"] == f"/id/country/be.{suffix}"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("ttl", "text/turtle"), ("jsonld", "application/ld+json"), ("html", "text/html")],
)
def test_get_with_format_parameter_overrides_accept(
    client: FlaskClient, name: str, media_type: str
) -> None:
    resp = client.get(
        "/id/cluster/lyonbiopole", query_string={"format": name}, headers={"Accept": "text/turtle"}
    )
    assert resp.status_code == 200
    assert resp.mimetype == media_type


def test_get_with_unknown_suffix_returns_406_listing_suffixes(client: FlaskClient) -> None:
    resp = client.get("/id/partnership/adpack.xlsx")
    assert resp.status_code == 406
    assert resp.mimetype == "application/problem+json"
    assert resp.json is not None
    assert ".ttl (text/turtle)" in resp.json["offers"]
    assert ".jsonld (application/ld+json)" in resp.json["offers"]


def test_get_with_unknown_format_returns_406_listing_formats(client: FlaskClient) -> None:
    resp = client.get("/id/partnership/adpack", query_string={"format": "xlsx"})
    assert resp.status_code == 406
    assert resp.json is not None and "ttl (text/turtle)" in resp.json["offers"]


def test_get_with_unmet_accept_returns_406(client: FlaskClient) -> None:
    resp = client.get("/id/partnership/adpack", headers={"Accept": "image/png"})
    assert resp.status_code == 406
    assert resp.json is not None and "text/turtle" in resp.json["offers"]


def test_get_unknown_iri_returns_problem_json(client: FlaskClient) -> None:
    resp = client.get("/id/partnership/no-such-thing", headers={"Accept": "text/turtle"})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.json is not None and "id/partnership/no-such-thing" in resp.json["detail"]


def test_get_unknown_iri_returns_an_html_404_to_browsers(client: FlaskClient) -> None:
    resp = client.get("/id/country/zz", headers=BROWSER)
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "404" in html and check_html(html) == []


def test_document_headers_vary_link_etag_cache_and_cors(client: FlaskClient) -> None:
    resp = client.get("/id/partnership/adpack", headers={"Accept": "text/turtle"})
    assert "Accept" in resp.headers["Vary"]
    link = resp.headers["Link"]
    for suffix, media_type in [
        ("ttl", "text/turtle"),
        ("nt", "application/n-triples"),
        ("jsonld", "application/ld+json"),
        ("rdf", "application/rdf+xml"),
        ("html", "text/html"),
    ]:
        assert f'</id/partnership/adpack.{suffix}>; rel="alternate"; type="{media_type}"' in link
    assert '<https://creativecommons.org/licenses/by/4.0/>; rel="license"' in link
    assert '</dataset>; rel="describedby"' in link
    etag = resp.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong: no W/ prefix
    assert "max-age" in resp.headers["Cache-Control"]
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Link" in resp.headers["Access-Control-Expose-Headers"]


def test_etag_differs_per_format_and_is_stable(client: FlaskClient) -> None:
    ttl = client.get("/id/country/be.ttl").headers["ETag"]
    assert ttl == client.get("/id/country/be", headers={"Accept": "text/turtle"}).headers["ETag"]
    assert ttl != client.get("/id/country/be.html").headers["ETag"]
    assert ttl != client.get("/id/country/fr.ttl").headers["ETag"]


def test_get_with_matching_if_none_match_returns_304(client: FlaskClient) -> None:
    first = client.get("/id/partnership/adpack", headers=BROWSER)
    again = client.get(
        "/id/partnership/adpack", headers={**BROWSER, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert "Accept" in again.headers["Vary"]
    other = client.get(
        "/id/partnership/adpack",
        headers={"Accept": "text/turtle", "If-None-Match": first.headers["ETag"]},
    )
    assert other.status_code == 200


def test_partnership_page_shows_fields_in_order_with_members_and_sources(
    client: FlaskClient,
) -> None:
    html = client.get("/id/partnership/adpack", headers=BROWSER).get_data(as_text=True)
    assert "<h1>Future Materials and Products for Advanced Smart Packaging" in html
    order = ["Acronym", "Funding type", "Strand", "Start", "Coordinator", "Members", "Sector"]
    positions = [html.index(f">{label}<") for label in order]
    assert positions == sorted(positions)
    members = html[html.index(">Members<") : html.index(">Markets and sectors<")]
    for name in ["Packbridge", "Plastiwin", "Nanoprogress z.s.", "BalticNet-PlasmaTec e.V."]:
        assert f">{name}</a>" in members
    assert ">coordinator</a>" in members and ">Belgium</a>" in members
    # Per-value provenance: each membership row links straight to its source pages.
    row = members[members.index(">Packbridge</a>") :].split("</tr>", 1)[0]
    assert 'class="ref" href="http://packbridge.se/' in row
    overview = html[html.index(">Overview<") : html.index(">Members<")]
    assert 'class="ref" href="https://euramaterials.eu/en/projets/adpack/"' in overview
    assert "January 2016" in overview
    assert "Target countries of the first-generation project not seen" in html  # the note


def test_country_page_shows_wikidata_q31_and_clusters_with_partnerships(
    client: FlaskClient,
) -> None:
    html = client.get("/id/country/be", headers=BROWSER).get_data(as_text=True)
    assert '<a href="http://www.wikidata.org/entity/Q31" rel="external"' in html
    assert '>Q31</a> <span class="hint">Belgium</span>' in html
    clusters = html[html.index(">Cluster organisations based here<") :]
    assert '<a href="/id/cluster/plastiwin"' in clusters
    assert '<a href="/id/partnership/adpack"' in clusters


def test_cluster_page_lists_its_partnerships_with_role(client: FlaskClient) -> None:
    html = client.get("/id/cluster/aerospace-valley", headers=BROWSER).get_data(as_text=True)
    table = html[html.index(">Partnerships<") :]
    assert '<a href="/id/partnership/eacp-abroad"' in table
    assert '<a href="/id/partnership/space2id"' in table
    assert '<a href="/id/country/fr"' in html


def test_sector_page_lists_the_partnerships_that_name_it(client: FlaskClient) -> None:
    html = client.get("/id/sector/packaging", headers=BROWSER).get_data(as_text=True)
    assert "Partnerships that name this sector" in html
    assert '<a href="/id/partnership/adpack"' in html


def test_landing_page_lists_charts_and_search(client: FlaskClient) -> None:
    html = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert check_html(html) == []
    assert html.count('<svg class="chart" role="img"') >= 2
    assert "Partnerships per funding type: co-funded:" in html
    assert '<form class="search" method="get" action="/search"' in html
    partnerships = html[html.index('id="partnerships"') : html.index('id="countries"')]
    row = partnerships[partnerships.index(">AdPack</a>") :].split("</tr>", 1)[0]
    assert ">co-funded</a>" in row and ">packaging</a>" in row
    assert '<td class="num">5</td>' in row  # listed members
    countries = html[html.index('id="countries"') : html.index('id="clusters"')]
    assert '<a href="http://www.wikidata.org/entity/Q31" rel="external">Q31</a>' in countries


def test_dataset_page_shows_release_dumps_and_validation(
    client: FlaskClient, built: BuildInfo
) -> None:
    html = client.get("/dataset", headers=BROWSER).get_data(as_text=True)
    assert built.release in html and built.content_hash in html
    for record in built.dumps:
        assert f'href="/dumps/{record["name"]}"' in html
        assert f'data-sha256="{record["sha256"]}"' in html
        assert f'data-bytes="{record["bytes"]}"' in html
    assert 'href="/validation"' in html and "conforms" in html
    assert 'rel="license"' in html


def test_validation_report_is_published_as_html_and_turtle(client: FlaskClient) -> None:
    html = client.get("/validation", headers=BROWSER).get_data(as_text=True)
    assert check_html(html) == []
    assert "the data conforms" in html
    resp = client.get("/validation.ttl")
    assert resp.mimetype == "text/turtle"
    g = _graph(resp.data, "turtle")
    report = g.value(predicate=RDF.type, object=SH.ValidationReport)
    assert report is not None
    assert g.value(report, SH.conforms) == Literal(True)


def test_html_check_rejects_broken_markup() -> None:
    broken = "<!doctype html><html lang=en><head><title>x</title></head><body><h1>a</h1><p></div>"
    assert check_html(broken)[0].startswith("HTML parse error")
    no_caption = (
        "<!doctype html><html><head><title>x</title></head><body><h1>a</h1>"
        "<table><tr><th>x</th></tr></table></body></html>"
    )
    assert set(check_html(no_caption)) == {
        "<html> has no lang",
        "a <table> without a <caption>",
        "a <th> without scope",
    }


def test_iri_with_a_dot_resolves_before_any_suffix(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    result = store.query(f"SELECT ?v WHERE {{ <{BASE}def> <{OWL.versionIRI}> ?v }}")
    assert isinstance(result, ox.QuerySolutions)
    version = next(iter(result))["v"].value  # def/0.2.0: a path with dots
    assert "." in version.rsplit("/", 1)[-1]
    resp = client.get("/" + version[len(BASE) :], headers={"Accept": "text/turtle"})
    assert resp.status_code == 200
    g = _graph(resp.data, "turtle")
    assert (URIRef(BASE + "def"), OWL.versionIRI, URIRef(version)) in g


def test_validation_with_unknown_suffix_returns_406(client: FlaskClient) -> None:
    resp = client.get("/validation.csv")
    assert resp.status_code == 406
    assert resp.json is not None and ".ttl (text/turtle)" in resp.json["offers"]


def test_favicon_is_served_so_browsers_log_no_404(client: FlaskClient) -> None:
    with client.get("/favicon.ico") as resp:
        assert resp.status_code == 200
        assert resp.mimetype == "image/svg+xml"
