"""Where the product's time goes: py-spy samples a running server under wrk load.

``python -m bench.profile`` builds the real graph, starts the production command as the
benchmark does (two workers), loads one uncached target at a time with wrk (the SPARQL one
at 1 and at 16 clients), records the server and its query processes with py-spy (idle
threads left out), and writes the hottest functions, by own time and by time spent inside,
to ``bench/results/profile.md``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench import load, procs
from server import catalog
from server.build.pipeline import build
from server.vocab import DEFAULT_BASE_IRI

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SECONDS = 8
TOP = 12


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="escp4i-profile-"))
    real = build(ROOT, work / "var", base_iri=DEFAULT_BASE_IRI, version="bench")
    named = catalog.load(ROOT / "queries").get("cluster-partnerships")
    if named is None:
        raise SystemExit("queries/cluster-partnerships.rq is missing")
    query = urllib.parse.urlencode({"query": named.example_text()})
    sparql = {"Accept": "application/sparql-results+json", "Cache-Control": "no-cache"}
    targets = {
        f"named query cluster-partnerships on /sparql, uncached, {n} client{'s' * (n > 1)}": (
            "/sparql?" + query,
            sparql,
            n,
        )
        for n in (1, 16)
    }
    targets["partnership page (HTML), uncached, 4 clients"] = (
        "/id/partnership/adpack",
        {"Accept": "text/html", "Cache-Control": "no-cache"},
        4,
    )
    out = [
        f"# Profile of the product under load, {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
        f"py-spy ({_py_spy_version()}), {SECONDS} s per target at 100 samples/s, two granian "
        "workers with 4 threads each and their query processes (as `./run bench` starts the "
        "product), wrk on 127.0.0.1. Idle threads are not sampled. Own = samples where the "
        "function itself runs; inside = samples where it is anywhere on the stack. A "
        '"process …" row is time in a thread with no Python frame (granian\'s own threads). '
        "Under load py-spy also counts some sleeping threads as running (`Condition.wait`, "
        "`_Watch.run`): the query process's watch thread used 0.00 s of CPU over 3,000 "
        "queries, read from /proc.",
        "",
    ]
    server = procs.product(Path(real.path).parents[1], workers=2, threads=4)
    try:
        for label, (path, headers, clients) in targets.items():
            stacks = _record(server, server.url + path, headers, clients)
            out += _report(label, stacks)
    finally:
        server.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "profile.md").write_text("\n".join(out))
    print("\n".join(out))


def _record(server: procs.Server, url: str, headers: dict[str, str], clients: int) -> Counter[str]:
    """Load ``url`` with wrk while py-spy records; return the collapsed stacks."""
    raw = Path(tempfile.mkstemp(suffix=".txt")[1])
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(server.proc.pid),
            "--subprocesses",
            "--rate",
            "100",
            "--duration",
            str(SECONDS),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runner = threading.Thread(
        target=load.run,
        args=(url,),
        kwargs={"clients": clients, "seconds": SECONDS, "headers": headers},
    )
    runner.start()
    runner.join()
    spy.wait(timeout=SECONDS + 30)
    stacks: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    raw.unlink()
    return stacks


def _report(label: str, stacks: Counter[str]) -> list[str]:
    total = sum(stacks.values()) or 1
    own: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = [_short(f) for f in stack.split(";") if f]
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            inside[frame] += count
    lines = [f"## {label}", "", f"{total} samples.", ""]
    lines += ["| own % | function |", "|---|---|"]
    lines += [f"| {100 * n / total:.1f} | `{f}` |" for f, n in own.most_common(TOP)]
    ours = [(f, n) for f, n in inside.most_common() if "server/" in f][:TOP]
    lines += ["", "| inside % | function of the product |", "|---|---|"]
    lines += [f"| {100 * n / total:.1f} | `{f}` |" for f, n in ours]
    return [*lines, ""]


def _short(frame: str) -> str:
    """``render (flask/templating.py:150)`` without the site-packages prefix."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/", "lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    path = where.rsplit(":", 1)[0]
    return f"{name} ({path})"


def _py_spy_version() -> str:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "py-spy"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


if __name__ == "__main__":
    main()
