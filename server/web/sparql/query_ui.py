"""The browser's SPARQL query page: the YASGUI editor with every named query as an example."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template, url_for

from server.vocab import FAMILIES, PREFIXES, family_namespace, rebase
from server.web.state import get_catalog, get_state

log = logging.getLogger(__name__)


def query_page() -> str:
    """Render the query page for a browser."""
    return render_template(
        "query.html",
        endpoint=endpoint_url(),
        examples=examples(),
        prefixes=prefixes(),
        yasgui_version=yasgui_version(),
    )


def yasgui_version() -> str:
    """Return the version of the vendored YASGUI, from the first line of its VERSION file."""
    path = Path(current_app.root_path, "static", "vendor", "yasgui", "VERSION")
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    return first.rsplit(" ", 1)[-1]


def endpoint_url() -> str:
    """Return the path of the SPARQL endpoint the editor sends its queries to."""
    if "sparql.endpoint" in current_app.view_functions:
        return url_for("sparql.endpoint")
    return "/sparql"


def examples() -> list[dict[str, Any]]:
    """Return every named query as a ready example: title, description, text and API link."""
    found = []
    for query in get_catalog():
        args = query.example_args()
        api = url_for("api.run", name=query.name)
        found.append(
            {
                "name": query.name,
                "title": query.title,
                "description": query.description,
                "tags": list(query.tags),
                "parameters": [
                    {"name": p.name, "type": p.type, "required": p.required}
                    for p in query.parameters
                ],
                "query": query.example_text(),
                "api": api + ("?" + urlencode(args) if args else ""),
            }
        )
    return found


def prefixes() -> dict[str, str]:
    """Return the prefixes the editor offers and uses to shorten IRIs in results."""
    base = get_state().base_iri
    found = {prefix: rebase(ns, base) for prefix, ns in PREFIXES.items()}
    for family in FAMILIES:
        found[family] = str(family_namespace(family, base))
    return found
