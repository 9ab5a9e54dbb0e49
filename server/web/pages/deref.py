"""Dereferencing: request path to IRI and format, answered 200 with Content-Location."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from flask import Response, request

from server.build.info import LICENSE, BuildInfo
from server.errors import NotAcceptableError, NotFoundError
from server.store.backend import Backend
from server.vocab import path_to_iri
from server.web.freshness import CACHE_CONTROL, entity_tag
from server.web.negotiation import PAGES, Offer, choose, content_type

from .resource import exists

log = logging.getLogger(__name__)

#: Document suffixes, one per page format: ``.ttl .html .nt .jsonld .rdf``.
SUFFIXES: Final = {offer.extension: offer for offer in PAGES if offer.extension}
EXPOSED: Final = "Content-Location, ETag, Link, Vary"


@dataclass(frozen=True)
class Target:
    """What a request names: the IRI, the local path of its document, an explicit format."""

    iri: str
    path: str
    suffix: str | None = None


def locate(backend: Backend, path: str, base: str) -> Target:
    """Return the IRI a request path names, and the format its suffix asks for.

    One pattern everywhere, as Trifid and LodView do: ``GET /id/partnership/adpack``
    answers 200 with the negotiated representation and names its document in
    ``Content-Location: /id/partnership/adpack.ttl``; that suffixed URL serves the same
    bytes without negotiation. No 303 redirects.

    The whole path is tried first, so an IRI with a dot (``def/0.1.0``) stays itself.

    :raises NotAcceptableError: for an unknown suffix on a known IRI, listing the suffixes.
    :raises NotFoundError: when no IRI of the release matches.
    """
    iri = path_to_iri(path, base)
    if exists(backend, iri):
        return Target(iri, path)
    stem, dot, suffix = path.rpartition(".")
    if dot and stem and "/" not in suffix and exists(backend, path_to_iri(stem, base)):
        suffix_offer(suffix)
        return Target(path_to_iri(stem, base), stem, suffix)
    raise NotFoundError(f"no resource {iri} in release {backend.info.release}")


def suffix_offer(suffix: str) -> Offer:
    """Return the page format a document suffix names.

    >>> suffix_offer("jsonld").media_type
    'application/ld+json'

    :raises NotAcceptableError: for a suffix of no format on offer, listing the suffixes.
    """
    if suffix not in SUFFIXES:
        raise NotAcceptableError(
            f"no document format has the suffix .{suffix}",
            offers=[f".{s} ({o.media_type})" for s, o in SUFFIXES.items()],
        )
    return SUFFIXES[suffix]


def negotiate(target: Target, offers: Sequence[Offer] = PAGES) -> Offer:
    """Return the representation to send: the suffix's, else ``format=``, else ``Accept``."""
    if target.suffix:
        return suffix_offer(target.suffix)
    return choose(request.accept_mimetypes, offers, request.args.get("format"))


def etag(info: BuildInfo, target: Target, offer: Offer) -> str:
    """Return a strong entity tag: the release's content hash, the document and its format.

    >>> from server.build.info import BuildInfo
    >>> info = BuildInfo("r", "1", "ab" * 32, "t", "b", 0, {}, "p")
    >>> from server.web.negotiation import TURTLE
    >>> tag = etag(info, Target("i", "/id/x"), TURTLE)
    >>> tag == etag(info, Target("i", "/id/x"), TURTLE), len(tag)
    (True, 34)
    """
    return entity_tag(info.content_hash, target.path, offer.media_type)


def finish(
    response: Response,
    target: Target,
    offer: Offer,
    tag: str,
    offers: Sequence[Offer] = PAGES,
) -> Response:
    """Add the headers every document carries: type, location, links, caching, CORS."""
    root = request.script_root
    if response.status_code != 304:
        response.headers["Content-Type"] = content_type(offer)
    response.headers["Content-Location"] = f"{root}{target.path}.{offer.extension}"
    response.vary.add("Accept")
    links = [
        f'<{root}{target.path}.{o.extension}>; rel="alternate"; type="{o.media_type}"'
        for o in offers
        if o.extension
    ]
    links.append(f'<{LICENSE}>; rel="license"')
    links.append(f'<{root}/dataset>; rel="describedby"; type="text/turtle"')
    response.headers["Link"] = ", ".join(links)
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED
    return response


def alternates(target: Target, offers: Sequence[Offer] = PAGES) -> list[tuple[str, str, str]]:
    """Return (href, media type, format name) of each RDF document of a target, for HTML."""
    root = request.script_root
    return [
        (f"{root}{target.path}.{o.extension}", o.media_type, _FORMAT_NAMES.get(o.name, o.name))
        for o in offers
        if o.rdf is not None and o.extension
    ]


_FORMAT_NAMES: Final = {
    "ttl": "Turtle",
    "nt": "N-Triples",
    "jsonld": "JSON-LD",
    "rdf": "RDF/XML",
    "nq": "N-Quads",
    "trig": "TriG",
}
