"""What a build produced and which build is served: light to read, for every process.

The server processes, the query pool and the CLI read a release's identity from here
without importing the pipeline (rdflib parsing, pyshacl).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

#: The link in the data folder to the build being served.
CURRENT: Final = "current"
#: Inside a build folder: one empty file per process that has the build open, named by pid.
SERVED_BY: Final = "served-by"
#: The licence of every release, stated in its DCAT description and in page headers.
LICENSE: Final = "https://creativecommons.org/licenses/by/4.0/"


@dataclass(frozen=True)
class BuildInfo:
    """What a build produced: the release it serves and where it lives."""

    release: str
    version: str
    content_hash: str
    built_at: str
    base_iri: str
    triples: int
    graphs: dict[str, int]
    path: str
    dumps: list[dict[str, Any]] = field(default_factory=list)
    #: The source tables and notes copied into the release: name, bytes, sha256.
    sources: list[dict[str, Any]] = field(default_factory=list)
    #: The release's full-text index: name, bytes, sha256, documents (empty before it had one).
    search_index: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def load(cls, build_dir: Path) -> BuildInfo:
        """Read a build's record; its path is where it is now (a copied build moves)."""
        data = json.loads((build_dir / "build.json").read_text(encoding="utf-8"))
        return cls(**{**data, "path": str(build_dir)})


def current_build(out: Path) -> Path | None:
    """Return the folder of the build being served, or None if none was built."""
    link = out / CURRENT
    return link.resolve() if link.exists() else None


def mark_served(build_dir: Path) -> Path | None:
    """Record that this process serves the build, so that no build prunes it meanwhile.

    Best effort: a build on a read-only file system (a replica's copy) gets no marker.
    """
    marker = build_dir / SERVED_BY / str(os.getpid())
    try:
        marker.parent.mkdir(exist_ok=True)
        marker.touch()
    except OSError:
        return None
    return marker


def served_by(build_dir: Path) -> list[int]:
    """Return the ids of live processes that serve the build; markers of dead ones are removed."""
    live = []
    for marker in sorted((build_dir / SERVED_BY).glob("*")):
        if not marker.name.isdigit():
            continue
        pid = int(marker.name)
        if alive(pid):
            live.append(pid)
        else:
            marker.unlink(missing_ok=True)
    return live


def alive(pid: int) -> bool:
    """Tell whether a process of this machine is running (another user's counts).

    >>> alive(os.getpid())
    True
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
