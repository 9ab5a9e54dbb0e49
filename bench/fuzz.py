"""A bounded, seeded fuzz run against a real server: hostile paths, headers, methods, bodies
and raw malformed request lines; every request must be answered, never with a 5xx other
than 503 with Retry-After, never with a traceback, and the server must be alive at the end.

``python -m bench.fuzz --n 20000`` (``./run fuzz``) starts ``escp4i serve`` on loopback,
runs the cases and writes ``bench/results/fuzz.md``; the test suite runs a few thousand.
"""

from __future__ import annotations

import argparse
import http.client
import random
import socket
import string
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

PATHS = [
    "/",
    "/health",
    "/sparql",
    "/api/queries",
    "/api/queries/partnerships",
    "/api/queries/partnership-members",
    "/api/queries/search",
    "/api/openapi.json",
    "/partnerships",
    "/clusters",
    "/countries",
    "/dataset",
    "/validation",
    "/ontology",
    "/shapes",
    "/search",
    "/sources/",
    "/sources/countries.csv",
    "/metrics",
    "/def",
    "/graph/data",
    "/id/partnership/adpack",
    "/id/cluster/packbridge",
    "/id/country/be",
    "/id/membership/adpack/packbridge",
    "/id/continuity/adpack-to-adpack2",
    "/id/sector/packaging",
    "/id/figure/gen2-start",
    "/dumps/escp4i-data.ttl",
    "/static/site.css",
    "/favicon.ico",
]
HOSTILE = [
    "<",
    ">",
    "`",
    "{",
    "}",
    "|",
    "\\",
    "^",
    "\t",
    " ",
    "[",
    "]",
    '"',
    "%",
    "%Pt",
    "%zz",
    "%00",
    "%ff%fe",
    "..",
    "//",
    "\u00e9",
    "\u2603",
    "\U0001f600",
    "\x7f",
    ";",
    "#",
    "?",
]
METHODS = [
    "GET",
    "GET",
    "GET",
    "POST",
    "POST",
    "HEAD",
    "OPTIONS",
    "PUT",
    "DELETE",
    "PATCH",
    "TRACE",
    "FOO",
]
ACCEPTS = [
    "*/*",
    "text/html",
    "text/turtle",
    "application/sparql-results+json",
    "application/ld+json",
    "text/csv",
    "image/png",
    "x/y;q=abc",
    "text/*;q=0",
    ",,,;;;",
    "a" * 3000,
    "",
]
QUERIES = [
    "ASK {}",
    "SELECT * { ?s ?p ?o } LIMIT 3",
    "SELECT",
    "{" * 200,
    "SELECT * { SERVICE <http://x/> {} }",
    "DESCRIBE <https://w3id.org/escp4i/id/partnership/adpack>",
    "INSERT DATA { <a> <b> <c> }",
    "SELECT * FROM <x:y> { ?s ?p ?o }",
    "\x00",
    "PREFIX : <" + "x" * 500 + "> ASK {}",
]
PARAMS = [
    "query",
    "format",
    "page",
    "q",
    "partnership",
    "generation",
    "evidence",
    "country",
    "default-graph-uri",
    "named-graph-uri",
    "update",
    "output",
    "results",
    "minimum",
]
RAW = [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 20000 + b"\r\n\r\n",
    b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /sparql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"\r\n\r\n\r\n",
    b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
]


@dataclass(frozen=True)
class Case:
    """One request: either an HTTP request or raw bytes sent on a socket."""

    method: str = "GET"
    target: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    raw: bytes | None = None


@dataclass
class Outcome:
    """What the runs saw, summed."""

    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    raw_answered: int = 0
    raw_closed: int = 0
    seconds: float = 0.0

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())


def cases(seed: int, n: int) -> Iterator[Case]:
    """Yield n seeded cases; the same seed gives the same cases."""
    rng = random.Random(seed)  # noqa: S311  # seeded test cases, not secrets
    for i in range(n):
        if i % 25 == 24:
            yield Case(raw=rng.choice(RAW))
            continue
        path = rng.choice(PATHS)
        if rng.random() < 0.6:
            # After the leading slash: a target without one is a malformed request line (raw cases).
            cut = rng.randrange(1, len(path) + 1)
            path = (
                path[:cut]
                + "".join(rng.choice(HOSTILE) for _ in range(rng.randint(1, 4)))
                + path[cut:]
            )
        path = _encodable(path)
        params = []
        for _ in range(rng.randint(0, 3)):
            name = rng.choice(PARAMS)
            value = rng.choice(QUERIES) if name == "query" else _junk(rng)
            params.append(f"{quote(name)}={quote(value, safe='')}")
        if rng.random() < 0.1:
            params.append("%zz=%G1&&=&" + "x" * rng.randint(0, 3000))
        target = path + ("?" + "&".join(params) if params else "")
        headers = [("Accept", rng.choice(ACCEPTS))]
        if rng.random() < 0.3:
            headers.append(
                ("Accept-Encoding", rng.choice(["gzip", "br", "identity;q=0", "*", "zz"]))
            )
        if rng.random() < 0.2:
            headers.append(("If-None-Match", rng.choice(['"x"', "*", "W/", '"' + "a" * 300])))
        if rng.random() < 0.2:
            headers.append(("X-Request-ID", _junk(rng, header=True)))
        method = rng.choice(METHODS)
        body = b""
        if method in ("POST", "PUT", "PATCH"):
            kind = rng.random()
            size = rng.choice([0, 1, 100, 10_000, 300_000, 1_200_000])
            if kind < 0.4:
                body = ("query=" + quote(rng.choice(QUERIES))).encode() + b"&x=" + b"y" * size
                headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            elif kind < 0.7:
                body = rng.choice(QUERIES).encode() + b" #" + b"z" * size
                headers.append(
                    (
                        "Content-Type",
                        rng.choice(
                            ["application/sparql-query", "application/sparql-update", "text/plain"]
                        ),
                    )
                )
            else:
                body = rng.randbytes(size)
                headers.append(
                    (
                        "Content-Type",
                        rng.choice(["application/octet-stream", "multipart/form-data", "bogus"]),
                    )
                )
        yield Case(method, target, tuple(headers), body)


def run(url: str, all_cases: list[Case], *, threads: int = 4, timeout: float = 30.0) -> Outcome:
    """Send the cases over ``threads`` connections; return what came back."""
    parts = urlsplit(url)
    host, port = str(parts.hostname), int(parts.port or 80)
    outcome = Outcome()
    lock = threading.Lock()
    started = time.monotonic()

    def worker(index: int) -> None:
        for case in all_cases[index::threads]:
            result = _send(host, port, case, timeout)
            with lock:
                if isinstance(result, int):
                    outcome.statuses[result] += 1
                elif result == "raw-closed":
                    outcome.raw_closed += 1
                elif result == "raw-answered":
                    outcome.raw_answered += 1
                else:
                    outcome.problems.append(result)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    outcome.seconds = time.monotonic() - started
    return outcome


def _send(host: str, port: int, case: Case, timeout: float) -> int | str:
    if case.raw is not None:
        return _send_raw(host, port, case.raw, timeout)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.putrequest(case.method, case.target, skip_accept_encoding=True)
        for name, value in case.headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(case.body)))
        connection.endheaders(case.body or None)
        reply = connection.getresponse()
        body = reply.read()
    except (OSError, http.client.HTTPException) as exc:
        return f"{case.method} {case.target[:120]}: no answer ({type(exc).__name__}: {exc})"
    finally:
        connection.close()
    if reply.status >= 500 and not (reply.status == 503 and reply.getheader("Retry-After")):
        return f"{case.method} {case.target[:120]}: {reply.status}"
    if b"Traceback (most recent call last)" in body:
        return f"{case.method} {case.target[:120]}: traceback in the body"
    return reply.status


def _send_raw(host: str, port: int, data: bytes, timeout: float) -> str:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            reply = sock.recv(65536)
        except OSError:
            return "raw-closed"
    if not reply:
        return "raw-closed"
    status = reply.split(b" ", 2)[1:2]
    if status and status[0][:1] == b"5":
        return f"raw {data[:40]!r}: {reply[:80]!r}"
    return "raw-answered"


def _junk(rng: random.Random, *, header: bool = False) -> str:
    # A header value can hold any visible ASCII (http.client refuses CR, LF and non-Latin-1).
    if header:
        alphabet = string.ascii_letters + string.digits + string.punctuation + " "
    else:
        alphabet = string.printable + "\u00e9\u2603<>\"'{}|"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def _encodable(path: str) -> str:
    """Percent-encode what may not stand raw in a request-target (RFC 9112 §3.2, RFC 3986).

    The decoded path stays hostile (brackets, quotes, controls, bad UTF-8) and the server
    must refuse it; a raw illegal request line is a malformed request, sent in the raw cases.
    A ``%`` stays raw so that bad percent-encodings (``%Pt``, ``%zz``) reach the server.
    """
    return "".join(ch if ch in _RAW_OK else quote(ch, safe="") for ch in path)


_RAW_OK: Final = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/?%")


def report(outcome: Outcome, *, n: int, seed: int) -> str:
    """Return the run as a Markdown page."""
    rows = "\n".join(
        f"| {status} | {count} |" for status, count in sorted(outcome.statuses.items())
    )
    problems = "\n".join(f"- {p}" for p in outcome.problems[:50]) or "none"
    return (
        f"# Fuzz run\n\n{n} seeded cases (seed {seed}) against `escp4i serve` on loopback in "
        f"{outcome.seconds:.1f} s.\n\n| status | answers |\n|---|---|\n{rows}\n\n"
        f"Raw malformed request lines (sent on a socket): {outcome.raw_answered} answered "
        f"with a 4xx, {outcome.raw_closed} closed by the server without an answer (allowed "
        f"for a request that is not HTTP).\n\n"
        f"Problems (no answer, a 5xx other than 503 with Retry-After, a traceback): "
        f"{len(outcome.problems)}\n\n{problems}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--url", help="fuzz a server that is already running")
    args = parser.parse_args()
    if args.url:
        outcome = run(args.url, list(cases(args.seed, args.n)))
    else:
        outcome = _with_server(args.seed, args.n)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = report(outcome, n=args.n, seed=args.seed)
    (RESULTS / "fuzz.md").write_text(text, encoding="utf-8")
    print(text)


def _with_server(seed: int, n: int) -> Outcome:
    import subprocess
    import sys
    import tempfile
    import urllib.request

    from server.build.pipeline import build
    from server.vocab import DEFAULT_BASE_IRI

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "var"
        build(ROOT, out, base_iri=DEFAULT_BASE_IRI, version="fuzz")
        port = _free_port()
        command = [
            str(Path(sys.executable).parent / "escp4i"),
            "--data-dir",
            str(out),
            "serve",
            "--port",
            str(port),
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url + "/health", timeout=2):  # noqa: S310  # loopback
                        break
                except OSError:
                    time.sleep(0.2)
            outcome = run(url, list(cases(seed, n)))
            with urllib.request.urlopen(url + "/health", timeout=5) as reply:  # noqa: S310
                if reply.status != 200:
                    outcome.problems.append("the server is not healthy after the run")
        finally:
            process.terminate()
            process.wait(timeout=20)
    return outcome


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
