"""Build the served store: parse, validate with SHACL, describe, load, then swap in."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.exceptions import ParserError
from rdflib.namespace import SH

from server import catalog
from server.vocab import DEFAULT_BASE_IRI, GRAPHS, bind_families, graph_iri, rebase

from . import describe, dumps, indexer, searchindex
from .info import CURRENT, BuildInfo, current_build, served_by

log = logging.getLogger(__name__)

#: Input folders below the project root, each loaded into its own named graph.
INPUTS: Final = {"ontology": "ontology", "data": "data", "shapes": "shapes"}
#: Folders whose files also make up a release (hashed into its identity).
RELEASE_FOLDERS: Final = {**INPUTS, "queries": "queries"}
#: The sourced tables, their notes and the editorial mappings: copied into each release and
#: served under ``sources/``, so the raw material a release was made from stays readable.
SOURCE_FOLDERS: Final = {"data/sources": "", "data/mappings": "mappings"}
SOURCE_SUFFIXES: Final = (".csv", ".md")
KEEP_BUILDS: Final = 3

Progress = Callable[[str], None]


class BuildError(Exception):
    """A build that cannot be served; the message names the file, line or focus node."""


class DataInvalidError(BuildError):
    """The data does not conform to the shapes; carries the validation report."""

    def __init__(self, message: str, report: Validation) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Validation:
    """The outcome of a SHACL validation."""

    conforms: bool
    text: str
    graph: Graph

    def violations(self) -> list[tuple[str, str, str, str]]:
        """Return (focus node, source shape, component, message) for every result."""
        rows = []
        for result in self.graph.subjects(SH.resultSeverity, None):
            rows.append(
                (
                    str(self.graph.value(result, SH.focusNode)),
                    str(self.graph.value(result, SH.sourceShape)),
                    str(self.graph.value(result, SH.sourceConstraintComponent)),
                    str(self.graph.value(result, SH.resultMessage)),
                )
            )
        return sorted(rows)


def input_files(root: Path) -> dict[str, list[Path]]:
    """Return the Turtle files of each input graph, sorted; a missing folder is an error."""
    files = {}
    for name, folder in INPUTS.items():
        path = root / folder
        if not path.is_dir():
            raise BuildError(f"{path}: input folder missing")
        found = sorted(path.glob("*.ttl"))
        if not found:
            raise BuildError(f"{path}: no Turtle files")
        files[name] = found
    return files


def parse(files: Iterable[Path]) -> Graph:
    """Parse Turtle files into one graph; a syntax error names the file and line."""
    g = bind_families(Graph(bind_namespaces="none"))
    for path in files:
        try:
            g.parse(path, format="turtle")
        except (SyntaxError, ParserError) as exc:
            raise BuildError(f"{path}: Turtle syntax error: {_one_line(str(exc))}") from exc
    return g


def load_graphs(root: Path) -> dict[str, Graph]:
    """Parse every input graph, with IRIs under the default base as the files have them."""
    return {name: parse(paths) for name, paths in input_files(root).items()}


def validate(graphs: dict[str, Graph]) -> Validation:
    """Validate the data graph against the shapes, with the ontology alongside."""
    # Imported here: serving processes never validate, and pyshacl costs ~8 MB each.
    from pyshacl import validate as shacl_validate

    conforms, report, text = shacl_validate(
        graphs["data"],
        shacl_graph=graphs["shapes"],
        ont_graph=graphs["ontology"],
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    return Validation(bool(conforms), str(text), report)


def content_hash(root: Path, base_iri: str) -> str:
    """Hash the input files and the base IRI: the identity of a release."""
    digest = hashlib.sha256(base_iri.encode())
    for folder in RELEASE_FOLDERS.values():
        for path in sorted((root / folder).glob("*.*")):
            if path.suffix in (".ttl", ".rq"):
                digest.update(f"{folder}/{path.name}\0".encode())
                digest.update(path.read_bytes())
    for path in _source_files(root):
        digest.update(f"{path.relative_to(root)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(
    root: Path,
    out: Path,
    *,
    base_iri: str,
    version: str,
    progress: Progress | None = None,
) -> BuildInfo:
    """Build a validated store under ``out/builds`` and point ``out/current`` at it.

    :raises BuildError: on a missing input or a syntax error; nothing is swapped.
    :raises DataInvalidError: when the data does not conform; nothing is swapped.
    """
    step = progress or (lambda message: None)
    started = time.monotonic()
    step("parsing ontology, data and shapes")
    graphs = load_graphs(root)
    step(f"validating {len(graphs['data'])} data triples against the shapes")
    # Validate before rebasing: SPARQL constraints name default-base IRIs in their text.
    report = validate(graphs)
    if not report.conforms:
        raise DataInvalidError(_violation_summary(report), report)
    graphs = {name: _rebased(g, base_iri) for name, g in graphs.items()}
    try:
        graphs["queries"] = catalog.examples_graph(root / "queries", base_iri)
    except catalog.CatalogError as exc:
        raise BuildError(str(exc)) from exc
    digest = content_hash(root, base_iri)
    built_at = _build_time().isoformat()
    release = f"{version}+{digest[:12]}"
    step("describing the dataset (VoID/DCAT)")
    names = [_source_name(root, path) for path in _source_files(root)]
    graphs["meta"] = describe.dataset(graphs, base_iri, release, digest, built_at, names)
    build_dir = out / "builds" / f"{digest[:12]}-{int(time.time() * 1000)}"
    tmp_dir = build_dir.with_name(build_dir.name + ".tmp")
    tmp_dir.mkdir(parents=True)
    try:
        step("loading the store")
        counts = _load_store(tmp_dir / "store", graphs, base_iri)
        step("writing the dumps")
        store = ox.Store.read_only(str(tmp_dir / "store"))
        files = dumps.write(store, tmp_dir / "dumps")
        step("writing the search index")
        index = indexer.write(
            store, tmp_dir / searchindex.FILE, base_iri=base_iri, content_hash=digest
        )
        del store
        sources = _copy_sources(root, tmp_dir / "sources")
        (tmp_dir / "validation.ttl").write_text(
            report.graph.serialize(format="turtle"), encoding="utf-8"
        )
        info = BuildInfo(
            release=release,
            version=version,
            content_hash=digest,
            built_at=built_at,
            base_iri=base_iri,
            triples=sum(counts.values()),
            graphs=counts,
            path=str(build_dir),
            dumps=files,
            sources=sources,
            search_index=index,
        )
        (tmp_dir / "build.json").write_text(info.to_json(), encoding="utf-8")
        tmp_dir.rename(build_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    _swap(out, build_dir)
    _prune(out)
    log.info(
        "built release %s: %d triples in %.2f s", release, info.triples, time.monotonic() - started
    )
    return info


def _source_files(root: Path) -> list[Path]:
    return [
        path
        for folder in SOURCE_FOLDERS
        for path in sorted((root / folder).glob("*"))
        if path.is_file() and path.suffix in SOURCE_SUFFIXES
    ]


def _source_name(root: Path, path: Path) -> str:
    folder = SOURCE_FOLDERS[str(path.parent.relative_to(root))]
    return f"{folder}/{path.name}" if folder else path.name


def _copy_sources(root: Path, out: Path) -> list[dict[str, Any]]:
    """Copy the source files into the release; return name, size and sha256 of each."""
    records = []
    for path in _source_files(root):
        name = _source_name(root, path)
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        target.write_bytes(data)
        records.append(
            {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    return records


def _load_store(path: Path, graphs: dict[str, Graph], base_iri: str) -> dict[str, int]:
    store = ox.Store(str(path))
    counts = {}
    for name in GRAPHS:
        nt = graphs[name].serialize(format="nt", encoding="utf-8")
        store.bulk_load(
            nt, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph_iri(name, base_iri))
        )
        counts[name] = len(graphs[name])
    store.flush()
    store.optimize()
    del store
    return counts


def _swap(out: Path, build_dir: Path) -> None:
    """Point ``current`` at the new build atomically: readers see the old or the new one."""
    tmp_link = out / f".{CURRENT}.{os.getpid()}"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(build_dir.relative_to(out))
    os.replace(tmp_link, out / CURRENT)


def _prune(out: Path) -> None:
    """Keep the served build and the newest others, up to KEEP_BUILDS in all."""
    current = current_build(out)
    others = [p for p in (out / "builds").iterdir() if p.is_dir() and p != current]
    others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for path in others[KEEP_BUILDS - 1 :]:
        # A server process may still be answering from an older release (it swaps on its
        # next request): such a build is kept until no live process serves it.
        if served_by(path):
            log.info("kept %s: still served", path.name)
            continue
        shutil.rmtree(path, ignore_errors=True)


def _rebased(g: Graph, base_iri: str) -> Graph:
    if base_iri == DEFAULT_BASE_IRI:
        return g
    out = bind_families(Graph(bind_namespaces="none"))
    for triple in g:
        s, p, o = (URIRef(rebase(str(t), base_iri)) if isinstance(t, URIRef) else t for t in triple)
        out.add((s, p, o))
    return out


def _violation_summary(report: Validation) -> str:
    lines = [f"SHACL validation failed: {len(report.violations())} result(s)"]
    for focus, shape, component, message in report.violations():
        lines.append(
            f"  focus node {focus}: {message} [shape {shape}, {component.rsplit('#', 1)[-1]}]"
        )
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _build_time() -> datetime:
    """Now, or SOURCE_DATE_EPOCH when set, so that two builds of one commit can be identical.

    See https://reproducible-builds.org/specs/source-date-epoch/.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {epoch!r}")
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)
