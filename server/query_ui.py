"""The browser's SPARQL query page."""

from __future__ import annotations

from flask import render_template


def query_page() -> str:
    """Render the query page for a browser."""
    return render_template("query.html")
