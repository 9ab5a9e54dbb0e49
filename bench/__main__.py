"""Benchmark: the product against the Oxigraph server and rdflib-endpoint, side by side.

``python -m bench`` (quick, a few minutes) or ``python -m bench --full``. Servers run on
127.0.0.1 only; every load run is bounded by wrk's duration and connection count; runs
are interleaved server by server so that the ratios hold on a noisy machine; every
answer timed is first checked against the embedded store's answer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pyoxigraph as ox

from bench import generate, load, nginx, procs, search, servers
from server import catalog
from server.build.info import BuildInfo
from server.build.pipeline import build
from server.vocab import DEFAULT_BASE_IRI

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
WORK = RESULTS / "tmp"
JSON_RESULTS = "application/sparql-results+json"
#: The servers a whole-graph query is timed on at 1,000x.
BIG_PEERS = ("product", "oxigraph")


@dataclass
class Target:
    """One request, as each server spells it, with the size of the right answer."""

    label: str
    kind: str  # "query", "sd", "page"
    urls: dict[str, tuple[str, dict[str, str]]]
    expected_rows: int | None = None
    #: A query about one resource (an IRI parameter is required); pages are selective too.
    selective: bool = True
    #: Slowest single answer seen while checking, in seconds.
    single_s: float = 0.0


@dataclass
class Row:
    scale: int
    target: str
    kind: str
    server: str
    clients: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    selective: bool = True


@dataclass
class Report:
    mode: str
    started: str
    machine: dict[str, str]
    versions: dict[str, str]
    loads: list[dict[str, object]] = field(default_factory=list)
    servers: list[dict[str, object]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: What a reader must know about the run itself (a run recovered from its log, say).
    notes: list[str] = field(default_factory=list)

    def add_load(self, entry: dict[str, object]) -> None:
        """Keep a load's figures, and print them: the log then holds the whole run."""
        self.loads.append(entry)
        print("load:", json.dumps(entry), flush=True)

    def add_server(self, entry: dict[str, object]) -> None:
        """Keep a server's start and memory figures, and print them."""
        self.servers.append(entry)
        print("server:", json.dumps(entry), flush=True)

    @classmethod
    def read(cls, path: Path) -> Report:
        """Read a report written by ``_write`` (its ``.json``)."""
        data = json.loads(path.read_text())
        data["rows"] = [Row(**row) for row in data.get("rows", [])]
        return cls(**data)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="all scales, longer runs")
    parser.add_argument("--seconds", type=float, help="seconds per load run")
    parser.add_argument("--scales", help="comma-separated multiples of the real graph, e.g. 1,100")
    parser.add_argument("--clients", help="comma-separated concurrent clients (default 1,16)")
    parser.add_argument(
        "--selective",
        action="store_true",
        help="only the queries with a required parameter (one resource), and the pages",
    )
    parser.add_argument(
        "--servers",
        action="store_true",
        help="only compare the production servers (granian, gunicorn) on the real graph",
    )
    parser.add_argument(
        "--rewrite",
        type=Path,
        metavar="JSON",
        help="measure nothing: write the tables and targets again from a results .json",
    )
    args = parser.parse_args()
    if args.rewrite:
        _write(Report.read(args.rewrite))
        return
    mode = "full" if args.full else "quick"
    seconds = args.seconds or (3.0 if args.full else 1.0)
    if args.servers:
        mode = "servers"
    # Quick stays under 5 minutes on 2 cores: the real graph only (--scales 1,100 adds more).
    scales: tuple[int, ...] = (1, 100, 1000) if args.full else (1,)
    if args.scales:
        scales = tuple(int(s) for s in args.scales.split(","))
        mode += "-x" + "-x".join(str(s) for s in scales)
    clients = tuple(int(c) for c in args.clients.split(",")) if args.clients else (1, 16)
    if args.clients:
        mode += "-c" + "-c".join(str(c) for c in clients)
    if args.selective:
        mode += "-selective"
    report = Report(mode, datetime.now(UTC).isoformat(timespec="seconds"), _machine(), _versions())
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    real = build(ROOT, WORK / "x1" / "var", base_iri=DEFAULT_BASE_IRI, version="bench")
    if args.servers:
        # Its own mode: the servers were chosen on it (bench/results/servers.md).
        _compare_servers(report, real, max(seconds, 3.0), clients)
        return
    queries = catalog.load(ROOT / "queries")
    for scale in scales:
        data_dir, store_dir = _prepare(real, scale, report)
        _bench_scale(
            report, scale, data_dir, store_dir, queries, clients, seconds, mode, args.selective
        )
        if scale == max(scales):  # the search index against the scan it replaced
            report.rows += [Row(**row) for row in search.bench(scale, data_dir, seconds)]
    # Scale-out: through nginx over two replicas, beside one of them asked directly.
    report.rows += [Row(**row) for row in nginx.compare(real, WORK / "nginx", seconds)]
    _write(report)


def _compare_servers(
    report: Report, real: BuildInfo, seconds: float, clients: tuple[int, ...]
) -> None:
    """Write bench/results/servers.md: the product under each production server."""
    facts, rows = servers.compare(Path(real.path).parents[1], clients, seconds)
    md = [
        f"# Production servers side by side, {report.started}",
        "",
        "The product (`escp4i serve --server NAME --workers 2 --threads 4`) on the real graph;",
        "only the WSGI server differs. Uncached rows send `Cache-Control: no-cache`.",
        "",
        *_provenance(report),
        *[f"- {json.dumps(fact)}" for fact in facts],
        "",
        *servers.table(rows),
        "",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "servers.md").write_text("\n".join(md))
    payload = {**asdict(report), "servers": facts, "rows": rows}
    (RESULTS / "servers.json").write_text(json.dumps(payload, indent=1))
    print(f"tables written to {RESULTS / 'servers.md'}")


def _prepare(real: BuildInfo, scale: int, report: Report) -> tuple[Path, Path]:
    """Return the data dir the product serves and the store dir Oxigraph serves."""
    if scale == 1:
        build_dir = Path(real.path)
        report.add_load({"scale": 1, "quads": real.triples, "seconds": None, "rate": None})
        return build_dir.parents[1], build_dir / "store"
    var = WORK / f"x{scale}" / "var"
    build_dir = var / "builds" / f"x{scale}"
    build_dir.mkdir(parents=True)
    dump = generate.write_scaled_dump(Path(real.path) / "store", WORK, scale)
    lines = sum(1 for _ in dump.open("rb"))
    started = time.monotonic()
    quads = generate.load_store(dump, build_dir / "store")
    elapsed = time.monotonic() - started
    dump.unlink()
    report.add_load(
        {
            "scale": scale,
            "quads": quads,
            "input_quads": lines,
            "seconds": round(elapsed, 2),
            "rate": round(lines / elapsed),
        }
    )
    info = {**asdict(real), "triples": quads, "path": str(build_dir), "dumps": []}
    (build_dir / "build.json").write_text(json.dumps(info))
    shutil.copy(Path(real.path) / "validation.ttl", build_dir / "validation.ttl")
    report.add_load({"scale": scale, **search.ensure_index(build_dir)})
    (build_dir / "dumps").mkdir()
    (var / "current").symlink_to(build_dir.relative_to(var))
    return var, build_dir / "store"


def _targets(
    queries: catalog.Catalog, store_dir: Path, servers: dict[str, procs.Server], selective: bool
) -> list[Target]:
    store = ox.Store.read_only(str(store_dir))
    targets = []
    for q in queries:
        if selective and not any(p.required and p.type == "iri" for p in q.parameters):
            continue
        text = q.example_text()
        result = store.query(text, use_default_graph_as_union=True)
        rows = len(list(result)) if isinstance(result, ox.QuerySolutions) else None
        encoded = urllib.parse.urlencode({"query": text})
        accept = {"Accept": JSON_RESULTS}
        urls: dict[str, tuple[str, dict[str, str]]] = {}
        for name, server in servers.items():
            path = {"oxigraph": "/query?", "rdflib-endpoint": "/?"}.get(name, "/sparql?")
            headers = dict(accept)
            if name.startswith("product"):
                headers["Cache-Control"] = "no-cache"
            urls[name] = (server.url + path + encoded, headers)
            if name == "product":
                urls["product (cached)"] = (server.url + path + encoded, accept)
                args = urllib.parse.urlencode(q.example_args())
                api = f"{server.url}/api/queries/{q.name}{'?' + args if args else ''}"
                urls["product API"] = (api, {**accept, "Cache-Control": "no-cache"})
        one = any(p.required and p.type == "iri" for p in q.parameters)
        targets.append(Target(q.name, "query", urls, rows, selective=one))
    product = servers["product"].url
    sd = {
        "product": (product + "/sparql", {"Accept": "text/turtle", "Cache-Control": "no-cache"}),
        "product (cached)": (product + "/sparql", {"Accept": "text/turtle"}),
    }
    if "oxigraph" in servers:
        sd["oxigraph"] = (servers["oxigraph"].url + "/query", {"Accept": "text/turtle"})
    targets.append(Target("service description", "sd", sd))
    for label, path, accept_page in (
        ("partnership page (HTML)", "/id/partnership/adpack", "text/html"),
        ("partnership page (Turtle)", "/id/partnership/adpack", "text/turtle"),
        ("landing page", "/", "text/html"),
    ):
        pages = {
            "product": (product + path, {"Accept": accept_page, "Cache-Control": "no-cache"}),
            "product (cached)": (product + path, {"Accept": accept_page}),
        }
        targets.append(Target(label, "page", pages))
    return targets


def _bench_scale(
    report: Report,
    scale: int,
    data_dir: Path,
    store_dir: Path,
    queries: catalog.Catalog,
    clients: tuple[int, ...],
    seconds: float,
    mode: str,
    selective: bool = False,
) -> None:
    servers: dict[str, procs.Server] = {}
    try:
        # Large scales run whole-graph aggregates for seconds: lift the 10 s default.
        slow = {"ESCP_QUERY_TIMEOUT": "120"}
        servers["product"] = procs.product(data_dir, workers=2, threads=4, env=slow)
        servers["oxigraph"] = procs.oxigraph(store_dir)
        servers["product→oxigraph"] = procs.product(
            data_dir,
            workers=2,
            threads=4,
            env={
                **slow,
                "ESCP_BACKEND": "sparql",
                "ESCP_SPARQL_URL": servers["oxigraph"].url + "/query",
            },
        )
        if scale == 1:
            nt = WORK / "x1" / "union.nt"
            real = ox.Store.read_only(str(store_dir))
            ox.serialize(
                (ox.Triple(q.subject, q.predicate, q.object) for q in real),
                str(nt),
                format=ox.RdfFormat.N_TRIPLES,
            )
            servers["rdflib-endpoint"] = procs.rdflib_endpoint(nt)
        time.sleep(1)
        for server in servers.values():
            report.add_server(
                {
                    "scale": scale,
                    "server": server.name,
                    "ready_s": round(server.ready_s, 3),
                    **({"warm_s": round(server.warm_s, 2)} if server.warm_s is not None else {}),
                    "idle_rss_mb": round(server.rss_mb(), 1),
                    "idle_pss_mb": round(server.pss_mb(), 1),
                }
            )
        targets = _targets(queries, store_dir, servers, selective)
        for target in targets:
            _check(target, report)
        for n in clients:
            for i, target in enumerate(targets):
                names = list(target.urls)
                # Rotate the order per target so no server always runs first or last.
                names = names[i % len(names) :] + names[: i % len(names)]
                # Whole-graph aggregates take tenths of a second at 100x and seconds at
                # 1,000x: 16 clients of them would queue for minutes on a small machine.
                # The large-scale targets are about selective queries and pages, which run
                # at every client count; the aggregates run at 1 client.
                if scale >= 100 and n > 1 and not target.selective:
                    continue
                for name in names:
                    if name == "rdflib-endpoint" and n > 1 and mode.startswith("quick"):
                        continue
                    # At 1,000x an aggregate is timed on the product and Oxigraph only
                    # (the "whole-graph queries" line); its cached and API twins add nothing.
                    if scale >= 1000 and not target.selective and name not in BIG_PEERS:
                        continue
                    url, headers = target.urls[name]
                    # A run must outlast a few answers, or a slow query completes none.
                    span = min(max(seconds, 5 * target.single_s * max(1, n // 4)), 15.0)
                    r = load.run(url, clients=n, seconds=span, headers=headers)
                    _drain(servers[name.split(" ")[0]])
                    report.rows.append(
                        Row(
                            scale,
                            target.label,
                            target.kind,
                            name,
                            n,
                            r.rps,
                            r.p50_ms,
                            r.p99_ms,
                            r.requests,
                            r.errors,
                            target.selective,
                        )
                    )
                    print(
                        f"x{scale} c{n} {target.label:38} {name:18} {r.rps:9.1f} rps "
                        f"p50 {r.p50_ms:7.2f} ms p99 {r.p99_ms:7.2f} ms err {r.errors}",
                        flush=True,
                    )
        for server in servers.values():
            report.add_server(
                {
                    "scale": scale,
                    "server": server.name,
                    "loaded_rss_mb": round(server.rss_mb(), 1),
                    "loaded_pss_mb": round(server.pss_mb(), 1),
                }
            )
    finally:
        for server in servers.values():
            server.stop()


def _drain(server: procs.Server) -> None:
    """Wait until the server has finished the requests wrk left in flight.

    wrk stops at its deadline, but a server goes on with what it queued; the next run
    would pay for it. A cheap, uncached query answers only once the queue is empty.
    """
    path = {"oxigraph": "/query", "rdflib-endpoint": "/"}.get(server.name, "/sparql")
    url = f"{server.url}{path}?query=ASK%7B%7D"
    req = urllib.request.Request(url, headers={"Cache-Control": "no-cache"})  # noqa: S310
    with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310 - loopback
        resp.read()


def _check(target: Target, report: Report) -> None:
    """Fetch every server's answer once; a wrong or failed answer stops the run.

    The peers are not ours: a peer that cannot answer a query is noted and left out
    of that query's comparison instead.
    """
    for name, (url, headers) in list(target.urls.items()):
        try:
            started = time.monotonic()
            _check_one(target, name, url, headers)
            target.single_s = max(target.single_s, time.monotonic() - started)
        except SystemExit as exc:
            if name.startswith("product") or name == "oxigraph":
                raise
            report.failures.append(f"{target.label} on {name}: {exc}")
            print(f"left out: {target.label} on {name}: {exc}", flush=True)
            del target.urls[name]


def _check_one(target: Target, name: str, url: str, headers: dict[str, str]) -> None:
    if True:
        req = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:  # noqa: S310 - loopback
                body = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise SystemExit(f"{target.label} on {name}: HTTP {exc.code}: {detail}") from exc
        if target.kind == "query" and target.expected_rows is not None:
            rows = len(json.loads(body)["results"]["bindings"])
            if rows != target.expected_rows:
                raise SystemExit(
                    f"wrong answer: {target.label} on {name} gave {rows} rows, "
                    f"the embedded store {target.expected_rows}"
                )
        elif not body:
            raise SystemExit(f"{target.label} on {name}: empty answer")


def _geomean(values: list[float]) -> float:
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else 0.0


def _summary(report: Report) -> list[str]:
    lines = []
    rows = report.rows

    def pick(scale: int, server: str, clients: int, kind: str = "query") -> dict[str, Row]:
        return {
            r.target: r
            for r in rows
            if r.scale == scale and r.server == server and r.clients == clients and r.kind == kind
        }

    checks: list[tuple[str, bool]] = []
    for n in (1, 16):
        prod = pick(1, "product", n)
        for peer in ("oxigraph", "rdflib-endpoint"):
            other = pick(1, peer, n)
            # A peer that completed no request in the run gets no ratio: it is listed as such.
            common = [t for t in prod if t in other and other[t].rps > 0]
            stalled = [t for t in prod if t in other and other[t].rps == 0]
            if stalled:
                lines.append(f"x1 c{n}: {peer} completed no request on: {', '.join(stalled)}")
            if not common:
                continue
            ratio = _geomean([prod[t].rps / other[t].rps for t in common])
            cached = pick(1, "product (cached)", n)
            ratio_c = _geomean([cached[t].rps / other[t].rps for t in common if t in cached])
            want = 1.0 if peer == "oxigraph" else 20.0
            lines.append(
                f"x1 c{n}: product/{peer} throughput, geometric mean over {len(common)} named "
                f"queries: uncached {ratio:.2f}x, cached {ratio_c:.2f}x (target >= {want:g}x)"
            )
            checks.append((f"x1 c{n} uncached product >= {want:g}x {peer}", ratio >= want))
            if peer == "oxigraph":
                # The engine path's step on the way to 1x (issue "Scale-out proven").
                step = f"x1 c{n} uncached product >= 0.6x oxigraph ({ratio:.2f}x)"
                checks.append((step, ratio >= 0.6))
    for variant in ("product", "product (cached)", "product API"):
        worst = max(pick(1, variant, 16).values(), key=lambda r: r.p99_ms, default=None)
        if worst is not None:
            checks.append(
                (
                    f"x1 c16 named-query p99 < 10 ms, {variant}: worst {worst.p99_ms:.2f} ms "
                    f"({worst.target})",
                    worst.p99_ms < 10,
                )
            )
    for variant in ("product", "product (cached)"):
        page = pick(1, variant, 1, "page").get("partnership page (HTML)")
        if page:
            checks.append(
                (
                    f"x1 partnership page p50 < 5 ms, {variant}: {page.p50_ms:.2f} ms",
                    page.p50_ms < 5,
                )
            )
    for s in report.servers:
        if s["scale"] == 1 and s["server"] == "product" and "idle_rss_mb" in s:
            checks.append(
                (
                    f"idle RSS < 150 MB: {s['idle_rss_mb']} MB once warm, summed over the tree "
                    f"(PSS, shared pages counted once: {s.get('idle_pss_mb')} MB)",
                    float(str(s["idle_rss_mb"])) < 150,
                )
            )
            warmed = f"; its pages warmed {s['warm_s']} s after start" if "warm_s" in s else ""
            checks.append((f"ready < 2 s ({s['ready_s']} s{warmed})", float(str(s["ready_s"])) < 2))
    for entry in report.loads:
        # The scale's store load; the search index's build is an entry of its own, no rate.
        if entry["scale"] == 1000 and entry.get("rate") is not None:
            rate = float(str(entry["rate"]))
            checks.append((f"x1000 load >= 200,000 triples/s ({rate:,.0f}/s)", rate >= 200_000))
    big = max(r.scale for r in rows)
    if big >= 1000:
        for variant in ("product", "product (cached)"):
            mine = [r for r in rows if r.scale == big and r.server == variant and r.clients == 1]
            # No answer within the run counts as over.
            over = [r for r in mine if r.selective and (r.p50_ms >= 50 or r.rps == 0)]
            worst = max((r for r in mine if r.selective), key=lambda r: r.p50_ms, default=None)
            checks.append(
                (
                    f"x{big} {variant} p50 < 50 ms on the selective queries and pages "
                    f"({sum(r.selective for r in mine)}); worst "
                    f"{worst.p50_ms if worst else 0:.2f} ms ({worst.target if worst else '-'}); "
                    f"over: {', '.join(r.target for r in over) or 'none'}",
                    bool(mine) and not over,
                )
            )
        scans = [
            f"{r.target} {r.p50_ms:.0f} ms"
            for r in rows
            if r.scale == big and r.server == "product" and r.clients == 1 and not r.selective
        ]
        if scans:
            lines.append(f"x{big} whole-graph queries, product p50 (no target): {', '.join(scans)}")
    checks += search.checks(rows)
    for text, ok in checks:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {text}")
    return lines


def _table(report: Report) -> list[str]:
    out = [
        "| scale | clients | target | server | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        cells = [f"x{r.scale}", str(r.clients), r.target, r.server, f"{r.rps:.1f}"]
        cells += [f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.errors)]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _write(report: Report) -> None:
    RESULTS.mkdir(exist_ok=True)
    # The measurements first: a fault in the summary must not cost a 40-minute run.
    (RESULTS / f"{report.mode}.json").write_text(json.dumps(asdict(report), indent=1))
    summary = _summary(report)
    md = [
        f"# Benchmark ({report.mode}), {report.started}",
        "",
        *[f"> {note}\n" for note in report.notes],
        *_provenance(report),
        "## Targets",
        "",
        *[f"- {line}" for line in summary],
        "",
        "## Answers a peer could not give (left out of its comparison)",
        "",
        *[f"- {line}" for line in report.failures or ["none"]],
        "",
        "## Loading",
        "",
        *[f"- {json.dumps(entry)}" for entry in report.loads],
        "",
        "## Servers (start-to-ready, memory)",
        "",
        *[f"- {json.dumps(entry)}" for entry in report.servers],
        "",
        "## Throughput and latency (wrk, loopback)",
        "",
        *_table(report),
        "",
    ]
    (RESULTS / f"{report.mode}.md").write_text("\n".join(md))
    print("\n".join(summary))
    print(f"tables written to {RESULTS / (report.mode + '.md')}")


def _provenance(report: Report) -> list[str]:
    """The machine and versions lines every results file starts with."""
    return [
        "Machine: " + ", ".join(f"{k} {v}" for k, v in report.machine.items()),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()),
        "",
    ]


def _machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory_gib": f"{int(mem) / 2**20:.1f}",
        "os": platform.platform(),
    }


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for pkg in (
        "pyoxigraph",
        "oxigraph",
        "rdflib",
        "flask",
        "granian",
        "gunicorn",
        "rdflib-endpoint",
    ):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            out[pkg] = "missing"
    out["wrk"] = subprocess.run(
        [load.wrk_path(), "-v"], capture_output=True, text=True
    ).stdout.split()[1]  # noqa: S603
    return out


if __name__ == "__main__":
    main()
