"""Named-query API: /api/queries and OpenAPI, from the query catalog."""

from __future__ import annotations

import logging

from flask import Blueprint

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)
