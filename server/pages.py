"""Linked-data pages: one URL per minted IRI, HTML or RDF."""

from __future__ import annotations

import logging

from flask import Blueprint

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)
