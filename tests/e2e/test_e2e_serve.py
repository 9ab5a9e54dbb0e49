"""``escp4i serve`` with each production server: ready, logging, long URLs, graceful stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest
from servers import data_dir, start_app_server

from server.build.info import BuildInfo
from server.store.embedded import EmbeddedStore

pytestmark = pytest.mark.e2e

PARTNERSHIPS = "SELECT ?p WHERE { ?p a <https://w3id.org/escp4i/def#Partnership> }"


def _count(store: EmbeddedStore, query: str) -> int:
    result = store.query(query)
    assert isinstance(result, ox.QuerySolutions)
    return len(list(result))


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_each_production_server_serves_logs_and_stops_gracefully(
    built: BuildInfo, store: EmbeddedStore, server: str
) -> None:
    args = ["--server", server, "--workers", "1", "--threads", "2"]
    site = start_app_server({"ESCP_DATA_DIR": data_dir(built)}, args=args)
    try:
        with urllib.request.urlopen(site.url + "/health", timeout=10) as reply:
            health = json.load(reply)
        assert health["status"] == "ok" and health["release"] == built.release
        # A GET query padded to ~7,000 bytes of URL: both servers must take it.
        padded = PARTNERSHIPS + " #" + "x" * 7000
        url = site.url + "/sparql?" + urllib.parse.urlencode({"query": padded})
        assert len(url) > 7000
        request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            rows = json.load(reply)["results"]["bindings"]
        assert len(rows) == _count(store, PARTNERSHIPS) > 0
        # A request in flight when SIGTERM arrives is still answered.
        answered: dict[str, int] = {}

        def slow_page() -> None:
            with urllib.request.urlopen(site.url + "/", timeout=20) as reply:
                reply.read()
                answered["status"] = reply.status

        thread = threading.Thread(target=slow_page)
        thread.start()
        time.sleep(0.05)
        os.kill(site.pid, signal.SIGTERM)
        thread.join(timeout=20)
        code = site.process.wait(timeout=20)
        assert answered.get("status") == 200
        assert code == 0, site.log_tail()
        log = site.log.read_text(encoding="utf-8", errors="replace")
        # The access log names each request.
        assert "GET /health" in log and "GET /sparql" in log, log[-2000:]
        assert "Traceback" not in log, log[-3000:]
    finally:
        site.stop()


def test_serve_refuses_an_unknown_server_or_worker_count(tmp_path: Path) -> None:
    binary = str(Path(sys.executable).parent / "escp4i")
    for args, word in (
        (["--server", "waitress"], "waitress"),
        (["--workers", "0"], "workers"),
    ):
        done = subprocess.run(
            [binary, "--data-dir", str(tmp_path), "serve", *args],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 2, done.stderr
        assert word in done.stderr and "Traceback" not in done.stderr
