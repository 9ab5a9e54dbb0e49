"""Freshness of pages derived from the release alone: cacheable by any HTTP cache in front.

The landing, browse, figures, map and network pages change only with the release, so
they carry ``Cache-Control: public`` and a strong ETag of their body, and answer a
matching ``If-None-Match`` with 304; nginx in front (deploy/) may then store them.
"""

from __future__ import annotations

from typing import Final

from flask import Blueprint, Response, request

#: As the resource pages (pages/deref.py): a release is served for minutes at least.
CACHE_CONTROL: Final = "public, max-age=600"


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
