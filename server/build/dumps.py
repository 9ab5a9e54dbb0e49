"""Downloadable dumps of a build: every graph in the common RDF formats, with size and sha256."""

from __future__ import annotations

import gzip
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyoxigraph as ox

from server.vocab import GRAPHS, PREFIXES

log = logging.getLogger(__name__)

PREFIX: Final = "escp4i"
GZIP: Final = "application/gzip"


@dataclass(frozen=True)
class Dump:
    """One dump to write: which graphs, in which format, under which name."""

    suffix: str
    format: str
    rdf: ox.RdfFormat
    media_type: str
    graphs: str  # "data" for the data graph alone, "all" for every named graph


#: The data graph as triples (Turtle, N-Triples, JSON-LD), every graph as quads (N-Quads, TriG).
DUMPS: Final = (
    Dump("data.ttl", "Turtle", ox.RdfFormat.TURTLE, "text/turtle", "data"),
    Dump("data.nt", "N-Triples", ox.RdfFormat.N_TRIPLES, "application/n-triples", "data"),
    Dump("data.jsonld", "JSON-LD", ox.RdfFormat.JSON_LD, "application/ld+json", "data"),
    Dump("all.nq", "N-Quads", ox.RdfFormat.N_QUADS, "application/n-quads", "all"),
    Dump("all.trig", "TriG", ox.RdfFormat.TRIG, "application/trig", "all"),
)


def write(store: ox.Store, out_dir: Path) -> list[dict[str, Any]]:
    """Write the dumps of the store into out_dir; return one record per file.

    Statements are sorted and blank nodes named canonically (RDFC-1.0), so that one
    release always writes the same bytes for the same inputs: two builds of one commit
    give identical dumps.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    quads = _canonical(sorted(store, key=_quad_key))
    data_graph = _data_graph(store)
    records = []
    for dump in DUMPS:
        path = out_dir / f"{PREFIX}-{dump.suffix}"
        if dump.graphs == "data":
            statements: list[ox.Triple] | list[ox.Quad] = [
                q.triple for q in quads if q.graph_name == data_graph
            ]
        else:
            statements = quads
        prefixes = PREFIXES if dump.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
        ox.serialize(statements, str(path), dump.rdf, prefixes=prefixes)
        records.append(record(path, dump, len(statements)))
        # Also pre-compressed, once per build at the highest level: a download of its own.
        packed = path.with_name(path.name + ".gz")
        packed.write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
        records.append(record(packed, dump, len(statements), compressed=True))
        log.info("wrote %s and %s: %d statements", path.name, packed.name, len(statements))
    return records


def record(path: Path, dump: Dump, statements: int, *, compressed: bool = False) -> dict[str, Any]:
    """Describe a written dump: name, format, media type, size in bytes, sha256.

    A gzipped dump keeps the media type of its content and names ``application/gzip`` as
    its compression (DCAT's ``compressFormat``).
    """
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return {
        "name": path.name,
        "format": f"{dump.format}, gzipped" if compressed else dump.format,
        "media_type": dump.media_type,
        "compress_format": GZIP if compressed else None,
        "bytes": path.stat().st_size,
        "sha256": digest.hexdigest(),
        "graphs": dump.graphs,
        "statements": statements,
    }


def _canonical(quads: list[ox.Quad]) -> list[ox.Quad]:
    """Rename the blank nodes of the graphs that have some (the shapes' RDF lists) canonically.

    The parser labels blank nodes at random; the other graphs, the large data graph among
    them, have none and are left as they are.
    """
    blank = {
        q.graph_name
        for q in quads
        if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)
    }
    if not blank:
        return quads
    renamed = ox.Dataset(q for q in quads if q.graph_name in blank)
    renamed.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted([*(q for q in quads if q.graph_name not in blank), *renamed], key=_quad_key)


def _data_graph(store: ox.Store) -> ox.NamedNode:
    """Return the data graph of a build's store, whatever its base IRI."""
    suffix = "/" + GRAPHS["data"]
    for graph in store.named_graphs():
        if isinstance(graph, ox.NamedNode) and graph.value.endswith(suffix):
            return graph
    raise ValueError(f"the store has no named graph ending in {suffix}")


def _quad_key(q: ox.Quad) -> tuple[str, str, str, str]:
    return (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object))
