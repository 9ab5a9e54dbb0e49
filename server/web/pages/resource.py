"""RDF documents of minted IRIs: the triples that describe one resource, through the backend."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final, TypeAlias

import pyoxigraph as ox
from rdflib.namespace import DCAT, DCTERMS, RDF, RDFS, VOID, XSD

from server.build.info import BuildInfo
from server.errors import NotFoundError
from server.store.backend import Backend
from server.vocab import GRAPHS, graph_iri

from .layout import all_prefixes

log = logging.getLogger(__name__)

SPDX: Final = "http://spdx.org/rdf/terms#"
IANA_MEDIA_TYPES: Final = "https://www.iana.org/assignments/media-types/"

#: Documents that are a whole named graph: the ontology, the shapes and the dataset
#: description. Their hash terms (``def#Partnership``) resolve to the same document.
WHOLE_GRAPH_DOCUMENTS: Final = {"def": "ontology", "shapes": "shapes", "dataset": "meta"}

Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal

_EXISTS: Final = """
SELECT ?iri WHERE {
  { ?iri ?p ?o } UNION { ?s ?p ?iri } UNION { GRAPH ?iri { ?s ?p ?o } }
}
LIMIT 1
"""

# Own triples, the labels of everything linked to, incoming links with the labels of
# their subjects. One query, so that one round trip serves a page.
_DESCRIBE: Final = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
CONSTRUCT {
  ?iri ?p ?o . ?o ?lp ?ol .
  ?s ?ip ?iri . ?s rdfs:label ?sl .
}
WHERE {
  { ?iri ?p ?o OPTIONAL { VALUES ?lp { rdfs:label skos:prefLabel } ?o ?lp ?ol } }
  UNION
  { ?s ?ip ?iri OPTIONAL { ?s rdfs:label ?sl } }
}
"""

_LOCAL_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_PREFIXED: Final = (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML, ox.RdfFormat.TRIG)

_GRAPH: Final = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?graph { ?s ?p ?o } }"


@dataclass(frozen=True)
class Document:
    """The RDF document of one IRI: what a client gets when it dereferences it."""

    iri: str
    triples: tuple[ox.Triple, ...]

    def serialize(self, fmt: ox.RdfFormat) -> bytes:
        """Write the document in an RDF format, with the prefixes it uses."""
        prefixes = used_prefixes(self.triples) if fmt in _PREFIXED else None
        return ox.serialize(self.triples, format=fmt, prefixes=prefixes) or b""

    def objects(self, predicate: str) -> list[Term]:
        """Return the values of one predicate of the document's own IRI, sorted."""
        return self.about(ox.NamedNode(self.iri), predicate)

    def about(self, subject: ox.NamedNode | ox.BlankNode, predicate: str) -> list[Term]:
        """Return the values of one predicate of any subject in the document, sorted."""
        return sorted(self._index.get((subject, predicate), ()), key=str)

    def predicates(self, subject: ox.NamedNode | ox.BlankNode) -> list[str]:
        """Return the predicates of one subject in the document, sorted."""
        return sorted(p for s, p in self._index if s == subject)

    @cached_property
    def _index(self) -> dict[tuple[object, str], list[Term]]:
        index: dict[tuple[object, str], list[Term]] = {}
        for t in self.triples:
            if not isinstance(t.object, ox.Triple):
                index.setdefault((t.subject, t.predicate.value), []).append(t.object)
        return index


def exists(backend: Backend, iri: str) -> bool:
    """Tell whether the store mentions an IRI as a subject, an object or a graph name.

    A request path that is no IRI at all (a quote, a space) names nothing in the store.

    >>> exists(None, 'https://w3id.org/escp4i/id/partnership/"')  # no query is sent
    False
    """
    try:
        node = ox.NamedNode(iri)
    except ValueError:  # pyoxigraph: "Invalid IRI code point"
        return False
    result = backend.query(_EXISTS, substitutions={ox.Variable("iri"): node})
    return isinstance(result, ox.QuerySolutions) and any(True for _ in result)


def document(backend: Backend, iri: str, base: str) -> Document:
    """Return the RDF document of a minted IRI.

    A named graph's document is its content and its description; the ontology, the
    shapes and the dataset are whole graphs (the dataset's with its downloadable
    dumps); any other resource gets :func:`describe`.

    :raises NotFoundError: when the store does not mention the IRI.
    """
    if not exists(backend, iri):
        raise NotFoundError(f"no resource {iri} in release {backend.info.release}")
    graph_names = {graph_iri(name, base): name for name in GRAPHS}
    triples: list[ox.Triple] = []
    if iri in graph_names:
        own = describe(backend, iri)
        content = graph_content(backend, iri)
        triples += own + content
        if not any(t.subject == ox.NamedNode(iri) for t in own):
            triples += _graph_description(iri, base, graph_names[iri], len(content))
    else:
        whole = {base + path: name for path, name in WHOLE_GRAPH_DOCUMENTS.items()}
        if iri in whole:
            triples += graph_content(backend, graph_iri(whole[iri], base))
            triples += describe(backend, iri)
            if whole[iri] == "meta":
                triples += distributions(backend.info, base)
        else:
            triples += describe(backend, iri)
    return Document(iri, tuple(_ordered(iri, triples)))


def describe(backend: Backend, iri: str) -> list[ox.Triple]:
    """Return the own triples, labels of linked resources and incoming links of an IRI."""
    result = backend.query(_DESCRIBE, substitutions={ox.Variable("iri"): ox.NamedNode(iri)})
    return list(result) if isinstance(result, ox.QueryTriples) else []


def graph_content(backend: Backend, name: str) -> list[ox.Triple]:
    """Return every triple of one named graph."""
    result = backend.query(_GRAPH, substitutions={ox.Variable("graph"): ox.NamedNode(name)})
    return list(result) if isinstance(result, ox.QueryTriples) else []


def distributions(info: BuildInfo, base: str) -> list[ox.Triple]:
    """Describe the build's dumps as DCAT distributions of the dataset, with checksums.

    They are computed when served: a dump's checksum cannot be inside the dump.
    """
    dataset = ox.NamedNode(base + "dataset")
    triples = []
    for record in info.dumps:
        dist = ox.NamedNode(f"{base}dumps/{record['name']}")
        checksum = ox.NamedNode(f"{dist.value}#sha256")
        triples += [
            ox.Triple(dataset, _n(f"{DCAT}distribution"), dist),
            ox.Triple(dist, _n(RDF.type), _n(f"{DCAT}Distribution")),
            ox.Triple(dist, _n(DCTERMS.title), ox.Literal(_dump_title(record), language="en")),
            ox.Triple(dist, _n(f"{DCAT}downloadURL"), dist),
            ox.Triple(dist, _n(f"{DCAT}mediaType"), _n(IANA_MEDIA_TYPES + record["media_type"])),
            ox.Triple(
                dist,
                _n(f"{DCAT}byteSize"),
                ox.Literal(str(record["bytes"]), datatype=_n(XSD.nonNegativeInteger)),
            ),
            *(
                [ox.Triple(dist, _n(f"{DCAT}compressFormat"), _n(IANA_MEDIA_TYPES + packed))]
                if (packed := record.get("compress_format"))
                else []
            ),
            ox.Triple(dist, _n(f"{SPDX}checksum"), checksum),
            ox.Triple(checksum, _n(f"{SPDX}algorithm"), _n(f"{SPDX}checksumAlgorithm_sha256")),
            ox.Triple(
                checksum,
                _n(f"{SPDX}checksumValue"),
                ox.Literal(record["sha256"], datatype=_n(XSD.hexBinary)),
            ),
        ]
    return triples


def _graph_description(iri: str, base: str, name: str, size: int) -> list[ox.Triple]:
    """Describe a named graph that the meta graph does not (the meta graph itself)."""
    graph = ox.NamedNode(iri)
    return [
        ox.Triple(graph, _n(RDF.type), _n(VOID.Dataset)),
        ox.Triple(graph, _n(RDFS.label), ox.Literal(f"{name} graph", language="en")),
        ox.Triple(graph, _n(DCTERMS.isPartOf), ox.NamedNode(base + "dataset")),
        ox.Triple(graph, _n(VOID.triples), ox.Literal(str(size), datatype=_n(XSD.integer))),
    ]


def used_prefixes(triples: Iterable[ox.Triple]) -> dict[str, str]:
    """Return the prefixes whose namespace some IRI of the triples is in.

    >>> t = ox.Triple(ox.NamedNode("https://w3id.org/escp4i/id/country/be"),
    ...               ox.NamedNode("http://www.w3.org/2002/07/owl#sameAs"),
    ...               ox.NamedNode("http://www.wikidata.org/entity/Q31"))
    >>> sorted(used_prefixes([t]))
    ['country', 'owl', 'wd']
    """
    iris = {
        term.value
        for t in triples
        for term in (t.subject, t.predicate, t.object)
        if isinstance(term, ox.NamedNode)
    }
    prefixes = all_prefixes()
    used = {}
    for iri in iris:
        for prefix, ns in prefixes.items():
            if iri.startswith(ns):
                # A local name with a slash would need escaping (membership:adpack\/x).
                if _LOCAL_NAME.fullmatch(iri[len(ns) :]):
                    used[prefix] = ns
                break
    return dict(sorted(used.items()))


def _dump_title(record: dict[str, object]) -> str:
    graphs = "all graphs" if record.get("graphs") == "all" else f"the {record.get('graphs')} graph"
    return f"{record['format']} of {graphs}"


def _ordered(iri: str, triples: Sequence[ox.Triple]) -> list[ox.Triple]:
    """Deduplicate; the IRI's own triples first, ``rdf:type`` first within a subject."""
    rdf_type = str(RDF.type)

    def key(t: ox.Triple) -> tuple[bool, str, bool, str, str]:
        subject = t.subject.value if isinstance(t.subject, ox.NamedNode) else f"~{t.subject}"
        return (
            subject != iri,
            subject,
            t.predicate.value != rdf_type,
            t.predicate.value,
            str(t.object),
        )

    return sorted(set(triples), key=key)


def _n(iri: object) -> ox.NamedNode:
    return ox.NamedNode(str(iri))
