"""A bounded soak run: 16 clients for 60 s of mixed load against ``escp4i serve`` on loopback.

Pages in every format, cached and uncached SPARQL, the API, search, and a runaway query every
few seconds. It reports errors, latency (p50/p99) per kind, how the runaways were answered, and
the resident memory of the server's process tree after warm-up and at the end; the results go
to ``bench/results/soak.md``. ``python -m bench.soak`` (``./run soak``).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

from bench import procs
from server.build.pipeline import build
from server.vocab import DEFAULT_BASE_IRI

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ADPACK = "https://w3id.org/escp4i/id/partnership/adpack"
FRESH = {"Cache-Control": "no-cache"}
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "page html": ("/id/partnership/adpack", {"Accept": "text/html"}),
    "page turtle": ("/id/cluster/packbridge", {"Accept": "text/turtle", **FRESH}),
    "page json-ld": ("/id/country/be", {"Accept": "application/ld+json", **FRESH}),
    "landing": ("/", {"Accept": "text/html", "Accept-Encoding": "gzip"}),
    "sparql cached": (
        "/sparql?query="
        + quote("SELECT ?p WHERE { ?p a <https://w3id.org/escp4i/def#Partnership> }"),
        {"Accept": "application/sparql-results+json"},
    ),
    "sparql uncached": (
        "/sparql?query=" + quote(f"DESCRIBE <{ADPACK}>"),
        {"Accept": "text/turtle", **FRESH},
    ),
    "api": (
        "/api/queries/partnership-members?partnership=" + quote(ADPACK, safe=""),
        {"Accept": "application/json", **FRESH},
    ),
    "search": ("/search?q=aero", {"Accept": "application/json", **FRESH}),
}
RUNAWAY = "/sparql?query=" + quote("SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")


def soak(url: str, *, clients: int, seconds: float, runaway_every: float) -> dict[str, object]:
    """Run the load; return latencies per kind, statuses, runaway outcomes and errors."""
    host, port = url.removeprefix("http://").split(":")
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[tuple[str, int]] = Counter()
    errors: list[str] = []
    runaways: Counter[int] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    names = list(KINDS)

    def connect(address: str, timeout: float) -> http.client.HTTPConnection:
        # Each client has its own loopback address, as distinct users have distinct addresses.
        return http.client.HTTPConnection(
            host, int(port), timeout=timeout, source_address=(address, 0)
        )

    def client(index: int) -> None:
        address = f"127.0.1.{index + 1}"
        connection = connect(address, 30)
        for n in range(1_000_000):
            if stop.is_set():
                break
            kind = names[(n + index) % len(names)]
            path, headers = KINDS[kind]
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                reply = connection.getresponse()
                reply.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                connection.close()
                connection = connect(address, 30)
                continue
            with lock:
                latencies[kind].append(time.perf_counter() - started)
                statuses[(kind, reply.status)] += 1
                if reply.status >= 400:
                    errors.append(f"{kind}: {reply.status}")
        connection.close()

    def runaway() -> None:
        while not stop.wait(runaway_every):
            connection = connect("127.0.2.1", 60)
            try:
                connection.request("GET", RUNAWAY, headers=FRESH)
                reply = connection.getresponse()
                reply.read()
                with lock:
                    runaways[reply.status] += 1
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"runaway: {type(exc).__name__}")
            finally:
                connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=runaway))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    return {"latencies": latencies, "statuses": statuses, "errors": errors, "runaways": runaways}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runaway-every", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "var"
        build(ROOT, out, base_iri=DEFAULT_BASE_IRI, version="soak")
        server = procs.product(out, workers=2, threads=8, env={"ESCP_QUERY_TIMEOUT": "2"})
        memory: list[tuple[float, float]] = []
        per_process: dict[str, dict[int, float]] = {}
        done = threading.Event()

        def sample() -> None:
            started = time.monotonic()
            while not done.wait(1.0):
                elapsed = time.monotonic() - started
                memory.append((elapsed, server.rss_mb()))
                snapshot = {pid: procs.rss_kb(pid) / 1024 for pid in procs.tree(server.proc.pid)}
                per_process.setdefault("after warm-up", snapshot)
                if elapsed < args.seconds / 4:
                    per_process["after warm-up"] = snapshot
                per_process["end"] = snapshot

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            result = soak(
                server.url,
                clients=args.clients,
                seconds=args.seconds,
                runaway_every=args.runaway_every,
            )
        finally:
            done.set()
            sampler.join()
            server.stop()
    text = _report(result, memory, args) + _processes(per_process)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.md").write_text(text, encoding="utf-8")
    print(text)


def _report(
    result: dict[str, object], memory: list[tuple[float, float]], args: argparse.Namespace
) -> str:
    latencies: dict[str, list[float]] = result["latencies"]  # type: ignore[assignment]
    errors: list[str] = result["errors"]  # type: ignore[assignment]
    runaways: Counter[int] = result["runaways"]  # type: ignore[assignment]
    rows = []
    for kind, values in latencies.items():
        p99 = statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]
        p50 = statistics.median(values)
        rows.append(f"| {kind} | {len(values)} | {p50 * 1000:.2f} | {p99 * 1000:.2f} |")
    warm = [rss for t, rss in memory if t >= args.seconds / 4]
    after_warmup, end = (warm[0], warm[-1]) if warm else (0.0, 0.0)
    growth = (end - after_warmup) / after_warmup * 100 if after_warmup else 0.0
    verdict = "flat" if growth < 10 else "growing"
    total = sum(len(v) for v in latencies.values())
    return (
        f"# Soak run\n\n{args.clients} clients for {args.seconds:g} s against `escp4i serve` "
        f"(granian, 2 workers x 8 threads, query timeout 2 s) on loopback, a runaway query every "
        f"{args.runaway_every:g} s.\n\n"
        f"Requests: {total}; errors: {len(errors)}"
        + (f" (first: {errors[:5]})" if errors else "")
        + f"\n\nRunaway queries: {dict(runaways)} (503 = stopped at the time limit, 429 = refused "
        f"past the client's budget)\n\n"
        f"RSS of the process tree: {after_warmup:.0f} MB after warm-up ({args.seconds / 4:g} s), "
        f"{end:.0f} MB at the end: {growth:+.1f} % ({verdict}); peak "
        f"{max((m for _, m in memory), default=0.0):.0f} MB\n\n"
        f"| kind | requests | p50 ms | p99 ms |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def _processes(per_process: dict[str, dict[int, float]]) -> str:
    """Return RSS per process after warm-up and at the end: where growth comes from."""
    start, end = per_process.get("after warm-up", {}), per_process.get("end", {})
    kept = sorted(set(start) & set(end))
    before, after = sum(start[p] for p in kept), sum(end[p] for p in kept)
    change = (after - before) / before * 100 if before else 0.0
    summary = (
        f"\nProcesses alive both after warm-up and at the end (the server and its workers): "
        f"{before:.0f} MB then {after:.0f} MB, {change:+.1f} % "
        f"({'flat' if abs(change) < 10 else 'growing'}). Live processes: {len(start)} after "
        f"warm-up, {len(end)} at the end (query processes start on demand and a runaway's "
        f"is killed and replaced).\n"
    )
    lines = [
        f"| {pid} | {start.get(pid, 0):.0f} | {end.get(pid, 0):.0f} |"
        for pid in sorted(set(start) | set(end))
    ]
    return summary + (
        "\nRSS per process (MB; a query process killed at its time limit is replaced by a new "
        "pid):\n\n| pid | after warm-up | end |\n|---|---|---|\n" + "\n".join(lines) + "\n"
    )


if __name__ == "__main__":
    main()
