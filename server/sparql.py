"""SPARQL 1.1 protocol endpoint and service description."""

from __future__ import annotations

import logging

from flask import Blueprint

log = logging.getLogger(__name__)

bp = Blueprint("sparql", __name__)
