"""The release's search index: names, acronyms and alternative labels in SQLite FTS5.

Written once per build from its store (``indexer.write``) and read by serving code
(``SearchIndex``) wherever the triples are served from: the file belongs to the release.
Text is folded (case and accents) before it is indexed, as the trigram tokenizer of
SQLite 3.40 keeps accents; trigrams find any substring of three characters or more, and
shorter words are looked up by a scan of the folded names (a fraction of a millisecond
per thousand resources).
"""

# The SQL text is put together from this module's fixed fragments; every value is bound.
# ruff: noqa: S608

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyoxigraph as ox

from .info import current_build

log = logging.getLogger(__name__)

#: The index file inside a build folder.
FILE: Final = "search.sqlite"
#: Layout version: a reader refuses a file written with another one.
LAYOUT: Final = "1"
#: Fields in the order a tie between them is broken.
FIELDS: Final = ("label", "acronym", "alt")
#: Letters that NFKD leaves whole, spelled as the search query (queries/search.rq) folds them.
_LETTERS: Final = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t", "æ": "ae", "œ": "oe"}
)
SEP: Final = "\n"
#: The greatest code point: a text and this bound every text that starts with it.
_LAST: Final = "\U0010ffff"


class SearchIndexError(Exception):
    """An index file that is missing, unreadable or written for another release."""


@dataclass(frozen=True)
class Name:
    """One indexed name of a resource: its field, its text and its language tag."""

    field: str
    value: str
    lang: str


@dataclass(frozen=True)
class Found:
    """One resource found, with the name that matched best."""

    iri: str
    kind: str
    label: Name
    acronym: str | None
    matched: Name
    #: 0 whole name, 1 a name starts with the text, 2 every word starts a word, 3 inside words.
    rank: int
    generations: tuple[str, ...]
    names: tuple[Name, ...]


@dataclass(frozen=True)
class Page:
    """A page of results, best first, and how many there are in all."""

    total: int
    hits: list[Found]


def fold(text: str) -> str:
    """Return text without accents, in case-folded form, for comparison.

    >>> fold("Rhône-Alpes ÉNERGIE Øresund Straße")
    'rhone-alpes energie oresund strasse'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold().translate(_LETTERS)


@functools.lru_cache(maxsize=8)
def for_release(content_hash: str, build_dir: Path | None, data_dir: Path) -> SearchIndex | None:
    """Return the index of the release with this hash, or None when no build folder holds it.

    An embedded store names its build folder. A remote endpoint serves a release that was
    built into a data folder too (its triples were loaded from that build), so the index
    is the one in the data folder's builds whose release hash is the endpoint's. Kept per
    release: a release never changes.
    """
    candidates = [build_dir] if build_dir is not None else []
    if build_dir is None and data_dir.is_dir():
        current = current_build(data_dir)
        candidates += [current] if current is not None else []
        candidates += sorted((data_dir / "builds").glob("*"), reverse=True)
    for folder in candidates:
        if not (folder / FILE).is_file():
            continue
        try:
            index = SearchIndex(folder / FILE)
        except SearchIndexError as exc:
            log.warning("search index left out: %s", exc)
            continue
        if index.content_hash == content_hash:
            return index
    log.warning("release %s… has no search index: search scans the store", content_hash[:12])
    return None


class SearchIndex:
    """A release's index, opened read-only; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            meta = dict(self._db().execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            raise SearchIndexError(f"{path}: not a search index ({exc})") from exc
        if meta.get("layout") != LAYOUT:
            raise SearchIndexError(f"{path}: layout {meta.get('layout')}, not {LAYOUT}")
        self.content_hash = meta["content_hash"]

    def search(self, query: str, *, limit: int = 100, offset: int = 0) -> Page:
        """Return the resources that have every word of the query in their names, best first.

        A word matches anywhere inside a name; whole names rank first, then names that
        start with the text, then resources with a word starting with each word, then the
        rest; at equal rank, the earliest generation's partnerships, then by name.
        """
        words = fold(query).split()
        if not words:
            return Page(0, [])
        total, rows = self._ranked(self._hits(words), " ".join(words), words, limit, offset)
        return Page(total, self._found(rows, words))

    def phrase(self, query: str, generation: str | None = None) -> list[tuple[Found, Name]]:
        """Return each (resource, name) whose name holds the whole text, as the scan does.

        The text is folded but kept whole, spaces included (queries/search.rq); given a
        generation, only the partnerships of that generation.
        """
        text = fold(query)
        if not text:
            return []
        sql, args = self._hits([text])
        if generation is not None:
            sql += " INTERSECT SELECT doc FROM generation WHERE iri = ?"
            args.append(generation)
        _, rows = self._ranked((sql, args), text, text.split(), None, 0)
        found = self._found(rows, [text])
        return [(f, name) for f in found for name in f.names if text in fold(name.value)]

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # immutable: the file never changes once built, so SQLite takes no locks.
            uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def _hits(self, words: list[str]) -> tuple[str, list[Any]]:
        """Return the query (and its values) of the ids of the resources holding every word."""
        long = [w for w in words if len(w) >= 3]
        short = [w for w in words if len(w) < 3]
        sql = "SELECT rowid FROM doc_text WHERE doc_text MATCH ?" if long else ""
        args: list[Any] = [" AND ".join(_quoted(w) for w in long)] if long else []
        if short:
            # Trigrams cannot hold one or two characters: those words are looked for by scan.
            tests = " AND ".join("instr(folded, ?) > 0" for _ in short)
            sql = f"SELECT id FROM doc WHERE {tests}" + (f" AND id IN ({sql})" if sql else "")
            args = [*short, *args]
        return sql, args

    def _ranked(
        self,
        hits: tuple[str, list[Any]],
        phrase: str,
        words: list[str],
        limit: int | None,
        offset: int,
    ) -> tuple[int, list[tuple[Any, ...]]]:
        """Return the number of hits and the page of them, ranked tier by tier.

        Each tier comes from an index at once (whole names and name starts from the B-tree
        of folded names, word starts from the word index); a tier is only looked up when
        the tiers before it do not fill the page, so a frequent word costs little more.
        A name equal to the phrase or starting with it holds every word: those tiers are
        hits without asking; without a limit (or beyond them) the hits are read.
        """
        db = self._db()
        need = None if limit is None else offset + limit
        every: set[int] | None = None if need is not None else self._ids(hits)
        tiers: list[list[int]] = []
        seen: set[int] = set()

        def add(ids: Iterable[int]) -> None:
            fresh = sorted({i for i in ids if every is None or i in every} - seen)
            seen.update(fresh)
            tiers.append(fresh)

        add(row[0] for row in db.execute("SELECT doc FROM name WHERE folded = ?", (phrase,)))
        add(
            row[0]
            for row in db.execute(
                "SELECT doc FROM name WHERE folded >= ? AND folded < ?", (phrase, phrase + _LAST)
            )
        )
        total = None
        if need is None or len(seen) < need:
            every = every if every is not None else self._ids(hits)
            total = len(every)
            starts = " AND ".join(_quoted(w) + " *" for w in words if words_of(w).strip())
            found = (
                db.execute("SELECT rowid FROM doc_words WHERE doc_words MATCH ?", (starts,))
                if starts
                else ()
            )
            add(row[0] for row in found)
            add(every)
        ranked = [(i, rank) for rank, ids in enumerate(tiers) for i in ids]
        page = ranked[offset:] if limit is None else ranked[offset : offset + limit]
        rows: dict[int, tuple[Any, ...]] = {}
        for chunk in _chunks([i for i, _ in page]):
            marks = ",".join("?" * len(chunk))
            for row in db.execute(
                f"SELECT id, iri, kind, label, lang, acronym FROM doc WHERE id IN ({marks})", chunk
            ):
                rows[row[0]] = row
        if total is None:
            total = self._count(hits)
        return total, [(*rows[i], rank) for i, rank in page]

    def _ids(self, hits: tuple[str, list[Any]]) -> set[int]:
        sql, args = hits
        return {row[0] for row in self._db().execute(sql, args)}

    def _count(self, hits: tuple[str, list[Any]]) -> int:
        sql, args = hits
        row = self._db().execute(f"SELECT count(*) FROM ({sql})", args).fetchone()
        return int(row[0])

    def _found(self, rows: Iterable[tuple[Any, ...]], words: list[str]) -> list[Found]:
        rows = list(rows)
        ids = [row[0] for row in rows]
        names: dict[int, list[Name]] = {i: [] for i in ids}
        generations: dict[int, list[str]] = {i: [] for i in ids}
        db = self._db()
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for doc, field, value, lang in db.execute(
                f"SELECT doc, field, value, lang FROM name WHERE doc IN ({marks})"
                " ORDER BY doc, field, value",
                chunk,
            ):
                names[doc].append(Name(field, value, lang))
            for doc, iri in db.execute(
                f"SELECT doc, iri FROM generation WHERE doc IN ({marks}) ORDER BY iri", chunk
            ):
                generations[doc].append(iri)
        return [
            Found(
                iri,
                kind,
                Name("label", label, lang),
                acronym,
                _best(names[i], words),
                rank,
                tuple(generations[i]),
                tuple(names[i]),
            )
            for i, iri, kind, label, lang, acronym, rank in rows
        ]


def _best(names: list[Name], words: list[str]) -> Name:
    """Return the name that matched best: whole, then at its start, then most words."""
    phrase = " ".join(words)

    def key(name: Name) -> tuple[int, int, int]:
        folded = fold(name.value)
        if folded == phrase:
            how = 0
        elif folded.startswith(phrase):
            how = 1
        elif phrase in folded:
            how = 2
        else:
            how = 3
        held = sum(w in folded for w in words)
        return how, -held, FIELDS.index(name.field) if name.field in FIELDS else len(FIELDS)

    return min(names, key=key)


def words_of(text: str) -> str:
    """Return text as its words of letters and digits, each after a space.

    >>> words_of("rhone-alpes (aero)")
    ' rhone alpes aero '
    """
    return " " + " ".join("".join(c if c.isalnum() else " " for c in text).split()) + " "


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    """Cut ids into lists short enough for one ``IN (?, …)`` each."""
    return (ids[start : start + size] for start in range(0, len(ids), size))


def _quoted(word: str) -> str:
    """Return a word as an FTS5 string: any character is text inside double quotes.

    >>> _quoted('a"b')
    '"a""b"'
    """
    return '"' + word.replace('"', '""') + '"'


def solutions(
    rows: list[tuple[Found, Name]],
    variables: Iterable[str],
    query: str,
    generation: str | None = None,
) -> ox.QuerySolutions:
    """Return (resource, name) rows as the search query's solutions, one per generation.

    Built as a SPARQL JSON result and parsed by pyoxigraph, so that every format of the
    API writes them as it writes a query's answer.
    """
    names = list(variables)
    bindings = []
    for found, name in rows:
        given = (generation,) if generation else ()
        for generation_iri in given or found.generations or (None,):
            term = {
                "resource": {"type": "uri", "value": found.iri},
                "type": {"type": "literal", "value": found.kind},
                "label": _literal(found.label.value, found.label.lang),
                "matched": _literal(name.value, name.lang),
                "field": {"type": "literal", "value": name.field},
                "q": {"type": "literal", "value": query},
            }
            if generation_iri is not None:
                term["generation"] = {"type": "uri", "value": generation_iri}
            bindings.append({k: v for k, v in term.items() if k in names})
    body = {"head": {"vars": names}, "results": {"bindings": bindings}}
    parsed = ox.parse_query_results(json.dumps(body).encode(), format=ox.QueryResultsFormat.JSON)
    if not isinstance(parsed, ox.QuerySolutions):  # pragma: no cover - built as solutions
        raise TypeError("search rows must parse as solutions")
    return parsed


def _literal(value: str, lang: str) -> dict[str, str]:
    """Return a literal as SPARQL JSON results write it."""
    term = {"type": "literal", "value": value}
    if lang:
        term["xml:lang"] = lang
    return term
