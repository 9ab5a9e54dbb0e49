"""Which production server: the product under granian and under gunicorn, side by side.

``python -m bench --servers``. Same app, same store, same worker and thread counts;
only the WSGI server differs. Runs are interleaved per target and rotated.
"""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path

from bench import load, procs

SERVERS = ("granian", "gunicorn")
JSON_RESULTS = "application/sparql-results+json"
QUERY = "SELECT ?s ?label WHERE { ?s a <https://w3id.org/escp4i/def#Partnership> ; <http://www.w3.org/2000/01/rdf-schema#label> ?label }"  # noqa: E501

#: (label, path, headers): cached and uncached variants of what the product serves.
TARGETS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("partnership page (HTML), cached", "/id/partnership/adpack", {"Accept": "text/html"}),
    (
        "partnership page (HTML), uncached",
        "/id/partnership/adpack",
        {"Accept": "text/html", "Cache-Control": "no-cache"},
    ),
    (
        "SELECT partnerships, uncached",
        "/sparql?" + urllib.parse.urlencode({"query": QUERY}),
        {"Accept": JSON_RESULTS, "Cache-Control": "no-cache"},
    ),
    (
        "SELECT partnerships, cached",
        "/sparql?" + urllib.parse.urlencode({"query": QUERY}),
        {"Accept": JSON_RESULTS},
    ),
    ("health", "/health", {}),
)


def compare(
    data_dir: Path, clients: tuple[int, ...], seconds: float
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Return (server facts, load rows) for each production server."""
    running: dict[str, procs.Server] = {}
    facts: list[dict[str, object]] = []
    rows: list[dict[str, object]] = []
    try:
        for name in SERVERS:
            server = procs.product(data_dir, workers=2, threads=4, server=name)
            running[name] = server
            facts.append({"server": name, "ready_s": round(server.ready_s, 3), "idle_rss_mb": 0.0})
        time.sleep(1)
        for fact in facts:
            fact["idle_rss_mb"] = round(running[str(fact["server"])].rss_mb(), 1)
            fact["idle_pss_mb"] = round(running[str(fact["server"])].pss_mb(), 1)
        for n in clients:
            for i, (label, path, headers) in enumerate(TARGETS):
                order = SERVERS[i % 2 :] + SERVERS[: i % 2]
                for name in order:
                    r = load.run(
                        running[name].url + path, clients=n, seconds=seconds, headers=headers
                    )
                    rows.append(
                        {
                            "target": label,
                            "clients": n,
                            "server": name,
                            "rps": r.rps,
                            "p50_ms": r.p50_ms,
                            "p99_ms": r.p99_ms,
                            "errors": r.errors,
                        }
                    )
                    print(
                        f"c{n} {label:36} {name:9} {r.rps:9.1f} rps p50 {r.p50_ms:7.2f} ms "
                        f"p99 {r.p99_ms:7.2f} ms err {r.errors}",
                        flush=True,
                    )
        for fact in facts:
            fact["loaded_rss_mb"] = round(running[str(fact["server"])].rss_mb(), 1)
            fact["loaded_pss_mb"] = round(running[str(fact["server"])].pss_mb(), 1)
    finally:
        for server in running.values():
            server.stop()
    return facts, rows


def table(rows: list[dict[str, object]]) -> list[str]:
    """Markdown rows, with granian's throughput as a multiple of gunicorn's."""
    out = [
        "| clients | target | server | req/s | p50 ms | p99 ms | errors | ÷ gunicorn req/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = {
        (r["clients"], r["target"]): float(str(r["rps"])) for r in rows if r["server"] == "gunicorn"
    }
    for r in rows:
        ref = base.get((r["clients"], r["target"]))
        ratio = f"{float(str(r['rps'])) / ref:.2f}x" if ref else "–"
        out.append(
            f"| {r['clients']} | {r['target']} | {r['server']} | {float(str(r['rps'])):.1f} | "
            f"{float(str(r['p50_ms'])):.2f} | {float(str(r['p99_ms'])):.2f} | {r['errors']} | "
            f"{ratio} |"
        )
    return out
