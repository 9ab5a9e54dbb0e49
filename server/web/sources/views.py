"""The raw material of the release: its source tables, their notes and the editorial mappings.

Every partnership, member and figure names the public pages it was read on; these files are
the tables compiled from those pages, as copied into the release when it was built, so a
reader can check a row and see why a value is absent or a level is probable.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from flask import Blueprint, Response, jsonify, render_template, request

from server.errors import NotFoundError
from server.store.embedded import EmbeddedStore
from server.web.negotiation import HTML, Offer, choose
from server.web.state import get_state, per_release

log = logging.getLogger(__name__)

bp = Blueprint("sources", __name__)

#: Media types of the files on offer, by suffix; anything else is never served.
MEDIA_TYPES: Final = {".csv": "text/csv", ".md": "text/markdown"}
INDEX: Final = (Offer("application/json", "json"), HTML)
#: One file name, or ``mappings/`` and one file name: no other folder, no dot-dot.
_NAME: Final = re.compile(r"(?:mappings/)?[A-Za-z0-9][A-Za-z0-9._-]*\.(?:csv|md)")
#: Where a project checkout keeps what a release copies (``build.pipeline.SOURCE_FOLDERS``).
_PROJECT_FOLDERS: Final = {"": "data/sources", "mappings": "data/mappings"}


@bp.get("/sources/")
def index() -> Response:
    """List the source files of the release with their size and SHA-256, as JSON or HTML."""
    offer = choose(request.accept_mimetypes, INDEX, request.args.get("format"))
    files = [
        {
            "name": name,
            "url": f"{request.script_root}/sources/{name}",
            "media_type": MEDIA_TYPES[source.path.suffix],
            "bytes": source.size,
            "sha256": source.sha256,
        }
        for name, source in sorted(_sources().items())
    ]
    if offer is HTML:
        response = Response(render_template("sources.html", files=files), mimetype="text/html")
    else:
        response = jsonify(files)
    response.vary.add("Accept")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/sources/<path:name>")
def source_file(name: str) -> Response:
    """Send one source file of the release as text (CSV or Markdown, UTF-8)."""
    source = _sources().get(name) if _NAME.fullmatch(name) else None
    if source is None:
        raise NotFoundError(f"no source file {name!r} in this release; see /sources/")
    # Small files, read whole: the ETag is their SHA-256, the one the index lists.
    media_type = MEDIA_TYPES[source.path.suffix]
    response = Response(source.path.read_bytes(), content_type=f"{media_type}; charset=utf-8")
    response.set_etag(source.sha256)
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.make_conditional(request)
    return response


@dataclass(frozen=True)
class _Source:
    path: Path
    size: int
    sha256: str


def _sources() -> dict[str, _Source]:
    """Return the release's source files by name, with the size and SHA-256 the build recorded.

    A remote backend (or a build made before sources were copied) has no copy: then the
    project's own folders are listed and hashed, once per release.
    """
    backend = get_state().backend
    if isinstance(backend, EmbeddedStore) and backend.info.sources:
        folder = backend.build_dir / "sources"
        return {
            r["name"]: _Source(folder / r["name"], int(r["bytes"]), str(r["sha256"]))
            for r in backend.info.sources
            if Path(r["name"]).suffix in MEDIA_TYPES
        }
    return per_release("project sources", _project_sources)


def _project_sources() -> dict[str, _Source]:
    found = {}
    project = get_state().project_dir
    for prefix, folder in _PROJECT_FOLDERS.items():
        for p in sorted((project / folder).glob("*")):
            if p.is_file() and p.suffix in MEDIA_TYPES:
                data = p.read_bytes()
                name = f"{prefix}/{p.name}" if prefix else p.name
                found[name] = _Source(p, len(data), hashlib.sha256(data).hexdigest())
    return found
