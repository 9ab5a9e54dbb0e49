"""The landing page's lists: partnerships, clusters and countries, with what links them."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import pyoxigraph as ox

from server.store.backend import Backend
from server.vocab import iri_to_path, sparql_prefixes

from .charts import Bar

log = logging.getLogger(__name__)

NOT_STATED: Final = "funding not stated"

# Flat queries, one kind of link each: at 1,000 times the real data, nested OPTIONALs and
# label lookups inside them took Oxigraph 11 s where these take under 4 s together.
_PARTNERSHIPS: Final = """
SELECT ?item ?label ?acronym ?funding WHERE {
  ?item a escp:Partnership ; rdfs:label ?label .
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?item escp:fundingType ?funding }
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

#: Labels of what partnerships link to: a few dozen sectors, markets and funding types.
_LABELS: Final = """
SELECT ?value ?label ?prefLabel WHERE {
  {
    SELECT DISTINCT ?value WHERE {
      ?item a escp:Partnership ; escp:sector|escp:targetMarket|escp:fundingType ?value .
    }
  }
  OPTIONAL { ?value rdfs:label ?label }
  OPTIONAL { ?value skos:prefLabel ?prefLabel }
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
SELECT ?item ?label ?group ?groupLabel ?wikidata WHERE {
  ?item a escp:Country ; rdfs:label ?label .
  OPTIONAL { ?item escp:countryGroup ?group OPTIONAL { ?group skos:prefLabel ?groupLabel } }
  OPTIONAL { ?item owl:sameAs ?wikidata }
}
"""


@dataclass(frozen=True)
class Link:
    """A linked resource as a list shows it: label and local URL."""

    label: str
    href: str


@dataclass
class PartnershipItem:
    """One partnership in the landing page's list."""

    link: Link
    acronym: str | None
    funding: Link | None
    sectors: list[Link] = field(default_factory=list)
    markets: list[Link] = field(default_factory=list)
    members: int = 0


@dataclass
class ClusterItem:
    """One cluster organisation in the landing page's list."""

    link: Link
    acronym: str | None
    country: Link | None
    partnerships: list[Link] = field(default_factory=list)


@dataclass
class CountryItem:
    """One country: its group, Wikidata entity, clusters, and partnerships there or aiming there."""

    link: Link
    group: str | None
    wikidata: str | None
    clusters: int = 0
    partnerships: int = 0
    targeted_by: int = 0


@dataclass
class Overview:
    """Everything the landing page lists, and the bars of its charts."""

    partnerships: list[PartnershipItem]
    clusters: list[ClusterItem]
    countries: list[CountryItem]
    by_funding: list[Bar]
    by_country: list[Bar]
    by_market: list[Bar]


def overview(backend: Backend, base: str, root: str = "") -> Overview:
    """Query the lists of the landing page and count what the charts show."""

    def link(iri: str, label: str | None) -> Link:
        path = iri_to_path(iri, base)
        return Link(label or iri.rsplit("/", 1)[-1], root + path if path else iri)

    labels: dict[str, str] = {}
    pref_labels: dict[str, str] = {}
    for row in _rows(backend, _LABELS, base):
        if "label" in row:
            labels[row["value"]] = row["label"]
        if "prefLabel" in row:
            pref_labels[row["value"]] = row["prefLabel"]
    partnerships: dict[str, PartnershipItem] = {}
    market_iris: dict[str, set[str]] = defaultdict(set)
    for row in _rows(backend, _PARTNERSHIPS, base):
        funding = row.get("funding")
        item = PartnershipItem(
            link(row["item"], row["label"]),
            row.get("acronym"),
            link(funding, pref_labels.get(funding)) if funding else None,
        )
        partnerships[row["item"]] = item
    for query, is_market in ((_SECTORS, False), (_MARKETS, True)):
        for row in _rows(backend, query, base):
            item = partnerships[row["item"]]
            value = link(row["value"], labels.get(row["value"]))
            (item.markets if is_market else item.sectors).append(value)
            if is_market:
                market_iris[row["item"]].add(row["value"])
    for row in _rows(backend, _MEMBERS, base):
        partnerships[row["item"]].members = int(row["members"])
    countries = {
        row["item"]: CountryItem(
            link(row["item"], row["label"]), row.get("groupLabel"), row.get("wikidata")
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
            link(row["item"], row["label"]),
            row.get("acronym"),
            country.link if country else None,
        )
        if country:
            country_of[row["item"]] = row["country"]
            country.clusters += 1
    partners_in: dict[str, set[str]] = defaultdict(set)
    for row in _rows(backend, _MEMBER_OF, base):
        cluster = clusters.get(row["item"])
        if cluster is None:
            continue
        known = partnerships.get(row["partnership"])
        cluster.partnerships.append(link(row["partnership"], known.acronym if known else None))
        partners_in[country_of.get(row["item"], "")].add(row["partnership"])
    for iri, c in countries.items():
        c.partnerships = len(partners_in.get(iri, ()))
    market_counts: Counter[Link] = Counter()
    for iri, p in partnerships.items():
        p.sectors.sort(key=_by_label)
        p.markets.sort(key=_by_label)
        market_counts.update(set(p.markets))
        for market in market_iris.get(iri, ()):
            if market in countries:
                countries[market].targeted_by += 1
    for cluster in clusters.values():
        cluster.partnerships.sort(key=_by_label)
    funding_counts = Counter(
        p.funding.label if p.funding else NOT_STATED for p in partnerships.values()
    )
    return Overview(
        partnerships=sorted(
            partnerships.values(), key=lambda p: (p.acronym or p.link.label).casefold()
        ),
        clusters=sorted(clusters.values(), key=lambda c: _by_label(c.link)),
        countries=sorted(
            countries.values(), key=lambda c: (-c.clusters, -c.targeted_by, _by_label(c.link))
        ),
        by_funding=[Bar(label, n) for label, n in sorted(funding_counts.items())],
        by_country=[
            Bar(c.link.label, c.clusters, c.link.href)
            for c in sorted(countries.values(), key=lambda c: (-c.clusters, _by_label(c.link)))
            if c.clusters
        ],
        by_market=[
            Bar(m.label, n, m.href)
            for m, n in sorted(market_counts.items(), key=lambda i: (-i[1], _by_label(i[0])))
        ][:12],
    )


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


def _by_label(link: Link) -> str:
    return link.label.casefold()
