"""The lists the landing and browse pages show, and their narrowing to one generation."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from .charts import Bar

log = logging.getLogger(__name__)

NOT_STATED: Final = "funding not stated"


@dataclass(frozen=True)
class Link:
    """A linked resource as a list shows it: label, local URL and (where known) its IRI."""

    label: str
    href: str
    iri: str = ""


#: Makes a list's link to a resource: its IRI and label (None: the IRI's last segment).
Linker = Callable[[str, str | None], Link]


@dataclass(frozen=True)
class Generation:
    """A generation of partnerships, numbered from 1 by start date, as ``?generation=`` names it."""

    number: int
    iri: str
    name: str
    link: Link

    @property
    def short(self) -> str:
        """The name without its years: "First generation"."""
        return self.name.split(" (", 1)[0]


@dataclass
class PartnershipItem:
    """One partnership in the lists."""

    link: Link
    acronym: str | None
    funding: Link | None
    generation: Generation | None = None
    evidence: Link | None = None
    strand: Link | None = None
    #: The strand and the strands it is part of (1.a is part of 1), as a strand filter matches.
    strands: list[Link] = field(default_factory=list)
    sectors: list[Link] = field(default_factory=list)
    markets: list[Link] = field(default_factory=list)
    #: The countries its listed members are based in.
    countries: list[Link] = field(default_factory=list)
    members: int = 0


@dataclass
class ClusterItem:
    """One cluster organisation, with its partnerships (of the generations listed)."""

    link: Link
    acronym: str | None
    country: Link | None
    partnerships: list[Link] = field(default_factory=list)
    generations: list[Generation] = field(default_factory=list)


@dataclass
class CountryItem:
    """One country: group, Wikidata, ISO alpha-3, clusters, partnerships there or aimed at it."""

    link: Link
    group: str | None
    wikidata: str | None
    iso3: str | None = None
    clusters: int = 0
    partnerships: int = 0
    targeted_by: int = 0


@dataclass(frozen=True)
class Continued:
    """A continuity link as a list shows it: its page, from, to, strength, later generation."""

    link: Link
    source: Link
    target: Link
    strength: Link | None
    generation: Generation | None = None


@dataclass(frozen=True)
class Region:
    """A target market that is not a country (ASEAN, Asia), with the partnerships naming it."""

    link: Link
    partnerships: int


@dataclass
class Overview:
    """The lists of one generation (or of all, ``generation`` None) and the bars of its charts."""

    generation: Generation | None
    partnerships: list[PartnershipItem]
    clusters: list[ClusterItem]
    countries: list[CountryItem]
    by_funding: list[Bar]
    by_country: list[Bar]
    by_market: list[Bar]
    by_evidence: list[Bar]
    memberships: int = 0
    member_countries: int = 0
    #: The target markets that are not countries, most named first.
    regions: list[Region] = field(default_factory=list)
    #: The continuity links into this generation's partnerships (every link, for all).
    continued: list[Continued] = field(default_factory=list)


@dataclass(frozen=True)
class Lists:
    """Every generation's lists, and those of all generations together (whose ``continued``
    holds every continuity link)."""

    generations: list[Generation]
    by_generation: dict[int, Overview]
    everything: Overview

    def of(self, number: int | None) -> Overview:
        """Return the lists of one generation by its number, or of all for None."""
        return self.everything if number is None else self.by_generation[number]


@dataclass
class Found:
    """What the flat queries found, before any narrowing to a generation."""

    partnerships: dict[str, PartnershipItem]
    market_iris: dict[str, set[str]]
    countries: dict[str, CountryItem]
    clusters: dict[str, ClusterItem]
    country_of: dict[str, str]
    member_of: dict[str, list[tuple[str, Link]]]


def narrow(graph: Found, generation: Generation | None) -> Overview:
    """Return the lists of one generation, or of all of them for None.

    One generation's lists hold its partnerships, the clusters with a membership in one of
    them (showing those partnerships only), and the countries these are based in or target.
    """

    def kept(iri: str) -> bool:
        known = graph.partnerships.get(iri)
        return generation is None or (known is not None and known.generation == generation)

    partnerships = {iri: p for iri, p in graph.partnerships.items() if kept(iri)}
    countries = {iri: replace(c) for iri, c in graph.countries.items()}
    clusters: list[ClusterItem] = []
    partners_in: dict[str, set[str]] = defaultdict(set)
    member_countries: set[str] = set()
    for iri, cluster in graph.clusters.items():
        memberships = [(p, shown) for p, shown in graph.member_of.get(iri, []) if kept(p)]
        if generation is not None and not memberships:
            continue
        found = {graph.partnerships[p].generation for p, _ in memberships if p in partnerships}
        clusters.append(
            replace(
                cluster,
                partnerships=sorted((shown for _, shown in memberships), key=by_label),
                generations=sorted((g for g in found if g), key=lambda g: g.number),
            )
        )
        if iri in graph.country_of:
            where = graph.country_of[iri]
            countries[where].clusters += 1
            partners_in[where].update(p for p, _ in memberships)
            member_countries.add(where)
    market_counts: Counter[Link] = Counter()
    for iri, p in partnerships.items():
        market_counts.update(set(p.markets))
        for market in graph.market_iris.get(iri, ()):
            if market in countries:
                countries[market].targeted_by += 1
    for iri, c in countries.items():
        c.partnerships = len(partners_in.get(iri, ()))
    shown = [c for c in countries.values() if generation is None or c.clusters or c.targeted_by]
    country_hrefs = {c.link.href for c in countries.values()}
    funding_counts = Counter(
        p.funding.label if p.funding else NOT_STATED for p in partnerships.values()
    )
    evidence_counts = Counter(p.evidence for p in partnerships.values() if p.evidence)
    return Overview(
        generation=generation,
        partnerships=sorted(
            partnerships.values(), key=lambda p: (p.acronym or p.link.label).casefold()
        ),
        clusters=sorted(clusters, key=lambda c: by_label(c.link)),
        countries=sorted(shown, key=lambda c: (-c.clusters, -c.targeted_by, by_label(c.link))),
        by_funding=[Bar(label, n) for label, n in sorted(funding_counts.items())],
        by_country=[
            Bar(c.link.label, c.clusters, c.link.href)
            for c in sorted(shown, key=lambda c: (-c.clusters, by_label(c.link)))
            if c.clusters
        ],
        by_market=[
            Bar(m.label, n, m.href)
            for m, n in sorted(market_counts.items(), key=lambda i: (-i[1], by_label(i[0])))
        ][:12],
        by_evidence=[
            Bar(e.label, n, e.href)
            for e, n in sorted(evidence_counts.items(), key=lambda i: (-i[1], by_label(i[0])))
        ],
        memberships=sum(p.members for p in partnerships.values()),
        member_countries=len(member_countries),
        regions=[
            Region(m, n)
            for m, n in sorted(market_counts.items(), key=lambda i: (-i[1], by_label(i[0])))
            if m.href not in country_hrefs
        ],
    )


def by_label(link: Link) -> str:
    """Return the key that sorts links by label, ignoring case."""
    return link.label.casefold()
