"""The SPARQL 1.1 Service Description of the endpoint: formats, dataset, named graphs, limits."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pyoxigraph as ox

from server.store.backend import Backend, Dataset
from server.vocab import GRAPHS, PREFIXES, SD, graph_iri
from server.web.negotiation import Offer

log = logging.getLogger(__name__)

RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS: Final = "http://www.w3.org/2000/01/rdf-schema#"
VOID: Final = "http://rdfs.org/ns/void#"
XSD: Final = "http://www.w3.org/2001/XMLSchema#"
SKOS: Final = "http://www.w3.org/2004/02/skos/core#"
FORMATS: Final = "http://www.w3.org/ns/formats/"
SD_NS: Final = str(SD)
ESCP: Final = PREFIXES["escp"]

#: W3C format IRIs (https://www.w3.org/ns/formats/) by offer short name.
FORMAT_IRIS: Final = {
    "json": "SPARQL_Results_JSON",
    "xml": "SPARQL_Results_XML",
    "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV",
    "ttl": "Turtle",
    "nt": "N-Triples",
    "jsonld": "JSON-LD",
    "rdf": "RDF_XML",
    "nq": "N-Quads",
    "trig": "TriG",
}

#: Prefixes for serializing the description.
DESCRIPTION_PREFIXES: Final = {
    "sd": SD_NS,
    "formats": FORMATS,
    **{
        k: PREFIXES[k]
        for k in ("dcat", "dcterms", "escp", "owl", "prov", "rdf", "rdfs", "skos", "void", "xsd")
    },
}


@dataclass(frozen=True)
class Limits:
    """What the endpoint enforces, stated in its description."""

    timeout: float
    max_rows: int
    max_bytes: int
    max_depth: int
    max_operators: int
    client_queries: int = 2
    client_seconds: float = 30.0


#: The limit properties: (local name, label, definition); values come from ``Limits``.
_LIMIT_TERMS: Final = (
    (
        "queryTimeout",
        "query timeout",
        "Seconds a query may run; past them the service stops it and answers 503.",
    ),
    (
        "maxResultRows",
        "maximum result rows",
        "Most rows (SELECT) or triples (CONSTRUCT, DESCRIBE) a result may have; a larger "
        "result is refused with 422, never truncated. Each result states its count in the "
        "ESCP-Result-Rows header and the cap in ESCP-Max-Rows.",
    ),
    (
        "maxRequestBytes",
        "maximum request size",
        "Largest request body, in bytes; a larger one is refused with 413.",
    ),
    (
        "maxQueryDepth",
        "maximum query nesting",
        "Deepest nesting of brackets ({ ( [) a query may have; a deeper one is refused with 400.",
    ),
    (
        "maxQueryOperators",
        "maximum query operators",
        "Most nesting operators (UNION, OPTIONAL, MINUS, FILTER, BIND, GRAPH, EXISTS and "
        "the expression operators) a query may have; more are refused with 400.",
    ),
    (
        "maxClientQueries",
        "concurrent queries per client",
        "Most uncached queries one client address may run at once in one server process; "
        "one more is refused with 429 and Retry-After.",
    ),
    (
        "clientQuerySecondsPerMinute",
        "query time per client per minute",
        "Seconds of query time one client address may use per minute in one server process; "
        "past them its uncached queries are refused with 429 and Retry-After.",
    ),
)


def description(
    backend: Backend, *, base_iri: str, limits: Limits, formats: Sequence[Offer]
) -> list[ox.Triple]:
    """Describe the endpoint as an ``sd:Service``, with the dataset's VoID description.

    The dataset's own statistics come from the build's meta graph; the description adds
    the service, its formats and limits, and one ``sd:NamedGraph`` per graph of the release.
    """
    service = ox.NamedNode(base_iri + "sparql")
    dataset = ox.NamedNode(base_iri + "dataset")
    default_graph = ox.NamedNode(base_iri + "sparql#default-graph")
    info = backend.info
    out: list[ox.Triple] = []

    def add(s: ox.NamedNode, p: str, o: ox.NamedNode | ox.Literal) -> None:
        out.append(ox.Triple(s, ox.NamedNode(p), o))

    add(service, RDF + "type", _sd("Service"))
    add(service, RDFS + "label", _en("SPARQL 1.1 endpoint of the ESCP-4i Knowledge Graph"))
    add(
        service,
        RDFS + "comment",
        _en(
            "Read-only SPARQL 1.1 Query over the release "
            f"{info.release}. Without default-graph-uri or FROM, the default graph is the "
            "union of the named graphs; default-graph-uri and named-graph-uri replace FROM "
            "and FROM NAMED. Relative IRIs resolve against "
            f"{base_iri}. Federated queries (SERVICE) are refused. Limits: "
            f"{limits.timeout} s per query, {limits.max_rows} result rows, "
            f"{limits.max_bytes} request bytes."
        ),
    )
    add(service, SD_NS + "endpoint", service)
    add(service, SD_NS + "supportedLanguage", _sd("SPARQL11Query"))
    add(service, SD_NS + "feature", _sd("UnionDefaultGraph"))
    add(
        service,
        SD_NS + "defaultEntailmentRegime",
        ox.NamedNode("http://www.w3.org/ns/entailment/Simple"),
    )
    for offer in formats:
        add(service, SD_NS + "resultFormat", ox.NamedNode(FORMATS + FORMAT_IRIS[offer.name]))
    add(service, SD_NS + "defaultDataset", dataset)
    # The named queries are SPARQL examples in their own graph: the endpoint is all one needs.
    add(service, RDFS + "seeAlso", ox.NamedNode(graph_iri("queries", base_iri)))
    for name, label, definition in _LIMIT_TERMS:
        term = ox.NamedNode(ESCP + name)
        add(service, term.value, _limit_value(limits, name))
        add(term, RDF + "type", ox.NamedNode(RDF + "Property"))
        add(term, RDFS + "label", _en(label))
        add(term, SKOS + "definition", _en(definition))
        add(term, RDFS + "isDefinedBy", service)
    add(dataset, RDF + "type", _sd("Dataset"))
    add(dataset, SD_NS + "defaultGraph", default_graph)
    add(default_graph, RDF + "type", _sd("Graph"))
    add(default_graph, RDFS + "comment", _en("The union of the named graphs."))
    add(default_graph, VOID + "triples", _integer(info.triples))
    for number, (name, triples) in enumerate(sorted(info.graphs.items()), start=1):
        # Builds name their graphs; a remote store may hold others, named by IRI.
        iri = ox.NamedNode(graph_iri(name, base_iri) if name in GRAPHS else name)
        entry = ox.NamedNode(f"{base_iri}sparql#graph-{name if name in GRAPHS else number}")
        add(dataset, SD_NS + "namedGraph", entry)
        add(entry, RDF + "type", _sd("NamedGraph"))
        add(entry, SD_NS + "name", iri)
        add(entry, SD_NS + "graph", iri)
        add(iri, RDF + "type", _sd("Graph"))
        add(iri, VOID + "triples", _integer(triples))
    meta_graph = Dataset(default_graphs=(graph_iri("meta", base_iri),))
    meta = backend.query("CONSTRUCT WHERE { ?s ?p ?o }", dataset=meta_graph)
    if isinstance(meta, ox.QueryTriples):
        out.extend(meta)
    # Group by subject, in order of first mention, so Turtle writes one block per subject.
    first: dict[str, int] = {}
    return sorted(out, key=lambda t: first.setdefault(str(t.subject), len(first)))


def _sd(local: str) -> ox.NamedNode:
    return ox.NamedNode(SD_NS + local)


def _en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def _integer(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))


def _limit_value(limits: Limits, name: str) -> ox.Literal:
    if name == "queryTimeout":
        return ox.Literal(str(float(limits.timeout)), datatype=ox.NamedNode(XSD + "decimal"))
    if name == "clientQuerySecondsPerMinute":
        seconds = str(float(limits.client_seconds))
        return ox.Literal(seconds, datatype=ox.NamedNode(XSD + "decimal"))
    values = {
        "maxResultRows": limits.max_rows,
        "maxRequestBytes": limits.max_bytes,
        "maxQueryDepth": limits.max_depth,
        "maxQueryOperators": limits.max_operators,
        "maxClientQueries": limits.client_queries,
    }
    return _integer(values[name])
