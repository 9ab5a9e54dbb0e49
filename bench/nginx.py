"""Scale-out: the product through nginx over two replicas, beside one instance direct.

Part of ``python -m bench``: each replica is ``escp4i serve --workers 2 --threads 4`` over
its own copy of the release folder, and nginx (deploy/nginx.conf.template, started by
tests/nginx.py) balances over both and caches what the app allows. The direct figures are
one of the same replicas, asked without nginx. Runs are interleaved per target and
rotated; every answer through nginx is first checked against the direct one.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.parse
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from bench import load, procs
from server.build.info import CURRENT, SERVED_BY, BuildInfo
from tests.nginx import NGINX, start_nginx

CLIENTS: Final = 16
JSON_RESULTS: Final = "application/sparql-results+json"
QUERY: Final = (
    "SELECT ?s ?label WHERE { ?s a <https://w3id.org/escp4i/def#Partnership> ; "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label }"
)
DIRECT: Final = "product (direct)"
THROUGH: Final = "nginx → 2 replicas"
#: (label, path, headers). The page and the SPARQL GET answer are ones the app lets a shared
#: cache keep (Cache-Control: public, max-age, and an ETag), so nginx answers their repeats;
#: ``no-cache`` passes nginx and the app's caches and reaches the engine.
TARGETS: Final[tuple[tuple[str, str, dict[str, str]], ...]] = (
    ("partnership page (HTML)", "/id/partnership/adpack", {"Accept": "text/html"}),
    (
        "partnership page (HTML), no-cache",
        "/id/partnership/adpack",
        {"Accept": "text/html", "Cache-Control": "no-cache"},
    ),
    (
        "SELECT partnerships",
        "/sparql?" + urllib.parse.urlencode({"query": QUERY}),
        {"Accept": JSON_RESULTS},
    ),
    (
        "SELECT partnerships, no-cache",
        "/sparql?" + urllib.parse.urlencode({"query": QUERY}),
        {"Accept": JSON_RESULTS, "Cache-Control": "no-cache"},
    ),
    ("health", "/health", {}),
)


def available() -> bool:
    """Tell whether Debian's nginx is installed (``./run e2e-deps`` installs it)."""
    return Path(NGINX).exists()


def compare(release: BuildInfo, work: Path, seconds: float) -> list[dict[str, Any]]:
    """Return one row per target and way in (``bench.__main__.Row`` fields), printing each."""
    if not available():
        print(f"nginx figures left out: {NGINX} is missing (run `./run e2e-deps`)", flush=True)
        return []
    folders = [_replica(Path(release.path), work / f"replica{i}") for i in range(2)]
    replicas: list[procs.Server] = []
    rows: list[dict[str, Any]] = []
    try:
        for folder in folders:
            replicas.append(procs.product(folder, workers=2, threads=4))
        with start_nginx([r.url for r in replicas]) as proxy:
            bases = {DIRECT: replicas[0].url, THROUGH: proxy.url}
            for _, path, headers in TARGETS:
                _check(bases, path, headers)
            time.sleep(1)
            for i, (label, path, headers) in enumerate(TARGETS):
                order = [DIRECT, THROUGH][i % 2 :] + [DIRECT, THROUGH][: i % 2]
                for name in order:
                    r = load.run(
                        bases[name] + path, clients=CLIENTS, seconds=seconds, headers=headers
                    )
                    row: dict[str, Any] = {
                        "scale": 1,
                        "target": label,
                        "kind": "nginx",
                        "server": name,
                    }
                    row.update(clients=CLIENTS, **asdict(r), selective=True)
                    rows.append(row)
                    print(
                        f"x1 c{CLIENTS} {label:38} {name:18} {r.rps:9.1f} rps "
                        f"p50 {r.p50_ms:7.2f} ms p99 {r.p99_ms:7.2f} ms err {r.errors}",
                        flush=True,
                    )
    finally:
        for replica in replicas:
            replica.stop()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _replica(build_dir: Path, data_dir: Path) -> Path:
    """Copy the release folder into a data folder of its own, pointed at by ``current``."""
    copy = data_dir / "builds" / build_dir.name
    shutil.copytree(build_dir, copy, ignore=shutil.ignore_patterns(SERVED_BY))
    link = data_dir / f".{CURRENT}.copy"
    link.symlink_to(copy.relative_to(data_dir))
    os.replace(link, data_dir / CURRENT)
    return data_dir


def _check(bases: dict[str, str], path: str, headers: dict[str, str]) -> None:
    """Stop the run unless nginx gives the direct answer (Host alike: pages quote it)."""
    host = urllib.parse.urlsplit(bases[THROUGH]).netloc
    bodies = {}
    for name, base in bases.items():
        req = urllib.request.Request(base + path, headers={**headers, "Host": host})  # noqa: S310
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback
            bodies[name] = resp.read()
    if bodies[DIRECT] != bodies[THROUGH]:
        raise SystemExit(f"nginx answers {path} unlike the instance it proxies")
