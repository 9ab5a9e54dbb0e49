"""Writing the release's search index from its store, at build time (read by searchindex)."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import pyoxigraph as ox

from server.vocab import sparql_prefixes

from .searchindex import FILE, LAYOUT, SEP, fold

log = logging.getLogger(__name__)

_NAMES: Final = """
SELECT ?resource ?kind ?field ?value WHERE {
  {
    { ?resource a escp:Partnership . BIND("partnership" AS ?kind) }
    UNION { ?resource a escp:ClusterOrganisation . BIND("cluster organisation" AS ?kind) }
    UNION { ?resource a escp:Country . BIND("country" AS ?kind) }
    UNION { ?resource a escp:Region . BIND("region" AS ?kind) }
    UNION { ?resource skos:inScheme ?sectors . BIND("sector" AS ?kind) }
  }
  {
    { ?resource rdfs:label ?value . BIND("label" AS ?field) }
    UNION { ?resource skos:prefLabel ?value . BIND("label" AS ?field) }
    UNION { ?resource escp:acronym ?value . BIND("acronym" AS ?field) }
    UNION { ?resource skos:altLabel ?value . BIND("alt" AS ?field) }
  }
  FILTER(isLiteral(?value))
}
"""
_GENERATIONS: Final = """
SELECT ?resource ?generation ?since WHERE {
  ?resource a escp:Partnership ; escp:generation ?generation .
  OPTIONAL { ?generation <http://schema.org/startDate> ?since }
}
"""
_SCHEMA: Final = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Resources numbered in the order of equal-ranked results: earliest generation, then name.
CREATE TABLE doc(
  id INTEGER PRIMARY KEY,
  iri TEXT NOT NULL,
  kind TEXT NOT NULL,
  label TEXT NOT NULL,
  lang TEXT NOT NULL,
  acronym TEXT,
  folded TEXT NOT NULL  -- the folded names, one a line
);
CREATE TABLE name(doc INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
  lang TEXT NOT NULL, folded TEXT NOT NULL);
CREATE INDEX name_doc ON name(doc);
CREATE INDEX name_folded ON name(folded, doc);
CREATE TABLE generation(doc INTEGER NOT NULL, iri TEXT NOT NULL);
CREATE INDEX generation_doc ON generation(doc);
CREATE INDEX generation_iri ON generation(iri, doc);
-- Substrings of three characters or more, and words by their start.
CREATE VIRTUAL TABLE doc_text USING fts5(
  folded, content='doc', content_rowid='id', tokenize='trigram'
);
CREATE VIRTUAL TABLE doc_words USING fts5(
  folded, content='doc', content_rowid='id', tokenize='unicode61 remove_diacritics 0'
);
"""
#: Fill the text indexes from the resource rows, then merge each into one segment.
_FILL: Final = (
    "INSERT INTO doc_text(doc_text) VALUES ('rebuild')",
    "INSERT INTO doc_text(doc_text) VALUES ('optimize')",
    "INSERT INTO doc_words(doc_words) VALUES ('rebuild')",
    "INSERT INTO doc_words(doc_words) VALUES ('optimize')",
)


def write(store: ox.Store, path: Path, *, base_iri: str, content_hash: str) -> dict[str, Any]:
    """Write the index of a release's store to ``path``; return its record, as dumps have.

    >>> import tempfile
    >>> s = ox.Store()
    >>> r = ox.NamedNode("https://w3id.org/escp4i/id/region/nordic")
    >>> a = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    >>> s.add(ox.Quad(r, a, ox.NamedNode("https://w3id.org/escp4i/def#Region")))
    >>> s.add(ox.Quad(r, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
    ...     ox.Literal("Nordic countries", language="en")))
    >>> from server.build.searchindex import SearchIndex
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     record = write(s, Path(tmp) / FILE, base_iri="https://w3id.org/escp4i/",
    ...                    content_hash="abc")
    ...     page = SearchIndex(Path(tmp) / FILE).search("NORD")
    >>> record["documents"], page.total, page.hits[0].label.value, page.hits[0].rank
    (1, 1, 'Nordic countries', 1)
    """
    started = time.monotonic()
    prefixes = sparql_prefixes(base_iri)
    sectors = ox.NamedNode(base_iri + "id/sector")
    docs: dict[str, dict[str, Any]] = {}
    # The scheme is written into the text: substitutions must name projected variables.
    names = store.query(
        prefixes + _NAMES.replace("?sectors", str(sectors)), use_default_graph_as_union=True
    )
    for row in names if isinstance(names, ox.QuerySolutions) else ():
        iri, kind, field, value = (_value(row[k]) for k in ("resource", "kind", "field", "value"))
        literal = row["value"]
        lang = (literal.language or "") if isinstance(literal, ox.Literal) else ""
        doc = docs.setdefault(iri, {"kind": kind, "names": {}, "generations": {}})
        doc["names"][(field, value)] = lang
    generations = store.query(prefixes + _GENERATIONS, use_default_graph_as_union=True)
    for row in generations if isinstance(generations, ox.QuerySolutions) else ():
        partnership = docs.get(_value(row["resource"]))
        if partnership is not None:
            since = row["since"]
            partnership["generations"][_value(row["generation"])] = _value(since) if since else "~"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO doc VALUES (?,?,?,?,?,?,?)", _doc_rows(docs))
        db.executemany("INSERT INTO name VALUES (?,?,?,?,?)", _name_rows(docs))
        db.executemany("INSERT INTO generation VALUES (?,?)", _generation_rows(docs))
        for command in _FILL:
            db.execute(command)
        meta = {"layout": LAYOUT, "content_hash": content_hash, "base_iri": base_iri}
        db.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
    db.close()
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
    db.close()
    log.info("search index: %d resources in %.2f s", len(docs), time.monotonic() - started)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    return {"name": FILE, "bytes": len(data), "sha256": digest, "documents": len(docs)}


def _doc_rows(docs: dict[str, dict[str, Any]]) -> Iterable[tuple[Any, ...]]:
    """Number the resources in the order equal-ranked results take, and yield their rows."""
    rows = []
    for iri, doc in docs.items():
        labels = sorted((v, lang) for (f, v), lang in doc["names"].items() if f == "label")
        acronyms = sorted(v for (f, v) in doc["names"] if f == "acronym")
        label, lang = labels[0] if labels else (acronyms[0] if acronyms else iri, "")
        folded = SEP.join(sorted({fold(v) for (_, v) in doc["names"]}))
        since = min(doc["generations"].values(), default="~")
        acronym = acronyms[0] if acronyms else None
        rows.append(
            ((since, fold(label), iri), doc, (iri, doc["kind"], label, lang, acronym, folded))
        )
    rows.sort(key=lambda row: row[0])
    for i, (_, doc, values) in enumerate(rows, start=1):
        doc["id"] = i
        yield (i, *values)


def _name_rows(docs: dict[str, dict[str, Any]]) -> Iterable[tuple[Any, ...]]:
    for doc in docs.values():
        for (field, value), lang in sorted(doc["names"].items()):
            yield doc["id"], field, value, lang, fold(value)


def _generation_rows(docs: dict[str, dict[str, Any]]) -> Iterable[tuple[Any, ...]]:
    for doc in docs.values():
        for generation in sorted(doc["generations"]):
            yield doc["id"], generation


def _value(term: object) -> str:
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    return str(term)
