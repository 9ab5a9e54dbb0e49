"""Default settings and the project folder; light to import (the CLI and server master use it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

DEFAULT_BASE_IRI: Final = "https://w3id.org/escp4i/"
PROJECT_DIR: Final = Path(__file__).resolve().parents[1]
BACKENDS: Final = ("embedded", "sparql")

DEFAULTS: Final[dict[str, Any]] = {
    "BACKEND": "embedded",
    "SPARQL_URL": None,
    # How the remote engine differs from the SPARQL 1.1 standard (server/store/dialects.py):
    # auto (from its Server header), standard, virtuoso or comunica.
    "SPARQL_DIALECT": "auto",
    "DATA_DIR": str(PROJECT_DIR / "var"),
    "PROJECT_DIR": str(PROJECT_DIR),
    "BASE_IRI": DEFAULT_BASE_IRI,
    "QUERY_TIMEOUT": 10.0,
    "MAX_ROWS": 100_000,
    "MAX_CONTENT_LENGTH": 1_000_000,
    # A refused body is read and discarded up to this much, so the client sees the 413.
    "DRAIN_MAX_MB": 64,
    "DRAIN_SECONDS": 10.0,
    # User queries run in this many worker processes per server process, each capped in memory.
    "QUERY_WORKERS": 2,
    "QUERY_MEMORY_MB": 2048,
    # Of those, how many run a young query at once (one past 0.25 s no longer counts), so
    # that queries do not outnumber the cores; `escp4i serve` sets cores / server workers.
    "QUERY_CONCURRENCY": 1,
    # The query processes' allocator: auto (jemalloc where installed), system, or a library path.
    "QUERY_MALLOC": "auto",
    # Screened before parsing: deeper nesting crashes the engine (STACK.md).
    "QUERY_MAX_DEPTH": 64,
    "QUERY_MAX_OPERATORS": 1000,
    "ANSWER_CACHE_MB": 64,
    # Per client address and server process: uncached user queries at once, and seconds of
    # query time per minute; past either, 429 with Retry-After.
    "CLIENT_MAX_QUERIES": 2,
    "CLIENT_QUERY_SECONDS": 30.0,
    # Whole GET responses of the release, replayed before Flask runs; 0 turns it off.
    "RESPONSE_CACHE_MB": 64,
    # Serve the build data/current points at, swapping in place when `escp4i build` moves it.
    "FOLLOW_CURRENT": True,
    # Render the pages made from whole-release lists at start and after a swap, in the
    # background, so that no visitor waits for those lists (server/web/warm.py).
    "WARM_PAGES": True,
    # Items per browse page, and per list on the landing page.
    "LIST_PAGE_SIZE": 100,
    # Proxy hops in front whose X-Forwarded-For/-Proto/-Host are believed (1 behind
    # deploy/nginx); 0 believes none, so a client cannot forge its address.
    "TRUSTED_PROXIES": 0,
    # Answer a plain GET /sparql?query=... without Flask's dispatch (server/web/sparql/fastpath.py).
    "SPARQL_FAST_PATH": True,
}

__all__ = ["BACKENDS", "DEFAULTS", "DEFAULT_BASE_IRI", "PROJECT_DIR"]
