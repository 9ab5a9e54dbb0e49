"""The production entry points: granian (default) or gunicorn serving ``create_app()``.

granian is the default because the side-by-side run in ``bench/results/servers.md``
showed it several times faster than gunicorn on the same app (its HTTP layer is
Rust, outside the GIL); gunicorn stays selectable as the well-known fallback.
"""

from __future__ import annotations

import logging
from typing import Any

from .logs import logging_config

log = logging.getLogger(__name__)

SERVERS = ("granian", "gunicorn")

#: Largest request head (request line + headers) either server accepts, in bytes.
MAX_REQUEST_LINE = 8190


def run(
    server: str, *, host: str, port: int, workers: int, threads: int, log_format: str = "text"
) -> None:
    """Serve the app with the named production server until it is stopped."""
    if server == "granian":
        run_granian(host=host, port=port, workers=workers, threads=threads, log_format=log_format)
    elif server == "gunicorn":
        run_gunicorn(host=host, port=port, workers=workers, threads=threads, log_format=log_format)
    else:
        raise ValueError(f"unknown server {server!r}; use one of {', '.join(SERVERS)}")


def run_granian(
    *, host: str, port: int, workers: int, threads: int, log_format: str = "text"
) -> None:
    """Serve the app with granian's WSGI interface; each worker opens the store read-only."""
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "server.web.factory:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        # Our access log (server.web.access) carries the request id; granian's would not.
        log_access=False,
        log_dictconfig=logging_config(log_format),
        # A worker that dies (it should not: queries run in their own processes) comes back.
        respawn_failed_workers=True,
        # Graceful stop: in-flight requests get this long, like gunicorn's graceful_timeout.
        workers_kill_timeout=10,
    ).serve()


def run_gunicorn(
    *, host: str, port: int, workers: int, threads: int, log_format: str = "text"
) -> None:
    """Serve the app with gunicorn (gthread); each worker opens the store read-only."""
    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            options = _gunicorn_options(host, port, workers, threads, log_format)
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from .factory import create_app

            return create_app()

    _Gunicorn().run()


def _gunicorn_options(
    host: str, port: int, workers: int, threads: int, log_format: str
) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # Our access log (server.web.access) carries the request id; gunicorn's would not.
        "accesslog": None,
        "logconfig_dict": logging_config(log_format),
        "child_exit": _child_exit,
        "graceful_timeout": 10,
        "timeout": 60,
        # Long GET queries: the most gunicorn allows (its default 4094 answers 414 sooner).
        "limit_request_line": MAX_REQUEST_LINE,
    }


def _child_exit(server: Any, worker: Any) -> None:
    # A worker that is gone must not keep reporting live gauges in /metrics.
    from .metrics import process_exited

    process_exited(worker.pid)
