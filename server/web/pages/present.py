"""The reading view of a resource: labelled values, fact groups in order, numbered sources."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import pyoxigraph as ox
from rdflib.namespace import DCAT, DCTERMS, ORG, OWL, PROV, RDF, RDFS, SKOS, VOID

from server.vocab import ESCP, EU_COUNTRY, WD, iri_to_path, rebase

from .layout import (
    IN_HEAD,
    LABELS,
    LAYOUTS,
    SHOWN_APART,
    TABLED,
    Group,
    Section,
    capitalised,
    curie,
    format_literal,
    kind_of,
    unbase,
)
from .resource import Document

log = logging.getLogger(__name__)

#: Labels of classes that the ontology reuses and does not label itself.
CLASS_LABELS: Final = {
    str(ORG.Membership): "membership",
    str(ORG.Role): "role",
    str(SKOS.Concept): "concept",
    str(SKOS.ConceptScheme): "concept scheme",
    str(VOID.Dataset): "dataset",
    str(DCAT.Dataset): "dataset",
    str(OWL.Ontology): "ontology",
    str(PROV.Activity): "activity",
}
_LABEL_PREDICATES: Final = (str(RDFS.label), str(SKOS.prefLabel))
_NOTES: Final = (str(SKOS.editorialNote), str(RDFS.comment))


@dataclass(frozen=True)
class SourceRef:
    """A source page, numbered once per page so that every mention links to it."""

    number: int
    url: str


class Sources:
    """Number the sources of a page in the order in which they are first shown."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def refs(self, urls: Iterable[str]) -> list[SourceRef]:
        """Return numbered references for some URLs, giving new ones the next numbers.

        >>> s = Sources()
        >>> [(r.number, r.url) for r in s.refs(["https://b", "https://a"])]
        [(1, 'https://a'), (2, 'https://b')]
        >>> [r.number for r in s.refs(["https://c", "https://a"])]
        [1, 3]
        """
        for url in sorted(set(urls)):
            self._numbers.setdefault(url, len(self._numbers) + 1)
        return sorted((SourceRef(self._numbers[u], u) for u in set(urls)), key=lambda r: r.number)

    def all(self) -> list[SourceRef]:
        """Return every source numbered so far, in number order."""
        return [SourceRef(n, url) for url, n in self._numbers.items()]


@dataclass(frozen=True)
class Value:
    """One value as shown: its text, where it links, and an optional hint after it."""

    text: str
    href: str | None = None
    external: bool = False
    hint: str | None = None
    lang: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Field:
    """One labelled fact: a predicate and its values."""

    label: str
    values: list[Value]
    definition: str | None = None


@dataclass
class FactGroup:
    """Facts of the resource itself; their sources are the resource's own."""

    heading: str
    fields: list[Field]
    sources: list[SourceRef]
    kind: str = "facts"


@dataclass
class Row:
    """A table row: cells of values, and the sources of the row's fact."""

    cells: list[list[Value]]
    sources: list[SourceRef] = field(default_factory=list)


@dataclass
class Table:
    """Other resources linked to this one: members, partnerships, backlinks."""

    heading: str
    caption: str
    headers: list[str]
    rows: list[Row]
    with_sources: bool = True
    kind: str = "table"
    #: The same rows as CSV through the API (a named query or the SPARQL endpoint).
    data: str | None = None


@dataclass
class TableGroup:
    """Tables of one kind of link under one heading, one per group (a cluster's generations)."""

    heading: str
    tables: list[Table]
    kind: str = "tables"


@dataclass(frozen=True)
class Continuity:
    """A continuity link as a partnership's page shows it: the other partnership and why."""

    relation: str
    partnership: Value
    strength: Value | None = None
    sources: list[SourceRef] = field(default_factory=list)
    link: Value | None = None


@dataclass
class Lineage:
    """The head of a partnership's page: its generation, evidence level and continuity."""

    generation: Value | None
    evidence: Value | None
    why: str | None = None
    continuity: list[Continuity] = field(default_factory=list)


@dataclass
class View:
    """Everything a resource page shows."""

    iri: str
    path: str
    kind: str
    title: str
    kind_label: str
    subtitle: str | None = None
    blocks: list[FactGroup | Table | TableGroup | Section] = field(default_factory=list)
    notes: list[Value] = field(default_factory=list)
    sources: Sources = field(default_factory=Sources)
    lineage: Lineage | None = None


class Labeller:
    """Turn terms into shown values, with the labels a document and the ontology give."""

    def __init__(self, labels: dict[str, str], base: str, root: str = "") -> None:
        self.labels = labels
        self.base = base
        self.root = root
        self.aliases: dict[str, str] = {}

    @classmethod
    def for_document(cls, doc: Document, terms: dict[str, str], base: str, root: str) -> Labeller:
        """Collect labels from a document's triples, over the ontology's term labels."""
        labels = dict(terms)
        same_as = {}
        for t in doc.triples:
            if not isinstance(t.subject, ox.NamedNode):
                continue
            subject, predicate = t.subject.value, t.predicate.value
            if predicate in _LABEL_PREDICATES and isinstance(t.object, ox.Literal):
                if t.object.language in (None, "en") and (
                    subject not in labels or predicate == str(RDFS.label)
                ):
                    labels[subject] = t.object.value
            elif predicate == str(OWL.sameAs) and isinstance(t.object, ox.NamedNode):
                same_as[t.object.value] = subject
        labeller = cls(labels, base, root)
        # An entity elsewhere (Wikidata) is shown with the label this graph gives it.
        labeller.aliases = {
            other: labels[mine] for other, mine in same_as.items() if mine in labels
        }
        return labeller

    def here(self, iri: object) -> str:
        """Return a default-base IRI of the layout as it is minted under the served base."""
        return rebase(str(iri), self.base)

    def label(self, iri: str) -> str:
        """Return the label of an IRI, or a prefixed name when it has none."""
        return self.labels.get(iri) or CLASS_LABELS.get(iri) or LABELS.get(iri) or curie(iri)

    def link(self, iri: str) -> str:
        """Return where a link to an IRI points: a local path for minted IRIs."""
        path = iri_to_path(iri, self.base)
        return self.root + path if path is not None else iri

    def value(self, term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Value:
        """Return a term as shown: labels for IRIs, readable literals, short URLs."""
        if isinstance(term, ox.Literal):
            return Value(format_literal(term), lang=term.language)
        if not isinstance(term, ox.NamedNode):
            return Value("(anonymous node)")
        iri = term.value
        if iri.startswith(str(WD)):
            return Value(iri[len(str(WD)) :], iri, True, hint=self.aliases.get(iri), title=iri)
        if iri.startswith(str(EU_COUNTRY)):
            return Value(iri[len(str(EU_COUNTRY)) :], iri, True, title=iri)
        if iri_to_path(iri, self.base) is not None:
            return Value(self.label(iri), self.link(iri), title=iri)
        known = self.labels.get(iri) or CLASS_LABELS.get(iri) or LABELS.get(iri)
        shown = curie(iri)
        if known is None and shown == iri:
            return Value(short_url(iri), iri, True, title=iri)
        return Value(known or shown, iri, True, title=iri)

    def values(self, terms: Iterable[ox.NamedNode | ox.BlankNode | ox.Literal]) -> list[Value]:
        """Return shown values sorted by their text."""
        return sorted((self.value(t) for t in terms), key=lambda v: v.text.casefold())


def view(doc: Document, labeller: Labeller, path: str) -> View:
    """Build the page of a resource: title, kind, fact groups in layout order, notes."""
    types = [t.value for t in doc.objects(str(RDF.type)) if isinstance(t, ox.NamedNode)]
    kind = kind_of([unbase(t, labeller.base) for t in types])
    title = labeller.labels.get(doc.iri) or curie(doc.iri)
    kind_label = ", ".join(capitalised(labeller.label(t)) for t in types) or "Resource"
    acronyms = [v.value for v in doc.objects(labeller.here(ESCP.acronym))]
    page = View(doc.iri, path, kind, title, kind_label, subtitle=", ".join(acronyms) or None)
    own_sources = [s.value for s in doc.objects(str(DCTERMS.source)) if isinstance(s, ox.NamedNode)]
    page.sources.refs(own_sources)
    shown = set(SHOWN_APART) | TABLED.get(kind, frozenset()) | IN_HEAD.get(kind, frozenset())
    for block in LAYOUTS[kind]:
        if isinstance(block, Group):
            shown |= set(block.predicates)
            _add_group(page, doc, labeller, block.heading, block.predicates, own_sources)
        else:
            page.blocks.append(block)  # a table of other resources: sections.fill() draws it
    rest = sorted(
        {unbase(t.predicate.value, labeller.base) for t in _own(doc)} - shown,
        key=lambda p: labeller.label(labeller.here(p)).casefold(),
    )
    heading = "Description" if LAYOUTS[kind] == () else "Other facts"
    _add_group(page, doc, labeller, heading, tuple(rest), own_sources)
    for note in _NOTES:  # editorial notes first: the page's "why" link points at note-1
        page.notes += [labeller.value(o) for o in doc.objects(note)]
    return page


def url_text(url: str) -> str:
    """Return a URL as text to read: without its scheme and a trailing slash.

    >>> url_text("https://bioxclusters.eu/who-we-are/")
    'bioxclusters.eu/who-we-are'
    """
    parts = urlsplit(url)
    text = parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")
    return text.rstrip("/") or url


def short_url(url: str) -> str:
    """Return a URL as text, with a long path cut in the middle.

    >>> short_url("https://clustercollaboration.eu/content/future-materials")
    'clustercollaboration.eu/content/future-materials'
    >>> short_url("https://example.org/" + "a" * 80)[-12:]
    'aaaaaaaaaaaa'
    """
    text = url_text(url)
    return text if len(text) <= 70 else f"{text[:45]}…{text[-20:]}"


def _add_group(
    page: View,
    doc: Document,
    labeller: Labeller,
    heading: str,
    predicates: tuple[str, ...],
    own_sources: list[str],
) -> None:
    fields = []
    for predicate in predicates:
        values = labeller.values(doc.objects(labeller.here(predicate)))
        if values:
            fields.append(Field(capitalised(labeller.label(labeller.here(predicate))), values))
    if fields:
        page.blocks.append(FactGroup(heading, fields, page.sources.refs(own_sources)))


def _own(doc: Document) -> list[ox.Triple]:
    return [
        t for t in doc.triples if isinstance(t.subject, ox.NamedNode) and t.subject.value == doc.iri
    ]
