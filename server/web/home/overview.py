"""The store queries behind the landing and browse pages' lists, run once for all generations."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Final

import pyoxigraph as ox

from server.store.backend import Backend
from server.vocab import iri_to_path, sparql_prefixes
from server.web.state import generation_name

from .lists import (
    ClusterItem,
    Continued,
    CountryItem,
    Found,
    Generation,
    Link,
    Linker,
    Lists,
    PartnershipItem,
    by_label,
    narrow,
)

log = logging.getLogger(__name__)

# Flat queries, one kind of link each: at 1,000 times the real data, nested OPTIONALs and
# label lookups inside them took Oxigraph 11 s where these take under 4 s together. They
# cover every generation at once; each generation's lists are narrowed from them here.
_PARTNERSHIPS: Final = """
SELECT ?item ?label ?acronym ?funding ?strand ?generation ?evidence WHERE {
  ?item a escp:Partnership ; rdfs:label ?label .
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?item escp:fundingType ?funding }
  OPTIONAL { ?item escp:strand ?strand }
  OPTIONAL { ?item escp:generation ?generation }
  OPTIONAL { ?item escp:evidence ?evidence }
}
"""

_SECTORS: Final = "SELECT ?item ?value WHERE { ?item a escp:Partnership ; escp:sector ?value }"

_MARKETS: Final = (
    "SELECT ?item ?value WHERE { ?item a escp:Partnership ; escp:targetMarket ?value }"
)

_MEMBERS: Final = """
SELECT ?item (COUNT(DISTINCT ?member) AS ?members) WHERE {
  ?item a escp:Partnership ; org:hasMember ?member .
}
GROUP BY ?item
"""

#: Labels of what partnerships link to: a few dozen sectors, markets, funding types, levels.
_LABELS: Final = """
SELECT ?value ?label ?prefLabel WHERE {
  {
    SELECT DISTINCT ?value WHERE {
      ?item a escp:Partnership ;
        (escp:sector|escp:targetMarket|escp:fundingType|escp:evidence
         |escp:strand/skos:broader*) ?value .
    }
  }
  OPTIONAL { ?value rdfs:label ?label }
  OPTIONAL { ?value skos:prefLabel ?prefLabel }
}
"""

#: Strands and the strands they are part of: a handful of concepts.
_STRAND_PARTS: Final = """
SELECT DISTINCT ?strand ?broader WHERE {
  ?item a escp:Partnership ; escp:strand ?strand .
  ?strand skos:broader+ ?broader .
}
"""

_GENERATIONS: Final = """
SELECT ?item ?label ?start WHERE {
  ?item a escp:Generation ; rdfs:label ?label .
  OPTIONAL { ?item <http://schema.org/startDate> ?start }
}
"""

_CLUSTERS: Final = """
SELECT ?item ?label ?acronym ?country WHERE {
  ?item a escp:ClusterOrganisation ; rdfs:label ?label .
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?item escp:country ?country }
}
"""

_MEMBER_OF: Final = """
SELECT ?item ?partnership WHERE { ?item a escp:ClusterOrganisation ; org:memberOf ?partnership }
"""

_COUNTRIES: Final = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT ?item ?label ?group ?groupLabel ?wikidata ?iso3 WHERE {
  ?item a escp:Country ; rdfs:label ?label .
  OPTIONAL { ?item <http://www.wikidata.org/prop/direct/P298> ?iso3 }
  OPTIONAL { ?item escp:countryGroup ?group OPTIONAL { ?group skos:prefLabel ?groupLabel } }
  OPTIONAL { ?item owl:sameAs ?wikidata }
}
"""

_CONTINUITY: Final = """
SELECT ?item ?from ?to ?strength ?strengthLabel WHERE {
  ?item a escp:ContinuityLink ; escp:fromPartnership ?from ; escp:toPartnership ?to .
  OPTIONAL {
    ?item escp:linkStrength ?strength
    OPTIONAL { ?strength skos:prefLabel ?strengthLabel }
  }
}
"""


def overview(backend: Backend, base: str, root: str = "") -> Lists:
    """Query the lists once, then narrow them to each generation and count what charts show."""

    def link(iri: str, label: str | None) -> Link:
        path = iri_to_path(iri, base)
        return Link(label or iri.rsplit("/", 1)[-1], root + path if path else iri, iri)

    generations = _generations(backend, base, link)
    graph = _fetch(backend, base, link, {g.iri: g for g in generations})

    def end(iri: str) -> Link:
        known = graph.partnerships.get(iri)
        return (
            Link(known.acronym or known.link.label, known.link.href) if known else link(iri, None)
        )

    continuity = [
        Continued(
            link(row["item"], None),
            end(row["from"]),
            end(row["to"]),
            link(row["strength"], row.get("strengthLabel")) if "strength" in row else None,
            _generation_of(graph, row["to"]),
        )
        for row in _rows(backend, _CONTINUITY, base)
    ]
    continuity.sort(key=lambda c: (by_label(c.source), by_label(c.target)))
    by_generation = {g.number: narrow(graph, g) for g in generations}
    for g in generations:
        by_generation[g.number].continued = [c for c in continuity if c.generation == g]
    everything = narrow(graph, None)
    everything.continued = continuity
    return Lists(
        generations=generations,
        by_generation=by_generation,
        everything=everything,
    )


def _generation_of(graph: Found, iri: str) -> Generation | None:
    known = graph.partnerships.get(iri)
    return known.generation if known else None


def _generations(backend: Backend, base: str, link: Linker) -> list[Generation]:
    rows = {row["item"]: row for row in _rows(backend, _GENERATIONS, base)}
    ordered = sorted(rows.values(), key=lambda row: (row.get("start", ""), row["item"]))
    return [
        Generation(n, row["item"], generation_name(row["label"]), link(row["item"], row["label"]))
        for n, row in enumerate(ordered, start=1)
    ]


def _fetch(backend: Backend, base: str, link: Linker, generations: dict[str, Generation]) -> Found:
    labels: dict[str, str] = {}
    pref_labels: dict[str, str] = {}
    for row in _rows(backend, _LABELS, base):
        if "label" in row:
            labels[row["value"]] = row["label"]
        if "prefLabel" in row:
            pref_labels[row["value"]] = row["prefLabel"]
    parts: dict[str, list[str]] = defaultdict(list)
    for row in _rows(backend, _STRAND_PARTS, base):
        parts[row["strand"]].append(row["broader"])
    partnerships: dict[str, PartnershipItem] = {}
    for row in _rows(backend, _PARTNERSHIPS, base):
        if row["item"] in partnerships:  # a second label: the first row stands
            continue
        funding, evidence, strand = row.get("funding"), row.get("evidence"), row.get("strand")
        strands = [strand, *sorted(parts.get(strand, ()))] if strand else []
        partnerships[row["item"]] = PartnershipItem(
            link(row["item"], row["label"]),
            row.get("acronym"),
            link(funding, pref_labels.get(funding)) if funding else None,
            generations.get(row.get("generation", "")),
            link(evidence, pref_labels.get(evidence)) if evidence else None,
            strand=link(strand, pref_labels.get(strand)) if strand else None,
            strands=[link(s, pref_labels.get(s)) for s in strands],
        )
    market_iris: dict[str, set[str]] = defaultdict(set)
    for query, is_market in ((_SECTORS, False), (_MARKETS, True)):
        for row in _rows(backend, query, base):
            item = partnerships[row["item"]]
            value = link(row["value"], labels.get(row["value"]))
            (item.markets if is_market else item.sectors).append(value)
            if is_market:
                market_iris[row["item"]].add(row["value"])
    for item in partnerships.values():
        item.sectors.sort(key=by_label)
        item.markets.sort(key=by_label)
    for row in _rows(backend, _MEMBERS, base):
        partnerships[row["item"]].members = int(row["members"])
    countries = {
        row["item"]: CountryItem(
            link(row["item"], row["label"]),
            row.get("groupLabel"),
            row.get("wikidata"),
            iso3=row.get("iso3"),
        )
        for row in _rows(backend, _COUNTRIES, base)
    }
    clusters: dict[str, ClusterItem] = {}
    country_of: dict[str, str] = {}
    for row in _rows(backend, _CLUSTERS, base):
        if row["item"] in clusters:  # a second label or acronym: the first row stands
            continue
        country = countries.get(row.get("country", ""))
        clusters[row["item"]] = ClusterItem(
            link(row["item"], row["label"]), row.get("acronym"), country.link if country else None
        )
        if country:
            country_of[row["item"]] = row["country"]
    member_of: dict[str, list[tuple[str, Link]]] = defaultdict(list)
    for row in _rows(backend, _MEMBER_OF, base):
        if row["item"] in clusters:
            known = partnerships.get(row["partnership"])
            shown = link(row["partnership"], known.acronym if known else None)
            member_of[row["item"]].append((row["partnership"], shown))
            known_country = countries.get(country_of.get(row["item"], ""))
            if known and known_country and known_country.link not in known.countries:
                known.countries.append(known_country.link)
    for item in partnerships.values():
        item.countries.sort(key=by_label)
    return Found(partnerships, market_iris, countries, clusters, country_of, member_of)


def _rows(backend: Backend, query: str, base: str) -> Iterator[dict[str, str]]:
    result = backend.query(sparql_prefixes(base) + query)
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError("an overview query must be a SELECT")
    names = [v.value for v in result.variables]
    for solution in result:
        row = {}
        for name in names:
            term = solution[name]
            if isinstance(term, ox.NamedNode | ox.Literal):
                row[name] = term.value
        yield row
