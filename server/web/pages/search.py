"""Search over the names and acronyms of partnerships and clusters, ignoring case and accents."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Final

import pyoxigraph as ox

from server.errors import BadRequestError
from server.store.backend import Backend
from server.vocab import iri_to_path, sparql_prefixes

log = logging.getLogger(__name__)

MAX_QUERY: Final = 200
KINDS: Final = {"Partnership": "partnership", "ClusterOrganisation": "cluster organisation"}

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
    """One resource whose name or acronym matches every word of the query."""

    iri: str
    url: str
    label: str
    acronym: str | None
    kind: str
    score: int

    def to_json(self) -> dict[str, Any]:
        """Return the hit as the JSON form of the search shows it."""
        return {k: v for k, v in asdict(self).items() if k != "score"}


def fold(text: str) -> str:
    """Return text without accents, in case-folded form, for comparison.

    >>> fold("Rhône-Alpes ÉNERGIE")
    'rhone-alpes energie'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(query: str) -> list[str]:
    """Return the folded words of a query; a query too long to be a name is refused.

    >>> words("  Smart   PACKAGING ")
    ['smart', 'packaging']

    :raises BadRequestError: for a query over MAX_QUERY characters.
    """
    if len(query) > MAX_QUERY:
        raise BadRequestError(f"a search is at most {MAX_QUERY} characters long")
    return fold(query).split()


def search(backend: Backend, query: str, base: str, root: str = "") -> list[Hit]:
    """Return the partnerships and clusters whose names match every word, best first.

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
            {"label": label.value, "kind": _kind(kind), "acronym": None, "names": set()},
        )
        since = solution["since"]
        entry["since"] = since.value if isinstance(since, ox.Literal) else "~"
        entry["names"].add(label.value)
        for key in ("acronym", "alt"):
            term = solution[key]
            if isinstance(term, ox.Literal):
                entry["names"].add(term.value)
                if key == "acronym":
                    entry["acronym"] = term.value
    ranked = []
    for iri, entry in found.items():
        score = _score(wanted, entry["names"], entry["acronym"])
        if score:
            path = iri_to_path(iri, base) or iri
            url = root + path if path.startswith("/") else path
            hit = Hit(iri, url, entry["label"], entry["acronym"], entry["kind"], score)
            ranked.append(((-score, entry["since"], fold(hit.label)), hit))
    return [hit for _, hit in sorted(ranked, key=lambda pair: pair[0])]


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


def _kind(term: object) -> str:
    iri = term.value if isinstance(term, ox.NamedNode) else ""
    return KINDS.get(iri.rsplit("#", 1)[-1], "resource")
