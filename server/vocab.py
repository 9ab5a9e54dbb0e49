"""Namespaces, the base IRI and the IRI scheme of the graph."""

from __future__ import annotations

from typing import Final

from rdflib import Graph, Namespace
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SH, SKOS, VOID, XSD

from server.settings import DEFAULT_BASE_IRI as DEFAULT_BASE_IRI

#: ``DEFAULT_BASE_IRI`` is the persistent base under which every resource is minted.
#: Data files are written with it; ``ESCP_BASE_IRI`` rebases them at build time.

ESCP: Final = Namespace(DEFAULT_BASE_IRI + "def#")
SHAPES: Final = Namespace(DEFAULT_BASE_IRI + "shapes#")
ID: Final = Namespace(DEFAULT_BASE_IRI + "id/")
SCHEMA: Final = Namespace("http://schema.org/")
WD: Final = Namespace("http://www.wikidata.org/entity/")
WDT: Final = Namespace("http://www.wikidata.org/prop/direct/")
EU_COUNTRY: Final = Namespace("http://publications.europa.eu/resource/authority/country/")
SD: Final = Namespace("http://www.w3.org/ns/sparql-service-description#")

#: Families of minted resources: the first path segment under ``id/``.
FAMILIES: Final = (
    "partnership",
    "cluster",
    "membership",
    "continuity",
    "country",
    "region",
    "sector",
    "programme",
    "call",
    "label",
    "generation",
    "organisation",
    "funding",
    "strand",
    "role",
    "measure",
    "country-group",
    "figure",
    "evidence",
    "link-strength",
)

#: Named graphs of the store, relative to the base IRI.
GRAPHS: Final = {
    "ontology": "graph/ontology",
    "data": "graph/data",
    "shapes": "graph/shapes",
    "meta": "graph/meta",
    "queries": "graph/queries",
}

#: Prefixes written into every Turtle file and offered to SPARQL users.
PREFIXES: Final[dict[str, str]] = {
    "dcat": str(DCAT),
    "dcterms": str(DCTERMS),
    "escp": str(ESCP),
    "foaf": str(FOAF),
    "org": str(ORG),
    "owl": str(OWL),
    "prov": str(PROV),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "schema": str(SCHEMA),
    "sh": str(SH),
    "skos": str(SKOS),
    "void": str(VOID),
    "wd": str(WD),
    "wdt": str(WDT),
    "xsd": str(XSD),
}

SEED_PAGE: Final = (
    "https://clustercollaboration.eu/eu-cluster-partnerships/escp-4i/first-generation"
)


def bind_families(g: Graph) -> Graph:
    """Bind the standard prefixes and one prefix per resource family on a graph."""
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns)
    for family in FAMILIES:
        g.bind(family, str(family_namespace(family)))
    return g


def family_namespace(family: str, base: str = DEFAULT_BASE_IRI) -> Namespace:
    """Return the namespace of one resource family.

    >>> str(family_namespace("partnership")["adpack"])
    'https://w3id.org/escp4i/id/partnership/adpack'
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown resource family {family!r}; legal: {', '.join(FAMILIES)}")
    return Namespace(f"{base}id/{family}/")


def graph_iri(name: str, base: str = DEFAULT_BASE_IRI) -> str:
    """Return the IRI of a named graph of the store.

    >>> graph_iri("data")
    'https://w3id.org/escp4i/graph/data'
    """
    return base + GRAPHS[name]


def rebase(iri: str, base: str, *, source: str = DEFAULT_BASE_IRI) -> str:
    """Move an IRI minted under ``source`` (the default base) to ``base``; leave others alone.

    >>> rebase("https://w3id.org/escp4i/id/country/be", "http://localhost:5000/")
    'http://localhost:5000/id/country/be'
    >>> rebase("http://www.wikidata.org/entity/Q31", "http://localhost:5000/")
    'http://www.wikidata.org/entity/Q31'
    >>> rebase("http://localhost:5000/def#Partnership", DEFAULT_BASE_IRI, source="http://localhost:5000/")
    'https://w3id.org/escp4i/def#Partnership'
    """
    if base != source and iri.startswith(source):
        return base + iri[len(source) :]
    return iri


def path_to_iri(path: str, base: str) -> str:
    """Map a request path on any host to the canonical IRI it names.

    The server answers for the base IRI whatever host it runs on: the path
    below the application root is appended to the base.

    >>> path_to_iri("/id/partnership/adpack", "https://w3id.org/escp4i/")
    'https://w3id.org/escp4i/id/partnership/adpack'
    """
    return base + path.lstrip("/")


def iri_to_path(iri: str, base: str) -> str | None:
    """Return the local request path of a minted IRI, or None for a foreign one.

    >>> iri_to_path("https://w3id.org/escp4i/id/country/be", "https://w3id.org/escp4i/")
    '/id/country/be'
    >>> iri_to_path("https://w3id.org/escp4i/def#Partnership", "https://w3id.org/escp4i/")
    '/def#Partnership'
    >>> iri_to_path("http://www.wikidata.org/entity/Q31", "https://w3id.org/escp4i/") is None
    True
    """
    if not iri.startswith(base):
        return None
    return "/" + iri[len(base) :]


def sparql_prefixes(base: str) -> str:
    """Return the PREFIX lines of the page queries, the ontology under the configured base.

    The base comes from the configuration, never from a request.

    >>> sparql_prefixes("https://w3id.org/escp4i/").splitlines()[2]
    'PREFIX escp: <https://w3id.org/escp4i/def#>'
    """
    if any(c in base for c in '<>"{}|^`\\ '):
        raise ValueError(f"base IRI {base!r} cannot be written in a query")
    names = {"dcterms": str(DCTERMS), "org": str(ORG), "escp": f"{base}def#"}
    names |= {"rdfs": str(RDFS), "skos": str(SKOS)}
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in names.items())
