"""The ESCP-4i knowledge graph: build, validate and serve it."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
