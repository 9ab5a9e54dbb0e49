"""Reading views of the vocabulary documents: the ontology's terms and the SHACL shapes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

import pyoxigraph as ox
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from .layout import capitalised, curie
from .present import Field, Labeller, Value
from .resource import Document, Term

log = logging.getLogger(__name__)

_TERM_FACTS: Final = (
    str(RDFS.subClassOf),
    str(RDFS.subPropertyOf),
    str(RDFS.domain),
    str(RDFS.range),
    str(RDFS.seeAlso),
)
_KIND_ORDER: Final = {
    str(OWL.Class): (0, "class"),
    str(OWL.ObjectProperty): (1, "object property"),
    str(OWL.DatatypeProperty): (2, "datatype property"),
}
#: Shape predicates that are described by the table itself, not listed as constraints.
_SHAPE_APART: Final = frozenset(
    str(p)
    for p in (RDF.type, RDFS.comment, SH.path, SH.message, SH.name, SH.description, SH.severity)
)


@dataclass
class TermView:
    """One ontology term, with its anchor below the ontology document."""

    anchor: str
    iri: str
    label: str
    kind: str
    definition: str | None
    comment: str | None
    fields: list[Field] = field(default_factory=list)


@dataclass
class PropertyShapeView:
    """One property shape: its path, its constraints in words, its message."""

    anchor: str
    path: str
    constraints: list[str]
    message: str
    comment: str = ""


@dataclass
class NodeShapeView:
    """One node shape: its target, whether it is closed, and its property shapes."""

    anchor: str
    iri: str
    targets: list[Value]
    closed: bool
    message: str
    properties: list[PropertyShapeView]


def ontology_terms(doc: Document, labeller: Labeller) -> list[TermView]:
    """Return the terms defined below the ontology document: classes, then properties."""
    terms = []
    for subject in _hash_subjects(doc):
        types = [t.value for t in doc.about(subject, str(RDF.type)) if isinstance(t, ox.NamedNode)]
        order, kind = min((_KIND_ORDER.get(t, (3, "term")) for t in types), default=(3, "term"))
        view = TermView(
            anchor=subject.value.split("#", 1)[1],
            iri=subject.value,
            label=capitalised(_first_text(doc, subject, str(RDFS.label)) or subject.value),
            kind=kind,
            definition=_first_text(doc, subject, str(SKOS.definition)),
            comment=_first_text(doc, subject, str(RDFS.comment)),
        )
        for predicate in _TERM_FACTS:
            values = labeller.values(doc.about(subject, predicate))
            if values:
                view.fields.append(Field(capitalised(labeller.label(predicate)), values))
        terms.append((order, view.anchor.casefold(), view))
    return [view for *_, view in sorted(terms, key=lambda t: (t[0], t[1]))]


def node_shapes(doc: Document, labeller: Labeller) -> list[NodeShapeView]:
    """Return the node shapes below the shapes document, each with its property shapes."""
    shapes = []
    for subject in _hash_subjects(doc):
        if ox.NamedNode(str(SH.NodeShape)) not in doc.about(subject, str(RDF.type)):
            continue
        properties = []
        for prop in doc.about(subject, str(SH.property)):
            if isinstance(prop, ox.NamedNode):
                properties.append(_property_shape(doc, prop, labeller))
        closed = doc.about(subject, str(SH.closed))
        shapes.append(
            NodeShapeView(
                anchor=subject.value.split("#", 1)[1],
                iri=subject.value,
                targets=labeller.values(doc.about(subject, str(SH.targetClass))),
                closed=bool(closed)
                and isinstance(closed[0], ox.Literal)
                and closed[0].value == "true",
                message=_first_text(doc, subject, str(SH.message)) or "",
                properties=sorted(properties, key=lambda p: p.anchor.casefold()),
            )
        )
    return sorted(shapes, key=lambda s: s.anchor.casefold())


def rdf_list(doc: Document, head: Term) -> list[Term]:
    """Return the members of an RDF collection, in order; stop on a malformed one."""
    items: list[Term] = []
    node = head
    seen = set()
    while isinstance(node, ox.BlankNode | ox.NamedNode) and node.value != str(RDF.nil):
        if node in seen:
            break
        seen.add(node)
        items += doc.about(node, str(RDF.first))
        rest = doc.about(node, str(RDF.rest))
        if not rest:
            break
        node = rest[0]
    return items


def _property_shape(doc: Document, prop: ox.NamedNode, labeller: Labeller) -> PropertyShapeView:
    constraints = []
    predicates = doc.predicates(prop)
    for predicate in predicates:
        if predicate in _SHAPE_APART:
            continue
        name = predicate.rsplit("#", 1)[-1]
        shown = [_shape_term(doc, v, labeller) for v in doc.about(prop, predicate)]
        constraints.append(f"{name} {', '.join(shown)}")
    path = [_shape_term(doc, v, labeller) for v in doc.about(prop, str(SH.path))]
    return PropertyShapeView(
        anchor=prop.value.split("#", 1)[-1],
        path=", ".join(path),
        constraints=constraints,
        message=_first_text(doc, prop, str(SH.message)) or "",
        comment=_first_text(doc, prop, str(RDFS.comment)) or "",
    )


def _shape_term(doc: Document, term: Term, labeller: Labeller) -> str:
    if isinstance(term, ox.Literal):
        return term.value if len(term.value) < 120 else term.value[:117] + "…"
    if isinstance(term, ox.NamedNode):
        return curie(term.value)
    if doc.about(term, str(RDF.first)):
        return "(" + ", ".join(_shape_term(doc, t, labeller) for t in rdf_list(doc, term)) + ")"
    inverse = doc.about(term, str(SH.inversePath))
    if inverse:
        return "^" + _shape_term(doc, inverse[0], labeller)
    select = doc.about(term, str(SH.select))
    if select:
        return "SPARQL constraint: " + _first_line(select[0])
    return "(anonymous node)"


def _first_line(term: Term) -> str:
    text = term.value if isinstance(term, ox.Literal) else str(term)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if not line.upper().startswith("PREFIX")), "")


def _hash_subjects(doc: Document) -> list[ox.NamedNode]:
    prefix = doc.iri + "#"
    return sorted(
        {
            t.subject
            for t in doc.triples
            if isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(prefix)
        },
        key=lambda s: s.value,
    )


def _first_text(doc: Document, subject: ox.NamedNode, predicate: str) -> str | None:
    values = [v for v in doc.about(subject, predicate) if isinstance(v, ox.Literal)]
    english = [v for v in values if v.language in (None, "en")]
    return (english or values)[0].value if values else None
