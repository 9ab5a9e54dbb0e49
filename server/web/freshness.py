"""Freshness of pages derived from the release alone: cacheable by any HTTP cache in front.

The landing, browse, figures, map and network pages change only with the release, so
they carry ``Cache-Control: public`` and a strong ETag of their body, and answer a
matching ``If-None-Match`` with 304; nginx in front (deploy/) may then store them.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from typing import Final

from flask import Blueprint, Response, request

#: How long any cache may keep an answer of a release: a release is served for minutes at least.
CACHE_SECONDS: Final = 600
CACHE_CONTROL: Final = f"public, max-age={CACHE_SECONDS}"
#: An answer no cache may keep or replay (a query calling NOW or RAND).
NO_STORE: Final = "no-store"


@functools.cache  # reading package metadata costs ~1.4 ms, on every page otherwise
def code_version() -> str:
    """The installed version of this code, which shapes every representation."""
    try:
        return metadata.version("escp4i-kg")
    except metadata.PackageNotFoundError:
        return "0"


def entity_tag(*parts: str) -> str:
    """Return a strong entity tag of the code version and the parts that fix a representation.

    >>> tag = entity_tag("release hash", "/id/x", "text/turtle")
    >>> tag == entity_tag("release hash", "/id/x", "text/turtle"), len(tag), tag[0]
    (True, 34, '"')
    >>> tag == entity_tag("release hash", "/id/x", "text/html")
    False
    """
    seed = "\0".join((code_version(), *parts))
    return '"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


def not_modified(tag: str) -> bool:
    """Tell whether the client's ``If-None-Match`` already names this representation."""
    return request.if_none_match.contains(tag.strip('"'))


def release_pages(bp: Blueprint, *, except_endpoints: frozenset[str] = frozenset()) -> None:
    """Make every successful GET answer of a blueprint cacheable and conditional."""

    @bp.after_request
    def _fresh(response: Response) -> Response:
        if (
            request.method not in ("GET", "HEAD")
            or response.status_code != 200
            or request.endpoint in except_endpoints
            or response.direct_passthrough
        ):
            return response
        response.headers.setdefault("Cache-Control", CACHE_CONTROL)
        response.add_etag()
        response.make_conditional(request)
        return response
