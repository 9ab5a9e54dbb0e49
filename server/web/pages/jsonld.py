"""schema.org JSON-LD for search engines: the dataset, and the partnership, cluster or country.

Every value is read from the store (the meta graph for the dataset, the data graph for the
rest). URLs of pages and downloads are under the configured base IRI, never the request's
``Host``: pages are cached whatever host asked, and a forged ``Host`` must not get into them.
Google's Dataset guidelines: https://developers.google.com/search/docs/appearance/structured-data/dataset
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Final

import pyoxigraph as ox
from markupsafe import Markup
from rdflib.namespace import FOAF, ORG, OWL, RDFS, SKOS

from server.build.info import BuildInfo
from server.errors import NotFoundError
from server.store.backend import Backend
from server.vocab import WDT, graph_iri

from .resource import Document, document

log = logging.getLogger(__name__)

#: An inline context, so that a JSON-LD processor needs no network to read the data.
#: Terms whose value is a link are typed ``@id``, so that they read as IRIs, not strings.
CONTEXT: Final = {
    "@vocab": "http://schema.org/",
    **{term: {"@type": "@id"} for term in ("url", "contentUrl", "license", "sameAs", "isBasedOn")},
}

_DATASET: Final = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
SELECT ?meta ?ontology ?ds ?title ?description ?license ?modified ?version ?identifier ?source
       ?start ?end ?creator ?creatorName ?ontologyCreator WHERE {
  GRAPH ?meta {
    ?ds a dcat:Dataset ; dcterms:title ?title ; dcat:version ?version .
    OPTIONAL { ?ds dcterms:description ?description }
    OPTIONAL { ?ds dcterms:license ?license }
    OPTIONAL { ?ds dcterms:modified ?modified }
    OPTIONAL { ?ds dcterms:identifier ?identifier }
    OPTIONAL { ?ds dcterms:source ?source }
    OPTIONAL { ?ds dcterms:temporal ?period . ?period dcat:startDate ?start ; dcat:endDate ?end }
    OPTIONAL { ?ds dcterms:creator|dcterms:publisher ?creator
               OPTIONAL { ?creator rdfs:label|foaf:name ?creatorName } }
  }
  OPTIONAL { GRAPH ?ontology { ?o a owl:Ontology ; dcterms:creator ?ontologyCreator } }
}
ORDER BY ?ds
"""

# The countries the member clusters are based in: the dataset's spatial coverage. The
# variables given as substitutions are projected, as pyoxigraph requires.
_COUNTRIES: Final = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?data ?in ?country ?label WHERE {
  GRAPH ?data { ?cluster ?in ?country . ?country rdfs:label ?label }
}
ORDER BY ?label
"""

_COUNTRY: Final = """
SELECT ?country ?p ?o WHERE { ?country ?p ?o }
"""


@dataclass(frozen=True)
class DatasetFacts:
    """What the meta graph says of the dataset: what a citation and the JSON-LD name."""

    iri: str
    title: str
    description: str
    licence: str
    release: str
    modified: str
    identifier: str
    #: The dataset's creator or publisher; else the creator of the ontology it is minted in.
    creator: str
    source: str
    temporal: tuple[str, str] | None

    @property
    def date(self) -> str:
        """Return the day the release was built, ``YYYY-MM-DD``."""
        return self.modified[:10]


def dataset_facts(backend: Backend, base: str) -> DatasetFacts:
    """Read the dataset's description from the meta graph.

    :raises NotFoundError: when the meta graph describes no dataset.
    """
    result = backend.query(
        _DATASET,
        substitutions={
            ox.Variable("meta"): ox.NamedNode(graph_iri("meta", base)),
            ox.Variable("ontology"): ox.NamedNode(graph_iri("ontology", base)),
        },
    )
    rows = list(result) if isinstance(result, ox.QuerySolutions) else []
    if not rows:
        raise NotFoundError(f"release {backend.info.release} describes no dataset")
    row = rows[0]

    def text(name: str) -> str:
        term = row[name]
        return term.value if term is not None else ""

    creator = text("creatorName") or (
        text("creator") if isinstance(row["creator"], ox.Literal) else ""
    )
    start, end = text("start"), text("end")
    return DatasetFacts(
        iri=text("ds"),
        title=text("title"),
        description=text("description"),
        licence=text("license"),
        release=text("version"),
        modified=text("modified"),
        identifier=text("identifier"),
        creator=creator or text("ontologyCreator"),
        source=text("source"),
        temporal=(start, end) if start and end else None,
    )


def dataset(
    facts: DatasetFacts, countries: list[dict[str, Any]], info: BuildInfo, base: str
) -> dict[str, Any]:
    """Return the schema.org ``Dataset`` of the release, with one download per dump.

    The dumps' URLs are those of their DCAT distributions (``resource.distributions``).
    """
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "Dataset",
        "@id": facts.iri,
        "name": facts.title,
        "description": facts.description,
        "url": f"{base}dataset",
        "identifier": [v for v in (facts.iri, facts.identifier) if v],
        "version": facts.release,
        "dateModified": facts.modified,
        "isAccessibleForFree": True,
        "distribution": [
            {
                "@type": "DataDownload",
                "name": record["name"],
                # What the download answers with: a gzipped dump is a gzip file.
                "encodingFormat": record.get("compress_format") or record["media_type"],
                "contentUrl": f"{base}dumps/{record['name']}",
                "contentSize": f"{record['bytes']} B",
            }
            for record in info.dumps
        ],
    }
    if facts.licence:
        data["license"] = facts.licence
    if facts.creator:
        data["creator"] = {"@type": "Organization", "name": facts.creator}
    if facts.temporal:
        data["temporalCoverage"] = "/".join(facts.temporal)
    if countries:
        data["spatialCoverage"] = countries
    if facts.source:
        data["isBasedOn"] = facts.source
    return data


def countries(backend: Backend, base: str) -> list[dict[str, Any]]:
    """Return the countries the data's cluster organisations are in, as schema.org places."""
    result = backend.query(
        _COUNTRIES,
        substitutions={
            ox.Variable("data"): ox.NamedNode(graph_iri("data", base)),
            ox.Variable("in"): ox.NamedNode(f"{base}def#country"),
        },
    )
    if not isinstance(result, ox.QuerySolutions):
        return []
    found: dict[str, dict[str, Any]] = {}
    for row in result:
        iri = row["country"].value
        found.setdefault(iri, {"@type": "Country", "@id": iri, "name": row["label"].value})
    return list(found.values())


def thing(
    backend: Backend, iri: str, kind: str, base: str, doc: Document | None = None
) -> dict[str, Any] | None:
    """Return a partnership, cluster or country as schema.org, or None for other kinds.

    ``doc`` is the IRI's document where the caller has it already; else it is fetched.
    """
    if kind not in _TYPES:
        return None
    if doc is None:
        doc = document(backend, iri, base)
    own = ox.NamedNode(iri)
    data: dict[str, Any] = {"@context": CONTEXT, "@type": _TYPES[kind], "@id": iri}
    _put(data, "name", _literal(doc, own, RDFS.label))
    _put(data, "alternateName", _literal(doc, own, f"{base}def#acronym"))
    _put(data, "url", _iris(doc, own, FOAF.homepage)[:1])
    same = _iris(doc, own, f"{base}def#eccpProfile") + _iris(doc, own, OWL.sameAs)
    _put(data, "sameAs", same + _iris(doc, own, SKOS.exactMatch))
    if kind == "partnership":
        _put(data, "member", _linked(doc, _iris(doc, own, ORG.hasMember), "Organization"))
    elif kind == "cluster":
        country = _iris(doc, own, f"{base}def#country")
        if country:
            data["address"] = {
                "@type": "PostalAddress",
                "addressCountry": _country(backend, doc, country[0]),
            }
        places = _literal(doc, own, f"{base}def#regionOrCity")  # free text: a region or a city
        _put(data, "location", [{"@type": "Place", "name": place} for place in places])
        _put(data, "memberOf", _linked(doc, _iris(doc, own, ORG.memberOf), "Project"))
    elif kind == "country":
        _put(data, "identifier", _literal(doc, own, WDT.P297) + _literal(doc, own, WDT.P298))
    return data


def script(data: dict[str, Any] | None) -> Markup:
    """Return a JSON-LD ``<script>`` element; no value can close it or open a comment.

    >>> print(script({"name": "</script><!--"}))
    <script type="application/ld+json">{"name": "\\u003c/script\\u003e\\u003c!--"}</script>
    """
    if data is None:
        return Markup("")
    text = json.dumps(data, ensure_ascii=False)
    for char, escape in _ESCAPES.items():
        text = text.replace(char, escape)
    return Markup(f'<script type="application/ld+json">{text}</script>')  # noqa: S704  # escaped above


_TYPES: Final = {"partnership": "Project", "cluster": "Organization", "country": "Country"}
# Inside <script>, "</script" and "<!--" end or confuse the element; JSON escapes keep the data.
_ESCAPES: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028"}


def _country(backend: Backend, doc: Document, iri: str) -> dict[str, Any]:
    node = ox.NamedNode(iri)
    country: dict[str, Any] = {"@type": "Country", "@id": iri}
    _put(country, "name", _literal(doc, node, RDFS.label)[:1])
    result = backend.query(_COUNTRY, substitutions={ox.Variable("country"): node})
    if isinstance(result, ox.QuerySolutions):
        about = [(row["p"].value, row["o"]) for row in result]
        _put(country, "identifier", sorted(o.value for p, o in about if p == str(WDT.P297)))
        _put(country, "sameAs", sorted(o.value for p, o in about if p == str(OWL.sameAs)))
    return country


def _linked(doc: Document, iris: list[str], kind: str) -> list[dict[str, Any]]:
    linked = []
    for iri in iris:
        item: dict[str, Any] = {"@type": kind, "@id": iri}
        _put(item, "name", _literal(doc, ox.NamedNode(iri), RDFS.label)[:1])
        linked.append(item)
    return linked


def _literal(doc: Document, node: ox.NamedNode, predicate: object) -> list[str]:
    return [v.value for v in doc.about(node, str(predicate)) if isinstance(v, ox.Literal)]


def _iris(doc: Document, node: ox.NamedNode, predicate: object) -> list[str]:
    return [v.value for v in doc.about(node, str(predicate)) if isinstance(v, ox.NamedNode)]


def _put(data: dict[str, Any], key: str, values: list[Any]) -> None:
    """Set a key to its one value, or to the list of several; leave it out when none."""
    if values:
        data[key] = values[0] if len(values) == 1 else values
