"""Page layout: what each class shows, in which order, under which labels."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import pyoxigraph as ox
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SKOS, VOID, XSD

from server.vocab import (
    DEFAULT_BASE_IRI,
    ESCP,
    FAMILIES,
    PREFIXES,
    SCHEMA,
    SHAPES,
    WDT,
    family_namespace,
    rebase,
)

log = logging.getLogger(__name__)

MONTHS: Final = (
    "January February March April May June July August September October November December"
).split()


@dataclass(frozen=True)
class Group:
    """A group of facts of the resource itself, shown with the resource's sources."""

    heading: str
    predicates: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """A place for a table built from other resources (members, clusters, partnerships)."""

    name: str


Block = Group | Section


def _iris(*terms: object) -> tuple[str, ...]:
    return tuple(str(t) for t in terms)


#: Classes in the order in which they decide the kind of a page with several types.
KINDS: Final = {
    str(ESCP.Partnership): "partnership",
    str(ESCP.ClusterOrganisation): "cluster",
    str(ORG.Membership): "membership",
    str(ESCP.Country): "country",
    str(ESCP.Region): "region",
    str(ESCP.StatedFigure): "figure",
    str(ESCP.StatedTargetMarket): "figure",
    str(ESCP.ContinuityLink): "continuity",
    str(ESCP.Generation): "generation",
    str(SKOS.ConceptScheme): "scheme",
    str(SKOS.Concept): "concept",
}

_OVERVIEW: Final = "Overview"

#: One ordered list of blocks per page kind; predicates not listed follow in a last group.
LAYOUTS: Final[dict[str, tuple[Block, ...]]] = {
    "partnership": (
        Group(
            _OVERVIEW,
            _iris(
                ESCP.acronym,
                ESCP.fundingType,
                ESCP.strand,
                SCHEMA.startDate,
                SCHEMA.endDate,
                ESCP.durationMonths,
                ESCP.coordinator,
            ),
        ),
        Section("members"),
        Group("Markets and sectors", _iris(ESCP.targetMarket, ESCP.sector)),
        Group(
            "Links, identifiers and stated figures",
            _iris(
                FOAF.homepage,
                ESCP.eccpProfile,
                ESCP.grantAgreement,
                ESCP.statedPartnerCount,
                ESCP.statedSmeCount,
            ),
        ),
    ),
    "cluster": (
        Group(
            _OVERVIEW,
            _iris(ESCP.acronym, ESCP.country, ESCP.regionOrCity, FOAF.homepage, ESCP.eccpProfile),
        ),
        Section("partnerships"),
    ),
    "membership": (Group(_OVERVIEW, _iris(ORG.member, ORG.organization, ORG.role)),),
    "continuity": (
        Group(_OVERVIEW, _iris(ESCP.fromPartnership, ESCP.toPartnership, ESCP.linkStrength)),
    ),
    "country": (
        Group(
            _OVERVIEW,
            _iris(OWL.sameAs, WDT.P297, WDT.P298, SKOS.exactMatch, ESCP.countryGroup),
        ),
        Section("clusters"),
    ),
    "region": (Group(_OVERVIEW, _iris(SCHEMA.containedInPlace)),),
    "figure": (
        Group(
            _OVERVIEW,
            _iris(
                ESCP.measure,
                ESCP.value,
                ESCP.approximate,
                ESCP.fundingType,
                ESCP.market,
                ESCP.statedFor,
                DCTERMS.date,
            ),
        ),
    ),
    "generation": (
        Group(
            _OVERVIEW,
            _iris(
                SCHEMA.startDate,
                SCHEMA.endDate,
                ESCP.call,
                ESCP.awardedLabel,
                ESCP.labelledBy,
                ESCP.statedSectorArea,
            ),
        ),
    ),
    "concept": (Group(_OVERVIEW, _iris(SKOS.definition, SKOS.inScheme)),),
    "scheme": (),
    "resource": (),
}

#: Shown elsewhere on every page: in the title, the kind line, the notes or the sources.
SHOWN_APART: Final = frozenset(
    _iris(RDF.type, RDFS.label, DCTERMS.source, SKOS.editorialNote, RDFS.comment)
)
#: Shown in the page's head, per kind: a partnership's generation, evidence and lineage.
IN_HEAD: Final[dict[str, frozenset[str]]] = {
    "partnership": frozenset(
        _iris(ESCP.generation, ESCP.evidence, ESCP.continuedAs, ESCP.continues)
    ),
}
#: Shown as a table instead of a list of values, per kind.
TABLED: Final[dict[str, frozenset[str]]] = {
    "partnership": frozenset(_iris(ORG.hasMember)),
    "cluster": frozenset(_iris(ORG.memberOf)),
}
#: Incoming links already shown by a kind's own table.
TABLED_INCOMING: Final[dict[str, frozenset[str]]] = {
    "partnership": frozenset(
        _iris(
            ORG.organization,
            ORG.memberOf,
            ESCP.fromPartnership,
            ESCP.toPartnership,
            ESCP.continuedAs,
            ESCP.continues,
        )
    ),
    "cluster": frozenset(_iris(ORG.member, ORG.hasMember, ESCP.coordinator)),
    "country": frozenset(_iris(ESCP.country)),
}

#: Labels of the terms the ontology reuses; the ontology's own terms carry theirs.
LABELS: Final[dict[str, str]] = {
    str(RDF.type): "type",
    str(RDFS.label): "name",
    str(RDFS.comment): "comment",
    str(RDFS.seeAlso): "see also",
    str(RDFS.subClassOf): "subclass of",
    str(RDFS.subPropertyOf): "subproperty of",
    str(RDFS.domain): "domain",
    str(RDFS.range): "range",
    str(RDFS.isDefinedBy): "defined by",
    str(DCTERMS.created): "created",
    str(DCTERMS.creator): "creator",
    "http://purl.org/vocab/vann/preferredNamespacePrefix": "preferred prefix",
    "http://purl.org/vocab/vann/preferredNamespaceUri": "namespace",
    str(SKOS.prefLabel): "preferred label",
    str(SKOS.altLabel): "also known as",
    str(SKOS.definition): "definition",
    str(SKOS.editorialNote): "editorial note",
    str(SKOS.inScheme): "in scheme",
    str(SKOS.exactMatch): "EU country authority",
    str(DCTERMS.source): "source",
    str(DCTERMS.identifier): "identifier",
    str(DCTERMS.date): "date",
    str(DCTERMS.title): "title",
    str(DCTERMS.description): "description",
    str(DCTERMS.license): "licence",
    str(DCTERMS.modified): "modified",
    str(DCTERMS.isPartOf): "part of",
    str(SCHEMA.startDate): "start",
    str(SCHEMA.endDate): "end",
    str(SCHEMA.containedInPlace): "contained in",
    str(FOAF.homepage): "website",
    str(ORG.hasMember): "members",
    str(ORG.member): "member",
    str(ORG.organization): "partnership",
    str(ORG.role): "role",
    str(ORG.memberOf): "member of",
    str(OWL.sameAs): "Wikidata entity",
    str(OWL.versionInfo): "version",
    str(OWL.versionIRI): "version IRI",
    str(WDT.P297): "ISO 3166-1 alpha-2 code",
    str(WDT.P298): "ISO 3166-1 alpha-3 code",
    f"{DCAT}version": "version",
    str(VOID.triples): "triples",
    str(VOID.sparqlEndpoint): "SPARQL endpoint",
    str(VOID.uriSpace): "URI space",
    str(VOID.vocabulary): "vocabulary",
    str(VOID.rootResource): "root resource",
    str(VOID.distinctSubjects): "distinct subjects",
    str(VOID.distinctObjects): "distinct objects",
    str(VOID.properties): "properties",
    str(VOID.classes): "classes",
    str(VOID.subset): "subset",
    str(VOID.classPartition): "class partition",
    str(VOID.propertyPartition): "property partition",
    str(PROV.wasGeneratedBy): "generated by",
    str(PROV.endedAtTime): "ended",
    str(VOID.entities): "entities",
    str(VOID["class"]): "class",
    str(VOID.property): "property",
}

#: Headings for incoming links: "Partnerships in this sector" rather than "sector (incoming)".
INVERSE_LABELS: Final[dict[str, str]] = {
    str(ESCP.sector): "Partnerships that name this sector",
    str(ESCP.targetMarket): "Partnerships that target it",
    str(ESCP.market): "Stated as a main target market",
    str(ESCP.fundingType): "With this funding type",
    str(ESCP.strand): "Partnerships in this strand",
    str(ESCP.generation): "Partnerships of this generation",
    str(ESCP.statedFor): "Figures and markets stated for it",
    str(ESCP.measure): "Figures of this measure",
    str(ESCP.countryGroup): "Countries in this group",
    str(ESCP.call): "Generations from this call",
    str(ESCP.programme): "Calls under this programme",
    str(ESCP.awardedLabel): "Generations awarded this label",
    str(ESCP.evidence): "Partnerships at this evidence level",
    str(ESCP.linkStrength): "Continuity links of this strength",
    str(ESCP.fromPartnership): "Continuity links from it",
    str(ESCP.toPartnership): "Continuity links to it",
    str(ESCP.labelledBy): "Generations it labelled",
    str(ESCP.coordinator): "Coordinator of",
    str(ORG.role): "Memberships with this role",
    str(SKOS.inScheme): "Concepts in this scheme",
    str(RDF.type): "Instances",
    str(SCHEMA.containedInPlace): "Places within it",
    str(VOID.subset): "Part of the dataset",
    str(VOID.classPartition): "Class partition of the dataset",
    str(VOID.propertyPartition): "Property partition of the dataset",
    str(OWL.versionIRI): "Version IRI of",
}


def kind_of(types: list[str]) -> str:
    """Return the page kind for a resource's types; unknown types get the generic page.

    >>> kind_of([str(SKOS.Concept), "http://www.w3.org/ns/org#Role"])
    'concept'
    >>> kind_of([])
    'resource'
    """
    for cls, kind in KINDS.items():
        if cls in types:
            return kind
    return "resource"


def unbase(iri: str, base: str) -> str:
    """Map an IRI minted under a configured base back to the default base the layout uses.

    >>> unbase("http://www.w3.org/ns/org#Membership", "http://localhost:5000/")
    'http://www.w3.org/ns/org#Membership'
    """
    return rebase(iri, DEFAULT_BASE_IRI, source=base)


def curie(iri: str) -> str:
    """Return a prefixed name for an IRI in a known namespace, else the IRI.

    >>> curie("http://www.w3.org/ns/org#Membership")
    'org:Membership'
    >>> curie("https://w3id.org/escp4i/id/sector/photonics")
    'sector:photonics'
    >>> curie("https://example.org/x")
    'https://example.org/x'
    """
    for prefix, ns in all_prefixes().items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def all_prefixes() -> dict[str, str]:
    """Return the standard prefixes and one per resource family, longest namespace first."""
    prefixes = dict(PREFIXES, shapes=str(SHAPES))
    prefixes.update({family: str(family_namespace(family)) for family in FAMILIES})
    return dict(sorted(prefixes.items(), key=lambda item: -len(item[1])))


def format_literal(literal: ox.Literal) -> str:
    """Return a literal as a reader expects to see it.

    >>> format_literal(ox.Literal("2016-01", datatype=ox.NamedNode(XSD.gYearMonth)))
    'January 2016'
    >>> format_literal(ox.Literal("3300", datatype=ox.NamedNode(XSD.integer)))
    '3,300'
    >>> format_literal(ox.Literal("true", datatype=ox.NamedNode(XSD.boolean)))
    'yes'
    >>> format_literal(ox.Literal("2016-12-05", datatype=ox.NamedNode(XSD.date)))
    '5 December 2016'
    """
    value, datatype = literal.value, literal.datatype.value
    try:
        if datatype == str(XSD.gYearMonth):
            year, month = value.split("-")[:2]
            return f"{MONTHS[int(month) - 1]} {year}"
        if datatype == str(XSD.date):
            day = date.fromisoformat(value)
            return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
        if datatype == str(XSD.dateTime):
            moment = datetime.fromisoformat(value)
            return moment.strftime("%Y-%m-%d %H:%M %Z").strip()
        if datatype == str(XSD.integer):
            return f"{int(value):,}"
    except ValueError:
        log.debug("literal %r is not a valid %s", value, datatype)
        return value
    if datatype == str(XSD.boolean):
        return "yes" if value in ("true", "1") else "no"
    return value


def capitalised(text: str) -> str:
    """Return the text with its first letter in upper case, the rest untouched.

    >>> capitalised("funding type")
    'Funding type'
    >>> capitalised("ECCP profile")
    'ECCP profile'
    """
    return text[:1].upper() + text[1:]
