"""What a build produced and which build is served: light to read, for every process.

The server processes, the query pool and the CLI read a release's identity from here
without importing the pipeline (rdflib parsing, pyshacl).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

#: The link in the data folder to the build being served.
CURRENT: Final = "current"
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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def load(cls, build_dir: Path) -> BuildInfo:
        return cls(**json.loads((build_dir / "build.json").read_text(encoding="utf-8")))


def current_build(out: Path) -> Path | None:
    """Return the folder of the build being served, or None if none was built."""
    link = out / CURRENT
    return link.resolve() if link.exists() else None
