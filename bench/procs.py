"""Start and stop the servers under test on loopback, by PID, and read their memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server process under test."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    ready_s: float
    #: Seconds from start until its processes had warmed their pages (the product only).
    warm_s: float | None = None

    def rss_mb(self) -> float:
        """Resident memory of the process and all its descendants, in MB.

        A sum of RSS counts a page shared by several processes (forked workers) once
        per process: it overstates a multi-process server; see ``pss_mb``.
        """
        return sum(_proc_kb(pid, "status", "VmRSS:") for pid in _tree(self.proc.pid)) / 1024

    def pss_mb(self) -> float:
        """Proportional memory of the process tree in MB: shared pages split among sharers."""
        return sum(_proc_kb(pid, "smaps_rollup", "Pss:") for pid in _tree(self.proc.pid)) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start(name: str, argv: list[str], probe: str, env: dict[str, str] | None = None) -> Server:
    """Start a server and wait until ``probe`` (a URL) answers 200; time it."""
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - argv built by this module from fixed parts
        argv,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = started + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(probe, timeout=2) as resp:  # noqa: S310 - loopback URL
                if resp.status == 200:
                    base = probe.split("/", 3)
                    return Server(name, "/".join(base[:3]), proc, time.monotonic() - started)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{name} was not ready within 120 s")


def product(
    data_dir: Path,
    *,
    workers: int,
    threads: int,
    env: dict[str, str] | None = None,
    server: str | None = None,
) -> Server:
    """The product's production command, ``escp4i serve`` (its default server unless named)."""
    port = free_port()
    argv = [
        str(VENV_BIN / "escp4i"),
        "--data-dir",
        str(data_dir),
        "serve",
        *(["--server", server] if server else []),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    # One load generator is one client address: the per-client fairness caps would measure
    # themselves (429s), not the engine, so the benchmark lifts them.
    env = {"ESCP_CLIENT_MAX_QUERIES": "100000", "ESCP_CLIENT_QUERY_SECONDS": "1e12", **(env or {})}
    name = "product→oxigraph" if env.get("ESCP_BACKEND") == "sparql" else "product"
    if server:
        name += f" ({server})"
    started = time.monotonic()
    up = start(name, argv, f"http://127.0.0.1:{port}/health", env)
    up.warm_s = _wait_warm(up.url + "/health", started)
    return up


def _wait_warm(health: str, started: float, *, seconds: float = 300.0) -> float:
    """Wait until /health says the pages are warmed, 10 answers in a row (one per worker
    is not known: the answers come from any of them); return the seconds since start."""
    deadline = time.monotonic() + seconds
    in_a_row = 0
    while in_a_row < 10:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{health} did not report warm pages within {seconds:g} s")
        req = urllib.request.Request(health, headers={"Cache-Control": "no-cache"})  # noqa: S310
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback URL
            warm = bool(json.load(resp).get("pages_warmed"))
        in_a_row = in_a_row + 1 if warm else 0
        time.sleep(0.02 if warm else 0.2)
    return time.monotonic() - started


def oxigraph(store_dir: Path) -> Server:
    """The Oxigraph server over the same store, read-only, default graph = union."""
    port = free_port()
    argv = [
        str(VENV_BIN / "oxigraph"),
        "serve-read-only",
        "--location",
        str(store_dir),
        "--bind",
        f"127.0.0.1:{port}",
        "--union-default-graph",
    ]
    return start("oxigraph", argv, f"http://127.0.0.1:{port}/query?query=ASK%7B%7D")


def rdflib_endpoint(nt_file: Path) -> Server:
    """rdflib-endpoint over the same triples (the union of the graphs, as one file), at /."""
    port = free_port()
    argv = [
        str(VENV_BIN / "rdflib-endpoint"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        str(nt_file),
    ]
    return start("rdflib-endpoint", argv, f"http://127.0.0.1:{port}/?query=ASK%7B%7D")


def tree(pid: int) -> list[int]:
    """Return a process and all its descendants."""
    return _tree(pid)


def rss_kb(pid: int) -> int:
    """Return a process's resident memory in kB; 0 once it is gone."""
    return _proc_kb(pid, "status", "VmRSS:")


def _tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pids
    for child in children:
        pids.extend(_tree(int(child)))
    return pids


def _proc_kb(pid: int, file: str, field: str) -> int:
    """Read one ``kB`` field of /proc/PID/FILE; 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0
