"""Compute the dataset description: VoID statistics, DCAT metadata and PROV provenance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, VOID, XSD

from server.vocab import GRAPHS, PREFIXES, SEED_PAGE, bind_families, graph_iri

from .info import LICENSE

TITLE: Final = "ESCP-4i Knowledge Graph: European Strategic Cluster Partnerships - Going International, first generation (2016-2017), with the second generation (2018-2019) as context"  # noqa: E501
#: The years the dataset covers: the first generation, and the second as context.
PERIOD: Final = ("2016", "2019")


def dataset_iri(base_iri: str) -> URIRef:
    """Return the IRI of the dataset.

    >>> str(dataset_iri("https://w3id.org/escp4i/"))
    'https://w3id.org/escp4i/dataset'
    """
    return URIRef(base_iri + "dataset")


def dataset(
    graphs: dict[str, Graph],
    base_iri: str,
    release: str,
    digest: str,
    built_at: str,
    sources: Sequence[str] = (),
) -> Graph:
    """Describe the dataset and each named graph with VoID statistics and provenance.

    ``sources`` names the source files copied into the release (served under ``sources/``).
    """
    g = bind_families(Graph(bind_namespaces="none"))
    ds = dataset_iri(base_iri)
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, RDFS.label, Literal(TITLE, lang="en")))
    g.add((ds, DCTERMS.title, Literal(TITLE, lang="en")))
    g.add(
        (
            ds,
            DCTERMS.description,
            Literal(
                "Partnerships labelled after the COSME call COS-CLUSTER-2014-3-03 'Cluster Go "
                "International' (the first generation, 2016-2017), their member cluster "
                "organisations, countries (linked to Wikidata), target markets and sectors, with "
                "the figures the sources state and what this graph enumerates. The second "
                "generation (2018-2019, call COS-CLUSINT-2016-03-01) comes in as context: its "
                "partnerships and members, the organisations in both generations, and sourced "
                "continuity links from first-generation partnerships. Every partnership has an "
                "evidence level (confirmed, labelled with funding not stated, or probable), and "
                "every resource carries its sources.",
                lang="en",
            ),
        )
    )
    g.add((ds, DCTERMS.license, URIRef(LICENSE)))
    g.add((ds, DCTERMS.creator, Literal("The ESCP-4i Knowledge Graph project", lang="en")))
    g.add((ds, DCTERMS.source, URIRef(SEED_PAGE)))
    g.add((ds, DCTERMS.modified, Literal(built_at, datatype=XSD.dateTime)))
    g.add((ds, URIRef(f"{DCAT}version"), Literal(release)))  # DCAT 3; rdflib's DCAT is 2
    g.add((ds, OWL.versionInfo, Literal(release)))
    g.add((ds, DCTERMS.identifier, Literal(f"sha256:{digest}")))
    g.add((ds, VOID.sparqlEndpoint, URIRef(base_iri + "sparql")))
    g.add((ds, VOID.uriSpace, Literal(base_iri + "id/")))
    g.add((ds, VOID.vocabulary, URIRef(base_iri + "def#")))
    g.add((ds, VOID.rootResource, URIRef(base_iri + "id/generation/escp-4i-1")))
    g.add((ds, VOID.rootResource, URIRef(base_iri + "id/generation/escp-4i-2")))
    period = URIRef(f"{base_iri}dataset#period")
    g.add((ds, DCTERMS.temporal, period))
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    g.add((period, DCAT.startDate, Literal(PERIOD[0], datatype=XSD.gYear)))
    g.add((period, DCAT.endDate, Literal(PERIOD[1], datatype=XSD.gYear)))
    for name in sources:
        # PROV: the release was derived from these tables and notes, kept with it.
        g.add((ds, PROV.wasDerivedFrom, URIRef(f"{base_iri}sources/{name}")))
    activity = URIRef(f"{base_iri}dataset/build/{digest[:12]}")
    g.add((ds, PROV.wasGeneratedBy, activity))
    g.add((activity, RDF.type, PROV.Activity))
    g.add((activity, RDFS.label, Literal(f"build of release {release}", lang="en")))
    g.add((activity, PROV.endedAtTime, Literal(built_at, datatype=XSD.dateTime)))
    g.add((activity, DCTERMS.source, URIRef(SEED_PAGE)))
    _statistics(g, ds, graphs["data"])
    for name in GRAPHS:
        if name == "meta":
            continue
        part = URIRef(graph_iri(name, base_iri))
        g.add((ds, VOID.subset, part))
        g.add((part, RDF.type, VOID.Dataset))
        g.add((part, RDFS.label, Literal(f"{name} graph", lang="en")))
        g.add((part, DCTERMS.isPartOf, ds))
        g.add((part, VOID.triples, _int(len(graphs[name]))))
    return g


def _statistics(g: Graph, ds: URIRef, data: Graph) -> None:
    subjects = set(data.subjects())
    objects = set(data.objects())
    predicates = {p for p in data.predicates() if isinstance(p, URIRef)}
    classes: dict[URIRef, set[object]] = {}  # class -> its instances
    for s, o in data.subject_objects(RDF.type):
        if isinstance(o, URIRef):
            classes.setdefault(o, set()).add(s)
    g.add((ds, VOID.triples, _int(len(data))))
    g.add((ds, VOID.entities, _int(len({s for s in subjects if isinstance(s, URIRef)}))))
    g.add((ds, VOID.distinctSubjects, _int(len(subjects))))
    g.add((ds, VOID.distinctObjects, _int(len(objects))))
    g.add((ds, VOID.properties, _int(len(predicates))))
    g.add((ds, VOID.classes, _int(len(classes))))
    for cls, members in sorted(classes.items()):
        part = URIRef(f"{ds}/class/{_local(cls)}")
        g.add((ds, VOID.classPartition, part))
        g.add((part, VOID["class"], cls))
        g.add((part, VOID.entities, _int(len(members))))
    for prop in sorted(predicates):
        part = URIRef(f"{ds}/property/{_local(prop)}")
        g.add((ds, VOID.propertyPartition, part))
        g.add((part, VOID.property, prop))
        g.add((part, VOID.triples, _int(sum(1 for _ in data.triples((None, prop, None))))))


def _local(iri: URIRef) -> str:
    """Return a readable, unique local name for a class or property partition.

    >>> _local(URIRef("http://www.w3.org/ns/org#Membership"))
    'org-Membership'
    """
    text = str(iri)
    for prefix, ns in PREFIXES.items():
        if text.startswith(ns):
            return f"{prefix}-{text[len(ns) :]}"
    return text.rsplit("/", 1)[-1].replace("#", "-")


def _int(n: int) -> Literal:
    return Literal(n, datatype=XSD.integer)
