"""Search over the names of partnerships, clusters, sectors and places, ignoring case and accents.

The release's search index answers (server/build/searchindex.py); a release served
without one (a remote endpoint with no build folder at hand) falls back to a scan of the
partnership and cluster names in the store, as the search did before there was an index.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

import pyoxigraph as ox
from flask import request

from server.build import searchindex
from server.build.searchindex import fold
from server.errors import BadRequestError, NotFoundError
from server.store.backend import Backend
from server.vocab import iri_to_path, sparql_prefixes
from server.web.state import get_search_index

log = logging.getLogger(__name__)

__all__ = ["MAX_QUERY", "PAGE_SIZE", "Hit", "Hits", "fold", "scan", "search", "words"]

MAX_QUERY: Final = 200
#: Hits per page of results.
PAGE_SIZE: Final = 50
KINDS: Final = {"Partnership": "partnership", "ClusterOrganisation": "cluster organisation"}
#: How a page names the field a hit matched in.
FIELD_NAMES: Final = {"label": "name", "acronym": "acronym", "alt": "other name"}

_NAMES: Final = """
SELECT ?item ?type ?label ?acronym ?alt ?since WHERE {
  VALUES ?type { escp:Partnership escp:ClusterOrganisation }
  ?item a ?type ; rdfs:label ?label .
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?item skos:altLabel ?alt }
  OPTIONAL { ?item escp:generation/<http://schema.org/startDate> ?since }
}
"""


@dataclass(frozen=True)
class Hit:
    """One resource whose names hold every word of the query, and the name that matched."""

    iri: str
    url: str
    label: str
    acronym: str | None
    kind: str
    #: The field the best-matching name is in: label, acronym or alt.
    field: str
    matched: str
    score: int

    def to_json(self) -> dict[str, Any]:
        """Return the hit as the JSON form of the search shows it."""
        return {
            "iri": self.iri,
            "url": self.url,
            "label": self.label,
            "acronym": self.acronym,
            "kind": self.kind,
            "field": self.field,
            "matched": self.matched,
        }

    @property
    def field_name(self) -> str:
        """The field as the page names it."""
        return FIELD_NAMES.get(self.field, self.field)


class Hits(list[Hit]):
    """One page of hits, best first, with the total and the page's place among the others."""

    def __init__(self, hits: list[Hit], *, total: int, page: int, indexed: bool) -> None:
        super().__init__(hits)
        self.total = total
        self.page = page
        self.last = max(1, math.ceil(total / PAGE_SIZE))
        #: The number of the page's first hit among all.
        self.first = (page - 1) * PAGE_SIZE + 1
        #: Whether the release's index answered (False: the scan of the fallback).
        self.indexed = indexed


def words(query: str) -> list[str]:
    """Return the folded words of a query; a query too long or with control characters is refused.

    >>> words("  Smart   PACKAGING ")
    ['smart', 'packaging']

    :raises BadRequestError: for a query over MAX_QUERY characters or with a control character.
    """
    if len(query) > MAX_QUERY:
        raise BadRequestError(f"a search is at most {MAX_QUERY} characters long", parameter="q")
    if any(unicodedata.category(c) == "Cc" for c in query):
        raise BadRequestError("a search holds no control characters", parameter="q")
    return fold(query).split()


def search(backend: Backend, query: str, base: str, root: str = "") -> Hits:
    """Return a page of the resources whose names hold every word, best first.

    The page is the request's ``page`` (from 1). Given but blank, the query is refused:
    the search box needs a word; left out, there is nothing to search.

    :raises BadRequestError: for a blank, too long or ill-formed query, or a bad page.
    :raises NotFoundError: for a page past the last.
    """
    wanted = words(query)
    page = _page_number(request.args.get("page", "1"))
    index = get_search_index()
    if not wanted:
        if "q" in request.args:
            raise BadRequestError("a search needs a word to look for", parameter="q")
        return Hits([], total=0, page=1, indexed=index is not None)
    start = (page - 1) * PAGE_SIZE
    if index is not None:
        found = index.search(query, limit=PAGE_SIZE, offset=start)
        hits = [_hit(f, base, root) for f in found.hits]
        result = Hits(hits, total=found.total, page=page, indexed=True)
    else:
        everything = scan(backend, query, base, root)
        result = Hits(
            everything[start : start + PAGE_SIZE], total=len(everything), page=page, indexed=False
        )
    if page > result.last:
        raise NotFoundError(f"there is no page {page}: the results fill {result.last} page(s)")
    return result


def scan(backend: Backend, query: str, base: str, root: str = "") -> list[Hit]:
    """Return the partnerships and clusters whose names hold every word, by a store scan.

    An acronym equal to the query ranks first, then names that start with it; at equal
    rank, the earlier generation's partnerships (the first is the product's subject) first.
    """
    wanted = words(query)
    if not wanted:
        return []
    found: dict[str, dict[str, Any]] = {}
    result = backend.query(sparql_prefixes(base) + _NAMES)
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError("the name query must be a SELECT")
    for solution in result:
        item, kind, label = solution["item"], solution["type"], solution["label"]
        if not isinstance(item, ox.NamedNode) or not isinstance(label, ox.Literal):
            continue
        entry = found.setdefault(
            item.value,
            {"label": label.value, "kind": _kind(kind), "acronym": None, "names": {}},
        )
        since = solution["since"]
        entry["since"] = since.value if isinstance(since, ox.Literal) else "~"
        entry["names"].setdefault(label.value, "label")
        for key in ("acronym", "alt"):
            term = solution[key]
            if isinstance(term, ox.Literal):
                entry["names"].setdefault(term.value, key)
                if key == "acronym":
                    entry["acronym"] = term.value
    ranked = []
    for iri, entry in found.items():
        score = _score(wanted, set(entry["names"]), entry["acronym"])
        if score:
            field, matched = _matched(wanted, entry["names"])
            url = _url(iri, base, root)
            hit = Hit(
                iri, url, entry["label"], entry["acronym"], entry["kind"], field, matched, score
            )
            ranked.append(((-score, entry["since"], fold(hit.label)), hit))
    return [hit for _, hit in sorted(ranked, key=lambda pair: pair[0])]


def _hit(found: searchindex.Found, base: str, root: str) -> Hit:
    return Hit(
        found.iri,
        _url(found.iri, base, root),
        found.label.value,
        found.acronym,
        found.kind,
        found.matched.field,
        found.matched.value,
        3 - found.rank,
    )


def _url(iri: str, base: str, root: str) -> str:
    path = iri_to_path(iri, base) or iri
    return root + path if path.startswith("/") else path


def _page_number(raw: str) -> int:
    """Parse ``?page=``: a whole number from 1; anything else is the client's error."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise BadRequestError(f"page must be a whole number from 1, not {raw[:40]!r}")
    return int(raw)


def _score(wanted: list[str], names: set[str], acronym: str | None) -> int:
    """Score a resource: 0 unless every word is in one of its names.

    >>> _score(["adpack"], {"Future Materials", "AdPack"}, "AdPack")
    3
    >>> _score(["smart", "pack"], {"Advanced Smart Packaging"}, None)
    1
    >>> _score(["lyon"], {"Aerospace Valley"}, None)
    0
    """
    folded = [fold(n) for n in names]
    text = " | ".join(folded)
    if not all(w in text for w in wanted):
        return 0
    phrase = " ".join(wanted)
    if acronym is not None and fold(acronym) == phrase:
        return 3
    if any(n.startswith(phrase) for n in folded):
        return 2
    return 1


def _matched(wanted: list[str], names: dict[str, str]) -> tuple[str, str]:
    """Return the field and the name holding the most words (the label at a tie).

    >>> _matched(["adpack"], {"Future Materials": "label", "AdPack": "acronym"})
    ('acronym', 'AdPack')
    """
    order = list(searchindex.FIELDS)
    best = max(
        names.items(),
        key=lambda item: (sum(w in fold(item[0]) for w in wanted), -order.index(item[1])),
    )
    return best[1], best[0]


def _kind(term: object) -> str:
    iri = term.value if isinstance(term, ox.NamedNode) else ""
    return KINDS.get(iri.rsplit("#", 1)[-1], "resource")
