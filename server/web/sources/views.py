"""The raw material of the release: its source tables, their notes and the editorial mappings.

Every partnership, member and figure names the public pages it was read on; these files are
the tables compiled from those pages, as copied into the release when it was built, so a
reader can check a row and see why a value is absent or a level is probable.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Final

from flask import Blueprint, Response, jsonify, render_template, request

from server.errors import NotFoundError
from server.store.embedded import EmbeddedStore
from server.web.negotiation import HTML, Offer, choose
from server.web.state import get_state

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
    files = [_record(name, path) for name, path in sorted(_files().items())]
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
    path = _files().get(name) if _NAME.fullmatch(name) else None
    if path is None:
        raise NotFoundError(f"no source file {name!r} in this release; see /sources/")
    # Small files, read whole: the ETag is their SHA-256, the one the index lists.
    data = path.read_bytes()
    response = Response(data, content_type=f"{MEDIA_TYPES[path.suffix]}; charset=utf-8")
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.make_conditional(request)
    return response


def _files() -> dict[str, Path]:
    """Return the release's source files by name: its own copy, else the project's folders."""
    state = get_state()
    if isinstance(state.backend, EmbeddedStore):
        copied = state.backend.build_dir / "sources"
        if copied.is_dir():
            return {
                str(p.relative_to(copied)): p
                for p in sorted(copied.rglob("*"))
                if p.is_file() and p.suffix in MEDIA_TYPES
            }
    # A remote backend (or a build made before sources were copied): the project's own files.
    found = {}
    for prefix, folder in _PROJECT_FOLDERS.items():
        for p in sorted((state.project_dir / folder).glob("*")):
            if p.is_file() and p.suffix in MEDIA_TYPES:
                found[f"{prefix}/{p.name}" if prefix else p.name] = p
    return found


def _record(name: str, path: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {
        "name": name,
        "url": f"{request.script_root}/sources/{name}",
        "media_type": MEDIA_TYPES[path.suffix],
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
