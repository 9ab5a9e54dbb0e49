"""Citing the release (blueprint `cite`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cite", __name__)
