"""The ESCP-4i knowledge graph: build, validate and serve it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .web.factory import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `escp4i` and the server's master process stay light: only the
    # processes that serve requests import Flask, the store and the pages.
    if name == "create_app":
        from .web.factory import create_app

        return create_app
    raise AttributeError(name)
