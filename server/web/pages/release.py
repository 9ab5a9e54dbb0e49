"""The release being served: its dataset description, dumps and SHACL validation report."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyoxigraph as ox
from rdflib.namespace import DCAT, DCTERMS, RDFS, SH, VOID

from server.build.info import BuildInfo
from server.errors import NotFoundError

from .layout import capitalised
from .present import Field, Labeller, Value
from .resource import Document

log = logging.getLogger(__name__)

REPORT: Final = "validation.ttl"
DUMPS: Final = "dumps"

_DESCRIPTION: Final = (
    str(DCTERMS.license),
    str(DCTERMS.modified),
    f"{DCAT}version",
    str(DCTERMS.identifier),
    str(DCTERMS.source),
    str(VOID.sparqlEndpoint),
    str(VOID.uriSpace),
    str(VOID.vocabulary),
    str(VOID.rootResource),
)
_STATISTICS: Final = (
    str(VOID.triples),
    str(VOID.entities),
    str(VOID.distinctSubjects),
    str(VOID.distinctObjects),
    str(VOID.properties),
    str(VOID.classes),
)


@dataclass
class Partition:
    """A class or property partition, or a named graph: what it counts, and how many."""

    what: Value
    count: int


@dataclass
class DatasetView:
    """What the dataset page shows."""

    title: str
    description: str
    facts: list[Field]
    statistics: list[Field]
    classes: list[Partition]
    properties: list[Partition]
    graphs: list[Partition]
    dumps: list[dict[str, Any]]


@dataclass
class ResultView:
    """One result of a SHACL validation report."""

    severity: str
    focus: Value
    path: str
    value: str
    shape: str
    component: str
    message: str


@dataclass
class ReportView:
    """A SHACL validation report: whether the data conforms, and each result."""

    conforms: bool
    results: list[ResultView] = field(default_factory=list)


def dataset_view(doc: Document, labeller: Labeller, info: BuildInfo) -> DatasetView:
    """Build the dataset page from the meta graph and the build's dumps."""
    ds = ox.NamedNode(doc.iri)

    def fields(predicates: tuple[str, ...]) -> list[Field]:
        found = []
        for p in predicates:
            values = labeller.values(doc.about(ds, p))
            if values:
                found.append(Field(capitalised(labeller.label(p)), values))
        return found

    return DatasetView(
        title=_text(doc, ds, str(DCTERMS.title)) or "ESCP-4i Knowledge Graph",
        description=_text(doc, ds, str(DCTERMS.description)) or "",
        facts=fields(_DESCRIPTION),
        statistics=fields(_STATISTICS),
        classes=_partitions(doc, ds, str(VOID.classPartition), str(VOID["class"]), labeller),
        properties=_partitions(doc, ds, str(VOID.propertyPartition), str(VOID.property), labeller),
        graphs=_partitions(doc, ds, str(VOID.subset), None, labeller),
        dumps=list(info.dumps),
    )


def dump_record(info: BuildInfo, name: str) -> dict[str, Any]:
    """Return the record of one dump of the build.

    :raises NotFoundError: when the build has no dump of that name.
    """
    for record in info.dumps:
        if record["name"] == name:
            return record
    raise NotFoundError(f"release {info.release} has no dump named {name!r}")


def report_triples(info: BuildInfo) -> list[ox.Triple]:
    """Return the triples of the build's SHACL validation report.

    :raises NotFoundError: when the build folder holds no report.
    """
    path = Path(info.path) / REPORT
    if not path.is_file():
        raise NotFoundError(f"release {info.release} has no validation report here")
    return [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]


def report_view(triples: list[ox.Triple], labeller: Labeller) -> ReportView:
    """Summarise a validation report: conformance, then results by focus node."""
    doc = Document("", tuple(triples))
    report_type = ox.NamedNode(str(SH.ValidationReport))
    result_type = ox.NamedNode(str(SH.ValidationResult))
    subjects = [
        (t.subject, t.object)
        for t in triples
        if isinstance(t.subject, ox.NamedNode | ox.BlankNode)
        and t.object in (report_type, result_type)
    ]
    reports = [s for s, o in subjects if o == report_type]
    conforms = bool(reports) and _one(doc, reports[0], SH.conforms) == "true"
    view = ReportView(conforms)
    for result in (s for s, o in subjects if o == result_type):
        focus = doc.about(result, str(SH.focusNode))
        view.results.append(
            ResultView(
                severity=_one(doc, result, SH.resultSeverity).rsplit("#", 1)[-1],
                focus=labeller.value(focus[0]) if focus else Value(""),
                path=_one(doc, result, SH.resultPath),
                value=_one(doc, result, SH.value),
                shape=_one(doc, result, SH.sourceShape),
                component=_one(doc, result, SH.sourceConstraintComponent).rsplit("#", 1)[-1],
                message=_one(doc, result, SH.resultMessage),
            )
        )
    view.results.sort(key=lambda r: (r.focus.text, r.shape))
    return view


def _one(doc: Document, node: ox.NamedNode | ox.BlankNode, predicate: object) -> str:
    values = doc.about(node, str(predicate))
    return values[0].value if values and not isinstance(values[0], ox.BlankNode) else ""


def _partitions(
    doc: Document,
    ds: ox.NamedNode,
    link: str,
    what: str | None,
    labeller: Labeller,
) -> list[Partition]:
    found = []
    for part in doc.about(ds, link):
        if not isinstance(part, ox.NamedNode):
            continue
        subject = doc.about(part, what) if what else [part]
        counts = doc.about(part, str(VOID.entities)) or doc.about(part, str(VOID.triples))
        count = int(counts[0].value) if counts and isinstance(counts[0], ox.Literal) else 0
        if subject and not isinstance(subject[0], ox.Literal):
            shown = labeller.value(subject[0])
            if what is None:
                label = _text(doc, part, str(RDFS.label))
                shown = Value(label or shown.text, shown.href, title=part.value)
            found.append(Partition(shown, count))
    return sorted(found, key=lambda p: (-p.count, p.what.text))


def _text(doc: Document, subject: ox.NamedNode, predicate: str) -> str | None:
    values = [v for v in doc.about(subject, predicate) if isinstance(v, ox.Literal)]
    return values[0].value if values else None
