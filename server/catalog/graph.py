"""The ``queries`` graph: every named query described as a SHACL SPARQL executable."""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SH

from server.vocab import DEFAULT_BASE_IRI, SCHEMA, graph_iri

from .loader import load


def examples_graph(queries_dir: Path, base_iri: str = DEFAULT_BASE_IRI) -> Graph:
    """Describe every named query as a SHACL SPARQL executable, for the ``queries`` graph.

    Each query is ``<graph/queries#name>``, an ``sh:SPARQLSelectExecutable`` with
    its title, description, tags, ready-to-run text (example values bound) and the
    endpoint it runs on; its ``dcterms:identifier`` is its name, the last segment
    of its API path ``api/queries/<name>``.

    :raises CatalogError: for a query file that does not pass, naming it.
    """
    catalog = load(queries_dir, base_iri)
    g = Graph(bind_namespaces="none")
    g.bind("dcterms", DCTERMS)
    g.bind("rdf", RDF)
    g.bind("rdfs", RDFS)
    g.bind("schema", SCHEMA)
    g.bind("sh", SH)
    ns = Namespace(graph_iri("queries", base_iri) + "#")
    endpoint = URIRef(base_iri + "sparql")
    for query in catalog:
        node = ns[query.name]
        g.add((node, RDF.type, SH.SPARQLExecutable))
        g.add((node, RDF.type, SH.SPARQLSelectExecutable))
        g.add((node, RDFS.label, Literal(query.title, lang="en")))
        g.add((node, RDFS.comment, Literal(query.description, lang="en")))
        g.add((node, SH.select, Literal(query.example_text())))
        g.add((node, DCTERMS.identifier, Literal(query.name)))
        g.add((node, SCHEMA.target, endpoint))
        for tag in query.tags:
            g.add((node, SCHEMA.keywords, Literal(tag)))
    return g
