"""The production entry point: gunicorn serving ``create_app()``."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .app import create_app

        return create_app()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn; each worker opens the store read-only."""
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "graceful_timeout": 10,
            "timeout": 60,
            # Long GET queries: the most gunicorn allows (its default 4094 answers 414 sooner).
            "limit_request_line": 8190,
        }
    ).run()
