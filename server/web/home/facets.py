"""Facets of the browse pages: narrow partnerships or clusters by what their partnerships have.

A selection holds at most one value per facet; values of different facets must all hold.
The partnership facets are those of the ``partnerships`` named query, the cluster facets
those of ``clusters``: a cluster matches when one of its partnerships matches every
partnership facet and, for the member-country facet, when it is based in that country.
Counts are what a visitor gets by choosing a value with the other facets kept.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from server.errors import BadRequestError

from .lists import ClusterItem, Link, Overview, PartnershipItem, by_label

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Facet:
    """One facet: its URL (and named-query) parameter, its label, a partnership's values."""

    name: str
    label: str
    values: Callable[[PartnershipItem], Sequence[Link]]


FACETS: Final = (
    Facet("funding", "Funding type", lambda p: [p.funding] if p.funding else []),
    Facet("strand", "Strand", lambda p: p.strands),
    Facet("sector", "Sector", lambda p: p.sectors),
    Facet("market", "Target market", lambda p: p.markets),
    Facet("country", "Member country", lambda p: p.countries),
)
BY_NAME: Final = {f.name: f for f in FACETS}
#: A cluster's own country answers the member-country facet; the others ask its partnerships.
OWN: Final = "country"

#: The selection: a facet's name and the chosen value.
Selection = dict[str, Link]


@dataclass(frozen=True)
class Option:
    """A value of a facet as the page offers it: how many items it leaves, and its URL token."""

    value: Link
    token: str
    count: int
    chosen: bool


@dataclass(frozen=True)
class Shown:
    """A facet with its options, most items first."""

    facet: Facet
    options: list[Option]
    chosen: Option | None


@dataclass(frozen=True)
class Vocabulary:
    """Every value of each facet over the whole graph, and the URL token of each value.

    A token is the last segment of the value's IRI ("packaging", "cn"), or the path after
    ``id/`` where two values of one facet share a last segment.
    """

    tokens: dict[str, dict[str, Link]]

    def token(self, facet: str, value: Link) -> str:
        """Return the URL token of a value of a facet."""
        for token, known in self.tokens[facet].items():
            if known.href == value.href:
                return token
        raise KeyError(f"{value.href} is not a value of {facet}")

    def parse(self, args: Mapping[str, Sequence[str]]) -> Selection:
        """Read a selection from the query string; an unknown value is the client's error."""
        selection: Selection = {}
        for name in BY_NAME:
            given = args.get(name, ())
            if not given:
                continue
            if len(given) > 1:
                raise BadRequestError(f"choose at most one {name}, not {len(given)}")
            raw = given[0]
            value = self.tokens[name].get(raw)
            if value is None:
                raise BadRequestError(
                    f"{raw[:60]!r} is not a {BY_NAME[name].label.lower()} of this graph"
                )
            selection[name] = value
        return selection


def vocabulary(everything: Overview) -> Vocabulary:
    """Collect every facet's values over all generations and give each a URL token."""
    tokens: dict[str, dict[str, Link]] = {}
    for facet in FACETS:
        values: dict[str, Link] = {}
        for p in everything.partnerships:
            values.update((v.href, v) for v in facet.values(p))
        if facet.name == OWN:
            values.update((c.country.href, c.country) for c in everything.clusters if c.country)
        tokens[facet.name] = _tokens(values.values())
    return Vocabulary(tokens)


def _tokens(values: Iterable[Link]) -> dict[str, Link]:
    ordered = sorted(values, key=lambda v: v.href)
    last = Counter(_last(v) for v in ordered)
    return {(_last(v) if last[_last(v)] == 1 else _tail(v)): v for v in ordered}


def _last(value: Link) -> str:
    return (value.iri or value.href).rstrip("/").rsplit("/", 1)[-1]


def _tail(value: Link) -> str:
    where = value.iri or value.href
    return where.split("/id/", 1)[-1] if "/id/" in where else where


def _has(p: PartnershipItem, facet: str, value: Link) -> bool:
    return any(v.href == value.href for v in BY_NAME[facet].values(p))


def partnership_matches(p: PartnershipItem, selection: Selection) -> bool:
    """Tell whether a partnership has every chosen value."""
    return all(_has(p, facet, value) for facet, value in selection.items())


def cluster_matches(
    c: ClusterItem, selection: Selection, partnerships: Mapping[str, PartnershipItem]
) -> bool:
    """Tell whether a cluster is in the chosen country and one of its partnerships matches."""
    own = selection.get(OWN)
    if own is not None and (c.country is None or c.country.href != own.href):
        return False
    rest = {k: v for k, v in selection.items() if k != OWN}
    return not rest or any(partnership_matches(p, rest) for p in _partnerships_of(c, partnerships))


def _partnerships_of(
    c: ClusterItem, partnerships: Mapping[str, PartnershipItem]
) -> Iterable[PartnershipItem]:
    return (partnerships[link.href] for link in c.partnerships if link.href in partnerships)


def narrowed(
    kind: str, lists: Overview, selection: Selection
) -> list[PartnershipItem] | list[ClusterItem]:
    """Return the partnerships or clusters of one generation's lists that match a selection."""
    if kind == "partnerships":
        return [p for p in lists.partnerships if partnership_matches(p, selection)]
    by_href = {p.link.href: p for p in lists.partnerships}
    return [c for c in lists.clusters if cluster_matches(c, selection, by_href)]


def facets(kind: str, lists: Overview, selection: Selection, words: Vocabulary) -> list[Shown]:
    """Return each facet with the count of items every value leaves, the others kept."""
    by_href = {p.link.href: p for p in lists.partnerships}
    shown = []
    for facet in FACETS:
        others = {k: v for k, v in selection.items() if k != facet.name}
        counts: Counter[str] = Counter()
        values: dict[str, Link] = {}
        for found in _values_left(kind, facet, lists, others, by_href):
            values.update((v.href, v) for v in found)
            counts.update({v.href for v in found})
        chosen = selection.get(facet.name)
        if chosen is not None:
            values.setdefault(chosen.href, chosen)
        options = [
            Option(
                v,
                words.token(facet.name, v),
                counts[v.href],
                chosen is not None and v.href == chosen.href,
            )
            for v in values.values()
        ]
        options.sort(key=lambda o: (-o.count, by_label(o.value)))
        picked = next((o for o in options if o.chosen), None)
        shown.append(Shown(facet, options, picked))
    return shown


def _values_left(
    kind: str,
    facet: Facet,
    lists: Overview,
    others: Selection,
    by_href: Mapping[str, PartnershipItem],
) -> Iterable[list[Link]]:
    """Yield, per item that the other facets keep, the values of ``facet`` it has."""
    if kind == "partnerships":
        for p in lists.partnerships:
            if partnership_matches(p, others):
                yield list(facet.values(p))
        return
    own = others.get(OWN)
    rest = {k: v for k, v in others.items() if k != OWN}
    for c in lists.clusters:
        if own is not None and (c.country is None or c.country.href != own.href):
            continue
        matching = [p for p in _partnerships_of(c, by_href) if partnership_matches(p, rest)]
        if rest and not matching:
            continue
        if facet.name == OWN:
            yield [c.country] if c.country else []
        else:
            found: dict[str, Link] = {}
            for p in matching:
                found.update((v.href, v) for v in facet.values(p))
            yield list(found.values())
