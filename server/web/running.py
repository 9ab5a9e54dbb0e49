"""Running servers of a data folder: the file each ``escp4i serve`` leaves, and the reload wait.

``serve`` writes ``run/serve-<pid>.json`` (its pid and URL) and removes it when it stops;
``escp4i reload`` and ``build --reload`` read them to see each server answer for the new
release (servers follow ``current`` by themselves; this confirms it, bounded in time).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from server.build.info import alive

#: Consecutive /health answers naming the new release before a server counts as reloaded:
#: each may come from another worker process.
CONFIRMATIONS: Final = 8


@dataclass(frozen=True)
class Running:
    """One ``escp4i serve`` process and where it answers."""

    pid: int
    url: str
    path: Path


@contextlib.contextmanager
def registered(data_dir: Path, *, url: str) -> Iterator[Path]:
    """Leave this server's file in ``run/`` while the body runs."""
    path = data_dir / "run" / f"serve-{os.getpid()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def running(data_dir: Path) -> list[Running]:
    """Return the live servers of a data folder; files of dead ones are removed."""
    found = []
    for path in sorted((data_dir / "run").glob("serve-*.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            pid, url = int(entry["pid"]), str(entry["url"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not alive(pid):
            path.unlink(missing_ok=True)
            continue
        found.append(Running(pid, url, path))
    return found


def wait_for_release(server: Running, release: str, *, timeout: float) -> bool:
    """Ask the server's /health until it names the release several times in a row."""
    deadline = time.monotonic() + timeout
    streak = 0
    while time.monotonic() < deadline:
        if _served_release(server.url) == release:
            streak += 1
            if streak >= CONFIRMATIONS:
                return True
        else:
            streak = 0
        time.sleep(0.05)
    return False


def _served_release(url: str) -> str | None:
    # The URL is the one our own serve wrote: http on loopback or the configured host.
    request = urllib.request.Request(  # noqa: S310
        url + "/health", headers={"Cache-Control": "no-cache"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as reply:  # noqa: S310  # our own server
            release = json.load(reply).get("release")
            return str(release) if release else None
    except (OSError, ValueError):
        return None
