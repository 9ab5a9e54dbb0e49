"""Search at scale: ``/search`` from the release's index, beside the scan it replaced.

Two product servers over one build: one with the build's search index, one over a copy
of the build folder (links to the same store) without it, which falls back to the scan
of the store. Every run is one client, uncached (``Cache-Control: no-cache``).
"""

from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import pyoxigraph as ox

from bench import load, procs
from server.build import indexer, searchindex
from server.build.info import BuildInfo

#: Searches people type: a prefix, an accented phrase, an acronym, two words, a theme.
QUERIES: Final = ("aero", "pôle MER", "AdPack", "smart pack", "photonics")
TARGET_MS: Final = 20.0
INDEXED: Final = "product (search index)"
SCANNED: Final = "product (search scan)"
#: The page a person sees, rendered each time.
_HEADERS: Final = {"Accept": "text/html", "Cache-Control": "no-cache"}
_TOTAL: Final = re.compile(r'<h2 id="results">(\d+) result')


class Timed(Protocol):
    """A results row of the benchmark, as bench.__main__ keeps them."""

    scale: int
    target: str
    kind: str
    server: str
    clients: int
    p50_ms: float
    rps: float
    requests: int


def bench(scale: int, data_dir: Path, seconds: float) -> list[dict[str, Any]]:
    """Time ``/search`` on both servers; return rows with the fields of bench.__main__.Row.

    A wrong answer stops the run.
    """
    build_dir = data_dir / "current"
    ensure_index(build_dir.resolve())
    scan_dir = _without_index(build_dir.resolve(), data_dir.parent / "search-scan" / "var")
    rows: list[dict[str, Any]] = []
    servers: dict[str, procs.Server] = {}
    try:
        slow = {"ESCP_QUERY_TIMEOUT": "120"}
        servers[INDEXED] = procs.product(data_dir, workers=2, threads=4, env=slow)
        servers[SCANNED] = procs.product(scan_dir, workers=2, threads=4, env=slow)
        for query in QUERIES:
            urls = {name: _url(server, query) for name, server in servers.items()}
            single = _check(query, urls)
            for name, url in urls.items():
                span = min(max(seconds, 5 * single[name]), 15.0)
                r = load.run(url, clients=1, seconds=span, headers=_HEADERS)
                if not r.requests:
                    # A scan slower than the run: its one checked answer is the time measured.
                    ms = single[name] * 1000
                    r = load.Load(1000 / ms, ms, ms, 1, r.errors)
                rows.append(
                    {
                        "scale": scale,
                        "target": f"search {query!r}",
                        "kind": "search",
                        "server": name,
                        "clients": 1,
                        "rps": r.rps,
                        "p50_ms": r.p50_ms,
                        "p99_ms": r.p99_ms,
                        "requests": r.requests,
                        "errors": r.errors,
                        "selective": False,
                    }
                )
                print(
                    f"x{scale} c1 search {query!r:30} {name:24} {r.rps:9.1f} rps "
                    f"p50 {r.p50_ms:7.2f} ms p99 {r.p99_ms:7.2f} ms err {r.errors}",
                    flush=True,
                )
    finally:
        for server in servers.values():
            server.stop()
    return rows


def checks(rows: Sequence[Timed]) -> list[tuple[str, bool]]:
    """Return a pass/fail line per search at the largest scale: index p50 under the target."""
    if not rows:
        return []
    big = max(r.scale for r in rows)
    mine = {(r.target, r.server): r for r in rows if r.scale == big and r.kind == "search"}
    out = []
    for query in QUERIES:
        target = f"search {query!r}"
        indexed, scanned = mine.get((target, INDEXED)), mine.get((target, SCANNED))
        if indexed is None:
            continue
        scan = f"{scanned.p50_ms:.1f} ms, {scanned.requests} request(s)" if scanned else "not run"
        out.append(
            (
                f"x{big} /search p50 < {TARGET_MS:g} ms at 1 client, {query!r}: index "
                f"{indexed.p50_ms:.2f} ms (the scan it replaced: {scan})",
                indexed.rps > 0 and indexed.p50_ms < TARGET_MS,
            )
        )
    return out


def ensure_index(build_dir: Path) -> dict[str, Any]:
    """Write the build's index if it has none (scaled builds skip the pipeline); say how long."""
    path = build_dir / searchindex.FILE
    info = BuildInfo.load(build_dir)
    started = time.monotonic()
    if path.exists():
        return {"search_index": "from the build", "bytes": path.stat().st_size}
    store = ox.Store.read_only(str(build_dir / "store"))
    record = indexer.write(store, path, base_iri=info.base_iri, content_hash=info.content_hash)
    del store
    return {"search_index_s": round(time.monotonic() - started, 2), **record}


def _without_index(build_dir: Path, var: Path) -> Path:
    """Return a data folder serving the same build through links, without its index."""
    copy = var / "builds" / build_dir.name
    copy.mkdir(parents=True, exist_ok=True)
    for item in build_dir.iterdir():
        if item.name not in (searchindex.FILE, "served-by") and not (copy / item.name).exists():
            (copy / item.name).symlink_to(item)
    current = var / "current"
    if not current.is_symlink():
        current.symlink_to(copy.relative_to(var))
    return var


def _url(server: procs.Server, query: str) -> str:
    return f"{server.url}/search?{urllib.parse.urlencode({'q': query})}"


def _check(query: str, urls: dict[str, str]) -> dict[str, float]:
    """Fetch each answer once: the index must find all the scan finds; return the times."""
    totals, times = {}, {}
    for name, url in urls.items():
        started = time.monotonic()
        req = urllib.request.Request(url, headers=_HEADERS)  # noqa: S310 - loopback
        with urllib.request.urlopen(req, timeout=300) as resp:  # noqa: S310 - loopback
            found = _TOTAL.search(resp.read().decode())
        times[name] = time.monotonic() - started
        if found is None:
            raise SystemExit(f"no result count on the search page for {query!r} from {name}")
        totals[name] = int(found.group(1))
    if not totals[INDEXED] or totals[INDEXED] < totals[SCANNED]:
        raise SystemExit(f"wrong search answer for {query!r}: {totals}")
    return times
