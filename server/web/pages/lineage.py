"""Page heads for lineage: a partnership's generation, evidence and continuity; a link's ends."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

import pyoxigraph as ox
from rdflib.namespace import SKOS

from server.store.backend import Backend
from server.vocab import ESCP
from server.web.state import generation_name

from .present import Continuity, Labeller, Lineage, Value, View
from .resource import Document
from .sections import select

log = logging.getLogger(__name__)

#: How the page names each direction of a continuity link, by the direct property's name.
RELATIONS: Final = {"continuedAs": "Continued as", "continues": "Continues"}

# Both directions in one query: ?direction says which end of the link the page's IRI is.
_LINKS: Final = """
SELECT ?iri ?link ?direction ?other ?otherLabel ?acronym ?strength ?strengthLabel ?source
WHERE {
  {
    ?link escp:fromPartnership ?iri ; escp:toPartnership ?other .
    BIND("continuedAs" AS ?direction)
  }
  UNION
  {
    ?link escp:toPartnership ?iri ; escp:fromPartnership ?other .
    BIND("continues" AS ?direction)
  }
  ?link a escp:ContinuityLink .
  OPTIONAL { ?other rdfs:label ?otherLabel }
  OPTIONAL { ?other escp:acronym ?acronym }
  OPTIONAL {
    ?link escp:linkStrength ?strength
    OPTIONAL { ?strength skos:prefLabel ?strengthLabel }
  }
  OPTIONAL { ?link dcterms:source ?source }
}
"""

# The two ends of a continuity link, for the link's own page.
_ENDS: Final = """
SELECT ?iri ?direction ?other ?otherLabel ?acronym ?generationLabel ?evidenceLabel WHERE {
  { ?iri escp:fromPartnership ?other . BIND("From" AS ?direction) }
  UNION
  { ?iri escp:toPartnership ?other . BIND("To" AS ?direction) }
  OPTIONAL { ?other rdfs:label ?otherLabel }
  OPTIONAL { ?other escp:acronym ?acronym }
  OPTIONAL { ?other escp:generation/rdfs:label ?generationLabel }
  OPTIONAL { ?other escp:evidence/skos:prefLabel ?evidenceLabel }
}
ORDER BY ?direction
"""


@dataclass
class _Link:
    direction: str
    other: str
    label: str = ""
    acronym: str = ""
    strength: str = ""
    strength_label: str = ""
    sources: set[str] = field(default_factory=set)


def attach(page: View, doc: Document, backend: Backend, labeller: Labeller) -> None:
    """Give a partnership's page its head: generation, evidence (with a why link), lineage.

    The continuity links' sources are numbered with the page's own, right after them. A
    continuity link's own page gets the two partnerships it links, with their generations.
    """
    if page.kind == "partnership":
        page.lineage = _head(page, doc, backend, labeller)
    elif page.kind == "continuity":
        page.lineage = _ends(page, backend, labeller)


def _head(page: View, doc: Document, backend: Backend, labeller: Labeller) -> Lineage:
    generations = doc.objects(labeller.here(ESCP.generation))
    evidence = doc.objects(labeller.here(ESCP.evidence))
    lineage = Lineage(
        generation=_generation(labeller.value(generations[0])) if generations else None,
        evidence=labeller.value(evidence[0]) if evidence else None,
        # present.view() puts the editorial notes first, so the first is note-1.
        why="#note-1" if doc.objects(str(SKOS.editorialNote)) else None,
    )
    links = _links(backend, page.iri, labeller.base)
    for iri, link in sorted(links.items(), key=lambda item: (item[1].direction, item[0])):
        lineage.continuity.append(
            Continuity(
                relation=RELATIONS[link.direction],
                partnership=_partnership(link.other, link.label, link.acronym, labeller),
                strength=_strength(link, labeller),
                sources=page.sources.refs(link.sources),
                link=Value("about this link", labeller.link(iri), title=iri),
            )
        )
    # A direct link that no continuity link resource describes: shown, without a strength.
    described = {(link.direction, link.other) for link in links.values()}
    for direction, relation in RELATIONS.items():
        for other in doc.objects(labeller.here(ESCP[direction])):
            if isinstance(other, ox.NamedNode) and (direction, other.value) not in described:
                lineage.continuity.append(Continuity(relation, labeller.value(other)))
    return lineage


def _ends(page: View, backend: Backend, labeller: Labeller) -> Lineage:
    lineage = Lineage(generation=None, evidence=None)
    for row in select(backend, _ENDS, "iri", page.iri, labeller.base):
        other = _partnership(
            row["other"], row.get("otherLabel", ""), row.get("acronym", ""), labeller
        )
        facts = [generation_name(row["generationLabel"])] if "generationLabel" in row else []
        facts += [f"evidence {row['evidenceLabel']}"] if "evidenceLabel" in row else []
        shown = Value(other.text, other.href, title=other.title, hint=", ".join(facts) or None)
        lineage.continuity.append(Continuity(row["direction"], shown))
    return lineage


def _links(backend: Backend, iri: str, base: str) -> dict[str, _Link]:
    found: dict[str, _Link] = {}
    for row in select(backend, _LINKS, "iri", iri, base):
        link = found.setdefault(row["link"], _Link(row["direction"], row["other"]))
        link.label = row.get("otherLabel", link.label)
        link.acronym = row.get("acronym", link.acronym)
        link.strength = row.get("strength", link.strength)
        link.strength_label = row.get("strengthLabel", link.strength_label)
        if "source" in row:
            link.sources.add(row["source"])
    return found


def _strength(link: _Link, labeller: Labeller) -> Value | None:
    if not link.strength:
        return None
    text = link.strength_label or labeller.label(link.strength)
    return Value(text, labeller.link(link.strength), title=link.strength)


def _generation(value: Value) -> Value:
    return Value(generation_name(value.text), value.href, title=value.title)


def _partnership(iri: str, label: str, acronym: str, labeller: Labeller) -> Value:
    """The other partnership by its acronym (as the lists name it), its full name as title."""
    name = label or labeller.label(iri)
    return Value(acronym or name, labeller.link(iri), title=name)
