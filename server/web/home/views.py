"""The landing page with the key figures of the first generation, and the health check."""

from __future__ import annotations

import logging

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, jsonify, render_template

from server.web.freshness import release_pages
from server.web.state import get_backend
from server.web.warm import is_warm

from .landing import figures_page, landing, page_size
from .maps import europe_map, world_map
from .network import network_figure

log = logging.getLogger(__name__)

bp = Blueprint("home", __name__)
release_pages(bp, except_endpoints=frozenset({"home.health"}))


@bp.get("/")
def index() -> str:
    """Show what the dataset is: key figures stated against enumerated, charts and lists."""
    found = landing()
    return render_template(
        "home.html",
        headline=found.headline,
        totals=found.totals,
        lists=found.lists,
        charts=found.charts,
        context=found.context,
        limit=page_size(),
        europe=europe_map(found.lists),
        world=world_map(found.lists),
        regions=found.lists.regions,
        network=network_figure(),
    )


@bp.get("/figures")
def figures() -> str:
    """Show every stated figure beside what the graph enumerates, conflicts marked."""
    return render_template("figures.html", groups=figures_page())


@bp.get("/health")
def health() -> Response:
    """Report that the backend answers, which release it serves, and whether it is warm."""
    backend = get_backend()
    result = backend.query("ASK { ?s ?p ?o }")
    ok = isinstance(result, ox.QueryBoolean) and bool(result)
    response = jsonify(
        {
            "status": "ok" if ok else "empty",
            "release": backend.info.release,
            "triples": backend.info.triples,
            # Whether this process has rendered the list pages ahead (server/web/warm.py).
            "pages_warmed": is_warm(current_app),
        }
    )
    response.status_code = 200 if ok else 503
    return response
