"""The network page (blueprint `network`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("network", __name__)
