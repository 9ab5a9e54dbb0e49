"""Content negotiation: the offer tables, format short names and ``choose()``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept

from server.errors import NotAcceptableError


@dataclass(frozen=True)
class Offer:
    """One representation on offer: its media type, short name and pyoxigraph format."""

    media_type: str
    name: str
    rdf: ox.RdfFormat | None = None
    results: ox.QueryResultsFormat | None = None
    extension: str | None = None
    #: Other short names that mean this offer in its table (``xml`` asks RDF/XML of a graph).
    aliases: tuple[str, ...] = ()


JSON_RESULTS: Final = Offer(
    "application/sparql-results+json", "json", results=ox.QueryResultsFormat.JSON, extension="srj"
)
XML_RESULTS: Final = Offer(
    "application/sparql-results+xml", "xml", results=ox.QueryResultsFormat.XML, extension="srx"
)
CSV_RESULTS: Final = Offer("text/csv", "csv", results=ox.QueryResultsFormat.CSV, extension="csv")
TSV_RESULTS: Final = Offer(
    "text/tab-separated-values", "tsv", results=ox.QueryResultsFormat.TSV, extension="tsv"
)

TURTLE: Final = Offer("text/turtle", "ttl", rdf=ox.RdfFormat.TURTLE, extension="ttl")
NTRIPLES: Final = Offer("application/n-triples", "nt", rdf=ox.RdfFormat.N_TRIPLES, extension="nt")
JSONLD: Final = Offer(
    "application/ld+json", "jsonld", rdf=ox.RdfFormat.JSON_LD, extension="jsonld", aliases=("json",)
)
RDFXML: Final = Offer(
    "application/rdf+xml", "rdf", rdf=ox.RdfFormat.RDF_XML, extension="rdf", aliases=("xml",)
)
NQUADS: Final = Offer("application/n-quads", "nq", rdf=ox.RdfFormat.N_QUADS, extension="nq")
TRIG: Final = Offer("application/trig", "trig", rdf=ox.RdfFormat.TRIG, extension="trig")
HTML: Final = Offer("text/html", "html", extension="html")

#: SELECT and ASK results, default first.
SOLUTIONS: Final = (JSON_RESULTS, XML_RESULTS, CSV_RESULTS, TSV_RESULTS)
#: CONSTRUCT and DESCRIBE results, default first.
GRAPHS: Final = (TURTLE, NTRIPLES, JSONLD, RDFXML, NQUADS, TRIG)
#: Linked-data documents: Turtle for `*/*` (curl), HTML for browsers that name it.
PAGES: Final = (TURTLE, HTML, NTRIPLES, JSONLD, RDFXML)

#: Short names clients send as ``format=``/``output=``/``results=`` (SPARQLWrapper does).
ALIASES: Final = {
    "json": "json",
    "srj": "json",
    "application/sparql-results+json": "json",
    "application/json": "json",
    "xml": "xml",
    "srx": "xml",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "csv": "csv",
    "text/csv": "csv",
    "tsv": "tsv",
    "text/tab-separated-values": "tsv",
    "ttl": "ttl",
    "turtle": "ttl",
    "text/turtle": "ttl",
    "n3": "ttl",
    "nt": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "application/n-triples": "nt",
    "jsonld": "jsonld",
    "json-ld": "jsonld",
    "application/ld+json": "jsonld",
    "rdf": "rdf",
    "rdfxml": "rdf",
    "rdf+xml": "rdf",
    "application/rdf+xml": "rdf",
    "nq": "nq",
    "nquads": "nq",
    "application/n-quads": "nq",
    "trig": "trig",
    "application/trig": "trig",
    "html": "html",
    "text/html": "html",
}


def media_types(offers: Sequence[Offer]) -> list[str]:
    """Return the media types of the offers, in order.

    >>> media_types(SOLUTIONS)[:2]
    ['application/sparql-results+json', 'application/sparql-results+xml']
    """
    return [o.media_type for o in offers]


def by_name(name: str, offers: Sequence[Offer]) -> Offer | None:
    """Return the offer a short name or media type stands for, or None.

    >>> by_name("turtle", GRAPHS).media_type
    'text/turtle'
    >>> by_name("xml", GRAPHS).media_type
    'application/rdf+xml'
    >>> by_name("json", PAGES[:2]) is None
    True
    """
    key = ALIASES.get(name.strip().lower())
    return next((o for o in offers if o.name == key), None) or next(
        (o for o in offers if key in o.aliases), None
    )


def requested_name(values: Sequence[str], offers: Sequence[Offer]) -> str | None:
    """Return the first of a request's format names that is on offer, else the first one.

    Clients repeat themselves (SPARQLWrapper sends ``format=tsv&format=text/tab-separated-values``
    and the same as ``output=`` and ``results=``), so any name on offer will do; with none
    on offer, the first is returned for ``choose()`` to refuse.

    >>> requested_name(["rdf+xml", "application/rdf+xml"], GRAPHS)
    'rdf+xml'
    >>> requested_name(["yaml", "csv"], SOLUTIONS)
    'csv'
    >>> requested_name([], SOLUTIONS) is None
    True
    """
    known = next((v for v in values if by_name(v, offers) is not None), None)
    return known or next(iter(values), None)


def choose(accept: MIMEAccept, offers: Sequence[Offer], explicit: str | None = None) -> Offer:
    """Return the offer for this request: an explicit short name wins, then ``Accept``.

    A missing or empty ``Accept`` gets the first offer; one that nothing satisfies
    raises NotAcceptableError listing the offers.

    >>> from werkzeug.datastructures import MIMEAccept
    >>> choose(MIMEAccept([("text/csv", 1)]), SOLUTIONS).name
    'csv'
    >>> choose(MIMEAccept(), SOLUTIONS).name
    'json'
    >>> choose(MIMEAccept([("text/html", 1), ("*/*", 0.8)]), PAGES).name
    'html'
    >>> choose(MIMEAccept([("*/*", 1)]), PAGES).name
    'ttl'
    """
    if explicit:
        offer = by_name(explicit, offers)
        if offer is None:
            raise NotAcceptableError(
                f"format {explicit!r} is not on offer here",
                offers=[f"{o.name} ({o.media_type})" for o in offers],
            )
        return offer
    # Werkzeug answers None both for a missing header and an unmet one: tell them apart.
    if not accept:
        return offers[0]
    best = accept.best_match(media_types(offers))
    if best is None:
        raise NotAcceptableError(
            "no representation on offer satisfies the Accept header",
            offers=media_types(offers),
        )
    return next(o for o in offers if o.media_type == best)


def content_type(offer: Offer) -> str:
    """Return the Content-Type header value, with a charset on text types.

    >>> content_type(TURTLE)
    'text/turtle; charset=utf-8'
    >>> content_type(JSON_RESULTS)
    'application/sparql-results+json'
    """
    if offer.media_type.startswith("text/"):
        return f"{offer.media_type}; charset=utf-8"
    return offer.media_type
