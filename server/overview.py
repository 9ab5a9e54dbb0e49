"""The landing page's lists: partnerships, clusters and countries, with what links them."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import pyoxigraph as ox

from .charts import Bar
from .layout import sparql_prefixes
from .store import Backend
from .vocab import iri_to_path

log = logging.getLogger(__name__)

NOT_STATED: Final = "funding not stated"

_PARTNERSHIPS: Final = """
SELECT ?item ?label ?acronym ?funding ?fundingLabel WHERE {
  ?item a escp:Partnership ; rdfs:label ?label .
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?item escp:fundingType ?funding OPTIONAL { ?funding skos:prefLabel ?fundingLabel } }
}
"""

_LINKS: Final = """
SELECT ?item ?kind ?value ?valueLabel WHERE {
  ?item a escp:Partnership .
  { ?item escp:sector ?value BIND("sector" AS ?kind) }
  UNION { ?item escp:targetMarket ?value BIND("market" AS ?kind) }
  UNION { ?item org:hasMember ?value BIND("member" AS ?kind) }
  OPTIONAL { ?value rdfs:label ?valueLabel }
}
"""

_CLUSTERS: Final = """
SELECT ?item ?label ?acronym ?country ?partnership ?partnershipLabel WHERE {
  ?item a escp:ClusterOrganisation ; rdfs:label ?label .
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?item escp:country ?country }
  OPTIONAL {
    ?item org:memberOf ?partnership .
    OPTIONAL { ?partnership escp:acronym ?partnershipLabel }
  }
}
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

    partnerships: dict[str, PartnershipItem] = {}
    for row in _rows(backend, _PARTNERSHIPS, base):
        funding = link(row["funding"], row.get("fundingLabel")) if "funding" in row else None
        item = PartnershipItem(link(row["item"], row["label"]), row.get("acronym"), funding)
        partnerships[row["item"]] = item
    for row in _rows(backend, _LINKS, base):
        item = partnerships[row["item"]]
        if row["kind"] == "member":
            item.members += 1
        else:
            target = item.sectors if row["kind"] == "sector" else item.markets
            target.append(link(row["value"], row.get("valueLabel")))
    countries = {
        row["item"]: CountryItem(
            link(row["item"], row["label"]), row.get("groupLabel"), row.get("wikidata")
        )
        for row in _rows(backend, _COUNTRIES, base)
    }
    clusters: dict[str, ClusterItem] = {}
    partners_in: dict[str, set[str]] = defaultdict(set)
    for row in _rows(backend, _CLUSTERS, base):
        country = countries.get(row.get("country", ""))
        cluster = clusters.setdefault(
            row["item"],
            ClusterItem(
                link(row["item"], row["label"]),
                row.get("acronym"),
                country.link if country else None,
            ),
        )
        if "partnership" in row:
            cluster.partnerships.append(link(row["partnership"], row.get("partnershipLabel")))
            partners_in[row.get("country", "")].add(row["partnership"])
    for cluster in clusters.values():
        for c in countries.values():
            if cluster.country == c.link:
                c.clusters += 1
    for iri, c in countries.items():
        c.partnerships = len(partners_in.get(iri, ()))
    market_counts: Counter[Link] = Counter()
    for p in partnerships.values():
        p.sectors.sort(key=_by_label)
        p.markets.sort(key=_by_label)
        market_counts.update(set(p.markets))
        for c in countries.values():
            if c.link in p.markets:
                c.targeted_by += 1
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
