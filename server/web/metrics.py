"""Prometheus metrics of the service, counted in every server process and summed on scrape.

Under ``escp4i serve`` each worker process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, set up by the CLI),
and ``/metrics`` adds them up, so a scrape sees the whole server whatever worker answers.
Without that folder (tests, ``--dev``) the values live in this process.
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

#: The environment variable prometheus-client reads for multiprocess mode.
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

REQUESTS: Final = Counter(
    "escp_requests", "HTTP requests answered, by route family and status.", ["family", "status"]
)
LATENCY: Final = Histogram(
    "escp_request_seconds",
    "Time from request to the end of the answer, by route family.",
    ["family"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
QUERIES: Final = Counter(
    "escp_queries",
    "User queries on /sparql by outcome: answered, cached, timeout, crashed, refused, too_large.",
    ["outcome"],
)
CACHE: Final = Counter(
    "escp_cache_lookups",
    "Cache lookups by cache (response, answer) and result.",
    ["cache", "result"],
)
RATE_LIMITED: Final = Counter(
    "escp_rate_limited", "Requests answered 429, by the limit they passed.", ["limit"]
)
RELEASE: Final = Gauge(
    "escp_release_info",
    "The release being served (value 1), by release name.",
    ["release"],
    multiprocess_mode="livemax",
)


#: The first path segment of each route family other than the pages.
_FAMILIES: Final = {
    "sparql": "sparql",
    "api": "api",
    "sources": "sources",
    "static": "static",
    "health": "health",
    "metrics": "metrics",
    "favicon.ico": "static",
}


def family(path: str) -> str:
    """Return the route family of a request path, a bounded label for the metrics.

    >>> family("/sparql"), family("/api/queries/search"), family("/id/partnership/adpack")
    ('sparql', 'api', 'pages')
    >>> family("/"), family("/partnerships"), family("/metrics")
    ('home', 'home', 'metrics')
    """
    if path == "/" or path in ("/partnerships", "/clusters", "/countries"):
        return "home"
    head = path.split("/", 2)[1] if path.count("/") else ""
    return _FAMILIES.get(head, "pages")


def exposition() -> bytes:
    """Return every metric in the Prometheus text format, summed over the server's processes."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]  # untyped in the library
    return generate_latest(registry)


def process_exited(pid: int) -> None:
    """Forget the live gauges of a worker process that has exited (gunicorn's child_exit)."""
    if os.environ.get(MULTIPROC_ENV):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # untyped
