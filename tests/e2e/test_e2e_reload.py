"""A release going out under load: 8 clients, a new build, the new release served, no failure."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from loads import Load
from servers import Server, start_app_server

from server.build.info import BuildInfo, current_build, served_by
from server.build.pipeline import build
from server.vocab import DEFAULT_BASE_IRI

pytestmark = pytest.mark.e2e

ESCP4I = str(Path(sys.executable).parent / "escp4i")
OLD_LABEL = "Future Materials and Products for Advanced Smart Packaging"
NEW_LABEL = "Future Materials and Products for Advanced Smart Packaging (reloaded)"
#: Mixed load: pages in two formats, the landing page, uncached SPARQL, the API, health.
REQUESTS = [
    ("/id/partnership/adpack", {"Accept": "text/html"}),
    ("/id/partnership/adpack", {"Accept": "text/turtle", "Cache-Control": "no-cache"}),
    ("/", {"Accept": "text/html"}),
    (
        "/sparql?query=" + quote("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"),
        {"Accept": "application/sparql-results+json", "Cache-Control": "no-cache"},
    ),
    ("/api/queries/partnerships", {"Accept": "application/json"}),
    ("/health", {}),
]
CLIENTS = 8
MAX_REQUESTS_PER_CLIENT = 5000


def test_build_with_reload_under_load_serves_the_new_release_and_drops_nothing(
    project_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "var"
    first = build(project_copy, out, base_iri=DEFAULT_BASE_IRI, version="1")
    # The 8 clients share one address: the per-client caps (test_e2e_fairness.py) are lifted,
    # so that every request must be answered 2xx/3xx across the swap.
    env = {
        "ESCP_DATA_DIR": str(out),
        "ESCP_PROJECT_DIR": str(project_copy),
        "ESCP_CLIENT_MAX_QUERIES": "64",
        "ESCP_CLIENT_QUERY_SECONDS": "1e9",
    }
    site = start_app_server(env, args=["--workers", "2", "--threads", "4"])
    try:
        labels_seen: set[str] = set()

        def look(path: str, status: int, body: bytes) -> None:
            if path == "/id/partnership/adpack" and status == 200:
                text = body.decode("utf-8", "replace")
                labels_seen.add("new" if NEW_LABEL in text else "old")

        with Load(
            site.url,
            REQUESTS,
            clients=CLIENTS,
            per_client=MAX_REQUESTS_PER_CLIENT,
            on_reply=look,
        ) as load:
            time.sleep(2)
            data = project_copy / "data" / "partnerships.ttl"
            text = data.read_text(encoding="utf-8")
            assert f'"{OLD_LABEL}"@en' in text
            data.write_text(text.replace(f'"{OLD_LABEL}"@en', f'"{NEW_LABEL}"@en'), "utf-8")
            result = subprocess.run(
                [
                    ESCP4I,
                    "--project-dir",
                    str(project_copy),
                    "--data-dir",
                    str(out),
                    "build",
                    "--reload",
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            built_at = time.monotonic()
            assert result.returncode == 0, result.stderr[-3000:]
            new_release = BuildInfo.load(_current(out)).release
            assert new_release != first.release
            assert _serves(site, new_release, within=5.0), "new release not served within 5 s"
            swapped_after = time.monotonic() - built_at
            time.sleep(2)
        assert load.failures == [], load.failures[:10]
        assert not [s for s in load.statuses if s >= 400], load.statuses
        assert sum(load.statuses.values()) > 100, load.statuses
        assert {"old", "new"} <= labels_seen
        assert f"serves release {new_release}" in result.stdout
        assert swapped_after < 5.0
        # The old build is still on disk while a process may answer from it.
        assert Path(first.path).is_dir()
        # Each of the 2 server processes rendered the list pages of both releases ahead.
        assert _logged(site, f"release {first.release}: pages warmed", times=2, within=30)
        assert _logged(site, f"release {new_release}: pages warmed", times=2, within=30)
        assert "Traceback" not in site.log.read_text(encoding="utf-8", errors="replace")
    finally:
        site.stop()
    # Once the server is gone, nothing serves either build any more.
    assert served_by(Path(first.path)) == []


def _logged(site: Server, line: str, *, times: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if site.log.read_text(encoding="utf-8", errors="replace").count(line) >= times:
            return True
        time.sleep(0.2)
    return False


def _current(out: Path) -> Path:
    path = current_build(out)
    assert path is not None
    return path


def _serves(site: Server, release: str, *, within: float) -> bool:
    parts = urlsplit(site.url)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(
            str(parts.hostname), int(parts.port or 80), timeout=5
        )
        try:
            connection.request("GET", "/health", headers={"Cache-Control": "no-cache"})
            if json.loads(connection.getresponse().read()).get("release") == release:
                return True
        finally:
            connection.close()
        time.sleep(0.05)
    return False
