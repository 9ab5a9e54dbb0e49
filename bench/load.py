"""Drive load with wrk (bounded in connections and seconds) and parse what it reports."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Load:
    """Throughput and latency of one wrk run."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: `./run bench` installs Debian's wrk")
    return path


def run(url: str, *, clients: int, seconds: float, headers: dict[str, str]) -> Load:
    """Run wrk against one loopback URL; refuse any other host."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(f"load is only sent to loopback, not {url}")
    argv = [
        wrk_path(),
        f"-t{min(clients, 2)}",
        f"-c{clients}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "60s",
        "--latency",
    ]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    argv.append(url)
    out = subprocess.run(  # noqa: S603 - wrk with arguments built here
        argv, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    return parse(out)


def parse(out: str) -> Load:
    """Parse wrk's report.

    >>> r = parse('''Latency Distribution
    ...      50%  1.50ms
    ...      75%    2.00ms
    ...      90%    3.00ms
    ...      99%  250.00us
    ...   300 requests in 1.00s, 1.00MB read
    ...   Non-2xx or 3xx responses: 2
    ... Requests/sec:    299.50
    ... ''')
    >>> (r.rps, r.p50_ms, r.p99_ms, r.requests, r.errors)
    (299.5, 1.5, 0.25, 300, 2)
    """
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", out))
    p50 = _ms(_find(r"\s50%\s+([\d.]+\w+)", out))
    p99 = _ms(_find(r"\s99%\s+([\d.]+\w+)", out))
    requests = int(_find(r"(\d+) requests in", out))
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return Load(rps, p50, p99, requests, errors)


def _find(pattern: str, text: str) -> str:
    m = re.search(pattern, text)
    if m is None:
        raise ValueError(f"wrk output has no match for {pattern!r}:\n{text}")
    return m.group(1)


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if m is None:
        raise ValueError(f"unknown duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]
